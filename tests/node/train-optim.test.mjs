// SGD, Adam, AdamW and clipGradNorm: several training steps of an Embedding -> Linear model with a
// cross-entropy loss land on PyTorch's float64 trajectory (tests/fixtures/train.json) within 4x
// PyTorch float32's own error after every step, in every build; then the optimizer contract (fresh
// parameters every step, stale forwards, disposed modules) and every bad option refused with
// PyTorch's message, changing nothing.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Adam, AdamW, clipGradNorm, crossEntropy, Embedding, Linear, SGD, Tensor } from "wasm-rnn";
import { loadFixture } from "../helpers/fixtures.mjs";
import { ParityTable, stateDictOf } from "../helpers/parity.mjs";
import { forEachBackend } from "./backends.mjs";

const fixture = loadFixture("train");
const trajectories = fixture.cases.filter((c) => c.kind === "trajectory");
const table = new ParityTable("train.json optimizer trajectories");
const OPTIMIZERS = { SGD, Adam, AdamW };

/** The fixture's model: Embedding -> Linear with the recorded start weights. */
function modelOf(c) {
  const { numEmbeddings, embeddingDim, paddingIdx, classes } = c.model;
  const embedding = new Embedding({ numEmbeddings, embeddingDim, paddingIdx, seed: 0 });
  const linear = new Linear({ inFeatures: embeddingDim, outFeatures: classes, seed: 0 });
  embedding.loadStateDict(stateDictOf(c.start.embedding));
  linear.loadStateDict(stateDictOf(c.start.linear));
  return { embedding, linear };
}

/** One training step as PyTorch's loop does it; returns the loss and the total norm. */
function trainStep(optimizer, embedding, linear, batch, maxNorm, normType) {
  optimizer.zeroGrad();
  const { loss, grad } = crossEntropy(linear.forward(embedding.forward(batch.tokens)), batch.targets);
  embedding.backward(linear.backward(grad));
  const norm = clipGradNorm([embedding, linear], maxNorm, normType);
  optimizer.step();
  return { loss, norm };
}

forEachBackend((backend) => {
  for (const c of trajectories) {
    test(`${c.name}: ${c.steps.length} steps with clipGradNorm land on PyTorch's float64 weights after every step`, () => {
      const { embedding, linear } = modelOf(c);
      try {
        const optimizer = new OPTIMIZERS[c.optimizer]([embedding, linear], c.options);
        const normType = c.normType === "Infinity" ? Infinity : c.normType;
        c.batches.forEach((batch, s) => {
          const { loss, norm } = trainStep(optimizer, embedding, linear, batch, c.maxNorm, normType);
          const want = c.steps[s];
          const where = `${c.name} step ${s + 1}`;
          table.check(backend, c.optimizer, `${where} loss`, loss, want.loss, want.loss64);
          table.check(
            backend,
            c.optimizer,
            `${where} norm`,
            new Tensor(Float32Array.of(norm), []),
            want.norm,
            want.norm64,
          );
          const params = {
            ...Object.fromEntries(Object.entries(embedding.stateDict()).map(([k, v]) => [`embedding.${k}`, v])),
            ...Object.fromEntries(Object.entries(linear.stateDict()).map(([k, v]) => [`linear.${k}`, v])),
          };
          assert.deepEqual(Object.keys(params), Object.keys(want.params64));
          for (const [name, value] of Object.entries(params)) {
            table.check(backend, c.optimizer, `${where} ${name}`, value, want.params[name], want.params64[name]);
          }
        });
      } finally {
        embedding.dispose();
        linear.dispose();
      }
    });
  }
}, "train.json trajectories");

after(() => console.log(table.toString()));

