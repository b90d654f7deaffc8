// Differential fuzzing of wasm-rnn's RNN against the float64 reference
// (tests/reference/rnn64.mjs), in every kernel build.
//
// A case is a small JSON spec (sizes, layers, directions, nonlinearity, bias,
// batchFirst, input layout, lengths, h0, scales, a data seed). All data comes
// from the spec through a seeded generator, so a spec alone reproduces a case
// on any machine: it is what a failure prints and what regressions.json holds.
//
// Tolerance policy (the fixtures' policy, with the float32 loss measured by
// emulation instead of by PyTorch): for each output tensor X (output, then hN),
//
//   max |ours_X − ref64_X| ≤ 4 · E32 + 2e-6 · max |ref64_X| + 2^-140
//   E32 = max over the float32 models v of max |ref_v − ref64| over output and hN
//
// ref64 is the reference in float64. The ref_v are six models of a float32
// implementation run by the same reference (tests/reference/rnn64.mjs): four
// with every multiply, add and tanh rounded to float32 (Math.fround) in four
// valid orders (FLOAT32_VARIANTS), and two in float64 with a random relative
// error of up to 2^-24 at every operation (NOISE_SEEDS). Each is what a plain
// float32 implementation loses on this very case; their largest loss is E32.
// One emulation alone proved a lucky draw in ill-conditioned cases (a 252-term
// sum cancelling from ~9 to 0.09; chaotic x5 recurrences): PyTorch float32 and
// our kernels lost up to 4–7x more than it there, only by summing in another
// order (tests/fuzz/regressions.json keeps those cases). On the fixtures a
// single emulation's loss is 0.24–2.8x PyTorch float32's (median 1;
// tests/node/reference.test.mjs), so 4 · E32 is the fixtures' "4x PyTorch's
// own error" measured without PyTorch. E32 is taken over output and hN
// together because the loss is a property of the case, and a tensor of a few
// dozen values is too small a sample of it.
//
// The second term is a floor for cases the emulations get (nearly) exact,
// ~16 float32 ulps of the largest value; unlike the fixtures' max(1, ·) it
// shrinks with the values, so tiny and subnormal cases are checked relative to
// their own size (a kernel that flushed subnormals to zero would fail). 2^-140
// (~5e-43, 512 subnormal steps) keeps an all-zero or all-subnormal answer from
// demanding exactness. NaN must match NaN (no case feeds NaN, so any NaN is a
// failure: the "dirty" cases poison the workspace with NaN first).
//
// Cases whose float64 answer exceeds 1e30 (unbounded relu with large weights)
// are regenerated with unit scale: near float32's overflow the comparison
// says nothing about the kernel.
import { init, RNN, Tensor, PackedSequence, packPaddedSequence } from "wasm-rnn";
import { referenceRNN } from "../reference/rnn64.mjs";

/** Builds the fuzz runs on by default: those this runtime validates. */
export async function availableBackends() {
  const { detectFeatures } = await import("wasm-rnn");
  const f = detectFeatures();
  return ["scalar", ...(f.simd ? ["simd"] : []), ...(f.simd && f.relaxedSimd ? ["relaxed"] : [])];
}

// ---------------------------------------------------------------------------
// Seeded randomness (mulberry32): small, fast and identical everywhere.

export function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (values) => values[Math.floor(next() * values.length)],
    chance: (p) => next() < p,
    normal: () => {
      const u = 1 - next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
  };
  return rng;
}

// ---------------------------------------------------------------------------
// Case generation.

// Sizes around SIMD widths and block edges, where tails and remainders live.
const EDGE_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 299, 300];
// Default init (U(±1/√H)) times these: 5 saturates tanh, 1e-20 is tiny, 1e-39 makes every weight subnormal.
const WEIGHT_SCALES = [1, 1, 1, 1, 0.3, 2, 5, 5, 1e-20, 1e-39];
// Standard normal inputs times these; 1e-39 makes the inputs subnormal.
const INPUT_SCALES = [1, 1, 1, 1, 3, 5, 1e-6, 1e-39];
/** Multiply-adds a case may cost one reference run (there are seven per case): keeps the bounded run fast. */
const MAX_MACS = 1.5e6;

