// Memory under pressure, in every build: thousands of models of varied sizes
// created, run and disposed with overlapping lifetimes; hundreds alive at
// once; results and weights intact across memory growth; dispose() twice and
// use after dispose; allocations past the 4 GiB wasm32 limit; and the
// instance still correct after every one of those.
//
// The allocator (assembly/memory.ts) returns freed blocks to a first-fit free
// list and gives a free block ending at the top back to the bump region, so
// when everything but a fixed set of survivors is freed, the heap is back in
// the same state. The soak relies on that: it replays the *same* seeded
// sequence of operations in every round, so after the first (warm-up) round
// any growth of linear memory, any byte not returned, or any change in the
// numbers is a leak or a corruption, never a different workload.
//
// The wasm32 address space is probed by reserving most of it through the raw
// ABI (runtime.kernel.alloc, untouched pages, so no real memory is used) in a
// separate instance, so the soak's high-water mark is not affected.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { init, RNN, RNNCell, Tensor, PackedSequence, packPaddedSequence } from "wasm-rnn";
import { forEachBackend } from "./backends.mjs";
import { makeRng } from "../fuzz/differential.mjs";
import { randomTensor as uniformTensor } from "../helpers/random.mjs";
import { referenceRNN } from "../reference/rnn64.mjs";

/** allocated_bytes() is an i32 in the raw ABI: read it as the unsigned byte count it is. */
const allocated = (kernel) => kernel.allocated_bytes() >>> 0;

const highWater = [];

/** Uniform values in [-scale, scale) from a makeRng() generator (tests/helpers/random.mjs's tensors). */
const randomTensor = (shape, rng, scale = 1) => uniformTensor(shape, rng.next, scale);

/** FNV-1a over the bits of a Float32Array: a cheap fingerprint of every result in a round. */
function fingerprint(hash, data) {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (const w of words) hash = Math.imul(hash ^ w, 16777619) >>> 0;
  return hash;
}

const bits = (t) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));

/** Bitwise equality of two stateDict() results, without a megabyte-long diff when it fails. */
function sameStateDict(a, b) {
  const ka = Object.keys(a);
  const same = (x, y) => {
    const bx = bits(x);
    const by = bits(y);
    return x.shape.join() === y.shape.join() && bx.length === by.length && bx.every((w, i) => w === by[i]);
  };
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] !== undefined && same(a[k], b[k]));
}

/** Max |ours − float64 reference| must stay within float32 noise for these well-conditioned models. */
function assertMatchesReference(rnn, input, h0, [out, hN], what) {
  const config = {
    inputSize: rnn.inputSize,
    hiddenSize: rnn.hiddenSize,
    numLayers: rnn.numLayers,
    nonlinearity: rnn.nonlinearity,
    bias: rnn.bias,
    batchFirst: rnn.batchFirst,
    bidirectional: rnn.bidirectional,
  };
  const ref = referenceRNN(config, rnn.stateDict(), input, h0);
  const ours = out instanceof PackedSequence ? out.data.data : out.data;
  const expected = ref.output.data instanceof Float64Array ? ref.output.data : ref.output.data.data;
  for (const [a, e, name] of [
    [ours, expected, "output"],
    [hN.data, ref.hN.data, "hN"],
  ]) {
    assert.equal(a.length, e.length, `${what}: ${name} length`);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]));
    assert.ok(worst <= 2e-5, `${what}: ${name} max error ${worst} against the float64 reference`);
  }
}

// ---------------------------------------------------------------------------
// The workload: a replayable sequence of operations on a pool of live models.

/** A random model: RNN (any layout) or RNNCell, mostly small, sometimes wide. */
function randomModel(rng, seed) {
  const size = () => (rng.chance(0.93) ? rng.int(1, 40) : rng.int(41, 128));
  if (rng.chance(0.25)) {
    return new RNNCell({ inputSize: size(), hiddenSize: rng.chance(0.05) ? 0 : size(), bias: rng.chance(0.7), seed });
  }
  return new RNN({
    inputSize: size(),
    hiddenSize: size(),
    numLayers: rng.int(1, 3),
    bidirectional: rng.chance(0.4),
    nonlinearity: rng.chance(0.5) ? "tanh" : "relu",
    batchFirst: rng.chance(0.3),
    bias: rng.chance(0.8),
    seed,
  });
}