test("train.json trajectories cover SGD (plain, Nesterov + weight decay, dampening), Adam, amsgrad, AdamW, active clipping", () => {
  const has = (f) => assert.ok(trajectories.some(f));
  has((c) => c.optimizer === "SGD" && c.options.nesterov && c.options.weightDecay > 0);
  has((c) => c.optimizer === "SGD" && Object.keys(c.options).length === 1);
  has((c) => c.optimizer === "SGD" && c.options.dampening > 0);
  has((c) => c.optimizer === "Adam" && !c.options.amsgrad);
  has((c) => c.optimizer === "Adam" && c.options.amsgrad);
  has((c) => c.optimizer === "AdamW");
  has((c) => c.normType === "Infinity");
  has((c) => c.steps.some((s) => s.norm64.data[0] > c.maxNorm) && c.steps.some((s) => s.norm64.data[0] < c.maxNorm));
  for (const c of trajectories) assert.ok(c.steps.length >= 5, `${c.name}: several steps`);
});

/** A Linear with a known gradient: forward/backward of ones. */
function linearWithGradient(seed = 1) {
  const linear = new Linear({ inFeatures: 3, outFeatures: 2, seed });
  linear.forward(Tensor.from([[1, 2, 3]]));
  linear.backward(Tensor.from([[1, -1]]));
  return linear;
}

/** Runs fn(a, b) on two Linears with gradients (seeds 1 and 2), disposing both afterwards. */
function withTwoLinears(fn) {
  const a = linearWithGradient(1);
  const b = linearWithGradient(2);
  try {
    fn(a, b);
  } finally {
    a.dispose();
    b.dispose();
  }
}

const valuesOf = (m) => Object.values(m.stateDict()).map((t) => Array.from(t.data));
const gradsOf = (m) => Object.values(m.gradients()).map((t) => Array.from(t.data));

test("SGD.step: p -= lr * grad on the live parameters, taken afresh after loadStateDict", () => {
  const linear = linearWithGradient();
  try {
    const sgd = new SGD(linear, { lr: 0.5 });
    const loaded = linear.stateDict();
    loaded.weight.data.fill(1);
    linear.loadStateDict(loaded);
    sgd.step();
    const { weight } = linear.stateDict();
    const grad = linear.gradients().weight.data;
    assert.deepEqual(
      Array.from(weight.data),
      Array.from(grad, (g) => Math.fround(1 - 0.5 * g)),
    );
  } finally {
    linear.dispose();
  }
});

test("step() makes the updated weights take effect in forward (parametersUpdated repacks)", () => {
  const linear = linearWithGradient();
  const fresh = new Linear({ inFeatures: 3, outFeatures: 2, seed: 9 });
  try {
    new Adam(linear, { lr: 0.1 }).step();
    fresh.loadStateDict(linear.stateDict());
    const x = Tensor.from([[0.5, -1, 2]]);
    assert.deepEqual(linear.forward(x).data, fresh.forward(x).data);
  } finally {
    linear.dispose();
    fresh.dispose();
  }
});

/** @type {[any, object][]} */
const optimizerCases = [
  [SGD, { lr: 0.1, momentum: 0.9 }],
  [Adam, {}],
  [AdamW, { amsgrad: true }],
];

for (const [Optimizer, options] of optimizerCases) {
  test(`${Optimizer.name}: step() / zeroGrad() with a disposed module throw its error and change no other module`, () => {
    withTwoLinears((a, b) => {
      const optimizer = new Optimizer([a, b], options);
      optimizer.step();
      b.dispose();
      const before = valuesOf(a);
      const grads = gradsOf(a);
      assert.throws(
        () => optimizer.step(),
        (/** @type {any} */ e) => e.constructor === Error && /This Linear was disposed/.test(e.message),
      );
      assert.throws(() => optimizer.zeroGrad(), /This Linear was disposed/);
      assert.deepEqual(valuesOf(a), before, "weights unchanged");
      assert.deepEqual(gradsOf(a), grads, "gradients unchanged");
    });
  });

  test(`${Optimizer.name}: a forward kept before step() is stale afterwards (backward throws)`, () => {
    const linear = linearWithGradient();
    try {
      linear.forward(Tensor.from([[1, 2, 3]]));
      new Optimizer(linear, options).step();
      assert.throws(() => linear.backward(Tensor.from([[1, 1]])), /parameters changed since the forward/);
    } finally {
      linear.dispose();
    }
  });
}

