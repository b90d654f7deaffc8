// The behavioural smoke suite every runtime runs: Node, Deno, Bun, workerd and
// Chromium each import the installed package their own way and call `smoke`.
// Plain ES2022 with no imports, so it loads unchanged everywhere; it throws on
// the first failure.
//
// `fixture` is the bundle fixture.mjs writes: a few PyTorch cases from
// tests/fixtures/{forward,packed}.json, tensors still base64-encoded.

/**
 * Default `init()` must pick `backend`; then every case must match PyTorch on
 * it and on each other build the runtime validates (forced with
 * `init({ backend })`). Resolves to a summary for the harness to print.
 */
export async function smoke(pkg, fixture, { backend }) {
  const runtime = await pkg.init();
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
  return { backend, builds: runnable, cases: fixture.cases.length, worst };
}

/**
 * Runs every fixture case on the kernel `init()` last loaded. Returns the worst
 * error / tolerance ratio (≤ 1 when it passes).
 */
export function checkCases(pkg, fixture) {
  const kinds = new Set(fixture.cases.flatMap(kindsOf));
  for (const kind of ["batched", "packed", "bidirectional"]) {
    check(kinds.has(kind), `the fixture bundle has no ${kind} case`);
  }
  let worst = 0;
  for (const c of fixture.cases) worst = Math.max(worst, checkCase(pkg, c));
  return worst;
}

function kindsOf(c) {
  const kinds = [c.packed ? "packed" : c.input.shape.length === 3 ? "batched" : "unbatched"];
  if (c.config.bidirectional) kinds.push("bidirectional");
  return kinds;
}

function checkCase(pkg, c) {
  const { RNN, Tensor, PackedSequence, packPaddedSequence, padPackedSequence } = pkg;
  const tensor = (t) => new Tensor(decode(t), t.shape);
  const rnn = new RNN(c.config);
  try {
    rnn.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, tensor(v)])));
    const h0 = c.h0 === null ? null : tensor(c.h0);
    if (!c.packed) {
      const [output, hN] = rnn.forward(tensor(c.input), h0);
      return Math.max(compare(c, "output", output, c.output, c.output64), compare(c, "hN", hN, c.hN, c.hN64));
    }
    const { batchFirst } = c.config;
    const packed = packPaddedSequence(tensor(c.input), c.packed.lengths, {
      batchFirst,
      enforceSorted: c.packed.enforceSorted,
    });
    const [output, hN] = rnn.forward(packed, h0);
    check(output instanceof PackedSequence, `${c.name}: forward(PackedSequence) did not return a PackedSequence`);
    const [padded] = padPackedSequence(output, { batchFirst });
    return Math.max(
      compare(c, "packed data", output.data, c.packedData, c.packedData64),
      compare(c, "padded output", padded, c.output, c.output64),
      compare(c, "hN", hN, c.hN, c.hN64),
    );
  } finally {
    rnn.dispose();
  }
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
  const tolerance = 4 * maxAbsError(decode(f32), reference) + 2e-6 * magnitude;
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
