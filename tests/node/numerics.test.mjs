// Special values in every build, against PyTorch's semantics
// (reference/pytorch-rnn.md §5, §6) and the float64 reference:
// - NaN in x[t, b] poisons batch row b only: forward direction from t on,
//   reverse direction up to t, every unit (W_hh mixes them), later layers
//   from there, and hN[b]; other rows are bit-identical to a clean run.
// - NaN/Inf in weights, biases and h0 give exactly the reference's NaN/Inf
//   pattern; tanh(±Inf) = ±1, relu(+Inf) = +Inf, relu(-Inf) = 0.
// - Subnormal inputs and weights are computed, not flushed to zero (PyTorch
//   CPU does not flush by default), and their cost is measured and printed
//   (not asserted: a measurement, not a benchmark).
// - Results are bit-identical run to run and between two instances of the
//   same build, special values included, and NaN never leaks through reused
//   linear memory into another computation.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { init, RNN, RNNCell, Tensor, packPaddedSequence } from "wasm-rnn";
import { forEachBackend } from "./backends.mjs";
import { makeRng } from "../fuzz/differential.mjs";
import { randomTensor as uniformTensor } from "../helpers/random.mjs";
import { referenceRNN } from "../reference/rnn64.mjs";

const timings = [];

/** Uniform values in [-scale, scale) from a makeRng() generator (tests/helpers/random.mjs's tensors). */
const randomTensor = (shape, rng, scale = 1) => uniformTensor(shape, rng.next, scale);

const bitsOf = (data) => new Uint32Array(data.buffer, data.byteOffset, data.length);

function assertSameBits(actual, expected, what) {
  const a = bitsOf(actual);
  const e = bitsOf(expected);
  assert.equal(a.length, e.length, `${what}: length`);
  const at = a.findIndex((w, i) => w !== e[i]);
  assert.equal(at, -1, `${what}: first difference at ${at}: ${actual[at]} vs ${expected[at]}`);
}

function configOf(rnn) {
  return {
    inputSize: rnn.inputSize,
    hiddenSize: rnn.hiddenSize,
    numLayers: rnn.numLayers,
    nonlinearity: rnn.nonlinearity,
    bias: rnn.bias,
    batchFirst: rnn.batchFirst,
    bidirectional: rnn.bidirectional,
  };
}

/**
 * Ours against the float64 reference, element by element: NaN exactly where the reference has
 * NaN, the same infinities, and finite values within float32 noise (1e-5 · max(1, |ref|)).
 */