test("zeroGrad() zeroes the gradients of every module of the optimizer", () => {
  withTwoLinears((a, b) => {
    new SGD([a, b], { lr: 0.1 }).zeroGrad();
    for (const m of [a, b])
      assert.ok(
        gradsOf(m)
          .flat()
          .every((v) => v === 0),
      );
  });
});

test("Adam / AdamW defaults are PyTorch's; the learning rate can be changed between steps, with the same check", () => {
  const linear = linearWithGradient();
  try {
    const adam = new Adam(linear);
    assert.deepEqual(
      [adam.lr, [...adam.betas], adam.eps, adam.weightDecay, adam.amsgrad],
      [1e-3, [0.9, 0.999], 1e-8, 0, false],
    );
    const adamw = new AdamW([linear]);
    assert.deepEqual([adamw.lr, adamw.weightDecay], [1e-3, 1e-2]);
    const sgd = new SGD(linear, { lr: 0.1 });
    assert.deepEqual([sgd.momentum, sgd.dampening, sgd.weightDecay, sgd.nesterov], [0, 0, 0, false]);
    sgd.lr = 0.01;
    assert.equal(sgd.lr, 0.01);
    assert.throws(() => {
      sgd.lr = -1;
    }, /^RangeError: SGD: Invalid learning rate: -1$/);
    assert.equal(sgd.lr, 0.01);
  } finally {
    linear.dispose();
  }
});

/** The optimizers and clipGradNorm without their parameter types, for the deliberately wrong arguments below. */
const loose = /** @type {any} */ ({ SGD, Adam, AdamW, clipGradNorm });

/** Asserts construction throws `type` matching `message` and leaves the module as it was. */
function assertRefused(module, construct, type, message) {
  const before = [valuesOf(module), gradsOf(module)];
  assert.throws(
    construct,
    (/** @type {any} */ e) => e instanceof type && message.test(e.message),
    `${type.name} ${message}`,
  );
  assert.deepEqual([valuesOf(module), gradsOf(module)], before);
}

test("SGD refuses bad options with PyTorch's messages: lr (required, < 0), momentum, weightDecay, Nesterov", () => {
  const m = linearWithGradient();
  try {
    assertRefused(m, () => new loose.SGD(m, {}), TypeError, /SGD: lr is required/);
    assertRefused(m, () => new loose.SGD(m), TypeError, /SGD options must be an object/);
    assertRefused(m, () => new loose.SGD(m, { lr: -0.1 }), RangeError, /^SGD: Invalid learning rate: -0\.1$/);
    assertRefused(m, () => new loose.SGD(m, { lr: Number.NaN }), RangeError, /Invalid learning rate: NaN/);
    assertRefused(m, () => new loose.SGD(m, { lr: "0.1" }), TypeError, /SGD: lr should be a number, got '0\.1'/);
    assertRefused(
      m,
      () => new loose.SGD(m, { lr: 0.1, momentum: -1 }),
      RangeError,
      /^SGD: Invalid momentum value: -1$/,
    );
    assertRefused(
      m,
      () => new loose.SGD(m, { lr: 0.1, weightDecay: -1 }),
      RangeError,
      /Invalid weight_decay value: -1/,
    );
    assertRefused(m, () => new loose.SGD(m, { lr: 0.1, dampening: Infinity }), RangeError, /Invalid dampening value/);
    const nesterov = /^SGD: Nesterov momentum requires a momentum and zero dampening$/;
    assertRefused(m, () => new loose.SGD(m, { lr: 0.1, nesterov: true }), RangeError, nesterov);
    assertRefused(
      m,
      () => new loose.SGD(m, { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }),
      RangeError,
      nesterov,
    );
    assertRefused(m, () => new loose.SGD(m, { lr: 0.1, nesterov: 1 }), TypeError, /nesterov should be of type boolean/);
    assertRefused(
      m,
      () => new loose.SGD(m, { lr: 0.1, weight_decay: 0.1 }),
      TypeError,
      /SGD got an unexpected option 'weight_decay'/,
    );
  } finally {
    m.dispose();
  }
});

