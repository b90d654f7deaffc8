// The behavioural smoke suite every runtime runs: Node, Deno, Bun, workerd and
// Chromium each import the installed package their own way and call `smoke`.
// Plain ES2022 with no imports, so it loads unchanged everywhere; it throws on
// the first failure.
//
// `fixture` is the bundle fixture.mjs writes: a few PyTorch cases from
// tests/fixtures/{forward,packed,gated,linear-embedding}.json, tensors still base64-encoded.

/**
 * Default `init()` must pick `backend` — "relaxed" meaning both SIMD builds
 * validate, so init() times them and keeps its calibration's choice; then
 * every case must match PyTorch on it and on each other build the runtime
 * validates (forced with `init({ backend })`). Resolves to a summary for the
 * harness to print.
 */
export async function smoke(pkg, fixture, { backend: expected }) {
  const runtime = await pkg.init();
  const calibrated = expected === "relaxed";
  check(
    calibrated === (runtime.calibration !== null),
    `init() reported calibration ${JSON.stringify(runtime.calibration)}`,
  );
  const backend = calibrated ? runtime.calibration.chosen : expected;
  check(runtime.backend === backend, `init() chose the '${runtime.backend}' build, expected '${backend}'`);
  check(pkg.backend() === backend, `backend() is '${pkg.backend()}' after init(), expected '${backend}'`);
  let worst = checkCases(pkg, fixture);

  const features = pkg.detectFeatures();
  const runnable = [
    "scalar",
    ...(features.simd ? ["simd"] : []),
    ...(features.simd && features.relaxedSimd ? ["relaxed"] : []),
  ];
  for (const build of runnable.filter((b) => b !== backend)) {
    await pkg.init({ backend: build });
    check(pkg.backend() === build, `backend() is '${pkg.backend()}' after init({ backend: '${build}' })`);
    worst = Math.max(worst, checkCases(pkg, fixture));
  }
  return { backend, calibration: runtime.calibration, builds: runnable, cases: fixture.cases.length, worst };
}

/**
 * Threads (issue 13): `init({ threads: n, requireThreads: true })` for each n of
 * `counts` must run on n threads and compute every fixture case, and every larger
 * case (big enough to be split across threads), bit for bit as one thread does.
 * The last helper thread takes jobs: made to fail at its next one (the kernel's
 * test hook), forward throws, and the pool then works on. `terminate()` then
 * ends the pool and `init()` gives one thread again.
 */
export async function threadsSmoke(pkg, fixture, { counts }) {
  const single = await pkg.init({ threads: 1 });
  check(single.threads === 1 && pkg.threads() === 1, `init({ threads: 1 }) runs on ${single.threads} threads`);
  const large = largeCases(pkg);
  const reference = outputsOf(pkg, fixture, large);
  for (const n of counts) {
    // The same build as the one-thread run: unnamed, each init() would calibrate anew and might pick the other.
    const runtime = await pkg.init({ backend: single.backend, threads: n, requireThreads: true });
    check(runtime.threads === n, `init({ threads: ${n} }) runs on ${runtime.threads} thread(s)`);
    check(runtime.threadsFallback === null, `init({ threads: ${n} }) reports a fallback: ${runtime.threadsFallback}`);
    check(pkg.threads() === n, `threads() is ${pkg.threads()} after init({ threads: ${n} })`);
    sameBits(reference, outputsOf(pkg, fixture, large), `${n} threads`);
    runtime.kernel.thread_fail_next_job(n - 1);
    let failure = null;
    try {
      runLarge(pkg, large.slice(0, 1));
    } catch (error) {
      failure = error;
    }
    check(failure instanceof Error, `thread ${n - 1} of ${n} failed its job, and forward did not throw`);
    check(/worker thread failed/.test(failure.message), `forward threw another error: ${failure.message}`);
    sameBits(reference, outputsOf(pkg, fixture, large), `${n} threads, after a worker failed`);
  }
  pkg.terminate();
  check(pkg.threads() === 1, `threads() is ${pkg.threads()} after terminate()`);
  await pkg.init({ backend: single.backend });
  check(pkg.threads() === 1, `threads() is ${pkg.threads()} after init() following terminate()`);
  sameBits(reference, outputsOf(pkg, fixture, large), "one thread after terminate()");
  return { threads: counts, cases: fixture.cases.length, large: large.length };
}

/**
 * Where memory cannot be shared with workers, `init({ threads: 2 })` must run on one
 * thread and say why (`threadsFallback` containing `reason`), every case still
 * matching PyTorch; `requireThreads: true` must throw an Error giving that reason.
 */
