// Loader and error helpers for the PyTorch golden fixtures in tests/fixtures/*.json
// (written by tests/fixtures/generate.py). Plain ES module, Node >= 20, no dependencies.
//
// In the JSON every tensor is {shape, dtype: "f32" | "f64", b64}: base64 of the little-endian raw
// bytes, so decoding is exact. loadFixture() replaces each such object by {shape, data} where data
// is a Float32Array or Float64Array.

import { readFileSync } from "node:fs";

const BYTES = { f32: 4, f64: 8 };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isEncodedTensor(v) {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    typeof v.b64 === "string" &&
    Array.isArray(v.shape) &&
    Object.hasOwn(BYTES, v.dtype)
  );
}

function decodeTensor({ shape, dtype, b64 }) {
  const bytes = Buffer.from(b64, "base64");
  const n = shape.reduce((a, b) => a * b, 1);
  const width = BYTES[dtype];
  if (bytes.length !== n * width) {
    throw new Error(`fixture tensor ${dtype}[${shape}] has ${bytes.length} bytes, expected ${n * width}`);
  }
  const data = dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
  if (LITTLE_ENDIAN) {
    // Copy through a Uint8Array view: Buffer.from may hand back a slice of a shared pool at an
    // offset that is not a multiple of 4/8, which typed-array views over it would reject.
    new Uint8Array(data.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      data[i] = width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    }
  }
  return { shape: shape.slice(), data };
}

function decodeAll(v) {
  if (Array.isArray(v)) return v.map(decodeAll);
  if (v === null || typeof v !== "object") return v;
  if (isEncodedTensor(v)) return decodeTensor(v);
  const out = {};
  for (const k of Object.keys(v)) out[k] = decodeAll(v[k]); // keeps key order (stateDict order)
  return out;
}

/** Parsed tests/fixtures/<name>.json ("forward", "init", "packed", "cell"), tensors decoded. */
export function loadFixture(name) {
  const url = new URL(`../fixtures/${name}.json`, import.meta.url);
  return decodeAll(JSON.parse(readFileSync(url, "utf8")));
}

/**
 * max |actual[i] - expected[i]|. NaN at the same index in both counts as 0; NaN in only one is
 * Infinity. Equal values (including equal infinities) count as 0. Lengths must match.
 */
export function maxAbsError(actual, expected) {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: actual ${actual.length}, expected ${expected.length}`);
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e) continue;
    const aNaN = Number.isNaN(a);
    const eNaN = Number.isNaN(e);
    if (aNaN || eNaN) {
      if (aNaN && eNaN) continue;
      return Infinity;
    }
    const d = Math.abs(a - e);
    if (d > worst) worst = d; // d is Infinity when exactly one side is infinite
  }
  return worst;
}

/**
 * Tolerance for comparing our float32 result with the float64 reference of one fixture case:
 *
 *   tol = 4 * maxAbsError(torch32, ref64) + 2e-6 * max(1, max|ref64|)
 *
 * The first term says "within a small multiple of PyTorch float32's own error on this very case",
 * so cases where float32 is inherently inaccurate (long sequences, saturation, wide sums) get
 * proportionally more room. The second term is a floor for cases where PyTorch happens to be exact
 * or nearly so (tiny sizes, batch 0), scaled with the magnitude of the answer (relu is unbounded);
 * 2e-6 is about 16 float32 ulps at magnitude 1. NaN entries of ref64 are ignored for the max.
 */
export function toleranceFor(torch32, ref64) {
  return toleranceFromError(maxAbsError(torch32, ref64), ref64);
}

/**
 * toleranceFor with PyTorch float32's error given rather than measured from one run:
 *
 *   tol = 4 * err + 2e-6 * max(1, max|ref64|)
 *
 * For the gated fixtures err is the case's "torch32Error": the worst error of PyTorch float32 over
 * the generated run and 8 runs of the same model with its hidden units permuted (another rounding
 * order), because one run can be lucky on saturating cases (tests/fixtures/generate.py explains).
 */
export function toleranceFromError(err, ref64) {
  let maxRef = 0;
  for (let i = 0; i < ref64.length; i++) {
    const m = Math.abs(ref64[i]);
    if (m > maxRef) maxRef = m; // false for NaN, so NaN is skipped
  }
  return 4 * err + 2e-6 * Math.max(1, maxRef);
}
