// The accuracy harness of the activation specs (imported, not a spec itself):
// runs inputs through both code paths of a kernel function and measures the
// distance, in representable floats, to an f64 reference rounded to f32.
// One call over a whole chunk (v128 groups of four, the scalar twin only for
// a tail) and one call per element (n = 1: always the scalar twin); in the
// scalar build both are the scalar twin. The buffers start 4 bytes past a
// 16-byte boundary, so the v128 loads and stores are tested unaligned.

import { alloc } from "../../assembly/memory";
import { apply } from "./util";

export const SIGN: u32 = 0x80000000;
export const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";

const CHUNK = 8192;
const xs = alloc((CHUNK + 1) << 2) + 4;
const yv = alloc((CHUNK + 1) << 2) + 4;   // results of the chunk call
const ys = alloc((CHUNK + 1) << 2) + 4;   // results of the per-element calls

export function isNaN32(bits: u32): bool {
  return (bits & ~SIGN) > 0x7F800000;
}

/** Maps f32 bits to an integer monotonic in the value (±0 → 0), so that a
 *  difference counts the representable floats between two values. */
function ordered(bits: u32): i64 {
  return (bits & SIGN) ? -<i64>(bits & ~SIGN) : <i64>bits;
}

function ulpDistance(a: u32, b: u32): i64 {
  let d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

/** The worst distance per (path, region) slot of a sweep, and the inputs that break the function's invariants. */
export class UlpSweep {
  maxUlp: StaticArray<i64>;
  worstX: StaticArray<u32>;
  worstY: StaticArray<u32>;
  checked: i64 = 0;
  bad: i32 = 0;       // NaN mismatches, results out of [lo, hi], broken odd symmetry
  firstBad: u32 = 0;
  fill: i32 = 0;

  /**
   * fn: the apply() code; reference: the f64 function; region: the report
   * region of an input (0 .. regions − 1); lo, hi: the range of results;
   * odd: inputs are queued as (x, −x) pairs whose results must be exact negatives.
   */
  constructor(
    public name: string, public fn: i32, public reference: (x: f64) => f64, public region: (bits: u32) => i32,
    public regionNames: string[], public lo: f32, public hi: f32, public odd: bool,
  ) {
    let slots = 2 * regionNames.length;
    this.maxUlp = new StaticArray<i64>(slots);
    this.worstX = new StaticArray<u32>(slots);
    this.worstY = new StaticArray<u32>(slots);
  }

  referenceBits(bits: u32): u32 {
    return reinterpret<u32>(<f32>this.reference(<f64>reinterpret<f32>(bits)));
  }

  reset(): void {
    this.fill = 0;
    for (let i = 0; i < this.maxUlp.length; i++) {
      this.maxUlp[i] = 0;
      this.worstX[i] = 0;
      this.worstY[i] = 0;
    }
    this.checked = 0;
    this.bad = 0;
  }

  noteBad(xBits: u32): void {
    if (this.bad == 0) this.firstBad = xBits;
    this.bad++;
  }

  score(path: i32, xBits: u32, yBits: u32, refBits: u32): void {
    if (isNaN32(refBits) || isNaN32(yBits)) {
      if (!(isNaN32(refBits) && isNaN32(yBits))) this.noteBad(xBits);
      return;
    }
    let y = reinterpret<f32>(yBits);
    if (!(y >= this.lo && y <= this.hi)) this.noteBad(xBits);
    let slot = path * this.regionNames.length + this.region(xBits);
    let d = ulpDistance(yBits, refBits);
    if (d > this.maxUlp[slot]) {
      this.maxUlp[slot] = d;
      this.worstX[slot] = xBits;
      this.worstY[slot] = yBits;
    }
  }

  /** Runs the queued inputs through both paths and scores them. */
  flush(): void {
    let n = this.fill;
    if (n == 0) return;
    apply(yv, xs, n, this.fn);
    for (let i = 0; i < n; i++) {
      let o = <usize>i << 2;
      apply(ys + o, xs + o, 1, this.fn);
    }
    let step = this.odd ? 2 : 1;
    for (let i = 0; i < n; i += step) {
      let o = <usize>i << 2;
      let xb = load<u32>(xs + o);
      let r = this.referenceBits(xb);
      let v = load<u32>(yv + o);
      let s = load<u32>(ys + o);
      this.score(0, xb, v, r);
      this.score(1, xb, s, r);
      // For an odd function, −x must give exactly the negated result (IEEE
      // rounding is sign-symmetric): its reference is not computed again.
      if (this.odd && !isNaN32(xb) && (load<u32>(yv + o, 4) != (v ^ SIGN) || load<u32>(ys + o, 4) != (s ^ SIGN))) {
        this.noteBad(xb);
      }
    }
    this.checked += n;
    this.fill = 0;
  }

  /** Queues x (and −x for an odd function). */
  push(bits: u32): void {
    let o = <usize>this.fill << 2;
    store<u32>(xs + o, bits);
    this.fill++;
    if (this.odd) {
      store<u32>(xs + o, bits ^ SIGN, 4);
      this.fill++;
    }
    if (this.fill == CHUNK) this.flush();
  }

  /** Queues every `stride`-th bit pattern in [first, last]. */
  sweep(first: u32, last: u32, stride: u32): void {
    for (let b = <u64>first; b <= <u64>last; b += stride) this.push(<u32>b);
  }

  report(label: string): void {
    let regions = this.regionNames.length;
    for (let slot = 0; slot < 2 * regions; slot++) {
      let x = this.worstX[slot];
      log<string>(BUILD + " " + this.name + " " + label + (slot < regions ? ", v128 path, " : ", scalar twin, ") +
        this.regionNames[slot % regions] + ": max " + this.maxUlp[slot].toString() + " ULP at x = " +
        reinterpret<f32>(x).toString() + " (0x" + x.toString(16) + "): got " + reinterpret<f32>(this.worstY[slot]).toString() +
        ", reference " + reinterpret<f32>(this.referenceBits(x)).toString());
    }
    if (this.bad != 0) {
      log<string>(BUILD + " " + this.name + " " + label + ": " + this.bad.toString() +
        " inputs with a NaN mismatch, a result out of range or a broken symmetry, first x = 0x" + this.firstBad.toString(16));
    }
  }

  expectWithin(ulp: i64): void {
    expect<i32>(this.bad).toBe(0);
    for (let slot = 0; slot < this.maxUlp.length; slot++) expect<i64>(this.maxUlp[slot]).toBeLessThanOrEqual(ulp);
  }
}

/** fn(x) through the v128 path: `apply` over 4 copies (one v128 group). */
export function viaV128(bits: u32, fn: i32): u32 {
  for (let i = 0; i < 4; i++) store<u32>(xs + (<usize>i << 2), bits);
  apply(yv, xs, 4, fn);
  // All four lanes must agree; return a NaN payload no kernel produces if not.
  let y = load<u32>(yv);
  for (let i = 1; i < 4; i++) if (load<u32>(yv + (<usize>i << 2)) != y) return 0x7FBADBAD;
  return y;
}

/** fn(x) through the scalar twin: `apply` with n = 1 (in any build, a count
 *  below 4 takes the scalar loop only). */
export function viaScalar(bits: u32, fn: i32): u32 {
  store<u32>(xs, bits);
  apply(ys, xs, 1, fn);
  return load<u32>(ys);
}

/** Expects fn(x) to have the bits `want` on both paths. */
export function expectBoth(x: u32, fn: i32, want: u32): void {
  expect<u32>(viaV128(x, fn)).toBe(want, "v128 path, x = 0x" + x.toString(16));
  expect<u32>(viaScalar(x, fn)).toBe(want, "scalar twin, x = 0x" + x.toString(16));
}

export function expectNaNBoth(x: u32, fn: i32): void {
  expect<bool>(isNaN32(viaV128(x, fn))).toBe(true, "v128 path, x = 0x" + x.toString(16));
  expect<bool>(isNaN32(viaScalar(x, fn))).toBe(true, "scalar twin, x = 0x" + x.toString(16));
}

/** Runs `apply` on n values at a 4-byte-aligned scratch; returns the results' address. */
export function applyTo(values: f32[], fn: i32): usize {
  for (let i = 0; i < values.length; i++) store<f32>(xs + (<usize>i << 2), values[i]);
  apply(yv, xs, values.length, fn);
  return yv;
}