export async function threadsFallbackSmoke(pkg, fixture, { reason }) {
  const runtime = await pkg.init({ threads: 2 });
  const fallback = runtime.threadsFallback;
  check(runtime.threads === 1 && pkg.threads() === 1, `init({ threads: 2 }) runs on ${runtime.threads} threads here`);
  check(
    typeof fallback === "string" && fallback.includes(reason),
    `init({ threads: 2 }) gives threadsFallback ${JSON.stringify(fallback)}, expected a reason naming ${reason}`,
  );
  const worst = checkCases(pkg, fixture);
  let refusal = null;
  try {
    await pkg.init({ threads: 2, requireThreads: true });
  } catch (error) {
    refusal = error;
  }
  check(refusal instanceof Error, "init({ threads: 2, requireThreads: true }) did not throw");
  check(refusal.message.includes(reason), `requireThreads threw without the reason: ${refusal.message}`);
  checkCases(pkg, fixture);
  return { fallback, cases: fixture.cases.length, worst };
}

/**
 * Runs every fixture case on the kernel `init()` last loaded. Returns the worst
 * error / tolerance ratio (≤ 1 when it passes); `outputs` collects what each case computed.
 */
export function checkCases(pkg, fixture, outputs = []) {
  const kinds = new Set(fixture.cases.flatMap(kindsOf));
  for (const kind of ["batched", "packed", "bidirectional", "RNN", "GRU", "LSTM", "Linear", "Embedding"]) {
    check(kinds.has(kind), `the fixture bundle has no ${kind} case`);
  }
  let worst = 0;
  for (const c of fixture.cases) worst = Math.max(worst, checkCase(pkg, c, outputs));
  return worst;
}

/** Models and inputs large enough for every partition of the threaded kernel (as sizes go, still milliseconds). */
const LARGE = [
  { module: "RNN", config: { inputSize: 64, hiddenSize: 128, numLayers: 2, bidirectional: true }, input: [12, 8, 64] },
  { module: "GRU", config: { inputSize: 64, hiddenSize: 128, numLayers: 2, batchFirst: true }, input: [8, 12, 64] },
  { module: "LSTM", config: { inputSize: 64, hiddenSize: 128, projSize: 48, numLayers: 2 }, input: [12, 8, 64] },
  {
    module: "LSTM",
    config: { inputSize: 64, hiddenSize: 96, bidirectional: true },
    input: [12, 6, 64],
    lengths: [12, 9, 9, 5, 3, 1],
  },
  { module: "GRU", config: { inputSize: 32, hiddenSize: 256 }, input: [16, 1, 32] },
  { module: "Linear", config: { inFeatures: 256, outFeatures: 256 }, input: [64, 256] },
];

/** LARGE with parameters drawn (by the module's own initialisation) once, on the kernel init() last loaded. */
function largeCases(pkg) {
  let seed = 1;
  const uniform = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 31 - 1;
  };
  return LARGE.map((spec) => {
    const module = new pkg[spec.module](spec.config);
    try {
      const size = spec.input.reduce((a, b) => a * b, 1);
      const input = Float32Array.from({ length: size }, uniform);
      return { ...spec, stateDict: module.stateDict(), input: new pkg.Tensor(input, spec.input) };
    } finally {
      module.dispose();
    }
  });
}

/** What every fixture case and every large case computes on the kernel init() last loaded, as flat arrays. */
function outputsOf(pkg, fixture, large) {
  const outputs = [];
  checkCases(pkg, fixture, outputs);
  return outputs.concat(runLarge(pkg, large));
}

/** What the `large` cases compute, as flat arrays. */
function runLarge(pkg, large) {
  const outputs = [];
  for (const c of large) {
    const module = new pkg[c.module](c.config);
    try {
      module.loadStateDict(c.stateDict);
      const input = c.lengths
        ? pkg.packPaddedSequence(c.input, c.lengths, { batchFirst: c.config.batchFirst ?? false })
        : c.input;
      const result = module.forward(input);
      for (const t of Array.isArray(result) ? result.flat() : [result])
        outputs.push(Float32Array.from(t.data.data ?? t.data));
    } finally {
      module.dispose();
    }
  }
  return outputs;
}

/** Every output must have the same float32 bits in both runs. */
function sameBits(expected, actual, label) {
  check(actual.length === expected.length, `${label}: ${actual.length} outputs, one thread gave ${expected.length}`);
  expected.forEach((e, i) => {
    const bits = (a) => new Uint32Array(a.buffer, a.byteOffset, a.length);
    const [x, y] = [bits(e), bits(actual[i])];
    const differ = x.length !== y.length ? 0 : x.findIndex((v, j) => v !== y[j]);
    check(differ === -1, `${label}: output ${i} differs from one thread's (first at element ${differ})`);
  });
}