function randomSize(rng) {
  const r = rng.next();
  if (r < 0.45) return rng.int(1, 16);
  if (r < 0.7) return rng.int(17, 64);
  if (r < 0.85) return rng.pick(EDGE_SIZES);
  return rng.int(65, 300);
}

/** Multiply-adds of one reference run of `spec`. */
export function macsOf(spec) {
  const D = spec.bidirectional ? 2 : 1;
  const H = spec.hiddenSize;
  const rows =
    spec.mode === "unbatched"
      ? spec.steps
      : spec.mode === "packed"
        ? spec.lengths.reduce((a, b) => a + b, 0)
        : spec.steps * spec.batch;
  let perRow = 0;
  for (let l = 0; l < spec.numLayers; l++) perRow += D * H * ((l === 0 ? spec.inputSize : D * H) + H);
  return rows * perRow;
}

/** The data seed of case `i` of a run: hashed, so runs from nearby base seeds do not repeat each other's cases. */
export function caseSeedOf(seed, i) {
  let h = Math.imul((seed >>> 0) ^ 0x85ebca6b, 0x9e3779b1) ^ Math.imul(i + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** A random case spec. Sizes go up to 300; steps × batch shrink as the layers get wide. */
export function randomSpec(rng, seed) {
  const spec = {
    seed,
    data: "hash",
    inputSize: randomSize(rng),
    hiddenSize: randomSize(rng),
    numLayers: rng.pick([1, 1, 1, 2, 2, 3, 4]),
    nonlinearity: rng.chance(0.5) ? "tanh" : "relu",
    bias: rng.chance(0.75),
    batchFirst: rng.chance(0.3),
    bidirectional: rng.chance(0.4),
    mode: rng.pick(["batched", "batched", "unbatched", "packed", "packed"]),
    steps: rng.chance(0.85) ? rng.int(1, 8) : rng.int(9, 40),
    batch: rng.chance(0.85) ? rng.int(1, 6) : rng.int(7, 37),
    h0: rng.chance(0.5),
    weightScale: rng.pick(WEIGHT_SCALES),
    inputScale: rng.pick(INPUT_SCALES),
    // Run a larger NaN-filled input through the model first: any read of stale workspace shows up as NaN.
    dirty: rng.chance(0.25),
  };
  if (spec.mode === "packed") spec.enforceSorted = rng.chance(0.4);
  // Wide layers get short, thin inputs (the cost is steps · batch · layers · H · (I + H)).
  for (let guard = 0; macsOf(withLengths(spec, rng)) > MAX_MACS && guard < 64; guard++) {
    if (spec.steps > 1 && (spec.steps >= spec.batch || spec.mode === "unbatched"))
      spec.steps = Math.ceil(spec.steps / 2);
    else if (spec.batch > 1) spec.batch = Math.ceil(spec.batch / 2);
    else if (spec.numLayers > 1) spec.numLayers--;
    else if (spec.bidirectional) spec.bidirectional = false;
    else if (spec.inputSize > spec.hiddenSize) spec.inputSize = Math.ceil(spec.inputSize / 2);
    else spec.hiddenSize = Math.ceil(spec.hiddenSize / 2);
  }
  return withLengths(spec, rng);
}

/** Packed specs get lengths in 1…steps (the longest equal to steps), sorted when enforceSorted. */
function withLengths(spec, rng) {
  if (spec.mode !== "packed") {
    delete spec.lengths;
    delete spec.enforceSorted;
    return spec;
  }
  if (!Array.isArray(spec.lengths) || spec.lengths.length !== spec.batch || spec.lengths.some((n) => n > spec.steps)) {
    const lengths = Array.from({ length: spec.batch }, () => rng.int(1, spec.steps));
    lengths[rng.int(0, spec.batch - 1)] = spec.steps;
    spec.lengths = lengths;
  }
  if (spec.enforceSorted) spec.lengths = [...spec.lengths].sort((a, b) => b - a);
  return spec;
}

// ---------------------------------------------------------------------------
// Materialising a spec: weights, input and h0, all float32, all from spec.seed.
// Each element is a hash of the seed and its coordinates (not the next draw of
// a stream), so a smaller spec keeps the values of the elements it still has:
// shrinking removes data, it does not replace it.

/** A uniform number in [0, 1) from the seed and integer coordinates. */
function hashUniform(seed, a, b, c, d) {
  let h = seed >>> 0;
  for (const v of [a, b, c, d]) {
    h = Math.imul(h ^ (v >>> 0), 0xcc9e2d51);
    h = Math.imul((h << 15) | (h >>> 17), 0x1b873593);
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** A standard normal number from the seed and coordinates (Box–Muller on two hashed uniforms). */
function hashNormal(seed, a, b, c, d) {
  const u = 1 - hashUniform(seed, a, b, c, 2 * d);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * hashUniform(seed, a, b, c, 2 * d + 1));
}

/**
 * The spec's state dict, input (padded when packed) and h0, as float32 tensors. Specs made by
 * randomSpec say `data: "hash"`; specs without it (the first regressions) used one sequential
 * stream of draws, kept so that those reproducers stay exact.
 */
export function materialize(spec) {
  return spec.data === "hash" ? materializeHashed(spec) : materializeStream(spec);
}

function materializeHashed(spec) {
  const seed = spec.seed ^ 0x5eed;
  const D = spec.bidirectional ? 2 : 1;
  const H = spec.hiddenSize;
  const I = spec.inputSize;
  const k = 1 / Math.sqrt(H);
  const stateDict = {};
  // Weight element (row j, column c) of parameter `kind` in layer l, direction d.
  // A column of a deeper layer's W_ih is (direction of the input, unit), so a
  // smaller hidden size keeps the weights between the units that remain.
  const weights = (l, d, kind, rows, cols, colOf) => {
    const values = new Float32Array(rows * cols);
    for (let j = 0; j < rows; j++) {
      for (let c = 0; c < cols; c++) {
        values[j * cols + c] = (2 * hashUniform(seed, 8 * l + 2 * kind + d, j, colOf(c), 0) - 1) * k * spec.weightScale;
      }
    }
    return new Tensor(values, cols === 1 && kind >= 2 ? [rows] : [rows, cols]);
  };
  for (let l = 0; l < spec.numLayers; l++) {
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const inputs = l === 0 ? I : D * H;
      const inputColumn = l === 0 ? (c) => c : (c) => (c < H ? c : 1000 + c - H);
      stateDict[`weight_ih${s}`] = weights(l, d, 0, H, inputs, inputColumn);
      stateDict[`weight_hh${s}`] = weights(l, d, 1, H, H, (c) => c);
      if (spec.bias) {
        stateDict[`bias_ih${s}`] = weights(l, d, 2, H, 1, () => 0);
        stateDict[`bias_hh${s}`] = weights(l, d, 3, H, 1, () => 0);
      }
    }
  }
  const T = spec.steps;
  const B = spec.mode === "unbatched" ? 1 : spec.batch;
  // Input element (t, b, feature) and h0 element (plane, b, unit), whatever the layout.
  const inputShape = spec.mode === "unbatched" ? [T, I] : spec.batchFirst ? [B, T, I] : [T, B, I];
  const x = new Float32Array(T * B * I);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = spec.batchFirst && spec.mode !== "unbatched" ? b * T + t : t * B + b;
      for (let f = 0; f < I; f++) x[row * I + f] = hashNormal(seed, 100, t, b, f) * spec.inputScale;
    }
  }
  const input = new Tensor(x, inputShape);
  const planes = spec.numLayers * D;
  let h0 = null;
  if (spec.h0) {
    const values = new Float32Array(planes * B * H);
    for (let p = 0; p < planes; p++) {
      for (let b = 0; b < B; b++)
        for (let j = 0; j < H; j++) values[(p * B + b) * H + j] = hashNormal(seed, 200 + p, b, j, 0);
    }
    h0 = new Tensor(values, spec.mode === "unbatched" ? [planes, H] : [planes, B, H]);
  }
  return { stateDict, input, h0 };
}

