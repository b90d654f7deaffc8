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
 * Runs every fixture case on the kernel `init()` last loaded. Returns the worst
 * error / tolerance ratio (≤ 1 when it passes).
 */
export function checkCases(pkg, fixture) {
  const kinds = new Set(fixture.cases.flatMap(kindsOf));
  for (const kind of ["batched", "packed", "bidirectional", "RNN", "GRU", "LSTM", "Linear", "Embedding"]) {
    check(kinds.has(kind), `the fixture bundle has no ${kind} case`);
  }
  let worst = 0;
  for (const c of fixture.cases) worst = Math.max(worst, checkCase(pkg, c));
  return worst;
}

function kindsOf(c) {
  const module = c.module ?? "RNN";
  if (module === "Linear" || module === "Embedding") return [module];
  const kinds = [module, c.packed ? "packed" : c.input.shape.length === 3 ? "batched" : "unbatched"];
  if (c.config.bidirectional) kinds.push("bidirectional");
  return kinds;
}

function checkCase(pkg, c) {
  const module = new pkg[c.module ?? "RNN"](c.config);
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
      return 0;
    }
    return checkRecurrent(pkg, c, module, tensor);
  } finally {
    module.dispose();
  }
}

/** RNN, GRU (state h) or LSTM (state [h, c]), on a tensor or packed from the padded input. */
function checkRecurrent(pkg, c, module, tensor) {
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
 */
function compare(c, what, ours, f32, f64) {
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