function assertLikeReference(ours, ref, what) {
  assert.equal(ours.length, ref.length, `${what}: length`);
  for (let i = 0; i < ref.length; i++) {
    const [a, e] = [ours[i], ref[i]];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      assert.ok(Number.isNaN(a) && Number.isNaN(e), `${what}[${i}]: ours ${a}, reference ${e}`);
    } else if (!Number.isFinite(e) || !Number.isFinite(a)) {
      assert.equal(a, e, `${what}[${i}]: ours ${a}, reference ${e}`);
    } else {
      assert.ok(Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${what}[${i}]: ours ${a}, reference ${e}`);
    }
  }
}

function runBoth(rnn, input, h0 = null, stateDict = rnn.stateDict()) {
  const [out, hN] = rnn.forward(input, h0);
  const ref = referenceRNN(configOf(rnn), stateDict, input, h0);
  return { out, hN, ref };
}

/** A model with hand-set weights: every parameter from `fill(name, shape)`. */
function modelWith(options, fill) {
  const rnn = new RNN({ seed: 1, ...options });
  const sd = {};
  for (const { name, shape } of rnn.parameterSpecs()) {
    sd[name] = new Tensor(Float32Array.from(fill(name, shape)), [...shape]);
  }
  rnn.loadStateDict(sd);
  return rnn;
}

/** One unit computing act(x) per batch row: W_ih = [[1]], W_hh = [[0]], no bias. */
const identityUnit = (nonlinearity) =>
  modelWith({ inputSize: 1, hiddenSize: 1, nonlinearity, bias: false }, (name) => [
    name.startsWith("weight_ih") ? 1 : 0,
  ]);

forEachBackend((backend) => {
  test("a NaN in x[t, b] makes row b NaN in every unit from step t on and in hN[b]; the other rows are bit-identical to a clean run", () => {
    const rng = makeRng(1);
    const rnn = new RNN({ inputSize: 5, hiddenSize: 9, numLayers: 2, seed: 2 });
    try {
      const [T, B, H, t0, b0] = [7, 4, 9, 3, 2];
      const clean = randomTensor([T, B, 5], rng);
      const dirty = clean.clone();
      dirty.set(NaN, t0, b0, 4);
      const [outClean, hNClean] = rnn.forward(clean);
      const { out, hN, ref } = runBoth(rnn, dirty);
      assertLikeReference(out.data, ref.output.data, "output");
      assertLikeReference(hN.data, ref.hN.data, "hN");
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const row = out.data.subarray((t * B + b) * H, (t * B + b + 1) * H);
          if (b === b0 && t >= t0) assert.ok(row.every(Number.isNaN), `output[${t}, ${b}] is all NaN`);
          else assertSameBits(row, outClean.data.subarray((t * B + b) * H, (t * B + b + 1) * H), `output[${t}, ${b}]`);
        }
      }
      for (let p = 0; p < 2; p++) {
        for (let b = 0; b < B; b++) {
          const row = hN.data.subarray((p * B + b) * H, (p * B + b + 1) * H);
          if (b === b0) assert.ok(row.every(Number.isNaN), `hN[${p}, ${b}] is all NaN`);
          else assertSameBits(row, hNClean.data.subarray((p * B + b) * H, (p * B + b + 1) * H), `hN[${p}, ${b}]`);
        }
      }
    } finally {
      rnn.dispose();
    }
  });

  test("bidirectional: a NaN at step t poisons the forward half for t' >= t and the reverse half for t' <= t; a second layer is NaN at every step of that row", () => {
    const rng = makeRng(3);
    const one = new RNN({ inputSize: 3, hiddenSize: 6, bidirectional: true, nonlinearity: "relu", seed: 4 });
    const two = new RNN({ inputSize: 3, hiddenSize: 6, numLayers: 2, bidirectional: true, seed: 5 });
    try {
      const [T, B, H, t0, b0] = [6, 3, 6, 2, 0];
      const x = randomTensor([T, B, 3], rng);
      x.set(NaN, t0, b0, 1);
      const r1 = runBoth(one, x);
      assertLikeReference(r1.out.data, r1.ref.output.data, "one layer output");
      for (let t = 0; t < T; t++) {
        const row = r1.out.data.subarray((t * B + b0) * 2 * H, (t * B + b0 + 1) * 2 * H);
        assert.equal(row.subarray(0, H).every(Number.isNaN), t >= t0, `forward half at t=${t}`);
        assert.equal(row.subarray(H).every(Number.isNaN), t <= t0, `reverse half at t=${t}`);
        for (let b = 0; b < B; b++) {
          if (b !== b0)
            assert.ok(r1.out.data.subarray((t * B + b) * 2 * H, (t * B + b + 1) * 2 * H).every(Number.isFinite));
        }
      }
      const r2 = runBoth(two, x);
      assertLikeReference(r2.out.data, r2.ref.output.data, "two layers output");
      assertLikeReference(r2.hN.data, r2.ref.hN.data, "two layers hN");
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const row = r2.out.data.subarray((t * B + b) * 2 * H, (t * B + b + 1) * 2 * H);
          assert.equal(row.every(Number.isNaN), b === b0, `layer 2 output[${t}, ${b}]`);
          if (b !== b0) assert.ok(row.every(Number.isFinite), `layer 2 output[${t}, ${b}] finite`);
        }
      }
    } finally {
      one.dispose();
      two.dispose();
    }
  });

  test("packed input: a NaN in one sequence stays in that sequence (unsorted lengths, bidirectional); the others are bit-identical", () => {
    const rng = makeRng(6);
    const rnn = new RNN({ inputSize: 4, hiddenSize: 5, bidirectional: true, numLayers: 2, seed: 7 });
    try {
      const lengths = [3, 6, 1, 5];
      const x = randomTensor([6, 4, 4], rng);
      const h0 = randomTensor([4, 4, 5], rng);
      const clean = packPaddedSequence(x, lengths, { enforceSorted: false });
      const poisoned = x.clone();
      poisoned.set(NaN, 2, 3, 0); // sequence 3 (length 5) at step 2
      const dirty = packPaddedSequence(poisoned, lengths, { enforceSorted: false });
      const [outClean, hNClean] = rnn.forward(clean, h0);
      const { out, hN, ref } = runBoth(rnn, dirty, h0);
      assertLikeReference(out.data.data, ref.output.data.data, "packed output");
      assertLikeReference(hN.data, ref.hN.data, "hN");
      // Packed rows: sequence j (sorted) at step t is row start[t] + j; sequence 3 is sorted position 1.
      const sortedPos = Array.from(out.sortedIndices).indexOf(3);
      let row = 0;
      out.batchSizes.forEach((bs) => {
        for (let j = 0; j < bs; j++, row++) {
          const values = out.data.data.subarray(row * 10, row * 10 + 10);
          if (j === sortedPos) assert.ok(values.every(Number.isNaN), `row ${row} (sequence 3) is NaN`);
          else assertSameBits(values, outClean.data.data.subarray(row * 10, row * 10 + 10), `row ${row}`);
        }
      });
      for (let p = 0; p < 4; p++) {
        for (let b = 0; b < 4; b++) {
          const values = hN.data.subarray((p * 4 + b) * 5, (p * 4 + b + 1) * 5);
          if (b === 3) assert.ok(values.every(Number.isNaN), `hN[${p}, 3] is NaN`);
          else assertSameBits(values, hNClean.data.subarray((p * 4 + b) * 5, (p * 4 + b + 1) * 5), `hN[${p}, ${b}]`);
        }
      }
    } finally {
      rnn.dispose();
    }
  });

  test("NaN in h0[plane, b] stays in row b (and in that direction's layer until it mixes in): same NaN pattern as the reference", () => {
    const rng = makeRng(8);
    const rnn = new RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 9 });
    try {
      const h0 = randomTensor([4, 3, 4], rng);
      h0.set(NaN, 1, 2, 0); // layer 0 reverse, batch row 2
      const { out, hN, ref } = runBoth(rnn, randomTensor([5, 3, 3], rng), h0);
      assertLikeReference(out.data, ref.output.data, "output");
      assertLikeReference(hN.data, ref.hN.data, "hN");
      assert.ok(out.data.some(Number.isNaN), "the NaN propagates");
      for (let t = 0; t < 5; t++) {
        for (const b of [0, 1])
          assert.ok(out.data.subarray((t * 3 + b) * 8, (t * 3 + b + 1) * 8).every(Number.isFinite));
      }
    } finally {
      rnn.dispose();
    }
  });

  test("NaN and ±Inf in weights and biases give exactly the reference's NaN/Inf pattern (tanh and relu)", () => {
    const rng = makeRng(10);
    const cases = [
      ["NaN in weight_ih_l0", "weight_ih_l0", 3, NaN],
      ["+Inf in weight_ih_l0", "weight_ih_l0", 0, Infinity],
      ["-Inf in weight_hh_l0 (0 · Inf at t = 0)", "weight_hh_l0", 5, -Infinity],
      ["+Inf in bias_ih_l0", "bias_ih_l0", 1, Infinity],
      ["-Inf in bias_hh_l1", "bias_hh_l1", 2, -Infinity],
      ["NaN in bias_hh_l0", "bias_hh_l0", 0, NaN],
      ["+Inf in weight_ih_l1", "weight_ih_l1", 4, Infinity],
    ];
    for (const nonlinearity of ["tanh", "relu"]) {
      for (const [what, name, index, value] of cases) {
        const rnn = new RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2, nonlinearity, seed: 11 });
        try {
          const sd = rnn.stateDict();
          sd[name].data[index] = value;
          rnn.loadStateDict(sd);
          const x = randomTensor([4, 2, 3], rng);
          const { out, hN, ref } = runBoth(rnn, x, null, sd);
          assertLikeReference(out.data, ref.output.data, `${nonlinearity}, ${what}: output`);
          assertLikeReference(hN.data, ref.hN.data, `${nonlinearity}, ${what}: hN`);
        } finally {
          rnn.dispose();
        }
      }
    }
  });

  test("activations of special values as PyTorch: tanh(±Inf) = ±1, tanh(NaN) = NaN, relu(+Inf) = +Inf, relu(-Inf) = 0, huge values saturate", () => {
    const values = [Infinity, -Infinity, NaN, 1e30, -1e30, 3.4e38, -3.4e38, 0, 20, -20];
    const x = new Tensor(Float32Array.from(values), [1, values.length, 1]);
    const expected = {
      tanh: [1, -1, NaN, 1, -1, 1, -1, 0, 1, -1],
      relu: [Infinity, 0, NaN, 1e30, 0, 3.4e38, 0, 0, 20, 0],
    };
    for (const nonlinearity of ["tanh", "relu"]) {
      const rnn = identityUnit(nonlinearity);
      try {
        const [out, hN] = rnn.forward(x);
        expected[nonlinearity].forEach((e, i) => {
          const got = out.data[i];
          if (Number.isNaN(e)) assert.ok(Number.isNaN(got), `${nonlinearity}(${values[i]}) = ${got}`);
          else assert.equal(got, Math.fround(e), `${nonlinearity}(${values[i]}) = ${got}`);
        });
        assertSameBits(hN.data, out.data, "hN equals the single step's output");
      } finally {
        rnn.dispose();
      }
    }
  });

  test("a saturated tanh unit is exactly ±1, so a later layer that amplifies it 2^20-fold still gets tanh(0.5) (as PyTorch float32)", () => {
    // Layer 0: tanh(40 · x) for x >= 1: 1 in float64 already (past 19.1), and in float32 past 9.01.
    // Layer 1: tanh(2^20 · h + 0.5 − 2^20); every operand and partial sum is exact in float32,
    // so the answer is tanh(0.5) unless the saturated value falls short of 1 (by 4 ulps, 2^20
    // of them cost 0.25 in the pre-activation).
    const rnn = modelWith({ inputSize: 1, hiddenSize: 1, numLayers: 2 }, (name) => {
      if (name === "weight_ih_l0") return [40];
      if (name === "weight_ih_l1") return [2 ** 20];
      if (name === "bias_ih_l1") return [0.5 - 2 ** 20];
      return [0];
    });
    try {
      const x = new Tensor(Float32Array.of(1, 3, 100, Infinity), [4, 1]);
      const { out, ref } = runBoth(rnn, x);
      for (let t = 0; t < 4; t++) {
        // tanh(0.5) itself may be a few ulps off (the kernel's tanh is within 4 ulps): allow 1e-6, 16 ulps.
        const error = Math.abs(out.data[t] - ref.output.data[t]);
        assert.ok(
          error <= 1e-6,
          `x = ${x.data[t]}: ${out.data[t]}, reference tanh(0.5) = ${ref.output.data[t]} (error ${error})`,
        );
      }
    } finally {
      rnn.dispose();
    }
  });

  test("an infinite input saturates tanh to exactly ±1 at its step and the sequence continues finite; Inf - Inf in the sum is NaN, as the reference", () => {
    const rng = makeRng(12);
    const rnn = new RNN({ inputSize: 3, hiddenSize: 5, seed: 13 });
    try {
      const x = randomTensor([5, 2, 3], rng);
      x.set(Infinity, 1, 0, 2); // row 0: one infinite feature → ±Inf pre-activations → ±1
      x.set(Infinity, 2, 1, 0); // row 1: two infinite features → opposite-signed weights give Inf - Inf
      x.set(-Infinity, 2, 1, 1);
      const { out, hN, ref } = runBoth(rnn, x);
      assertLikeReference(out.data, ref.output.data, "output");
      assertLikeReference(hN.data, ref.hN.data, "hN");
      const saturated = out.data.subarray((1 * 2 + 0) * 5, (1 * 2 + 0) * 5 + 5);
      assert.ok(
        saturated.every((v) => v === 1 || v === -1),
        `row 0 at t=1 saturated: ${saturated}`,
      );
      for (let t = 2; t < 5; t++) assert.ok(out.data.subarray(t * 2 * 5, t * 2 * 5 + 5).every(Number.isFinite));
    } finally {
      rnn.dispose();
    }
  });

  test("RNNCell: a NaN in one batch row stays in that row", () => {
    const rng = makeRng(14);
    const cell = new RNNCell({ inputSize: 4, hiddenSize: 7, seed: 15 });
    try {
      const x = randomTensor([3, 4], rng);
      const hx = randomTensor([3, 7], rng);
      const clean = cell.forward(x, hx);
      x.set(NaN, 1, 2);
      const dirty = cell.forward(x, hx);
      assert.ok(dirty.data.subarray(7, 14).every(Number.isNaN), "row 1 NaN");
      assertSameBits(dirty.data.subarray(0, 7), clean.data.subarray(0, 7), "row 0");
      assertSameBits(dirty.data.subarray(14), clean.data.subarray(14), "row 2");
    } finally {
      cell.dispose();
    }
  });

  test("subnormal inputs and weights are computed, not flushed to zero (PyTorch CPU does not flush)", () => {
    const subnormals = [1e-39, -3e-42, 1.4e-45, 1.1754942e-38, -5e-40];
    for (const nonlinearity of ["tanh", "relu"]) {
      const rnn = identityUnit(nonlinearity);
      try {
        const x = new Tensor(Float32Array.from(subnormals), [1, subnormals.length, 1]);
        const [out] = rnn.forward(x);
        subnormals.forEach((v, i) => {
          const want = nonlinearity === "relu" && v < 0 ? 0 : Math.fround(v);
          assert.ok(Math.abs(out.data[i] - want) <= 2 ** -149, `${nonlinearity}(${v}) = ${out.data[i]}, want ${want}`);
          if (want !== 0) assert.notEqual(out.data[i], 0, `${nonlinearity}(${v}) flushed to zero`);
        });
      } finally {
        rnn.dispose();
      }
    }
    // Subnormal weights times normal inputs: the products are subnormal too.
    const tiny = modelWith({ inputSize: 2, hiddenSize: 1, bias: false }, (name) =>
      name.startsWith("weight_ih") ? [1e-39, 2e-39] : [0],
    );
    try {
      const [out] = tiny.forward(new Tensor(Float32Array.from([1, 1, 0.5, -1]), [2, 1, 2]));
      assert.ok(Math.abs(out.data[0] - Math.fround(3e-39)) <= 2 ** -148, `1e-39 + 2e-39 = ${out.data[0]}`);
      assert.ok(Math.abs(out.data[1] - Math.fround(-1.5e-39)) <= 2 ** -148, `0.5e-39 - 2e-39 = ${out.data[1]}`);
    } finally {
      tiny.dispose();
    }
  });

  test("subnormal arithmetic does not stall the kernel (measured and printed, not asserted)", () => {
    // No bias, small inputs: every product, sum and state stays subnormal for the whole run,
    // the worst case for hardware that takes a slow path on subnormal operands.
    const rng = makeRng(16);
    const rnn = new RNN({ inputSize: 128, hiddenSize: 128, bias: false, seed: 17 });
    try {
      const normal = randomTensor([64, 16, 128], rng);
      const subnormal = new Tensor(
        normal.data.map((v) => v * 1e-39),
        normal.shape,
      );
      const [probe] = rnn.forward(subnormal);
      assert.ok(
        probe.data.some((v) => v !== 0 && Math.abs(v) < 1.1754944e-38),
        "the states really are subnormal",
      );
      // Alternate the two inputs so machine noise (a shared CI box) hits both alike; report medians.
      const runs = { normal: [], subnormal: [] };
      rnn.forward(normal); // warm-up
      for (let i = 0; i < 9; i++) {
        for (const [key, x] of [
          ["normal", normal],
          ["subnormal", subnormal],
        ]) {
          const t = performance.now();
          rnn.forward(x);
          runs[key].push(performance.now() - t);
        }
      }
      const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
      const tNormal = median(runs.normal);
      const tSubnormal = median(runs.subnormal);
      timings.push({ backend, tNormal, tSubnormal });
      assert.ok(tNormal > 0 && tSubnormal > 0);
    } finally {
      rnn.dispose();
    }
  });

  test("bit-identical results run to run and between two instances of this build, with NaN, ±Inf and subnormal inputs", async () => {
    const rng = makeRng(18);
    const x = randomTensor([6, 3, 4], rng);
    x.set(NaN, 2, 0, 1);
    x.set(Infinity, 1, 1, 0);
    x.set(-Infinity, 4, 1, 3);
    x.set(1e-40, 3, 2, 2);
    const h0 = randomTensor([4, 3, 5], rng, 1e-39);
    const options = { inputSize: 4, hiddenSize: 5, numLayers: 2, bidirectional: true, seed: 19 };
    const a = new RNN(options);
    const first = a.forward(x, h0);
    for (let i = 0; i < 3; i++) {
      const again = a.forward(x, h0);
      assertSameBits(again[0].data, first[0].data, `run ${i + 2} output`);
      assertSameBits(again[1].data, first[1].data, `run ${i + 2} hN`);
    }
    a.dispose();
    await init({ backend }); // a second instance of the same build
    const b = new RNN(options);
    const other = b.forward(x, h0);
    b.dispose();
    assertSameBits(other[0].data, first[0].data, "other instance output");
    assertSameBits(other[1].data, first[1].data, "other instance hN");
  });

  test("NaN never leaks through reused memory: after an all-NaN run the same model, and a new model in the freed memory, compute cleanly", () => {
    const rng = makeRng(20);
    const options = { inputSize: 6, hiddenSize: 11, numLayers: 3, bidirectional: true, seed: 21 };
    const x = randomTensor([5, 3, 6], rng);
    const a = new RNN(options);
    const before = a.forward(x);
    const nan = new Tensor(new Float32Array(12 * 7 * 6).fill(NaN), [12, 7, 6]);
    a.forward(nan, new Tensor(new Float32Array(6 * 7 * 11).fill(NaN), [6, 7, 11]));
    const after = a.forward(x);
    assertSameBits(after[0].data, before[0].data, "same model output after a NaN run");
    assertSameBits(after[1].data, before[1].data, "same model hN after a NaN run");
    // Poison a model's weights and workspace, free it, and build a new one in its place.
    const sd = a.stateDict();
    for (const t of Object.values(sd)) t.data.fill(NaN);
    a.loadStateDict(sd);
    a.forward(nan);
    a.dispose();
    const b = new RNN(options);
    try {
      const fresh = b.forward(x);
      assertSameBits(fresh[0].data, before[0].data, "a new model in the freed memory");
      assert.ok(fresh[0].data.every(Number.isFinite));
    } finally {
      b.dispose();
    }
  });
}, "numerics");

after(() => {
  for (const { backend, tNormal, tSubnormal } of timings) {
    console.log(
      `subnormal timing (${backend} build, 128→128, T=64, B=16, forward median of 9): normal ${tNormal.toFixed(2)} ms, ` +
        `all-subnormal ${tSubnormal.toFixed(2)} ms (×${(tSubnormal / tNormal).toFixed(2)})`,
    );
  }
});
