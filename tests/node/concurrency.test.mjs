// Concurrency: init() called twice at once and one after the other, models
// used from interleaved async tasks, and worker_threads each with their own
// instance. JavaScript runs one forward at a time per thread, so what can go
// wrong is shared state: the active kernel switching under a model, a
// workspace or a result shared between models, an init() that finishes late
// overriding a later one, or an instance per thread that computes differently.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { init, backend as activeBackend, RNN, Tensor, packPaddedSequence } from "wasm-rnn";
import { BACKENDS } from "./backends.mjs";
import { makeRng } from "../fuzz/differential.mjs";
import { randomTensor as uniformTensor } from "../helpers/random.mjs";
import { referenceRNN } from "../reference/rnn64.mjs";

/** Uniform values in [-scale, scale) from a makeRng() generator (tests/helpers/random.mjs's tensors). */
const randomTensor = (shape, rng, scale = 1) => uniformTensor(shape, rng.next, scale);

const bits = (data) => Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));

function assertNearReference(rnn, input, output, what) {
  const config = {
    inputSize: rnn.inputSize,
    hiddenSize: rnn.hiddenSize,
    numLayers: rnn.numLayers,
    nonlinearity: rnn.nonlinearity,
    bias: rnn.bias,
    batchFirst: rnn.batchFirst,
    bidirectional: rnn.bidirectional,
  };
  const ref = referenceRNN(config, rnn.stateDict(), input, null).output.data;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(output.data[i] - ref[i]));
  assert.ok(worst <= 2e-5, `${what}: max error ${worst} against the float64 reference`);
}

const FIRST = BACKENDS[0];
const LAST = BACKENDS.at(-1);

test("two init() calls at once both resolve, each to its own instance and build; a model created afterwards is correct", async () => {
  const [a, b] = await Promise.all([init({ backend: FIRST }), init({ backend: LAST })]);
  assert.equal(a.backend, FIRST);
  assert.equal(b.backend, LAST);
  assert.notEqual(a.kernel.memory, b.kernel.memory, "separate instances, separate memories");
  assert.ok([FIRST, LAST].includes(activeBackend()));
  const rnn = new RNN({ inputSize: 4, hiddenSize: 6, numLayers: 2, seed: 1 });
  try {
    const x = randomTensor([5, 3, 4], makeRng(1));
    assertNearReference(rnn, x, rnn.forward(x)[0], "model after concurrent init");
  } finally {
    rnn.dispose();
  }
});

test("the init() called last decides the active build, whichever load finishes first (both call orders)", async () => {
  // Without this, `init({ backend: "scalar" }); await init({ backend: "simd" })` can leave
  // scalar active once the first load completes later, under models created in between.
  // The `instantiate` hook (public: InitOptions.instantiate) makes the first load the slow one.
  const slow = async (module) => {
    await new Promise((r) => setTimeout(r, 30));
    return WebAssembly.instantiate(module, {});
  };
  for (const [first, second] of [
    [FIRST, LAST],
    [LAST, FIRST],
  ]) {
    await Promise.all([init({ backend: first, instantiate: slow }), init({ backend: second })]);
    assert.equal(activeBackend(), second, `init(${first}, slow) then init(${second}), awaited together`);
    const second2 = init({ backend: second });
    await init({ backend: first }); // an earlier call still loading must not win after this one
    await second2;
    assert.equal(activeBackend(), first, `init(${second}) then init(${first}); the later call awaited first`);
    for (let round = 0; round < 3; round++) {
      await Promise.all([init({ backend: first }), init({ backend: second })]);
      assert.equal(
        activeBackend(),
        second,
        `init(${first}) then init(${second}), both awaited together (round ${round + 1})`,
      );
    }
  }
});

test("sequential init() calls: every model keeps the build it was created on and its exact results", async () => {
  const rng = makeRng(2);
  const x = randomTensor([6, 2, 5], rng);
  const models = [];
  for (const backend of [...BACKENDS, ...BACKENDS]) {
    await init({ backend });
    const rnn = new RNN({ inputSize: 5, hiddenSize: 7, bidirectional: true, seed: 3 });
    models.push({ backend, rnn, result: bits(rnn.forward(x)[0].data) });
  }
  try {
    await init({ backend: FIRST });
    for (const { backend, rnn, result } of models) {
      assert.deepEqual(bits(rnn.forward(x)[0].data), result, `${backend} model after later init() calls`);
    }
    // Same build, different instances: same bits.
    for (let i = 0; i < BACKENDS.length; i++) {
      assert.deepEqual(models[i].result, models[i + BACKENDS.length].result, `${BACKENDS[i]} across instances`);
    }
    for (const { rnn } of models) assertNearReference(rnn, x, rnn.forward(x)[0], "each build");
  } finally {
    for (const { rnn } of models) rnn.dispose();
  }
});

