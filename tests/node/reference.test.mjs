// The oracle's own check: tests/reference/rnn64.mjs against PyTorch's float64
// results in the golden fixtures (forward.json, packed.json). The fixtures'
// "*64" tensors are the float32 model and input converted to double and run
// by PyTorch, so a correct float64 reference agrees with them to rounding
// (~1e-16 relative); 1e-12·max(1, |value|) leaves room only for summation order.
//
// Also checks that the float32-emulated mode loses about as much as PyTorch
// float32 does, since the fuzzer's tolerance is built on that loss.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadFixture, maxAbsError } from "../helpers/fixtures.mjs";
import { referenceRNN } from "../reference/rnn64.mjs";

const forward = loadFixture("forward");
const packed = loadFixture("packed");

const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Asserts float64-level agreement; returns the error relative to max(1, max|expected|). */
function assertClose64(actual, expected, what) {
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  const error = maxAbsError(actual.data, expected.data);
  const scale = Math.max(1, maxAbs(expected.data));
  assert.ok(error <= 1e-12 * scale, `${what}: max |reference - PyTorch float64| = ${error} (scale ${scale})`);
  return error / scale;
}

let worst64 = { error: 0, where: "-" };
const emulationRatios = [];
const note = (error, where) => {
  if (error > worst64.error) worst64 = { error, where };
};

/** PyTorch float32's error and the emulation's error against the same float64 answer. */
function noteEmulation(where, emulated, torch32, ref64) {
  const torchErr = maxAbsError(torch32.data, ref64.data);
  const emulErr = maxAbsError(emulated.data, ref64.data);
  if (torchErr > 0) emulationRatios.push({ ratio: emulErr / torchErr, where, torchErr, emulErr });
  return { torchErr, emulErr };
}

for (const c of forward.cases) {
  test(`forward.json ${c.name}: float64 reference equals PyTorch float64 to 1e-12`, () => {
    const ref = referenceRNN(c.config, c.stateDict, c.input, c.h0);
    note(assertClose64(ref.output, c.output64, "output"), `${c.name} output`);
    note(assertClose64(ref.hN, c.hN64, "hN"), `${c.name} hN`);
  });
}

/** The fixture's padded input packed by hand with PyTorch's own batchSizes and sortedIndices. */
function packFixture(c) {
  const { lengths } = c.packed;
  const I = c.config.inputSize;
  const bf = c.config.batchFirst;
  const [T, B] = bf ? [c.input.shape[1], c.input.shape[0]] : [c.input.shape[0], c.input.shape[1]];
  const order = c.sortedIndices ?? lengths.map((_, i) => i);
  const rows = [];
  for (let t = 0; t < c.batchSizes.length; t++) {
    for (let j = 0; j < c.batchSizes[t]; j++) {
      const b = order[j];
      assert.ok(t < lengths[b], "PyTorch's batchSizes agree with the lengths");
      const at = (bf ? b * T + t : t * B + b) * I;
      rows.push(...c.input.data.slice(at, at + I));
    }
  }
  return {
    data: { data: Float64Array.from(rows), shape: [rows.length / I, I] },
    batchSizes: c.batchSizes,
    sortedIndices: c.sortedIndices,
    unsortedIndices: c.unsortedIndices,
  };
}

for (const c of packed.cases) {
  test(`packed.json ${c.name}: float64 reference on the PackedSequence equals PyTorch float64 to 1e-12`, () => {
    const ref = referenceRNN(c.config, c.stateDict, packFixture(c), c.h0);
    assert.deepEqual(ref.output.batchSizes, c.batchSizes);
    assert.deepEqual(ref.output.sortedIndices, c.sortedIndices);
    note(assertClose64(ref.output.data, c.packedData64, "packed output data"), `${c.name} output`);
    note(assertClose64(ref.hN, c.hN64, "hN (caller's order)"), `${c.name} hN`);
  });
}

test("the reference is not trivially agreeable: a perturbed weight or a wrong nonlinearity moves it far past 1e-12", () => {
  // Guards the two tests above against a reference that ignores its inputs.
  const c = forward.cases.find((x) => x.config.numLayers === 2 && x.config.bidirectional && x.h0 !== null);
  const ref = referenceRNN(c.config, c.stateDict, c.input, c.h0);
  const sd = { ...c.stateDict, weight_hh_l1_reverse: { ...c.stateDict.weight_hh_l1_reverse } };
  sd.weight_hh_l1_reverse.data = sd.weight_hh_l1_reverse.data.map((v, i) => (i === 0 ? v + 1e-3 : v));
  const moved = referenceRNN(c.config, sd, c.input, c.h0);
  assert.ok(maxAbsError(moved.output.data, ref.output.data) > 1e-9);
  const relu = referenceRNN(
    { ...c.config, nonlinearity: c.config.nonlinearity === "tanh" ? "relu" : "tanh" },
    c.stateDict,
    c.input,
    c.h0,
  );
  assert.ok(maxAbsError(relu.output.data, c.output64.data) > 1e-3);
});

test("the float32 emulation loses about what PyTorch float32 loses (the fuzzer's tolerance rests on it)", () => {
  // Not a parity claim: PyTorch sums in BLAS order with a vectorised tanh. The
  // emulation must only be a fair yardstick: same order of magnitude, never
  // exact where PyTorch is far off, and never wildly worse.
  for (const c of [...forward.cases, ...packed.cases]) {
    const input = c.packed ? packFixture(c) : c.input;
    const emul = referenceRNN(c.config, c.stateDict, input, c.h0, { float32: true });
    const out = c.packed ? emul.output.data : emul.output;
    const expected32 = c.packed ? c.packedData : c.output;
    const expected64 = c.packed ? c.packedData64 : c.output64;
    for (const v of out.data) assert.equal(v, Math.fround(v), `${c.name}: emulated values are float32`);
    const { torchErr, emulErr } = noteEmulation(c.name, out, expected32, expected64);
    const floor = 2e-7 * Math.max(1, maxAbs(expected64.data));
    assert.ok(emulErr <= 16 * torchErr + floor, `${c.name}: emulation error ${emulErr} vs PyTorch float32 ${torchErr}`);
    assert.ok(torchErr <= 16 * emulErr + floor, `${c.name}: PyTorch float32 error ${torchErr} vs emulation ${emulErr}`);
  }
});

after(() => {
  emulationRatios.sort((a, b) => a.ratio - b.ratio);
  const q = (p) => emulationRatios[Math.min(emulationRatios.length - 1, Math.floor(p * emulationRatios.length))];
  console.log(
    `reference: worst float64 disagreement with PyTorch ${worst64.error.toExponential(2)} (relative) at ${worst64.where}`,
  );
  if (emulationRatios.length > 0) {
    console.log(
      `reference: float32-emulation error / PyTorch float32 error over ${emulationRatios.length} outputs: ` +
        `min ${q(0).ratio.toFixed(2)}, median ${q(0.5).ratio.toFixed(2)}, max ${q(1).ratio.toFixed(2)} (${q(1).where})`,
    );
  }
});
