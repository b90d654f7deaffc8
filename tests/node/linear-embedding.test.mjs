// Linear and Embedding: PyTorch parity on tests/fixtures/linear-embedding.json in every build
// (Linear within toleranceFor, Embedding bit for bit: a gather does no arithmetic), seeded init on
// gated-init.json bit for bit, and the index forms Embedding.forward accepts.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Linear, Embedding, Tensor } from "wasm-rnn";
import { loadFixture } from "../helpers/fixtures.mjs";
import { ParityTable, stateDictOf, tensorOf, testSeededInit } from "../helpers/parity.mjs";
import { forEachBackend } from "./backends.mjs";

const fixture = loadFixture("linear-embedding");
const inits = loadFixture("gated-init");
const table = new ParityTable("linear-embedding.json");
const linears = fixture.cases.filter((c) => c.module === "Linear");
const embeddings = fixture.cases.filter((c) => c.module === "Embedding");

/** Asserts a Tensor has the shape and exact float32 bits of a fixture tensor. */
function assertBits(actual, expected, what) {
  assert.ok(actual instanceof Tensor, `${what} is a Tensor`);
  assert.deepEqual([...actual.shape], expected.shape, `${what}: shape`);
  const a = new Uint32Array(actual.data.buffer, actual.data.byteOffset, actual.data.length);
  const b = new Uint32Array(expected.data.buffer, expected.data.byteOffset, expected.data.length);
  assert.deepEqual(Array.from(a), Array.from(b), `${what}: bits`);
}

forEachBackend((backend) => {
  for (const c of linears) {
    test(`${c.name}: (*, in) -> (*, out) matches PyTorch float64 within 4x PyTorch float32's error`, () => {
      const linear = new Linear({ ...c.config, seed: 0 });
      try {
        linear.loadStateDict(stateDictOf(c.stateDict));
        table.check(backend, "Linear", `${c.name} output`, linear.forward(tensorOf(c.input)), c.output, c.output64);
      } finally {
        linear.dispose();
      }
    });
  }

  for (const c of embeddings) {
    test(`${c.name}: the gathered rows are PyTorch's, bit for bit, shape (*shape, dim)`, () => {
      const embedding = new Embedding({ ...c.config, seed: 0 });
      try {
        embedding.loadStateDict(stateDictOf(c.stateDict));
        assertBits(embedding.forward(Int32Array.from(c.indices), c.shape), c.output, "Int32Array with a shape");
        assertBits(embedding.forward(c.indices.slice(), c.shape), c.output, "number[] with a shape");
        if (c.shape.length === 1)
          assertBits(embedding.forward(c.indices.slice()), c.output, "1-D number[] without a shape");
      } finally {
        embedding.dispose();
      }
    });
  }
}, "linear-embedding.json");

after(() => console.log(table.toString()));

test("linear-embedding.json covers 1-D, 2-D, 3-D+ and empty inputs, no bias, and paddingIdx (positive and negative)", () => {
  const ranks = new Set(linears.map((c) => c.input.shape.length));
  for (const r of [1, 2, 3, 4]) assert.ok(ranks.has(r), `Linear input rank ${r}`);
  assert.ok(linears.some((c) => !c.config.bias) && linears.some((c) => c.input.shape.includes(0)));
  assert.ok(embeddings.some((c) => c.shape.length === 1) && embeddings.some((c) => c.shape.length >= 2));
  assert.ok(embeddings.some((c) => c.config.paddingIdx > 0) && embeddings.some((c) => c.config.paddingIdx < 0));
});

test("Embedding.forward takes nested number arrays and gives (*shape, dim), as PyTorch for a nested index tensor", () => {
  const c = embeddings.find((x) => x.shape.length === 2 && x.shape[0] === 2 && x.shape[1] === 3);
  const embedding = new Embedding({ ...c.config, seed: 0 });
  try {
    embedding.loadStateDict(stateDictOf(c.stateDict));
    const nested = [c.indices.slice(0, 3), c.indices.slice(3, 6)];
    assertBits(embedding.forward(nested), c.output, "nested number[][]");
  } finally {
    embedding.dispose();
  }
});

test("Embedding: a negative paddingIdx counts from the end (PyTorch stores numEmbeddings + paddingIdx); its row starts at zero", () => {
  const embedding = new Embedding({ numEmbeddings: 10, embeddingDim: 3, paddingIdx: -1, seed: 0 });
  try {
    assert.equal(embedding.paddingIdx, 9);
    assert.deepEqual(Array.from(embedding.stateDict().weight.data.subarray(27, 30)), [0, 0, 0]);
    assert.deepEqual(Array.from(embedding.forward([9]).data), [0, 0, 0]);
  } finally {
    embedding.dispose();
  }
});

testSeededInit(inits.cases, { Linear, Embedding });

test("Linear: 1-D input gives 1-D output; the kernel's result equals a float64 dot product to float32 rounding", () => {
  const linear = new Linear({ inFeatures: 3, outFeatures: 2, seed: 4 });
  try {
    const { weight, bias } = linear.stateDict();
    const x = Tensor.from([0.5, -1, 2]);
    const y = linear.forward(x);
    assert.deepEqual([...y.shape], [2]);
    for (let o = 0; o < 2; o++) {
      let want = bias.data[o];
      for (let i = 0; i < 3; i++) want += weight.data[o * 3 + i] * x.data[i];
      assert.ok(Math.abs(y.data[o] - want) <= 1e-6, `out[${o}] = ${y.data[o]}, float64 ${want}`);
    }
  } finally {
    linear.dispose();
  }
});

test("a disposed Linear / Embedding refuses forward and stateDict; dispose twice is harmless", () => {
  const linear = new Linear({ inFeatures: 2, outFeatures: 2, seed: 1 });
  const embedding = new Embedding({ numEmbeddings: 4, embeddingDim: 2, seed: 1 });
  for (const m of [linear, embedding]) {
    m.dispose();
    m.dispose();
    assert.throws(() => m.stateDict(), /disposed/);
  }
  assert.throws(() => linear.forward(Tensor.zeros([2])), /disposed/);
  assert.throws(() => embedding.forward([1]), /disposed/);
});
