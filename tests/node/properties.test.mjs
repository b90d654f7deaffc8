// Properties of RNN.forward that hold for any weights, in every build:
// layout equivalences (unbatched, batchFirst, default h0), hN identities,
// batch 0, long-sequence stability, determinism, results that own their data,
// and bounded memory over many create/forward/dispose cycles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RNN, Tensor, GRU, LSTM, packPaddedSequence, padPackedSequence } from "wasm-rnn";
import { snapshotOf } from "../helpers/parity.mjs";
import { forEachBackend } from "./backends.mjs";
import { makeRandom, randomTensor } from "../helpers/random.mjs";

// ---------------------------------------------------------------------------
// Helpers

/** Swaps the first two dims of a 3-D tensor: (A, B, F) → (B, A, F). */
function transpose01(x) {
  const [A, B, F] = x.shape;
  const out = new Float32Array(x.data.length);
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) out.set(x.data.subarray((a * B + b) * F, (a * B + b + 1) * F), (b * A + a) * F);
  }
  return new Tensor(out, [B, A, F]);
}

/** Bitwise equality of two tensors (shape and every element, -0 and NaN included). */
function assertSame(actual, expected, what) {
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  for (let i = 0; i < expected.data.length; i++) {
    if (!Object.is(actual.data[i], expected.data[i])) {
      assert.fail(`${what}[${i}]: ${actual.data[i]} !== ${expected.data[i]}`);
    }
  }
}

/** Elements [from, from + n) of a flat Float32Array as a plain array. */
const slice = (data, from, n) => Array.from(data.subarray(from, from + n));

const CONFIGS = [
  { inputSize: 3, hiddenSize: 5 },
  { inputSize: 4, hiddenSize: 7, numLayers: 2, bidirectional: true },
  { inputSize: 9, hiddenSize: 33, numLayers: 3, bidirectional: true, nonlinearity: "relu" },
  { inputSize: 1, hiddenSize: 1, numLayers: 2, bias: false },
  { inputSize: 6, hiddenSize: 17, numLayers: 1, bidirectional: true, bias: false, nonlinearity: "relu" },
];
const label = (c) =>
  `I${c.inputSize} H${c.hiddenSize} L${c.numLayers ?? 1}` +
  `${c.bidirectional ? " bi" : ""}${c.bias === false ? " nobias" : ""} ${c.nonlinearity ?? "tanh"}`;

/** referenceForward memoised by key: the inputs and seeded weights are the same in every build. */
const references = new Map();
function cachedReference(key, rnn, x, h0) {
  if (!references.has(key)) references.set(key, referenceForward(rnn, x, h0));
  return references.get(key);
}

/** Float64 reference forward (time-major, batched), straight from PyTorch's math (pytorch-rnn.md §5). */
function referenceForward(rnn, x, h0) {
  const sd = rnn.stateDict();
  const [T, B] = x.shape;
  const H = rnn.hiddenSize;
  const D = rnn.numDirections;
  const act = rnn.nonlinearity === "tanh" ? Math.tanh : (v) => Math.max(v, 0);
  let input = Float64Array.from(x.data);
  let inSize = x.shape[2];
  const hN = new Float64Array(rnn.numLayers * D * B * H);
  for (let l = 0; l < rnn.numLayers; l++) {
    const out = new Float64Array(T * B * D * H);
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const wih = sd[`weight_ih${sfx}`].data;
      const whh = sd[`weight_hh${sfx}`].data;
      const bih = rnn.bias ? sd[`bias_ih${sfx}`].data : null;
      const bhh = rnn.bias ? sd[`bias_hh${sfx}`].data : null;
      for (let b = 0; b < B; b++) {
        let h = new Float64Array(H);
        let next = new Float64Array(H);
        if (h0) for (let j = 0; j < H; j++) h[j] = h0.data[((l * D + d) * B + b) * H + j];
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          for (let j = 0; j < H; j++) {
            let ih = bih ? bih[j] : 0;
            for (let k = 0; k < inSize; k++) ih += wih[j * inSize + k] * input[(t * B + b) * inSize + k];
            let hh = bhh ? bhh[j] : 0;
            for (let k = 0; k < H; k++) hh += whh[j * H + k] * h[k];
            next[j] = act(hh + ih);
          }
          [h, next] = [next, h];
          out.set(h, (t * B + b) * D * H + d * H);
        }
        hN.set(h, ((l * D + d) * B + b) * H);
      }
    }
    input = out;
    inSize = D * H;
  }
  return { output: input, hN };
}

// ---------------------------------------------------------------------------

