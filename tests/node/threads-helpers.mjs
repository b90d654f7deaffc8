// What the threads suites share: running a recurrent model the same way on
// kernels with different thread counts, and comparing the results bit for bit.
// Not a test file itself (node --test only picks *.test.mjs).
import assert from "node:assert/strict";
import { GRU, LSTM, PackedSequence, RNN, Tensor, packPaddedSequence } from "wasm-rnn";
import { makeRandom, randomTensor } from "../helpers/random.mjs";
import { stateDictOf, tensorOf } from "../helpers/parity.mjs";

export const MODULES = { RNN, GRU, LSTM };

/** @type {readonly import("wasm-rnn").Backend[]} The threaded builds. */
export const THREADED_BACKENDS = ["scalar", "simd", "relaxed"];

/**
 * The threaded kernel's own exports in `runtime` (the thread protocol's tuning and test hooks,
 * which the typed KernelExports leaves out).
 * @returns {{ threads_tune(step: number, project: number, directions: number): void, thread_fail_next_job(thread: number): void }}
 */
export function threadExports(runtime) {
  /** @type {any} */
  const kernel = runtime.kernel;
  assert.equal(typeof kernel.threads_tune, "function", "a threaded kernel exports threads_tune");
  return kernel;
}

/** The state argument of forward for a fixture case: h0, LSTM's [h0, c0], or nothing. */
function stateOf(c) {
  if (c.h0 === null || c.h0 === undefined) return [];
  return c.module === "LSTM" ? [[tensorOf(c.h0), tensorOf(c.c0)]] : [tensorOf(c.h0)];
}

/** Every float a forward returned (output or packed data, then the final states), as arrays. */
function flatten(result) {
  const [output, state] = result;
  const states = Array.isArray(state) ? state : [state];
  return [output instanceof PackedSequence ? output.data.data : output.data, ...states.map((s) => s.data)];
}

/**
 * Runs a fixture case (forward.json, gated.json, packed.json) on the active
 * kernel: an eval-mode forward, and for unpacked input a train-mode forward
 * and its backward (gradient of the output's sum), whose results and
 * gradients it returns too.
 */
export function runFixtureCase(c) {
  const module = new MODULES[c.module ?? "RNN"]({ ...c.config, seed: 0 });
  try {
    module.loadStateDict(stateDictOf(c.stateDict));
    const input = () =>
      c.packed === undefined
        ? tensorOf(c.input)
        : packPaddedSequence(tensorOf(c.input), c.packed.lengths, {
            batchFirst: c.config.batchFirst,
            enforceSorted: c.packed.enforceSorted,
          });
    module.eval();
    const results = flatten(module.forward(input(), ...stateOf(c)));
    if (c.packed !== undefined) return results;
    module.train();
    const trained = module.forward(input(), ...stateOf(c));
    results.push(...flatten(trained));
    const [gradInput] = module.backward(new Tensor(new Float32Array(trained[0].data.length).fill(1), trained[0].shape));
    results.push(gradInput.data, ...Object.values(module.gradients()).map((g) => g.data));
    return results;
  } finally {
    module.dispose();
  }
}

/**
 * Larger cases than the fixtures, whose steps split with the kernel's own thresholds: each
 * step is at least 65 K multiply-adds (batch × gates·H8 × hidden or projSize).
 */
export const LARGE_CASES = [
  { module: "RNN", config: { inputSize: 24, hiddenSize: 300, numLayers: 2 }, shape: [12, 1, 24] },
  { module: "RNN", config: { inputSize: 16, hiddenSize: 150, bidirectional: true }, shape: [10, 6, 16] },
  { module: "GRU", config: { inputSize: 20, hiddenSize: 90 }, shape: [8, 3, 20] },
  { module: "GRU", config: { inputSize: 20, hiddenSize: 77, bidirectional: true, numLayers: 2 }, shape: [6, 5, 20] },
  { module: "LSTM", config: { inputSize: 32, hiddenSize: 100 }, shape: [9, 4, 32] },
  { module: "LSTM", config: { inputSize: 12, hiddenSize: 130, projSize: 37, bidirectional: true }, shape: [7, 4, 12] },
  { module: "LSTM", config: { inputSize: 8, hiddenSize: 66 }, shape: [11, 7, 8], lengths: [11, 9, 9, 6, 3, 2, 1] },
  {
    module: "GRU",
    config: { inputSize: 8, hiddenSize: 120, bidirectional: true },
    shape: [10, 5, 8],
    lengths: [10, 7, 7, 4, 1],
  },
];

/** Runs a LARGE_CASES entry with seeded weights and input: eval forward, train forward and backward. */
export function runLargeCase(c) {
  const random = makeRandom(c.shape.reduce((a, b) => a * 31 + b, c.config.hiddenSize));
  const x = randomTensor(c.shape, random);
  const fixture = {
    module: c.module,
    config: { batchFirst: false, ...c.config },
    stateDict: null,
    input: { data: x.data, shape: c.shape },
    packed: c.lengths === undefined ? undefined : { lengths: c.lengths, enforceSorted: true },
  };
  const module = new MODULES[c.module]({ ...c.config, seed: 1 });
  fixture.stateDict = Object.fromEntries(
    Object.entries(module.stateDict()).map(([k, v]) => [k, { data: v.data, shape: v.shape }]),
  );
  module.dispose();
  return runFixtureCase(fixture);
}

/** Asserts two runs' results are the same bits (NaN payloads and signed zeros included). */
export function assertSameBits(actual, expected, label) {
  assert.equal(actual.length, expected.length, `${label}: number of results`);
  for (let r = 0; r < expected.length; r++) {
    const a = new Uint32Array(actual[r].buffer, actual[r].byteOffset, actual[r].length);
    const e = new Uint32Array(expected[r].buffer, expected[r].byteOffset, expected[r].length);
    assert.equal(a.length, e.length, `${label}: length of result ${r}`);
    for (let i = 0; i < e.length; i++) {
      if (a[i] !== e[i]) {
        assert.fail(`${label}: result ${r}[${i}] is ${actual[r][i]} with threads, ${expected[r][i]} on one thread`);
      }
    }
  }
}
