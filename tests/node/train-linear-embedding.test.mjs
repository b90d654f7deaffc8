// Linear.backward and Embedding.backward: gradInput and parameter gradients against PyTorch float64
// autograd on tests/fixtures/train.json within 4x PyTorch float32's own error (Linear in every
// build: its backward runs the kernel's GEMMs), accumulation until zeroGrad, and the refusals of a
// backward with nothing valid to use or a wrong gradOutput, each changing nothing.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Linear, Embedding, SGD, Tensor } from "wasm-rnn";
import { loadFixture } from "../helpers/fixtures.mjs";
import { ParityTable, stateDictOf, tensorOf } from "../helpers/parity.mjs";
import { forEachBackend } from "./backends.mjs";

const fixture = loadFixture("train");
const linears = fixture.cases.filter((c) => c.kind === "linear");
const embeddings = fixture.cases.filter((c) => c.kind === "embedding");
const table = new ParityTable("train.json Linear/Embedding backward");

/** Checks every gradient of `module` against the case's float32/float64 pair. */
function checkGradients(backend, label, module, c) {
  const grads = module.gradients();
  assert.deepEqual(Object.keys(grads), Object.keys(c.grads64), "gradients() keys in stateDict order");
  for (const [name, want64] of Object.entries(c.grads64)) {
    table.check(backend, label, `${c.name} grad ${name}`, grads[name], c.grads[name], want64);
  }
}

forEachBackend((backend) => {
  for (const c of linears) {
    test(`${c.name}: gradInput and weight/bias gradients match PyTorch float64 within 4x PyTorch float32's error`, () => {
      const linear = new Linear({ ...c.config, seed: 0 });
      try {
        linear.loadStateDict(stateDictOf(c.stateDict));
        linear.forward(tensorOf(c.input));
        const gradInput = linear.backward(tensorOf(c.gradOutput));
        table.check(backend, "Linear", `${c.name} gradInput`, gradInput, c.gradInput, c.gradInput64);
        checkGradients(backend, "Linear", linear, c);
      } finally {
        linear.dispose();
      }
    });
  }
}, "train.json Linear");

for (const c of embeddings) {
  test(`${c.name}: the weight gradient matches PyTorch float64 (rows summed, paddingIdx row zero)`, () => {
    const embedding = new Embedding({ ...c.config, seed: 0 });
    try {
      embedding.loadStateDict(stateDictOf(c.stateDict));
      embedding.forward(Int32Array.from(c.indices), c.shape);
      assert.equal(embedding.backward(tensorOf(c.gradOutput)), null);
      checkGradients("js", "Embedding", embedding, c);
    } finally {
      embedding.dispose();
    }
  });
}

after(() => console.log(table.toString()));

test("train.json covers Linear 1-D/2-D/3-D+/empty inputs, long row sums, no bias, zero features; Embedding repeats and paddingIdx", () => {
  const ranks = new Set(linears.map((c) => c.input.shape.length));
  for (const r of [1, 2, 3, 4]) assert.ok(ranks.has(r), `Linear input rank ${r}`);
  assert.ok(linears.some((c) => !c.config.bias) && linears.some((c) => c.input.shape.includes(0)));
  assert.ok(linears.some((c) => c.input.shape[0] >= 300));
  assert.ok(linears.some((c) => c.config.inFeatures === 0) && linears.some((c) => c.config.outFeatures === 0));
  assert.ok(embeddings.some((c) => c.indices.length >= 1000) && embeddings.some((c) => c.config.paddingIdx < 0));
  const padded = embeddings.filter((c) => c.config.paddingIdx !== null && c.indices.length > 3);
  assert.ok(padded.length > 0);
  for (const c of padded) {
    const pad = (c.config.paddingIdx + c.config.numEmbeddings) % c.config.numEmbeddings;
    assert.ok(c.indices.includes(pad), `${c.name} looks up its padding row`);
  }
});

function linearModel() {
  return new Linear({ inFeatures: 3, outFeatures: 2, seed: 5 });
}

const x = () =>
  Tensor.from([
    [0.5, -1, 2],
    [1, 0.25, -0.5],
  ]);
const gy = () =>
  Tensor.from([
    [1, -2],
    [0.5, 3],
  ]);

/** Every gradient as plain arrays, for "nothing changed". */
const gradientsOf = (m) => Object.fromEntries(Object.entries(m.gradients()).map(([k, v]) => [k, Array.from(v.data)]));