forEachBackend((_backend, context) => {
  for (const config of CONFIGS) {
    test(`unbatched (L, I) input equals batched (L, 1, I) with N=1, output and hN bit-identical (${label(config)})`, () => {
      const r = makeRandom(1);
      const rnn = new RNN({ ...config, seed: 11 });
      const bf = new RNN({ ...config, batchFirst: true, seed: 11 });
      try {
        const planes = rnn.numLayers * rnn.numDirections;
        const x = randomTensor([6, config.inputSize], r);
        const h0 = randomTensor([planes, config.hiddenSize], r);
        for (const withH0 of [false, true]) {
          const [out, hN] = withH0 ? rnn.forward(x, h0) : rnn.forward(x);
          const x3 = x.reshape([6, 1, config.inputSize]);
          const [out3, hN3] = withH0 ? rnn.forward(x3, h0.reshape([planes, 1, config.hiddenSize])) : rnn.forward(x3);
          assert.deepEqual([...out.shape], [6, rnn.numDirections * config.hiddenSize]);
          assert.deepEqual([...hN.shape], [planes, config.hiddenSize]);
          assertSame(out, out3.reshape(out.shape), `output (h0: ${withH0})`);
          assertSame(hN, hN3.reshape(hN.shape), `hN (h0: ${withH0})`);
          // batchFirst is ignored for unbatched input, as in PyTorch.
          const [outBf, hNBf] = withH0 ? bf.forward(x, h0) : bf.forward(x);
          assertSame(outBf, out, "unbatched output with batchFirst: true");
          assertSame(hNBf, hN, "unbatched hN with batchFirst: true");
        }
      } finally {
        rnn.dispose();
        bf.dispose();
      }
    });

    test(`batchFirst: true on (N, L, I) equals batchFirst: false on the transpose; hN never batch-first (${label(config)})`, () => {
      const r = makeRandom(2);
      const tm = new RNN({ ...config, seed: 12 });
      const bf = new RNN({ ...config, batchFirst: true, seed: 12 });
      try {
        for (const [N, L] of [
          [5, 4],
          [1, 7],
          [9, 1],
        ]) {
          const x = randomTensor([L, N, config.inputSize], r);
          const h0 = randomTensor([tm.numLayers * tm.numDirections, N, config.hiddenSize], r);
          const [out, hN] = tm.forward(x, h0);
          const [outBf, hNBf] = bf.forward(transpose01(x), h0);
          assert.deepEqual([...outBf.shape], [N, L, tm.numDirections * config.hiddenSize]);
          assertSame(outBf, transpose01(out), `output N=${N} L=${L}`);
          assertSame(hNBf, hN, `hN N=${N} L=${L}`);
        }
      } finally {
        tm.dispose();
        bf.dispose();
      }
    });

    test(`h0 omitted, null and explicit zeros give bit-identical results (${label(config)})`, () => {
      const r = makeRandom(3);
      const rnn = new RNN({ ...config, seed: 13 });
      try {
        const planes = rnn.numLayers * rnn.numDirections;
        const x = randomTensor([5, 3, config.inputSize], r);
        const [a, ha] = rnn.forward(x);
        const [b, hb] = rnn.forward(x, null);
        const [c, hc] = rnn.forward(x, Tensor.zeros([planes, 3, config.hiddenSize]));
        assertSame(b, a, "output with h0 = null");
        assertSame(c, a, "output with h0 = zeros");
        assertSame(hb, ha, "hN with h0 = null");
        assertSame(hc, ha, "hN with h0 = zeros");
        // …and a non-zero h0 does matter (so the comparison above can fail).
        const [d] = rnn.forward(x, randomTensor([planes, 3, config.hiddenSize], r));
        assert.notDeepEqual(Array.from(d.data), Array.from(a.data));
        // Unbatched too.
        const xu = randomTensor([4, config.inputSize], r);
        assertSame(rnn.forward(xu, Tensor.zeros([planes, config.hiddenSize]))[1], rnn.forward(xu)[1], "unbatched hN");
      } finally {
        rnn.dispose();
      }
    });

    test(`hN[last layer, forward] equals output[-1, :, :H] and, bidirectional, hN[last layer, reverse] equals output[0, :, H:] (${label(config)})`, () => {
      const r = makeRandom(4);
      for (const batchFirst of [false, true]) {
        const rnn = new RNN({ ...config, batchFirst, seed: 14 });
        try {
          const H = config.hiddenSize;
          const D = rnn.numDirections;
          const last = rnn.numLayers - 1;
          const [T, N] = [6, 4];
          const x = randomTensor(batchFirst ? [N, T, config.inputSize] : [T, N, config.inputSize], r);
          const h0 = randomTensor([rnn.numLayers * D, N, H], r);
          const [outRaw, hN] = rnn.forward(x, h0);
          const out = batchFirst ? transpose01(outRaw) : outRaw; // (T, N, D·H)
          for (let n = 0; n < N; n++) {
            assert.deepEqual(
              slice(hN.data, (last * D * N + n) * H, H),
              slice(out.data, ((T - 1) * N + n) * D * H, H),
              `hN[${last * D}][${n}] == output[-1, ${n}, :H] (batchFirst ${batchFirst})`,
            );
            if (D === 2) {
              assert.deepEqual(
                slice(hN.data, ((last * D + 1) * N + n) * H, H),
                slice(out.data, n * D * H + H, H),
                `hN[${last * D + 1}][${n}] == output[0, ${n}, H:] (batchFirst ${batchFirst})`,
              );
            }
          }
          // Unbatched: the same identities without the batch dim.
          const xu = randomTensor([T, config.inputSize], r);
          const [ou, hu] = rnn.forward(xu);
          assert.deepEqual(slice(hu.data, last * D * H, H), slice(ou.data, (T - 1) * D * H, H), "unbatched fwd");
          if (D === 2) assert.deepEqual(slice(hu.data, (last * D + 1) * H, H), slice(ou.data, H, H), "unbatched rev");
        } finally {
          rnn.dispose();
        }
      }
    });

    test(`batch 0 gives output (L, 0, D·H) / (0, L, D·H) and hN (layers·D, 0, H) (${label(config)})`, () => {
      for (const batchFirst of [false, true]) {
        const rnn = new RNN({ ...config, batchFirst, seed: 15 });
        try {
          const D = rnn.numDirections;
          const H = config.hiddenSize;
          const x = Tensor.zeros(batchFirst ? [0, 5, config.inputSize] : [5, 0, config.inputSize]);
          for (const h0 of [undefined, Tensor.zeros([rnn.numLayers * D, 0, H])]) {
            const [out, hN] = rnn.forward(x, h0);
            assert.deepEqual([...out.shape], batchFirst ? [0, 5, D * H] : [5, 0, D * H]);
            assert.deepEqual([...hN.shape], [rnn.numLayers * D, 0, H]);
            assert.equal(out.data.length, 0);
            assert.equal(hN.data.length, 0);
          }
        } finally {
          rnn.dispose();
        }
      }
    });
  }

  test("a 4000-step sequence stays finite and within 4e-6 of a float64 reference (no drift) (tanh, bidirectional, 2 layers)", () => {
    const r = makeRandom(5);
    const rnn = new RNN({ inputSize: 3, hiddenSize: 16, numLayers: 2, bidirectional: true, seed: 16 });
    try {
      const x = randomTensor([4000, 2, 3], r);
      const h0 = randomTensor([4, 2, 16], r);
      const [out, hN] = rnn.forward(x, h0);
      assert.ok(
        out.data.every((v) => Number.isFinite(v) && Math.abs(v) <= 1),
        "tanh outputs finite, in [-1, 1]",
      );
      const ref = cachedReference("tanh-4000", rnn, x, h0);
      let worst = 0;
      for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - ref.output[i]));
      for (let i = 0; i < hN.data.length; i++) worst = Math.max(worst, Math.abs(hN.data[i] - ref.hN[i]));
      assert.ok(worst <= 4e-6, `max |ours - float64| over 4000 steps = ${worst}`);
    } finally {
      rnn.dispose();
    }
  });

  test("a 4000-step relu sequence with contracting weights stays within 2e-6 relative of a float64 reference", () => {
    const r = makeRandom(6);
    const rnn = new RNN({ inputSize: 4, hiddenSize: 12, nonlinearity: "relu", seed: 17 });
    try {
      const sd = rnn.stateDict();
      for (const t of Object.values(sd)) for (let i = 0; i < t.data.length; i++) t.data[i] *= 0.8;
      rnn.loadStateDict(sd);
      const x = randomTensor([4000, 3, 4], r, 2);
      const [out, hN] = rnn.forward(x);
      const ref = cachedReference("relu-4000", rnn, x, null);
      let scale = 0;
      for (const v of ref.output) scale = Math.max(scale, Math.abs(v));
      assert.ok(scale > 0.1, "the sequence does not die out (a meaningful comparison)");
      let worst = 0;
      for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - ref.output[i]));
      for (let i = 0; i < hN.data.length; i++) worst = Math.max(worst, Math.abs(hN.data[i] - ref.hN[i]));
      assert.ok(worst <= 2e-6 * scale, `max |ours - float64| = ${worst}, largest output ${scale}`);
    } finally {
      rnn.dispose();
    }
  });

  test("every hidden size 1..40 at batch 1, 2, 3, 4, 5 and 9 (GEMV and 4x8-tile column/row tails) agrees with a float64 reference", () => {
    let worst = 0;
    let where = "";
    for (const B of [1, 2, 3, 4, 5, 9]) {
      for (let H = 1; H <= 40; H++) {
        const bidirectional = H % 3 === 0;
        const nonlinearity = H % 2 === 0 ? "tanh" : "relu";
        const config = { inputSize: 1 + (H % 7), hiddenSize: H, bidirectional, nonlinearity, seed: 100 + H };
        const rnn = new RNN(config);
        try {
          const r = makeRandom(1000 * B + H);
          const x = randomTensor([3, B, config.inputSize], r);
          const h0 = randomTensor([rnn.numDirections, B, H], r);
          const [out, hN] = rnn.forward(x, h0);
          const ref = cachedReference(`sweep-${B}-${H}`, rnn, x, h0);
          for (const [ours, theirs] of [
            [out.data, ref.output],
            [hN.data, ref.hN],
          ]) {
            for (let i = 0; i < theirs.length; i++) {
              const e = Math.abs(ours[i] - theirs[i]) / Math.max(1, Math.abs(theirs[i]));
              if (!(e <= worst)) {
                worst = e;
                where = `B=${B} H=${H} ${nonlinearity}${bidirectional ? " bi" : ""} [${i}]: ${ours[i]} vs ${theirs[i]}`;
              }
            }
          }
        } finally {
          rnn.dispose();
        }
      }
    }
    assert.ok(worst <= 2e-6, `worst relative error ${worst} at ${where}`);
  });

  test("GEMMs spanning several 64 KB row blocks of A (wide input projection, wide recurrent step) agree with a float64 reference", () => {
    // gemmTiles splits rows into blocks of (16384 / depth) & ~3 rows: 124 rows at depth 129,
    // 80 at depth 200, 24 at depth 600; these cases cross block edges with tile and row tails.
    const cases = [
      { inputSize: 129, hiddenSize: 9, T: 50, B: 3 }, // projection: 150 rows, blocks 124 + 26
      { inputSize: 200, hiddenSize: 20, T: 31, B: 4, bidirectional: true }, // 124 rows, blocks 80 + 44
      { inputSize: 5, hiddenSize: 600, T: 2, B: 37, nonlinearity: "relu" }, // recurrent: 37 rows, blocks 24 + 13
    ];
    for (const { T, B, ...config } of cases) {
      const rnn = new RNN({ ...config, seed: 200 });
      try {
        const r = makeRandom(config.inputSize * 7 + B);
        const x = randomTensor([T, B, config.inputSize], r);
        const [out, hN] = rnn.forward(x);
        const ref = cachedReference(`blocks-${config.inputSize}-${config.hiddenSize}`, rnn, x, null);
        let worst = 0;
        for (const [ours, theirs] of [
          [out.data, ref.output],
          [hN.data, ref.hN],
        ]) {
          for (let i = 0; i < theirs.length; i++) {
            worst = Math.max(worst, Math.abs(ours[i] - theirs[i]) / Math.max(1, Math.abs(theirs[i])));
          }
        }
        // Sums over 200-600 terms: float32 accumulation alone reaches ~1e-6 here; an indexing slip is ~0.1.
        assert.ok(worst <= 5e-6, `${JSON.stringify(config)} T=${T} B=${B}: worst relative error ${worst}`);
      } finally {
        rnn.dispose();
      }
    }
  });

  test("NaN in x[t, b] makes sequence b NaN from t on (all directions as in PyTorch) and leaves every other sequence bit-identical", () => {
    for (const config of [
      { inputSize: 3, hiddenSize: 9, numLayers: 2 },
      { inputSize: 4, hiddenSize: 17, bidirectional: true, nonlinearity: "relu" },
    ]) {
      const rnn = new RNN({ ...config, seed: 25 });
      try {
        const r = makeRandom(11);
        const [T, B, t0, b0] = [6, 5, 2, 3];
        const D = rnn.numDirections;
        const F = D * config.hiddenSize;
        const x = randomTensor([T, B, config.inputSize], r);
        const h0 = randomTensor([rnn.numLayers * D, B, config.hiddenSize], r);
        const [clean, hClean] = rnn.forward(x, h0);
        const poisoned = x.clone();
        poisoned.data[(t0 * B + b0) * config.inputSize + 1] = NaN;
        const [out, hN] = rnn.forward(poisoned, h0);
        for (let t = 0; t < T; t++) {
          for (let b = 0; b < B; b++) {
            const mine = slice(out.data, (t * B + b) * F, F);
            if (b !== b0) {
              assert.deepEqual(mine, slice(clean.data, (t * B + b) * F, F), `sequence ${b} at t=${t} unaffected`);
              continue;
            }
            const fwd = mine.slice(0, config.hiddenSize);
            assert.ok(
              t >= t0 ? fwd.every(Number.isNaN) : fwd.every(Number.isFinite),
              `forward state of ${b} at t=${t}`,
            );
            if (D === 2) {
              const rev = mine.slice(config.hiddenSize);
              assert.ok(
                t <= t0 ? rev.every(Number.isNaN) : rev.every(Number.isFinite),
                `reverse state of ${b} at t=${t}`,
              );
            }
          }
        }
        const H = config.hiddenSize;
        for (let p = 0; p < rnn.numLayers * D; p++) {
          for (let b = 0; b < B; b++) {
            const mine = slice(hN.data, (p * B + b) * H, H);
            if (b === b0) assert.ok(mine.every(Number.isNaN), `hN[${p}][${b}] is NaN`);
            else assert.deepEqual(mine, slice(hClean.data, (p * B + b) * H, H), `hN[${p}][${b}] unaffected`);
          }
        }
      } finally {
        rnn.dispose();
      }
    }
  });

  test("outputs are bit-identical run to run, across workspace reuse and between models with the same seed", () => {
    const r = makeRandom(7);
    const config = { inputSize: 5, hiddenSize: 13, numLayers: 2, bidirectional: true };
    const a = new RNN({ ...config, seed: 18 });
    const b = new RNN({ ...config, seed: 18 });
    try {
      const x = randomTensor([7, 6, 5], r);
      const h0 = randomTensor([4, 6, 13], r);
      const [o1, h1] = a.forward(x, h0);
      a.forward(randomTensor([30, 9, 5], r)); // grows the workspace
      a.forward(randomTensor([2, 1, 5], r));
      const [o2, h2] = a.forward(x, h0);
      const [o3, h3] = b.forward(x, h0);
      assertSame(o2, o1, "second run output");
      assertSame(h2, h1, "second run hN");
      assertSame(o3, o1, "same-seed model output");
      assertSame(h3, h1, "same-seed model hN");
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test("results own their data: unchanged by later forwards, other models, memory growth and dispose()", () => {
    const r = makeRandom(8);
    const memory = context.runtime.kernel.memory;
    const rnn = new RNN({ inputSize: 6, hiddenSize: 10, numLayers: 2, bidirectional: true, seed: 19 });
    const x = randomTensor([8, 3, 6], r);
    const [out, hN] = rnn.forward(x);
    const [outU, hNU] = rnn.forward(randomTensor([5, 6], r));
    const held = [out, hN, outU, hNU];
    const copies = held.map((t) => t.clone());
    for (const t of held) {
      assert.notEqual(t.data.buffer, memory.buffer, "a result is not a view of linear memory");
      assert.ok(t.data.buffer instanceof ArrayBuffer && !(t.data.buffer instanceof SharedArrayBuffer));
    }

    rnn.forward(randomTensor([8, 3, 6], r), randomTensor([4, 3, 10], r)); // same workspace, same place
    rnn.forward(randomTensor([40, 11, 6], r)); // bigger workspace
    const other = new RNN({ inputSize: 6, hiddenSize: 10, seed: 20 });
    other.forward(randomTensor([8, 3, 6], r));
    other.dispose();

    const before = memory.buffer.byteLength;
    const big = new RNN({ inputSize: 2048, hiddenSize: 1024, seed: 21 }); // 12 MiB of packed weights
    big.forward(randomTensor([3, 2, 2048], r));
    assert.ok(memory.buffer.byteLength > before, "the big model grew linear memory (the buffer was replaced)");
    big.dispose();
    rnn.dispose();
    const after = new RNN({ inputSize: 6, hiddenSize: 10, numLayers: 2, bidirectional: true, seed: 22 });
    after.forward(randomTensor([8, 3, 6], r)); // reuses the freed memory
    after.dispose();

    held.forEach((t, i) => assertSame(t, copies[i], `held result ${i}`));
  });

  test("1000 create/forward/dispose cycles: memory.buffer does not grow after warm-up and allocated_bytes() returns to baseline", () => {
    const r = makeRandom(9);
    const kernel = context.runtime.kernel;
    const configs = [
      { inputSize: 8, hiddenSize: 16 },
      { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true },
      { inputSize: 17, hiddenSize: 33, nonlinearity: "relu" },
    ];
    const inputs = configs.map((c, i) => randomTensor([4 + i, 3, c.inputSize], r));
    const survivor = new RNN({ inputSize: 4, hiddenSize: 4, seed: 23 }); // a long-lived model in between
    const cycle = (i) => {
      const k = i % configs.length;
      const m = new RNN({ ...configs[k], seed: i });
      const n = i % 7 === 0 ? new RNN({ ...configs[(k + 1) % configs.length], seed: i }) : null;
      m.forward(inputs[k]);
      if (n) n.forward(inputs[(k + 1) % configs.length]);
      m.dispose();
      if (n) n.dispose();
      if (i % 50 === 0) survivor.forward(randomTensor([2, 1, 4], r));
    };
    try {
      for (let i = 0; i < 30; i++) cycle(i); // warm-up
      const baselineBytes = kernel.allocated_bytes();
      const baselineMemory = kernel.memory.buffer.byteLength;
      for (let i = 0; i < 1000; i++) {
        cycle(i);
        if (i % 100 === 0) assert.equal(kernel.allocated_bytes(), baselineBytes, `allocated_bytes after cycle ${i}`);
      }
      assert.equal(kernel.allocated_bytes(), baselineBytes, "allocated_bytes after 1000 cycles");
      assert.equal(kernel.memory.buffer.byteLength, baselineMemory, "linear memory size after 1000 cycles");
    } finally {
      survivor.dispose();
    }
  });

  test("dispose() returns all of a model's memory: allocated_bytes() goes back to its value before the model", () => {
    const kernel = context.runtime.kernel;
    const before = kernel.allocated_bytes();
    const rnn = new RNN({ inputSize: 7, hiddenSize: 9, numLayers: 3, bidirectional: true, seed: 24 });
    assert.ok(kernel.allocated_bytes() > before, "a model holds memory");
    rnn.forward(randomTensor([5, 2, 7], makeRandom(10)));
    rnn.dispose();
    assert.equal(kernel.allocated_bytes(), before);
    rnn.dispose();
    assert.equal(kernel.allocated_bytes(), before, "a second dispose() frees nothing");
  });
}, "properties");

// ---------------------------------------------------------------------------
// GRU and LSTM (projSize 0 and > 0): the same layout properties, the gated state contract, dropout
// only in train mode, and bad input that always gets a TypeError/RangeError and changes nothing.

const GATED = [
  { Module: GRU, config: { inputSize: 3, hiddenSize: 5 } },
  { Module: LSTM, config: { inputSize: 4, hiddenSize: 7, numLayers: 2, bidirectional: true } },
  { Module: LSTM, config: { inputSize: 5, hiddenSize: 9, projSize: 4, numLayers: 2, bidirectional: true } },
  { Module: GRU, config: { inputSize: 9, hiddenSize: 17, numLayers: 3, bidirectional: true, bias: false } },
  { Module: LSTM, config: { inputSize: 1, hiddenSize: 8, projSize: 1, bias: false } },
];
const gatedLabel = ({ Module, config }) =>
  `${Module.name} ${label(config)}${config.projSize ? ` P${config.projSize}` : ""}`;

/** Sizes of a gated module's state: planes L·D, h width (P or H), c width H. */
function stateSizes(m) {
  const planes = m.numLayers * (m.bidirectional ? 2 : 1);
  return { planes, hOut: m.projSize || m.hiddenSize, cOut: m.hiddenSize, D: m.bidirectional ? 2 : 1 };
}

/** A random state for a module ([h0, c0] for LSTM, h0 for GRU) with the given batch dims. */
function randomState(m, batchDims, r) {
  const { planes, hOut, cOut } = stateSizes(m);
  const h = randomTensor([planes, ...batchDims, hOut], r);
  return m instanceof LSTM ? [h, randomTensor([planes, ...batchDims, cOut], r)] : h;
}

/** forward's result as a flat list of tensors: [output, hN, (cN)]. */
const flatResult = ([output, state]) => [output, ...(Array.isArray(state) ? state : [state])];

/** A state reshaped by fn (e.g. adding or dropping the batch dim) for either module kind. */
const mapState = (state, fn) => (Array.isArray(state) ? state.map(fn) : fn(state));

forEachBackend(() => {
  for (const spec of GATED) {
    const { Module, config } = spec;
    test(`${gatedLabel(spec)}: unbatched (L, I) equals batched (L, 1, I), with and without a state, bit for bit`, () => {
      const r = makeRandom(41);
      const m = new Module({ ...config, seed: 21 });
      try {
        const { planes, hOut, cOut, D } = stateSizes(m);
        const x = randomTensor([6, config.inputSize], r);
        const state = randomState(m, [], r);
        for (const withState of [false, true]) {
          const a = flatResult(withState ? m.forward(x, state) : m.forward(x));
          const x3 = x.reshape([6, 1, config.inputSize]);
          const s3 = mapState(state, (t) => t.reshape([t.shape[0], 1, t.shape[1]]));
          const b = flatResult(withState ? m.forward(x3, s3) : m.forward(x3));
          assert.deepEqual([...a[0].shape], [6, D * hOut]);
          assert.deepEqual([...a[1].shape], [planes, hOut]);
          if (a.length === 3) assert.deepEqual([...a[2].shape], [planes, cOut]);
          a.forEach((t, i) => assertSame(t, b[i].reshape(t.shape), `result ${i} (state: ${withState})`));
        }
      } finally {
        m.dispose();
      }
    });

    test(`${gatedLabel(spec)}: batchFirst on (N, L, I) equals the transpose; the state is never batch-first`, () => {
      const r = makeRandom(42);
      const tm = new Module({ ...config, seed: 22 });
      const bf = new Module({ ...config, batchFirst: true, seed: 22 });
      try {
        for (const [N, L] of [
          [5, 4],
          [1, 7],
          [9, 1],
          [0, 2],
        ]) {
          const x = randomTensor([L, N, config.inputSize], r);
          const state = randomState(tm, [N], r);
          const a = flatResult(tm.forward(x, state));
          const b = flatResult(bf.forward(transpose01(x), state));
          assertSame(b[0], transpose01(a[0]), `output N=${N} L=${L}`);
          for (let i = 1; i < a.length; i++) assertSame(b[i], a[i], `state ${i - 1} N=${N} L=${L}`);
        }
      } finally {
        tm.dispose();
        bf.dispose();
      }
    });

    test(`${gatedLabel(spec)}: a state omitted, null and zeros give bit-identical results; a non-zero one does not`, () => {
      const r = makeRandom(43);
      const m = new Module({ ...config, seed: 23 });
      try {
        const { planes, hOut, cOut } = stateSizes(m);
        const x = randomTensor([5, 3, config.inputSize], r);
        const zeroState =
          m instanceof LSTM
            ? [Tensor.zeros([planes, 3, hOut]), Tensor.zeros([planes, 3, cOut])]
            : Tensor.zeros([planes, 3, hOut]);
        const a = flatResult(m.forward(x));
        for (const [what, result] of [
          ["null", m.forward(x, null)],
          ["zeros", m.forward(x, zeroState)],
        ]) {
          flatResult(result).forEach((t, i) => assertSame(t, a[i], `${what}: result ${i}`));
        }
        assert.notDeepEqual(
          Array.from(flatResult(m.forward(x, randomState(m, [3], r)))[0].data),
          Array.from(a[0].data),
        );
      } finally {
        m.dispose();
      }
    });

    test(`${gatedLabel(spec)}: hN[last, forward] = output[-1, :, :P], hN[last, reverse] = output[0, :, P:]`, () => {
      const r = makeRandom(44);
      const m = new Module({ ...config, seed: 24 });
      try {
        const { D, hOut } = stateSizes(m);
        const last = m.numLayers - 1;
        const [T, N] = [6, 4];
        const [out, hN] = flatResult(m.forward(randomTensor([T, N, config.inputSize], r), randomState(m, [N], r)));
        for (let n = 0; n < N; n++) {
          assert.deepEqual(
            slice(hN.data, (last * D * N + n) * hOut, hOut),
            slice(out.data, ((T - 1) * N + n) * D * hOut, hOut),
            `forward final state of sequence ${n}`,
          );
          if (D === 2) {
            assert.deepEqual(
              slice(hN.data, ((last * D + 1) * N + n) * hOut, hOut),
              slice(out.data, n * D * hOut + hOut, hOut),
              `reverse final state of sequence ${n}`,
            );
          }
        }
      } finally {
        m.dispose();
      }
    });

    test(`${gatedLabel(spec)}: a packed batch equals each sequence run alone with its own state slice`, () => {
      const r = makeRandom(45);
      const m = new Module({ ...config, seed: 25 });
      try {
        const { planes, hOut, D } = stateSizes(m);
        for (const [lengths, enforceSorted] of [
          [[5, 3, 3, 1], true],
          [[2, 6, 1, 4, 4], false],
        ]) {
          const B = lengths.length;
          const T = Math.max(...lengths);
          const x = randomTensor([T, B, config.inputSize], r);
          const state = randomState(m, [B], r);
          const [out, ...finals] = flatResult(m.forward(packPaddedSequence(x, lengths, { enforceSorted }), state));
          const [padded] = padPackedSequence(out);
          for (let b = 0; b < B; b++) {
            const L = lengths[b];
            const xb = new Float32Array(L * config.inputSize);
            for (let t = 0; t < L; t++) xb.set(row(t, b, x), t * config.inputSize);
            const sb = mapState(state, (s) => {
              const w = s.shape[2];
              const d = new Float32Array(planes * w);
              for (let p = 0; p < planes; p++) d.set(s.data.subarray((p * B + b) * w, (p * B + b + 1) * w), p * w);
              return new Tensor(d, [planes, 1, w]);
            });
            const [alone, ...aloneFinals] = flatResult(m.forward(new Tensor(xb, [L, 1, config.inputSize]), sb));
            const mine = new Float32Array(L * D * hOut);
            for (let t = 0; t < L; t++) mine.set(row(t, b, padded), t * D * hOut);
            assertClose(mine, alone.data, 1e-6, `output of sequence ${b}`);
            finals.forEach((f, i) => {
              const w = f.shape[2];
              const got = new Float32Array(planes * w);
              for (let p = 0; p < planes; p++) got.set(f.data.subarray((p * B + b) * w, (p * B + b + 1) * w), p * w);
              assertClose(got, aloneFinals[i].data, 1e-6, `final state ${i} of sequence ${b}`);
            });
          }
        }
      } finally {
        m.dispose();
      }
    });
  }

  for (const Module of [GRU, LSTM]) {
    test(`${Module.name}: dropout acts only in train mode (the default after construction, as PyTorch)`, () => {
      const r = makeRandom(46);
      const config = { inputSize: 4, hiddenSize: 6, numLayers: 2 };
      const m = new Module({ ...config, dropout: 0.5, seed: 26 });
      const plain = new Module({ ...config, seed: 26 });
      try {
        const x = randomTensor([5, 3, 4], r);
        assert.equal(m.training, true, "a new module is in training mode");
        const a = flatResult(m.forward(x))[0];
        const b = flatResult(m.forward(x))[0];
        assert.notDeepEqual(Array.from(a.data), Array.from(b.data), "two train-mode forwards draw different masks");
        m.eval();
        assert.equal(m.training, false);
        const reference = flatResult(plain.forward(x));
        flatResult(m.forward(x)).forEach((t, i) => assertSame(t, reference[i], `eval result ${i} equals dropout 0`));
        m.train();
        assert.equal(m.training, true);
        m.train(false);
        flatResult(m.forward(x)).forEach((t, i) => assertSame(t, reference[i], `train(false) result ${i}`));
      } finally {
        m.dispose();
        plain.dispose();
      }
    });

    test(`${Module.name}: dropout 1 in train mode feeds zeros to the second layer (its result is that layer alone on zeros)`, () => {
      const r = makeRandom(47);
      const config = { inputSize: 3, hiddenSize: 5, numLayers: 2, ...(Module === LSTM ? { projSize: 2 } : {}) };
      const m = new Module({ ...config, dropout: 1, seed: 27 });
      const top = new Module({
        inputSize: m.projSize || 5,
        hiddenSize: 5,
        ...(Module === LSTM ? { projSize: 2 } : {}),
      });
      try {
        const sd = m.stateDict();
        top.loadStateDict(
          Object.fromEntries(
            Object.entries(sd)
              .filter(([k]) => k.endsWith("_l1"))
              .map(([k, v]) => [k.replace(/_l1$/, "_l0"), v]),
          ),
        );
        const state = randomState(m, [2], r);
        const [out, ...finals] = flatResult(m.forward(randomTensor([4, 2, 3], r), state));
        const topState = mapState(state, (s) => new Tensor(s.data.slice(s.data.length / 2), [1, ...s.shape.slice(1)]));
        const [outTop, ...finalsTop] = flatResult(top.forward(Tensor.zeros([4, 2, top.inputSize]), topState));
        assertClose(out.data, outTop.data, 1e-6, "output");
        finals.forEach((f, i) =>
          assertClose(f.data.subarray(f.data.length / 2), finalsTop[i].data, 1e-6, `top layer state ${i}`),
        );
      } finally {
        m.dispose();
        top.dispose();
      }
    });
  }

  // Random calls, valid or not: a valid one returns PyTorch's shapes; an invalid one throws a
  // TypeError or RangeError (never an engine error) and leaves the module bit for bit as it was.
  for (const spec of [GATED[0], GATED[2]]) {
    test(`${gatedLabel(spec)}: 300 random forward calls either succeed with PyTorch's shapes or throw TypeError/RangeError and change nothing`, () => {
      const r = makeRandom(48);
      const { Module, config } = spec;
      const m = new Module({ ...config, seed: 28 });
      try {
        const { planes, hOut, cOut, D } = stateSizes(m);
        const pick = (values) => values[Math.floor(r() * values.length)];
        const near = (v) => pick([v, v, v, v, 0, v + 1, Math.max(0, v - 1)]);
        const probe = randomTensor([2, 1, config.inputSize], makeRandom(1));
        const before = snapshotOf(m, () => m.forward(probe));
        let valid = 0;
        for (let i = 0; i < 300; i++) {
          const rank = pick([1, 2, 3, 3, 3, 4]);
          const T = near(3);
          const N = near(2);
          const xShape = [
            [near(config.inputSize)],
            [T, near(config.inputSize)],
            [T, N, near(config.inputSize)],
            [1, T, N, config.inputSize],
          ][rank - 1];
          const batch = rank === 3 ? [xShape[1]] : [];
          const stateRank = pick([null, "right", "right", "wrong"]);
          const dims = (w) => (stateRank === "wrong" ? [near(planes), w] : [near(planes), ...batch.map(near), near(w)]);
          let state;
          if (stateRank !== null) {
            state =
              Module === LSTM
                ? pick([
                    [Tensor.zeros(dims(hOut)), Tensor.zeros(dims(cOut))],
                    [Tensor.zeros(dims(hOut))],
                    Tensor.zeros(dims(hOut)),
                  ])
                : Tensor.zeros(dims(hOut));
          }
          const shapeOk = (t, w) => t instanceof Tensor && t.shape.join() === [planes, ...batch, w].join();
          const stateOk =
            state === undefined ||
            (Module === LSTM
              ? Array.isArray(state) && state.length === 2 && shapeOk(state[0], hOut) && shapeOk(state[1], cOut)
              : shapeOk(state, hOut));
          const ok = (rank === 2 || rank === 3) && xShape[0] > 0 && xShape[rank - 1] === config.inputSize && stateOk;
          const call = () =>
            state === undefined ? m.forward(Tensor.zeros(xShape)) : m.forward(Tensor.zeros(xShape), state);
          const what = `x ${JSON.stringify(xShape)}, state ${JSON.stringify(mapState(state ?? null, (t) => t?.shape))}`;
          if (ok) {
            valid++;
            const [out, ...finals] = flatResult(call());
            assert.deepEqual([...out.shape], [xShape[0], ...batch, D * hOut], `${what}: output shape`);
            assert.deepEqual([...finals[0].shape], [planes, ...batch, hOut], `${what}: hN shape`);
            if (Module === LSTM) assert.deepEqual([...finals[1].shape], [planes, ...batch, cOut], `${what}: cN shape`);
          } else {
            assert.throws(
              call,
              (e) => e instanceof TypeError || e instanceof RangeError,
              `${what}: TypeError or RangeError`,
            );
          }
        }
        assert.ok(valid > 20 && valid < 280, `both valid and invalid calls were drawn (${valid} valid)`);
        assert.deepEqual(
          snapshotOf(m, () => m.forward(probe)),
          before,
          "module unchanged",
        );
      } finally {
        m.dispose();
      }
    });
  }
}, "gated properties");

/** Elementwise |a − b| ≤ tol·max(1, |b|). */
function assertClose(actual, expected, tol, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * Math.max(1, Math.abs(expected[i])))) assert.fail(`${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Row (t, b) of a time-major (T, B, F) tensor. */
function row(t, b, x) {
  const [, B, F] = x.shape;
  return x.data.subarray((t * B + b) * F, (t * B + b + 1) * F);
}