/** The first generator: every value the next draw of one stream, in parameter order, then input, then h0. */
function materializeStream(spec) {
  const rng = makeRng(spec.seed ^ 0x5eed);
  const D = spec.bidirectional ? 2 : 1;
  const H = spec.hiddenSize;
  const I = spec.inputSize;
  const k = 1 / Math.sqrt(H);
  const fill = (shape, draw) => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = draw();
    return new Tensor(values, shape);
  };
  const uniform = (shape) => fill(shape, () => (2 * rng.next() - 1) * k * spec.weightScale);
  const stateDict = {};
  for (let l = 0; l < spec.numLayers; l++) {
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d === 1 ? "_reverse" : ""}`;
      stateDict[`weight_ih${s}`] = uniform([H, l === 0 ? I : D * H]);
      stateDict[`weight_hh${s}`] = uniform([H, H]);
      if (spec.bias) {
        stateDict[`bias_ih${s}`] = uniform([H]);
        stateDict[`bias_hh${s}`] = uniform([H]);
      }
    }
  }
  const T = spec.steps;
  const B = spec.mode === "unbatched" ? 1 : spec.batch;
  const input = fill(
    spec.mode === "unbatched" ? [T, I] : spec.batchFirst ? [B, T, I] : [T, B, I],
    () => rng.normal() * spec.inputScale,
  );
  const planes = spec.numLayers * D;
  const h0 = spec.h0 ? fill(spec.mode === "unbatched" ? [planes, H] : [planes, B, H], () => rng.normal()) : null;
  return { stateDict, input, h0 };
}

function configOf(spec) {
  const { inputSize, hiddenSize, numLayers, nonlinearity, bias, batchFirst, bidirectional } = spec;
  return { inputSize, hiddenSize, numLayers, nonlinearity, bias, batchFirst, bidirectional };
}

/** What the model is fed: the tensor, or the PackedSequence packPaddedSequence makes of it. */
function modelInput(spec, input) {
  if (spec.mode !== "packed") return input;
  return packPaddedSequence(input, spec.lengths, { batchFirst: spec.batchFirst, enforceSorted: spec.enforceSorted });
}

// ---------------------------------------------------------------------------
// Oracle and comparison.

function maxAbs(values) {
  let m = 0;
  for (const v of values) if (Math.abs(v) > m) m = Math.abs(v);
  return m;
}

/** max |a − b|; NaN on one side only (or a length mismatch) is Infinity, NaN on both is 0. */
function maxError(a, b) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) {
      if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
      return Infinity;
    }
    if (d > worst) worst = d;
  }
  return worst;
}

/** The tolerance of the policy above for one tensor, given the case's float32-emulation error. */
export function toleranceOf(float32Error, ref64) {
  return 4 * float32Error + 2e-6 * maxAbs(ref64) + 2 ** -140;
}

/**
 * The packed form of the padded input, built here rather than by packPaddedSequence so the
 * oracle shares no code with the library: sequences sorted by decreasing length, ties in the
 * caller's order (the library documents a stable sort), rows time-major.
 */
function packIndependently(spec, input) {
  const I = spec.inputSize;
  const T = spec.steps;
  const B = spec.batch;
  const order = spec.lengths.map((_, i) => i).sort((a, b) => spec.lengths[b] - spec.lengths[a] || a - b);
  const batchSizes = [];
  for (let t = 0; t < Math.max(...spec.lengths); t++) batchSizes.push(spec.lengths.filter((n) => n > t).length);
  const rows = [];
  batchSizes.forEach((bs, t) => {
    for (let j = 0; j < bs; j++) {
      const at = (spec.batchFirst ? order[j] * T + t : t * B + order[j]) * I;
      for (let k = 0; k < I; k++) rows.push(input.data[at + k]);
    }
  });
  const sortedIndices = spec.enforceSorted ? null : order;
  return { data: { data: Float32Array.from(rows), shape: [rows.length / I, I] }, batchSizes, sortedIndices };
}

/** The reference runs of a materialised spec (float64, then each float32 variant), as flat arrays. */
function oracle(spec, data) {
  const packedInput = spec.mode === "packed" ? packIndependently(spec, data.input) : data.input;
  const flat = (r) => ({
    output: spec.mode === "packed" ? r.output.data.data : r.output.data,
    outputShape: spec.mode === "packed" ? r.output.data.shape : r.output.shape,
    hN: r.hN.data,
    hNShape: r.hN.shape,
  });
  const ref64 = flat(referenceRNN(configOf(spec), data.stateDict, packedInput, data.h0));
  const ref32 = [
    ...FLOAT32_VARIANTS.map((float32) => ({ float32 })),
    ...NOISE_SEEDS.map((noise) => ({ noise: noise ^ spec.seed })),
  ].map((options) => flat(referenceRNN(configOf(spec), data.stateDict, packedInput, data.h0, options)));
  if (spec.mode === "packed") {
    ref64.batchSizes = packedInput.batchSizes;
    ref64.sortedIndices = packedInput.sortedIndices;
  }
  return { ref64, ref32 };
}

/**
 * Float32 implementations whose largest loss is the case's E32 (see rnn64.mjs): PyTorch's
 * order; the kernel's data flow summed backwards with a libm-style tanh; the kernel's data
 * flow with two interleaved partial sums (its unrolled row kernels); PyTorch's order with
 * eight (a blocked BLAS). In a cancelling sum the loss depends on the order by a factor of
 * several, so one sample is too optimistic about what float32 must lose.
 */
export const FLOAT32_VARIANTS = [
  true,
  { fused: true, reverse: true, tanh: "expm1" },
  { fused: true, lanes: 2 },
  { lanes: 8, tanh: "expm1" },
];

/** Seeds of the two runs with a random float32-sized error at every operation (rnn64.mjs `noise`). */
export const NOISE_SEEDS = [0x9e3779b9, 0x7f4a7c15];

/** E32: the largest float32-emulation error over output and hN of every variant. */
function float32Loss(ref32, ref64) {
  let loss = 0;
  for (const r of ref32) loss = Math.max(loss, maxError(r.output, ref64.output), maxError(r.hN, ref64.hN));
  return loss;
}

/** A NaN-filled input larger than the case's, in the model's layout, to poison its workspace. */
function poisonInput(spec) {
  const I = spec.inputSize;
  const T = spec.steps + 3;
  const B = spec.batch + 2;
  const shape = spec.mode === "unbatched" ? [T, I] : spec.batchFirst ? [B, T, I] : [T, B, I];
  return new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(NaN), shape);
}

/**
 * Runs the case on the active kernel: { output, hN, outputShape, hNShape } as plain arrays.
 * `mutate(stateDict)` (self-tests only) returns the state dict the model is given instead.
 */
function runOurs(spec, data, mutate) {
  const rnn = new RNN({ ...configOf(spec), seed: 1 });
  try {
    rnn.loadStateDict(mutate ? mutate(data.stateDict) : data.stateDict);
    rnn.eval();
    if (spec.dirty) rnn.forward(poisonInput(spec));
    const input = modelInput(spec, data.input);
    const [out, hN] = rnn.forward(input, data.h0);
    if (spec.mode === "packed" && !(out instanceof PackedSequence))
      throw new Error("packed input gave no PackedSequence");
    const outTensor = spec.mode === "packed" ? out.data : out;
    return {
      output: outTensor.data,
      outputShape: [...outTensor.shape],
      hN: hN.data,
      hNShape: [...hN.shape],
      batchSizes: out.batchSizes,
      sortedIndices: out.sortedIndices,
    };
  } finally {
    rnn.dispose();
  }
}

/**
 * Checks one spec on the active kernel. Returns { ok, message, worst } where worst is the
 * largest error / tolerance ratio seen. `options.prepared` reuses data and oracle from
 * prepare(); `options.mutate` (self-tests) changes the weights only our model gets.
 */
export function checkSpec(spec, options = {}) {
  const data = options.prepared?.data ?? materialize(spec);
  const { ref64, ref32 } = options.prepared?.oracle ?? oracle(spec, data);
  let ours;
  try {
    ours = runOurs(spec, data, options.mutate);
  } catch (error) {
    return { ok: false, worst: Infinity, message: `threw ${error?.constructor?.name}: ${error?.message}` };
  }
  // The float32 loss is a property of the whole case (its conditioning), so it is
  // measured over output and hN together: hN is ~90 values in a small case, and in
  // a chaotic (×5) recurrence which of them happen to lose the most is luck.
  if (spec.mode === "packed") {
    const same = (a, b) =>
      a === null ? b === null : b !== null && a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
    if (!same(ours.batchSizes, ref64.batchSizes) || !same(ours.sortedIndices, ref64.sortedIndices)) {
      return {
        ok: false,
        worst: Infinity,
        message:
          `packed output has batchSizes [${ours.batchSizes}] and sortedIndices [${ours.sortedIndices}], ` +
          `expected [${ref64.batchSizes}] and [${ref64.sortedIndices}]`,
      };
    }
  }
  const f32 = float32Loss(ref32, ref64);
  let worst = 0;
  for (const what of ["output", "hN"]) {
    const shape = `${what}Shape`;
    if (ours[shape].join() !== ref64[shape].join()) {
      return { ok: false, worst: Infinity, message: `${what} shape [${ours[shape]}], expected [${ref64[shape]}]` };
    }
    const error = maxError(ours[what], ref64[what]);
    const tol = toleranceOf(f32, ref64[what]);
    worst = Math.max(worst, error / tol);
    if (!(error <= tol)) {
      return {
        ok: false,
        worst: Infinity,
        message:
          `${what}: max |ours - ref64| = ${error} > tolerance ${tol} (float32 emulation error ${f32}, ` +
          `max |ref64| = ${maxAbs(ref64[what])})`,
      };
    }
  }
  return { ok: true, worst, message: "ok" };
}

/** Data and oracle for a spec, regenerating at unit scale if the answer leaves float32's comfortable range. */
export function prepare(spec) {
  let data = materialize(spec);
  let refs = oracle(spec, data);
  if (!(maxAbs(refs.ref64.output) <= 1e30 && maxAbs(refs.ref64.hN) <= 1e30)) {
    spec.weightScale = 1;
    spec.inputScale = 1;
    data = materialize(spec);
    refs = oracle(spec, data);
    return { data, oracle: refs, rescaled: true };
  }
  return { data, oracle: refs, rescaled: false };
}

// ---------------------------------------------------------------------------
// Shrinking: smaller specs that still fail, tried greedily until none does.

function candidates(spec) {
  const out = [];
  const push = (change) =>
    out.push(withLengths({ ...spec, ...change, lengths: change.lengths ?? spec.lengths }, makeRng(spec.seed)));
  const halve = (n) => Math.max(1, Math.floor(n / 2));
  if (spec.numLayers > 1) {
    push({ numLayers: 1 });
    push({ numLayers: spec.numLayers - 1 });
  }
  if (spec.bidirectional) push({ bidirectional: false });
  if (spec.dirty) push({ dirty: false });
  if (spec.h0) push({ h0: false });
  if (spec.bias) push({ bias: false });
  if (spec.batchFirst) push({ batchFirst: false });
  if (spec.mode === "packed") {
    push({ mode: "batched" });
    if (!spec.enforceSorted) push({ enforceSorted: true });
  }
  if (spec.mode === "batched" && spec.batch === 1) push({ mode: "unbatched" });
  for (const steps of new Set([1, halve(spec.steps), spec.steps - 1])) {
    if (steps >= 1 && steps < spec.steps) {
      push({ steps, lengths: spec.lengths?.map((n) => Math.min(n, steps)) });
    }
  }
  if (spec.mode !== "unbatched") {
    for (const batch of new Set([1, halve(spec.batch), spec.batch - 1])) {
      if (batch >= 1 && batch < spec.batch) {
        const lengths = spec.lengths?.slice(0, batch);
        if (lengths && !lengths.includes(spec.steps)) lengths[0] = spec.steps;
        push({ batch, lengths });
      }
    }
  }
  for (const key of ["hiddenSize", "inputSize"]) {
    for (const size of new Set([1, halve(spec[key]), spec[key] - 1])) {
      if (size >= 1 && size < spec[key]) push({ [key]: size });
    }
  }
  if (spec.weightScale !== 1) push({ weightScale: 1 });
  if (spec.inputScale !== 1) push({ inputScale: 1 });
  return out;
}

/**
 * The smallest failing spec the greedy search finds on the active kernel (at most `budget`
 * evaluations): each step takes the first smaller variant that still fails. `options.mutate`
 * is passed to checkSpec (self-tests).
 */
export function shrink(spec, { budget = 300, mutate } = {}) {
  let current = spec;
  let result = checkSpec(spec, { mutate });
  let evaluations = 0;
  for (let progress = true; progress && evaluations < budget; ) {
    progress = false;
    for (const candidate of candidates(current)) {
      if (++evaluations > budget) break;
      const r = checkSpec(candidate, { mutate });
      if (!r.ok) {
        current = candidate;
        result = r;
        progress = true;
        break;
      }
    }
  }
  return { spec: current, result, evaluations: Math.min(evaluations, budget) };
}

// ---------------------------------------------------------------------------
// The driver.

/**
 * Fuzzes RNN.forward against the reference.
 *
 * @param options.seed base seed (case i uses seed + i); default 1.
 * @param options.cases number of random configurations, each checked in every build; or
 * @param options.seconds run until this much time has passed (batches of `batch` cases).
 * @param options.backends builds to check; default every build this runtime validates.
 * @param options.log function for progress and reproducers (default console.log); null for silence.
 * @param options.shrink shrink failures to a minimal reproducer (default true).
 * @param options.progress log a line after every batch (default false).
 * @returns { cases, runs, failures, rescaled, worst, seconds }: cases = configurations, runs =
 *   configurations × builds, failures = [{ backend, spec, message, original }], worst = the largest
 *   error / tolerance ratio among passing runs.
 */
export async function fuzz(options = {}) {
  const seed = options.seed ?? 1;
  const backends = options.backends ?? (await availableBackends());
  const log = options.log === undefined ? console.log : (options.log ?? (() => {}));
  const doShrink = options.shrink ?? true;
  const deadline = options.seconds === undefined ? Infinity : performance.now() + options.seconds * 1000;
  const total = options.cases ?? (options.seconds === undefined ? 100 : Infinity);
  const batchSize = options.batch ?? 25;
  const started = performance.now();
  const failures = [];
  let cases = 0;
  let runs = 0;
  let rescaled = 0;
  let worst = { ratio: 0, backend: "-", spec: null };

  while (cases < total && performance.now() < deadline) {
    const count = Math.min(batchSize, total - cases);
    const batch = [];
    for (let i = 0; i < count; i++) {
      const caseSeed = caseSeedOf(seed, cases + i);
      const spec = randomSpec(makeRng(caseSeed), caseSeed);
      const prepared = prepare(spec);
      if (prepared.rescaled) rescaled++;
      batch.push({ spec, prepared });
    }
    for (const backend of backends) {
      await init({ backend });
      for (const { spec, prepared } of batch) {
        const r = checkSpec(spec, { prepared });
        runs++;
        if (r.ok) {
          if (r.worst > worst.ratio) worst = { ratio: r.worst, backend, spec };
          continue;
        }
        const shrunk = doShrink ? shrink(spec) : { spec, result: r };
        const failure = {
          backend,
          spec: shrunk.spec,
          message: shrunk.result.message,
          original: spec,
          originalMessage: r.message,
        };
        failures.push(failure);
        log(formatFailure(failure));
      }
    }
    cases += count;
    if (options.progress) {
      log(
        `fuzz: ${cases} cases, ${runs} runs, ${failures.length} failures, ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
    }
  }
  return { cases, runs, failures, rescaled, worst, seconds: (performance.now() - started) / 1000 };
}

/** A failure as text ending in a regressions.json entry ready to paste. */
export function formatFailure(f) {
  const entry = { backend: f.backend, note: f.message, case: f.spec };
  return [
    `FUZZ FAILURE on the ${f.backend} build: ${f.message}`,
    `  original case (seed ${f.original.seed}): ${f.originalMessage}`,
    '  minimal reproducer (add to tests/fuzz/regressions.json "cases"):',
    `  ${JSON.stringify(entry)}`,
  ].join("\n");
}
