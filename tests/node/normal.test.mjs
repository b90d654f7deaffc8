// Seeded Embedding init against PyTorch, bit for bit: tests/fixtures/normal/normal.json (written by
// tests/fixtures/normal/generate.py) holds torch.manual_seed(s); nn.Embedding(...).weight as exact
// float32 bits. PyTorch's normal_ takes a scalar float64 path below 16 weights and its AVX2
// blocks-of-16 kernel from 16 on, redrawing the last 16 when the count is not a multiple of 16.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, Embedding } from "wasm-rnn";
import { loadFixture } from "../helpers/fixtures.mjs";

await init();
const fixture = loadFixture("normal/normal");
const embeddings = fixture.cases.filter((c) => c.kind === "embedding");
const count = (c) => c.config.numEmbeddings * c.config.embeddingDim;

const bitsOf = (a) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Asserts that a seeded Embedding's weight has the fixture's shape and exactly its bits. */
function assertMatchesTorch(c) {
  const what = JSON.stringify(c.config);
  const embedding = new Embedding(c.config);
  try {
    const weight = embedding.stateDict().weight;
    assert.deepEqual([...weight.shape], c.weight.shape, `${what}: shape`);
    const got = bitsOf(weight.data);
    const want = bitsOf(c.weight.data);
    assert.equal(got.length, want.length, `${what}: number of weights`);
    const i = got.findIndex((bits, k) => bits !== want[k]);
    assert.equal(i, -1, `${what}: weight ${i} is ${weight.data[i]}, PyTorch has ${c.weight.data[i]}`);
  } finally {
    embedding.dispose();
  }
}

/** The fixture's Embedding cases that satisfy `keep`; fails if there are none. */
function casesWhere(keep, description) {
  const picked = embeddings.filter(keep);
  assert.ok(picked.length > 0, `normal.json has no Embedding case with ${description}`);
  return picked;
}

test("the fixture was recorded on PyTorch's AVX2 normal_ kernel", () => {
  assert.equal(fixture.cpuCapability, "AVX2");
});

test("seeded Embedding weights are bit-identical to torch.manual_seed(s); nn.Embedding(...)", () => {
  for (const c of casesWhere(() => true, "any size")) assertMatchesTorch(c);
});

test("fewer than 16 weights follow PyTorch's scalar float64 Box-Muller bit for bit", () => {
  for (const c of casesWhere((c) => count(c) < 16, "fewer than 16 weights")) assertMatchesTorch(c);
});

test("exactly 16 weights follow PyTorch's AVX2 kernel on one block bit for bit", () => {
  for (const c of casesWhere((c) => count(c) === 16, "16 weights")) assertMatchesTorch(c);
});

test("a multiple of 16 weights follows PyTorch's AVX2 kernel block by block bit for bit", () => {
  for (const c of casesWhere((c) => count(c) > 16 && count(c) % 16 === 0, "a multiple of 16 above 16")) {
    assertMatchesTorch(c);
  }
});

test("a weight count that is not a multiple of 16 redraws the last 16 as PyTorch does, bit for bit", () => {
  for (const c of casesWhere((c) => count(c) > 16 && count(c) % 16 !== 0, "a non-multiple of 16 above 16")) {
    assertMatchesTorch(c);
  }
});

test("the paddingIdx row is zero after the normal draw, and a negative paddingIdx counts from the end", () => {
  const padded = casesWhere((c) => c.config.paddingIdx !== null, "a paddingIdx");
  assert.ok(
    padded.some((c) => c.config.paddingIdx < 0),
    "normal.json has no negative paddingIdx",
  );
  for (const c of padded) {
    const { numEmbeddings, embeddingDim, paddingIdx } = c.config;
    const row = paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
    const embedding = new Embedding(c.config);
    try {
      const weight = embedding.stateDict().weight.data;
      const padding = bitsOf(weight.subarray(row * embeddingDim, (row + 1) * embeddingDim));
      assert.ok(
        padding.every((bits) => bits === 0),
        `${JSON.stringify(c.config)}: row ${row} is not +0`,
      );
      assert.ok(
        weight.some((v) => v !== 0),
        `${JSON.stringify(c.config)}: only zeros`,
      );
    } finally {
      embedding.dispose();
    }
    assertMatchesTorch(c);
  }
});