test("Linear/Embedding: gradients accumulate across backward calls until zeroGrad(), as in PyTorch", () => {
  const linear = linearModel();
  const embedding = new Embedding({ numEmbeddings: 5, embeddingDim: 2, seed: 1 });
  try {
    linear.forward(x());
    linear.backward(gy());
    const once = gradientsOf(linear);
    linear.forward(x());
    linear.backward(gy());
    for (const [name, values] of Object.entries(gradientsOf(linear))) {
      assert.deepEqual(
        values,
        once[name].map((v) => Math.fround(v + v)),
        `${name} doubled`,
      );
    }
    embedding.forward([1, 1, 3]);
    embedding.backward(
      Tensor.from([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    );
    embedding.forward([3]);
    embedding.backward(Tensor.from([[10, 20]]));
    assert.deepEqual(gradientsOf(embedding).weight, [0, 0, 4, 6, 0, 0, 15, 26, 0, 0]);
    linear.zeroGrad();
    embedding.zeroGrad();
    for (const m of [linear, embedding]) {
      for (const values of Object.values(gradientsOf(m))) assert.ok(values.every((v) => v === 0));
    }
  } finally {
    linear.dispose();
    embedding.dispose();
  }
});

test("Linear.backward: gradInput = gradOutput·W and dW = gradOutputᵀ·x to float32 rounding", () => {
  const linear = linearModel();
  try {
    const W = linear.stateDict().weight.data;
    linear.forward(x());
    const gradInput = linear.backward(gy());
    assert.deepEqual([...gradInput.shape], [2, 3]);
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i < 3; i++) {
        const want = gy().data[r * 2] * W[i] + gy().data[r * 2 + 1] * W[3 + i];
        assert.ok(Math.abs(gradInput.data[r * 3 + i] - want) <= 1e-6);
      }
    }
    const { weight, bias } = linear.gradients();
    for (let o = 0; o < 2; o++) {
      assert.ok(Math.abs(bias.data[o] - (gy().data[o] + gy().data[2 + o])) <= 1e-6);
      for (let i = 0; i < 3; i++) {
        const want = gy().data[o] * x().data[i] + gy().data[2 + o] * x().data[3 + i];
        assert.ok(Math.abs(weight.data[o * 3 + i] - want) <= 1e-6);
      }
    }
  } finally {
    linear.dispose();
  }
});

/** Asserts `fn` throws `type` matching `message` and the module's gradients did not change. */
function assertRefused(module, fn, type, message) {
  const before = gradientsOf(module);
  assert.throws(fn, (e) => e instanceof type && message.test(e.message), `${type.name} ${message}`);
  assert.deepEqual(gradientsOf(module), before, "gradients unchanged");
}

for (const [label, make, forward, gradOutput, wrong] of [
  ["Linear", linearModel, (m) => m.forward(x()), gy, () => Tensor.zeros([2, 3])],
  [
    "Embedding",
    () => new Embedding({ numEmbeddings: 4, embeddingDim: 2, seed: 3 }),
    (m) => m.forward([[0, 3]]),
    () =>
      Tensor.from([
        [
          [1, 2],
          [3, 4],
        ],
      ]),
    () => Tensor.zeros([2, 2]),
  ],
]) {
  test(`${label}.backward before any forward, twice for one forward, or after an eval-mode forward: Error, nothing changed`, () => {
    const m = make();
    try {
      assertRefused(m, () => m.backward(gradOutput()), Error, /no forward to backpropagate through/);
      forward(m);
      m.backward(gradOutput());
      assertRefused(m, () => m.backward(gradOutput()), Error, /backward was already called for the last forward/);
      forward(m);
      m.eval();
      forward(m);
      assertRefused(m, () => m.backward(gradOutput()), Error, /last forward ran in eval mode/);
      m.train();
      forward(m);
      m.backward(gradOutput());
    } finally {
      m.dispose();
    }
  });

  test(`${label}.backward after loadStateDict or an optimizer step: Error (the forward is stale), nothing changed`, () => {
    const m = make();
    try {
      forward(m);
      m.loadStateDict(m.stateDict());
      assertRefused(m, () => m.backward(gradOutput()), Error, /parameters changed since the forward/);
      forward(m);
      new SGD(m, { lr: 0.1 }).step();
      assertRefused(m, () => m.backward(gradOutput()), Error, /parameters changed since the forward/);
    } finally {
      m.dispose();
    }
  });

  test(`${label}.backward with a gradOutput of the wrong shape or type: RangeError/TypeError, the forward still usable`, () => {
    const m = make();
    try {
      forward(m);
      const expected = `(${gradOutput().shape.join(", ")})`.replace(/[()]/g, "\\$&");
      assertRefused(
        m,
        () => m.backward(wrong()),
        RangeError,
        new RegExp(`^${label}\\.backward: Expected gradOutput of shape ${expected}, got \\(`),
      );
      assertRefused(m, () => m.backward([1, 2]), TypeError, /Expected gradOutput to be a Tensor, got an array/);
      assertRefused(m, () => m.backward(undefined), TypeError, /Expected gradOutput to be a Tensor/);
      m.backward(gradOutput());
      assert.ok(
        Object.values(gradientsOf(m)).some((g) => g.some((v) => v !== 0)),
        "the kept forward was used",
      );
    } finally {
      m.dispose();
    }
  });

  test(`${label}: a disposed module refuses backward`, () => {
    const m = make();
    forward(m);
    m.dispose();
    assert.throws(() => m.backward(gradOutput()), /disposed/);
  });
}

test("Embedding.backward leaves the paddingIdx row's gradient at zero even when it is looked up", () => {
  const embedding = new Embedding({ numEmbeddings: 3, embeddingDim: 2, paddingIdx: -1, seed: 2 });
  try {
    embedding.forward([2, 0, 2]);
    embedding.backward(
      Tensor.from([
        [1, 1],
        [2, 3],
        [4, 4],
      ]),
    );
    assert.deepEqual(gradientsOf(embedding).weight, [2, 3, 0, 0, 0, 0]);
  } finally {
    embedding.dispose();
  }
});