/** One forward of `model` on a random input (batched, unbatched or packed); returns the result tensors. */
function randomForward(model, rng, big) {
  const I = model.inputSize;
  const H = model.hiddenSize;
  const T = big ? rng.int(30, 50) : rng.int(1, 10);
  const B = big ? rng.int(8, 16) : rng.int(1, 6);
  if (model instanceof RNNCell) {
    const x = randomTensor(rng.chance(0.3) ? [I] : [B, I], rng);
    const hx = rng.chance(0.5) ? randomTensor(x.ndim === 1 ? [H] : [B, H], rng) : undefined;
    return [model.forward(x, hx)];
  }
  const planes = model.numLayers * model.numDirections;
  const kind = rng.pick(["batched", "unbatched", "packed"]);
  if (kind === "unbatched") {
    const [out, hN] = model.forward(randomTensor([T, I], rng), rng.chance(0.5) ? randomTensor([planes, H], rng) : null);
    return [out, hN];
  }
  if (kind === "packed") {
    const lengths = Array.from({ length: B }, () => rng.int(1, T));
    lengths[0] = T;
    const packed = packPaddedSequence(randomTensor([T, B, I], rng), lengths, { enforceSorted: false });
    const [out, hN] = model.forward(packed, rng.chance(0.5) ? randomTensor([planes, B, H], rng) : null);
    return [out.data, hN];
  }
  const shape = model.batchFirst ? [B, T, I] : [T, B, I];
  return model.forward(randomTensor(shape, rng), rng.chance(0.5) ? randomTensor([planes, B, H], rng) : null);
}

/**
 * One round: `ops` operations from `seed` on a pool of at most 12 live models (create,
 * forward — now and then a big one that grows the model's workspace — or dispose), then
 * everything left is disposed. `onStep` sees the kernel after each operation.
 * Returns the fingerprint of every result and the number of models created.
 */
function soakRound(seed, ops, onStep) {
  const rng = makeRng(seed);
  const pool = [];
  let hash = 2166136261;
  let created = 0;
  for (let i = 0; i < ops; i++) {
    const r = rng.next();
    if ((r < 0.4 && pool.length < 12) || pool.length === 0) {
      pool.push(randomModel(rng, seed + i));
      created++;
    } else if (r < 0.75) {
      const model = pool[rng.int(0, pool.length - 1)];
      for (const t of randomForward(model, rng, rng.chance(0.03))) hash = fingerprint(hash, t.data);
    } else {
      pool.splice(rng.int(0, pool.length - 1), 1)[0].dispose();
    }
    onStep(i);
  }
  for (const model of pool) model.dispose();
  return { hash, created };
}