function kindsOf(c) {
  const module = c.module ?? "RNN";
  if (module === "Linear" || module === "Embedding") return [module];
  const kinds = [module, c.packed ? "packed" : c.input.shape.length === 3 ? "batched" : "unbatched"];
  if (c.config.bidirectional) kinds.push("bidirectional");
  return kinds;
}

function checkCase(pkg, c, outputs) {
  const module = new pkg[c.module ?? "RNN"](c.config);
  const compare = (...args) => compareAndKeep(outputs, ...args);
  const tensor = (t) => new pkg.Tensor(decode(t), t.shape);
  try {
    module.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, tensor(v)])));
    if (c.module === "Linear") return compare(c, "output", module.forward(tensor(c.input)), c.output, c.output64);
    if (c.module === "Embedding") {
      const output = module.forward(c.indices, c.shape);
      const expected = decode(c.output);
      check(String(output.shape) === String(c.output.shape), `${c.name}: shape [${output.shape}]`);
      check(
        output.data.every((v, i) => Object.is(v, expected[i])),
        `${c.name}: rows differ from PyTorch's`,
      );
      outputs.push(Float32Array.from(output.data));
      return 0;
    }
    return checkRecurrent(pkg, c, module, tensor, compare);
  } finally {
    module.dispose();
  }
}

/** RNN, GRU (state h) or LSTM (state [h, c]), on a tensor or packed from the padded input. */
function checkRecurrent(pkg, c, module, tensor, compare) {
  const lstm = c.module === "LSTM";
  const h0 = c.h0 == null ? null : tensor(c.h0);
  const state = lstm && h0 !== null ? [h0, tensor(c.c0)] : h0;
  const { batchFirst } = c.config;
  const input = c.packed
    ? pkg.packPaddedSequence(tensor(c.input), c.packed.lengths, { batchFirst, enforceSorted: c.packed.enforceSorted })
    : tensor(c.input);
  const [output, final] = module.forward(input, state);
  const [hN, cN] = lstm ? final : [final, null];
  let worst = compare(c, "hN", hN, c.hN, c.hN64);
  if (lstm) worst = Math.max(worst, compare(c, "cN", cN, c.cN, c.cN64));
  if (!c.packed) return Math.max(worst, compare(c, "output", output, c.output, c.output64));
  check(output instanceof pkg.PackedSequence, `${c.name}: forward(PackedSequence) did not return a PackedSequence`);
  const [padded] = pkg.padPackedSequence(output, { batchFirst });
  if (c.packedData) worst = Math.max(worst, compare(c, "packed data", output.data, c.packedData, c.packedData64));
  return Math.max(worst, compare(c, "padded output", padded, c.output, c.output64));
}

/**
 * Shape must equal PyTorch's; max |ours − float64| must be within the rule of
 * tests/helpers/fixtures.mjs: 4 × PyTorch float32's own error + 2e-6 × max(1, max|ref|).
 * Keeps a copy of what was compared in `outputs`.
 */
function compareAndKeep(outputs, c, what, ours, f32, f64) {
  outputs.push(Float32Array.from(ours.data));
  check(
    String(ours.shape) === String(f64.shape),
    `${c.name} ${what}: shape [${ours.shape}], PyTorch has [${f64.shape}]`,
  );
  const reference = decode(f64);
  const error = maxAbsError(ours.data, reference);
  let magnitude = 1;
  for (const v of reference) if (Math.abs(v) > magnitude) magnitude = Math.abs(v); // NaN never wins
  // Gated cases carry PyTorch float32's error over equivalent hidden-unit orders (tests/fixtures/generate.py).
  const torchError = c.torch32Error ?? maxAbsError(decode(f32), reference);
  const tolerance = 4 * torchError + 2e-6 * magnitude;
  check(error <= tolerance, `${c.name} ${what}: max |ours - PyTorch float64| = ${error} > tolerance ${tolerance}`);
  return error / tolerance;
}

function maxAbsError(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    worst = Math.max(worst, Number.isNaN(a[i]) || Number.isNaN(b[i]) ? Infinity : Math.abs(a[i] - b[i]));
  }
  return worst;
}

/** A fixture tensor's values: base64 of little-endian float32 or float64. */
function decode({ dtype, b64 }) {
  check(new Uint8Array(new Uint16Array([1]).buffer)[0] === 1, "the fixture decoder assumes a little-endian host");
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return dtype === "f64" ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

function check(condition, message) {
  if (!condition) throw new Error(`smoke: ${message}`);
}
