// RNN on PackedSequence input: PyTorch parity on tests/fixtures/packed.json in
// every build, and the property that defines packing — the packed result
// equals running each sequence alone, as a batch of one with its own h0 slice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RNN, Tensor, PackedSequence, packPaddedSequence, padPackedSequence } from "wasm-rnn";
import { loadFixture, maxAbsError, toleranceFor } from "../helpers/fixtures.mjs";
import { forEachBackend } from "./backends.mjs";
import { makeRandom, randomTensor } from "../helpers/random.mjs";

const packed = loadFixture("packed");

const tensor = (t) => new Tensor(t.data, t.shape);
const stateDictOf = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, tensor(v)]));
const list = (typed) => (typed === null ? null : Array.from(typed));

function assertClose(what, ours, f32, f64) {
  assert.deepEqual([...ours.shape], f64.shape, `${what} shape`);
  const error = maxAbsError(ours.data, f64.data);
  const tol = toleranceFor(f32.data, f64.data);
  assert.ok(
    error <= tol,
    `${what}: max |ours - float64| = ${error} > tolerance ${tol} (PyTorch float32 error ${maxAbsError(f32.data, f64.data)})`,
  );
}

// ---------------------------------------------------------------------------
// packed.json

forEachBackend(() => {
  for (const c of packed.cases) {
    test(`${c.name}: packed output, padded output, batch sizes, indices and hN match PyTorch`, () => {
      const { batchFirst } = c.config;
      const sequence = packPaddedSequence(tensor(c.input), c.packed.lengths, {
        batchFirst,
        enforceSorted: c.packed.enforceSorted,
      });
      assert.ok(sequence instanceof PackedSequence);
      assert.deepEqual(list(sequence.batchSizes), c.batchSizes, "input batchSizes");
      assert.deepEqual(list(sequence.sortedIndices), c.sortedIndices, "input sortedIndices");
      assert.deepEqual(list(sequence.unsortedIndices), c.unsortedIndices, "input unsortedIndices");

      const rnn = new RNN({ ...c.config, seed: 0 });
      try {
        rnn.loadStateDict(stateDictOf(c.stateDict));
        const [out, hN] = c.h0 === null ? rnn.forward(sequence) : rnn.forward(sequence, tensor(c.h0));
        assert.ok(out instanceof PackedSequence, "packed input gives a PackedSequence output");
        assert.deepEqual(list(out.batchSizes), c.batchSizes, "output batchSizes");
        assert.deepEqual(list(out.sortedIndices), c.sortedIndices, "output sortedIndices");
        assert.deepEqual(list(out.unsortedIndices), c.unsortedIndices, "output unsortedIndices");
        assertClose("packed data", out.data, c.packedData, c.packedData64);
        const [padded, lengths] = padPackedSequence(out, { batchFirst });
        assert.deepEqual(list(lengths), c.packed.lengths, "lengths in the caller's order");
        assertClose("padded output", padded, c.output, c.output64);
        assertClose("hN", hN, c.hN, c.hN64);
      } finally {
        rnn.dispose();
      }
    });
  }
}, "packed.json");

// ---------------------------------------------------------------------------
// Packed result == each sequence run alone.