test(
  "models used from interleaved async tasks (awaits between forwards, one model shared by two tasks, init() switching builds mid-way) " +
    "give bit-identical results to the same work run sequentially",
  async () => {
    await init({ backend: LAST });
    const configs = [
      { inputSize: 3, hiddenSize: 5, seed: 10 },
      { inputSize: 6, hiddenSize: 17, numLayers: 2, bidirectional: true, seed: 11 },
      { inputSize: 2, hiddenSize: 33, nonlinearity: "relu", batchFirst: true, seed: 12 },
    ];
    const rng = makeRng(13);
    // Per task: 12 inputs of varying sizes (so workspaces grow and shrink between tasks' turns).
    const plans = [0, 1, 2, 1].map((m) => ({
      model: m,
      inputs: Array.from({ length: 12 }, () => {
        const T = rng.int(1, 9);
        const B = rng.int(1, 6);
        const c = configs[m];
        if (rng.chance(0.3)) {
          const lengths = Array.from({ length: B }, () => rng.int(1, T));
          lengths[0] = T;
          return packPaddedSequence(randomTensor([T, B, c.inputSize], rng), lengths, { enforceSorted: false });
        }
        return randomTensor(c.batchFirst ? [B, T, c.inputSize] : [T, B, c.inputSize], rng);
      }),
    }));
    const result = (r) => [...bits(r[0].data.data ?? r[0].data), ...bits(r[1].data)];
    const pause = (i) =>
      i % 3 === 0
        ? new Promise((r) => setImmediate(r))
        : i % 3 === 1
          ? new Promise((r) => setTimeout(r, 0))
          : Promise.resolve();

    const sequentialModels = configs.map((c) => new RNN(c));
    const expected = plans.map((plan) => plan.inputs.map((x) => result(sequentialModels[plan.model].forward(x))));

    const models = configs.map((c) => new RNN(c));
    const late = [];
    try {
      const tasks = plans.map(async (plan, p) => {
        const out = [];
        for (const [i, x] of plan.inputs.entries()) {
          await pause(i + p);
          out.push(result(models[plan.model].forward(x)));
          if (p === 0 && i === 5) {
            // Another build becomes active while the other tasks are mid-way; their models must not notice.
            await init({ backend: FIRST });
            late.push(new RNN(configs[0]));
          }
        }
        return out;
      });
      const got = await Promise.all(tasks);
      got.forEach((outs, p) => outs.forEach((o, i) => assert.deepEqual(o, expected[p][i], `task ${p}, forward ${i}`)));
      // The model created after the switch runs on the other build: same numbers up to float32 noise.
      const x = plans[0].inputs.find((t) => t instanceof Tensor);
      assertNearReference(late[0], x, late[0].forward(x)[0], "model created after the switch");
    } finally {
      for (const m of [...sequentialModels, ...models, ...late]) m.dispose();
    }
  },
);

// ---------------------------------------------------------------------------
// worker_threads: two Workers, each with its own instance, alongside the main thread.

const workers = [];
after(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
});

function startWorker() {
  const worker = new Worker(new URL("./workers/rnn-worker.mjs", import.meta.url));
  workers.push(worker);
  let next = 0;
  const pending = new Map();
  worker.on("message", (m) => {
    const { resolve, reject } = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) reject(new Error(`worker: ${m.error}`));
    else resolve(m);
  });
  worker.on("error", (e) => {
    for (const { reject } of pending.values()) reject(e);
  });
  return (request) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...request });
    });
}

test("two worker_threads, each with its own wasm-rnn instance, compute bit-identical results to the main thread on the same build, at the same time", async () => {
  const rng = makeRng(20);
  const config = { inputSize: 9, hiddenSize: 24, numLayers: 2, bidirectional: true, seed: 21 };
  const x = randomTensor([7, 4, 9], rng);
  const h0 = randomTensor([4, 4, 24], rng);
  const [w1, w2] = [startWorker(), startWorker()];
  const request = (backend) => ({
    backend,
    config,
    input: { data: x.data.slice(), shape: [...x.shape] },
    h0: { data: h0.data.slice(), shape: [...h0.shape] },
  });
  // Both workers busy while the main thread computes its own.
  const pending = [w1(request(LAST)), w2(request(FIRST)), w1(request(FIRST)), w2(request(LAST))];
  const mine = {};
  for (const backend of new Set([FIRST, LAST])) {
    await init({ backend });
    const rnn = new RNN(config);
    try {
      const [out, hN] = rnn.forward(x, h0);
      mine[backend] = { out: bits(out.data), hN: bits(hN.data) };
    } finally {
      rnn.dispose();
    }
  }
  const replies = await Promise.all(pending);
  for (const reply of replies) {
    assert.deepEqual(reply.output.shape, [7, 4, 48]);
    assert.deepEqual(bits(reply.output.data), mine[reply.backend].out, `worker output on ${reply.backend}`);
    assert.deepEqual(bits(reply.hN.data), mine[reply.backend].hN, `worker hN on ${reply.backend}`);
    assert.ok(reply.memory > 0);
  }
});