for (const Optimizer of [loose.Adam, loose.AdamW]) {
  test(`${Optimizer.name} refuses bad options with PyTorch's messages: lr, eps, weightDecay < 0, betas outside [0, 1)`, () => {
    const m = linearWithGradient();
    const name = Optimizer.name;
    try {
      assertRefused(
        m,
        () => new Optimizer(m, { lr: -1 }),
        RangeError,
        new RegExp(`^${name}: Invalid learning rate: -1$`),
      );
      assertRefused(m, () => new Optimizer(m, { eps: -1e-8 }), RangeError, /Invalid epsilon value: -1e-8/);
      assertRefused(m, () => new Optimizer(m, { weightDecay: -0.5 }), RangeError, /Invalid weight_decay value: -0\.5/);
      assertRefused(
        m,
        () => new Optimizer(m, { betas: [1, 0.999] }),
        RangeError,
        /Invalid beta parameter at index 0: 1$/,
      );
      assertRefused(m, () => new Optimizer(m, { betas: [-0.1, 0.999] }), RangeError, /at index 0: -0\.1/);
      assertRefused(
        m,
        () => new Optimizer(m, { betas: [0.9, 1] }),
        RangeError,
        /Invalid beta parameter at index 1: 1$/,
      );
      assertRefused(m, () => new Optimizer(m, { betas: [0.9, Number.NaN] }), RangeError, /at index 1: NaN/);
      assertRefused(m, () => new Optimizer(m, { betas: [0.9] }), TypeError, /betas should be a pair of numbers/);
      assertRefused(m, () => new Optimizer(m, { betas: 0.9 }), TypeError, /betas should be a pair of numbers/);
      assertRefused(m, () => new Optimizer(m, { betas: ["0.9", 0.99] }), TypeError, /betas should be a pair/);
      assertRefused(m, () => new Optimizer(m, { amsgrad: "yes" }), TypeError, /amsgrad should be of type boolean/);
      assertRefused(
        m,
        () => new Optimizer(m, { momentum: 0.9 }),
        TypeError,
        new RegExp(`${name} got an unexpected option 'momentum'`),
      );
      assertRefused(m, () => new Optimizer(m, null), TypeError, new RegExp(`${name} options must be an object`));
    } finally {
      m.dispose();
    }
  });
}

test("optimizers and clipGradNorm refuse what is not a Module or a list of distinct Modules", () => {
  const m = linearWithGradient();
  try {
    for (const make of [
      (x) => new loose.SGD(x, { lr: 0.1 }),
      (x) => new loose.Adam(x),
      (x) => loose.clipGradNorm(x, 1),
    ]) {
      assertRefused(
        m,
        () => make({}),
        TypeError,
        /Expected modules to be a Module \(or an array of Modules\), got an object/,
      );
      assertRefused(m, () => make([m, "x"]), TypeError, /Expected modules\[1\] to be a Module/);
      assertRefused(m, () => make([m, m]), RangeError, /modules\[1\] is the same module as modules\[0\]/);
    }
    assertRefused(m, () => new loose.SGD([], { lr: 0.1 }), RangeError, /optimizer got an empty parameter list/);
    assert.equal(clipGradNorm([], 1), 0);
    const disposed = linearWithGradient();
    disposed.dispose();
    assert.throws(() => new loose.Adam([m, disposed]), /This Linear was disposed/);
    assertRefused(m, () => clipGradNorm([m, disposed], 0.001), Error, /This Linear was disposed/);
  } finally {
    m.dispose();
  }
});