/** |a − b| ≤ 1e-6·max(1, |b|) elementwise (relu outputs are unbounded). */
function assertWithin1e6(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= 1e-6 * Math.max(1, Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: packed ${actual[i]} vs alone ${expected[i]} (|diff| ${d})`);
    }
  }
}

/** Row (t, b) of a (T, B, F) or (B, T, F) tensor. */
function row(t, b, x, batchFirst) {
  const [_d0, d1, F] = x.shape;
  const at = batchFirst ? (b * d1 + t) * F : (t * d1 + b) * F;
  return x.data.subarray(at, at + F);
}

const PROPERTY_CASES = [
  {
    name: "unsorted lengths, unidirectional, 1 layer, tanh",
    lengths: [3, 7, 1, 5, 2],
    config: { inputSize: 4, hiddenSize: 6 },
  },
  {
    name: "sorted lengths with ties, enforceSorted, bidirectional, 2 layers",
    lengths: [9, 6, 6, 3, 3, 1],
    enforceSorted: true,
    config: { inputSize: 5, hiddenSize: 9, numLayers: 2, bidirectional: true },
  },
  {
    name: "unsorted, bidirectional, 3 layers, relu, batchFirst",
    lengths: [2, 11, 4, 11, 1, 7, 3],
    batchFirst: true,
    config: { inputSize: 3, hiddenSize: 5, numLayers: 3, bidirectional: true, nonlinearity: "relu" },
  },
  {
    name: "unsorted, bidirectional, 3 layers, no bias, hidden 33 (odd panels)",
    lengths: [5, 1, 8, 8, 2, 6, 4, 3, 7],
    config: { inputSize: 7, hiddenSize: 33, numLayers: 3, bidirectional: true, bias: false },
  },
  {
    name: "one sequence longer than the rest by many steps, bidirectional",
    lengths: [1, 2, 17, 1],
    config: { inputSize: 2, hiddenSize: 8, bidirectional: true },
  },
  {
    name: "all lengths equal (packed = plain batch), unsorted flag, 2 layers",
    lengths: [4, 4, 4, 4, 4],
    config: { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, nonlinearity: "relu" },
  },
];

function randomLengths(random, batch, maxLength) {
  return Array.from({ length: batch }, () => 1 + Math.floor(random() * maxLength));
}

forEachBackend(() => {
  const random = makeRandom(20240607);
  const cases = [...PROPERTY_CASES];
  for (let i = 0; i < 6; i++) {
    cases.push({
      name: `random lengths #${i + 1}`,
      lengths: randomLengths(random, 1 + Math.floor(random() * 12), 1 + Math.floor(random() * 12)),
      batchFirst: random() < 0.5,
      config: {
        inputSize: 1 + Math.floor(random() * 9),
        hiddenSize: 1 + Math.floor(random() * 20),
        numLayers: 1 + Math.floor(random() * 3),
        bidirectional: random() < 0.6,
        nonlinearity: random() < 0.5 ? "tanh" : "relu",
        bias: random() < 0.8,
      },
    });
  }

  for (const pc of cases) {
    const label = `lengths [${pc.lengths}], ${JSON.stringify(pc.config)}${pc.batchFirst ? ", batchFirst" : ""}`;
    for (const withH0 of [true, false]) {
      test(`packed results equal running each sequence alone with its own h0 slice: ${pc.name} (${label}, ${withH0 ? "h0" : "no h0"})`, () => {
        const r = makeRandom(pc.lengths.reduce((a, b) => a * 31 + b, 7) + (withH0 ? 1 : 0));
        const batchFirst = pc.batchFirst ?? false;
        const B = pc.lengths.length;
        const T = Math.max(...pc.lengths) + 1; // one step of pure padding at the end
        const I = pc.config.inputSize;
        const rnn = new RNN({ ...pc.config, batchFirst, seed: 7 });
        try {
          const H = rnn.hiddenSize;
          const D = rnn.numDirections;
          const planes = rnn.numLayers * D;
          const input = randomTensor(batchFirst ? [B, T, I] : [T, B, I], r);
          // Padding that would poison a wrong result visibly.
          for (let b = 0; b < B; b++) for (let t = pc.lengths[b]; t < T; t++) row(t, b, input, batchFirst).fill(1e3);
          const h0 = withH0 ? randomTensor([planes, B, H], r, 0.5) : null;

          const sequence = packPaddedSequence(input, pc.lengths, {
            batchFirst,
            enforceSorted: pc.enforceSorted ?? false,
          });
          const [out, hN] = rnn.forward(sequence, h0);
          const [padded, lengths] = padPackedSequence(out, { batchFirst });
          assert.deepEqual(Array.from(lengths), pc.lengths);
          assert.deepEqual([...padded.shape], batchFirst ? [B, T - 1, D * H] : [T - 1, B, D * H]);
          assert.deepEqual([...hN.shape], [planes, B, H]);

          for (let b = 0; b < B; b++) {
            const L = pc.lengths[b];
            const x = new Float32Array(L * I);
            for (let t = 0; t < L; t++) x.set(row(t, b, input, batchFirst), t * I);
            let hb = null;
            if (h0 !== null) {
              hb = new Float32Array(planes * H);
              for (let p = 0; p < planes; p++) hb.set(h0.data.subarray((p * B + b) * H, (p * B + b + 1) * H), p * H);
            }
            const xs = new Tensor(x, batchFirst ? [1, L, I] : [L, 1, I]);
            const [alone, hAlone] = hb === null ? rnn.forward(xs) : rnn.forward(xs, new Tensor(hb, [planes, 1, H]));
            const mine = new Float32Array(L * D * H);
            for (let t = 0; t < L; t++) mine.set(row(t, b, padded, batchFirst), t * D * H);
            assertWithin1e6(mine, alone.data, `output of sequence ${b} (length ${L})`);
            for (let t = L; t < T - 1; t++) {
              assert.ok(
                row(t, b, padded, batchFirst).every((v) => v === 0),
                `padding of sequence ${b} at t=${t} is 0`,
              );
            }
            const hMine = new Float32Array(planes * H);
            for (let p = 0; p < planes; p++) hMine.set(hN.data.subarray((p * B + b) * H, (p * B + b + 1) * H), p * H);
            assertWithin1e6(hMine, hAlone.data, `hN of sequence ${b}`);
          }
        } finally {
          rnn.dispose();
        }
      });
    }
  }
}, "packed == each sequence alone");