forEachBackend((backend, context) => {
  test(
    "5 replays of 1000 random create/forward/dispose operations (RNN and RNNCell, batched/unbatched/packed): " +
      "after the first, linear memory never grows, allocated_bytes() returns to baseline and results are bit-identical",
    () => {
      const kernel = context.runtime.kernel;
      // Long-lived models allocated first, alive through the whole soak, run between rounds.
      const survivors = [
        new RNN({ inputSize: 7, hiddenSize: 9, numLayers: 2, bidirectional: true, seed: 1 }),
        new RNNCell({ inputSize: 5, hiddenSize: 6, seed: 2 }),
      ];
      const probe = [randomTensor([4, 2, 7], makeRng(3)), randomTensor([2, 5], makeRng(4))];
      const survivorResults = () => [bits(survivors[0].forward(probe[0])[0]), bits(survivors[1].forward(probe[1]))];
      const firstSurvivorResults = survivorResults();
      const baseline = allocated(kernel);
      let peakBytes = allocated(kernel);
      let peakMemory = kernel.memory.buffer.byteLength;
      let models = 0;
      const rounds = [];
      try {
        for (let round = 0; round < 5; round++) {
          const memoryAtStart = kernel.memory.buffer.byteLength;
          const { hash, created } = soakRound(0x50a4, 1000, (i) => {
            peakBytes = Math.max(peakBytes, allocated(kernel));
            peakMemory = Math.max(peakMemory, kernel.memory.buffer.byteLength);
            if (round > 0) {
              assert.equal(
                kernel.memory.buffer.byteLength,
                memoryAtStart,
                `linear memory grew in round ${round + 1} at operation ${i} (after warm-up)`,
              );
            }
          });
          models += created;
          rounds.push(hash);
          assert.equal(allocated(kernel), baseline, `allocated_bytes() after round ${round + 1}`);
          assert.deepEqual(survivorResults(), firstSurvivorResults, `survivors' results after round ${round + 1}`);
          assert.equal(
            hash,
            rounds[0],
            `round ${round + 1} computed other numbers than round 1 (stale or corrupted memory)`,
          );
        }
      } finally {
        for (const m of survivors) m.dispose();
      }
      highWater.push({ backend, memory: peakMemory, peakAllocated: peakBytes, models, operations: 5000 });
    },
  );

  test(
    "300 models alive at once (RNN and RNNCell): each keeps its weights and results through memory growth, " +
      "matches the float64 reference, and disposing all returns every byte",
    () => {
      const kernel = context.runtime.kernel;
      const baseline = allocated(kernel);
      const rng = makeRng(77);
      const live = [];
      try {
        for (let i = 0; i < 300; i++) {
          const model = randomModel(rng, 1000 + i);
          const input =
            model instanceof RNNCell
              ? randomTensor([3, model.inputSize], rng)
              : randomTensor(model.batchFirst ? [3, 5, model.inputSize] : [5, 3, model.inputSize], rng);
          const result = model.forward(input);
          const tensors = Array.isArray(result) ? result : [result];
          live.push({ model, input, result, tensors, held: tensors.map(bits) });
        }
        const before = kernel.memory.buffer.byteLength;
        // Wide enough to need more linear memory than the 300 models left free: the buffer is replaced.
        const big = new RNN({ inputSize: 1024, hiddenSize: 1024, seed: 5 });
        big.forward(randomTensor([2, 1, 1024], rng));
        assert.ok(kernel.memory.buffer.byteLength > before, "memory grew while the models were alive");
        big.dispose();
        for (const [i, entry] of live.entries()) {
          const again = entry.model.forward(entry.input);
          const tensors = Array.isArray(again) ? again : [again];
          assert.deepEqual(tensors.map(bits), entry.held, `model ${i}: same bits after memory growth`);
          assert.deepEqual(entry.tensors.map(bits), entry.held, `model ${i}: results held across growth unchanged`);
        }
        // Bit-identical is not enough (a corruption before the first run would repeat): check numbers too.
        for (const i of [0, 1, 150, 298, 299]) {
          const { model, input, result } = live[i];
          if (model instanceof RNN) assertMatchesReference(model, input, null, result, `model ${i}`);
        }
      } finally {
        for (const { model } of live) model.dispose();
      }
      assert.equal(allocated(kernel), baseline, "every byte returned");
    },
  );

  test("dispose() twice (RNN and RNNCell) frees nothing twice: models allocated afterwards do not overlap and compute correctly", () => {
    const kernel = context.runtime.kernel;
    const baseline = allocated(kernel);
    const a = new RNN({ inputSize: 6, hiddenSize: 20, numLayers: 2, seed: 1 });
    const cell = new RNNCell({ inputSize: 6, hiddenSize: 20, seed: 2 });
    a.forward(randomTensor([9, 4, 6], makeRng(1)));
    a.dispose();
    cell.dispose();
    const afterOnce = allocated(kernel);
    a.dispose();
    cell.dispose();
    assert.equal(allocated(kernel), afterOnce, "the second dispose() frees nothing");
    assert.equal(afterOnce, baseline);
    // A double free would put the same block on the free list twice: two new models would share memory.
    const c = new RNN({ inputSize: 6, hiddenSize: 20, numLayers: 2, seed: 3 });
    const d = new RNN({ inputSize: 6, hiddenSize: 20, numLayers: 2, seed: 4 });
    try {
      const x = randomTensor([9, 4, 6], makeRng(2));
      const rc = c.forward(x);
      const rd = d.forward(x);
      assertMatchesReference(c, x, null, rc, "model c");
      assertMatchesReference(d, x, null, rd, "model d");
      assert.deepEqual(bits(c.forward(x)[0]), bits(rc[0]), "c unchanged after d ran");
    } finally {
      c.dispose();
      d.dispose();
    }
    assert.equal(allocated(kernel), baseline);
  });

  test("a disposed model is a clear Error for packed input and for RNNCell.stateDict/loadStateDict, and allocates nothing", () => {
    const kernel = context.runtime.kernel;
    const rnn = new RNN({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const cell = new RNNCell({ inputSize: 3, hiddenSize: 4, seed: 2 });
    const sd = cell.stateDict();
    rnn.dispose();
    cell.dispose();
    const before = allocated(kernel);
    const packed = packPaddedSequence(Tensor.zeros([2, 1, 3]), [2]);
    assert.throws(() => rnn.forward(packed), {
      constructor: Error,
      message: /^This RNN was disposed; create a new one$/,
    });
    assert.throws(() => cell.stateDict(), {
      constructor: Error,
      message: /^This RNNCell was disposed; create a new one$/,
    });
    assert.throws(() => cell.loadStateDict(sd), {
      constructor: Error,
      message: /^This RNNCell was disposed; create a new one$/,
    });
    assert.throws(() => cell.forward(Tensor.zeros([3])), { constructor: Error, message: /disposed/ });
    assert.equal(allocated(kernel), before);
  });

  test("hiddenSize 100000 with 4 layers (weights far past 4 GiB) is a RangeError, not a crash, and the instance keeps working", () => {
    const kernel = context.runtime.kernel;
    const before = allocated(kernel);
    const started = performance.now();
    assert.throws(() => new RNN({ inputSize: 10, hiddenSize: 100000, numLayers: 4 }), RangeError);
    assert.throws(() => new RNNCell({ inputSize: 10, hiddenSize: 100000 }), RangeError);
    assert.ok(performance.now() - started < 5000, "refused without spending seconds first");
    assert.equal(allocated(kernel), before, "nothing left allocated");
    const rnn = new RNN({ inputSize: 5, hiddenSize: 8, numLayers: 2, bidirectional: true, seed: 9 });
    try {
      const x = randomTensor([6, 3, 5], makeRng(9));
      assertMatchesReference(rnn, x, null, rnn.forward(x), "a normal model afterwards");
    } finally {
      rnn.dispose();
    }
  });

  test("a model whose weights cannot fit in 4 GiB is refused with wasm-rnn's RangeError up front, before allocating its parameters in JS", () => {
    // Today the constructor first builds the float32 parameters in JS (uniformInit), so
    // hiddenSize 100000 dies in V8 ("Invalid typed array length: 10000000000"), and sizes
    // whose parameters V8 can allocate (e.g. hiddenSize 40000, 6.4 GB) are allocated and
    // filled for seconds before the wasm allocation fails. The size is known up front.
    for (const make of [
      () => new RNN({ inputSize: 10, hiddenSize: 100000, numLayers: 4 }),
      () => new RNNCell({ inputSize: 10, hiddenSize: 100000 }),
    ]) {
      assert.throws(make, (error) => {
        assert.equal(error.constructor, RangeError);
        assert.match(error.message, /WebAssembly memory|4 GiB/, `message: ${error.message}`);
        return true;
      });
    }
  });

  test(
    "with linear memory nearly exhausted: allocations fail with RangeError, nothing leaks or changes, " +
      "and everything works again once memory is freed",
    async () => {
      // A separate instance, so the 4 GiB reservation does not stay with the suite's models.
      const runtime = await init({ backend });
      const kernel = runtime.kernel;
      const rng = makeRng(11);
      const early = new RNN({ inputSize: 4, hiddenSize: 16, numLayers: 2, seed: 1 });
      const cell = new RNNCell({ inputSize: 64, hiddenSize: 64, seed: 2 });
      const x = randomTensor([5, 2, 4], rng);
      const cx = randomTensor([2, 64], rng);
      const earlyResult = bits(early.forward(x)[0]);
      const cellResult = bits(cell.forward(cx));
      const cellWeights = cell.stateDict();
      const baseline = allocated(kernel);

      // Reserve all but ~1 MiB of the 4 GiB address space (halving if the engine caps memory lower).
      let ballast = 0;
      for (
        let bytes = 2 ** 32 - kernel.memory.buffer.byteLength - 2 ** 20;
        ballast === 0 && bytes > 2 ** 24;
        bytes = Math.floor(bytes / 2)
      ) {
        ballast = kernel.alloc(bytes) >>> 0;
      }
      assert.ok(ballast !== 0, "could reserve most of linear memory");
      try {
        const full = allocated(kernel);
        const CANNOT = /^wasm-rnn: cannot allocate \d+ bytes of WebAssembly memory/;
        // 4 MB of recurrent weights do not fit in what is left.
        assert.throws(() => new RNN({ inputSize: 8, hiddenSize: 1000, seed: 3 }), {
          constructor: RangeError,
          message: CANNOT,
        });
        assert.throws(() => new RNNCell({ inputSize: 8, hiddenSize: 1000, seed: 3 }), {
          constructor: RangeError,
          message: CANNOT,
        });
        assert.equal(allocated(kernel), full, "a failed constructor leaves nothing allocated");
        // A workspace that does not fit: refused, and the model is as before.
        assert.throws(() => early.forward(Tensor.zeros([200, 64, 4])), { constructor: RangeError, message: CANNOT });
        assert.throws(() => cell.forward(Tensor.zeros([3000, 64])), { constructor: RangeError, message: CANNOT });
        assert.equal(allocated(kernel), full, "a failed forward leaves nothing allocated");
        assert.deepEqual(bits(early.forward(x)[0]), earlyResult, "the RNN computes as before");
        assert.deepEqual(bits(cell.forward(cx)), cellResult, "the RNNCell computes as before");
        // Small models still fit in what is left.
        const small = new RNN({ inputSize: 3, hiddenSize: 8, bidirectional: true, seed: 4 });
        try {
          const sx = randomTensor([4, 2, 3], rng);
          assertMatchesReference(small, sx, null, small.forward(sx), "a small model in nearly full memory");
        } finally {
          small.dispose();
        }
      } finally {
        kernel.free(ballast);
      }
      // With the ballast gone there is room again.
      const big = new RNN({ inputSize: 8, hiddenSize: 1000, seed: 3 });
      big.forward(randomTensor([2, 1, 8], rng));
      big.dispose();
      assert.equal(allocated(kernel), baseline, "every byte of the ballast and the failed calls returned");
      assert.deepEqual(bits(early.forward(x)[0]), earlyResult);
      assert.ok(sameStateDict(cell.stateDict(), cellWeights), "the RNNCell's weights are as before");
      early.dispose();
      cell.dispose();
      // Leave a fresh instance active for the rest of this build's suite.
      await init({ backend });
    },
  );

  test("with linear memory full, RNNCell.loadStateDict packs in the cell's own workspace without allocating, and a forward that needs a larger workspace throws RangeError and changes nothing", async () => {
    const runtime = await init({ backend });
    const kernel = runtime.kernel;
    const rng = makeRng(12);
    const cell = new RNNCell({ inputSize: 64, hiddenSize: 64, seed: 2 });
    const cx = randomTensor([2, 64], rng);
    const before = { weights: cell.stateDict(), result: bits(cell.forward(cx)) };
    const donor = new RNNCell({ inputSize: 64, hiddenSize: 64, seed: 3 });
    const other = donor.stateDict();
    donor.dispose();
    // Fill linear memory completely: the biggest blocks first, then ever smaller ones.
    const ballast = [];
    for (let bytes = 2 ** 32 - kernel.memory.buffer.byteLength; bytes >= 16; bytes = Math.floor(bytes / 2)) {
      for (let p = kernel.alloc(bytes) >>> 0; p !== 0; p = kernel.alloc(bytes) >>> 0) ballast.push(p);
    }
    try {
      const big = randomTensor([4096, 64], rng);
      assert.throws(() => cell.forward(big), RangeError);
      assert.ok(sameStateDict(cell.stateDict(), before.weights), "stateDict() still reports the old weights");
      assert.deepEqual(bits(cell.forward(cx)), before.result, "forward still uses the old weights");
      const allocated = kernel.allocated_bytes();
      cell.loadStateDict(other);
      assert.equal(kernel.allocated_bytes(), allocated, "loading allocated nothing");
      assert.ok(sameStateDict(cell.stateDict(), other), "stateDict() reports the loaded weights");
      assert.notDeepEqual(bits(cell.forward(cx)), before.result, "forward uses the loaded weights");
    } finally {
      for (const p of ballast) kernel.free(p);
      cell.dispose();
      await init({ backend });
    }
  });
}, "soak");

after(() => {
  for (const h of highWater) {
    console.log(
      `soak high-water mark (${h.backend} build): linear memory ${(h.memory / 2 ** 20).toFixed(2)} MiB, ` +
        `peak allocated ${(h.peakAllocated / 2 ** 20).toFixed(2)} MiB over ${h.operations} operations / ${h.models} models`,
    );
  }
});