test("clipGradNorm returns the total norm and scales every gradient by maxNorm / (norm + 1e-6) only when that is < 1", () => {
  withTwoLinears((a, b) => {
    const grads = [...gradsOf(a), ...gradsOf(b)].flat();
    const l2 = Math.sqrt(grads.reduce((s, g) => s + g * g, 0));
    const before = [gradsOf(a), gradsOf(b)];
    assert.ok(Math.abs(clipGradNorm([a, b], 1e6) - l2) < 1e-9 * l2);
    assert.deepEqual([gradsOf(a), gradsOf(b)], before, "no clipping below maxNorm");
    const max = grads.reduce((s, g) => Math.max(s, Math.abs(g)), 0);
    assert.equal(clipGradNorm([a, b], 1e6, Infinity), max);
    const l1 = grads.reduce((s, g) => s + Math.abs(g), 0);
    assert.ok(Math.abs(clipGradNorm([a, b], 1e6, 1) - l1) < 1e-9 * l1);
    const total = clipGradNorm([a, b], 1);
    assert.ok(Math.abs(total - l2) < 1e-9 * l2);
    const coefficient = 1 / (l2 + 1e-6);
    assert.deepEqual(
      [gradsOf(a), gradsOf(b)],
      before.map((m) => m.map((g) => g.map((v) => Math.fround(v * coefficient)))),
    );
    assert.ok(Math.abs(clipGradNorm([a, b], 1e6) - 1) < 1e-6, "the clipped gradients have norm maxNorm");
  });
});

test("clipGradNorm refuses a bad maxNorm or normType and changes nothing", () => {
  const m = linearWithGradient();
  try {
    for (const bad of [-1, Number.NaN]) {
      assertRefused(m, () => loose.clipGradNorm(m, bad), RangeError, /maxNorm should be a non-negative number/);
    }
    for (const bad of ["1", undefined]) {
      assertRefused(m, () => loose.clipGradNorm(m, bad), TypeError, /maxNorm should be a non-negative number/);
    }
    for (const bad of ["2", null]) {
      assertRefused(
        m,
        () => loose.clipGradNorm(m, 0.001, bad),
        TypeError,
        /normType should be a positive number or Infinity/,
      );
    }
    for (const bad of [0, -2, Number.NaN]) {
      assertRefused(
        m,
        () => loose.clipGradNorm(m, 0.001, bad),
        RangeError,
        /normType should be a positive number or Infinity/,
      );
    }
  } finally {
    m.dispose();
  }
});

test("clipGradNorm with a NaN gradient returns NaN and makes every gradient NaN, as PyTorch (error_if_nonfinite=False)", () => {
  const linear = new Linear({ inFeatures: 3, outFeatures: 2, seed: 1 });
  try {
    linear.forward(Tensor.from([[Number.NaN, 1, 1]]));
    linear.backward(Tensor.from([[1, 1]]));
    assert.ok(Number.isNaN(clipGradNorm(linear, 1)));
    assert.ok(gradsOf(linear).flat().every(Number.isNaN));
  } finally {
    linear.dispose();
  }
});

test("a module that never ran backward is left alone by every optimizer and by clipGradNorm, as PyTorch skips grad None", () => {
  const snapshot = (m) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
  /** @type {Record<string, (modules: Linear[]) => { step(): void }>} */
  const optimizers = {
    SGD: (m) => new SGD(m, { lr: 0.1, weightDecay: 0.1 }),
    Adam: (m) => new Adam(m, { lr: 0.1 }),
    AdamW: (m) => new AdamW(m, { lr: 0.1 }),
  };
  for (const [name, make] of Object.entries(optimizers)) {
    const used = new Linear({ inFeatures: 3, outFeatures: 2, seed: 1 });
    const unused = new Linear({ inFeatures: 3, outFeatures: 2, seed: 2 });
    const before = snapshot(unused);
    const usedBefore = used.stateDict().weight.data.slice();
    used.backward(used.forward(new Tensor(new Float32Array([1, 2, 3]), [1, 3])));
    assert.ok(clipGradNorm([used, unused], 1e9) > 0);
    make([used, unused]).step();
    assert.notDeepEqual(used.stateDict().weight.data, usedBefore, `${name} updates the module that ran backward`);
    assert.deepEqual(snapshot(unused), before, `${name} leaves the other module unchanged`);
    used.dispose();
    unused.dispose();
  }
});
