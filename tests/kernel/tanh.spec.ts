// Accuracy of the kernel's activations, through the exported `activate`.
//
// tanh: the issue requires, and assembly/activation.ts claims, at most 4 ULP against Math.tanh rounded
// to f32 over all finite floats. The reference is AssemblyScript's NativeMath
// tanh on f64 (musl's, < 1 ULP of f64) rounded to f32; distances are counted
// in representable floats between the two results. Every input goes through
// both code paths: one `activate` call over a whole chunk (v128 groups of
// four, the scalar twin only for a tail) and one call per element (n = 1:
// always the scalar twin). In the scalar build both are the scalar twin.

import { activate } from "../../assembly/activation";
import { alloc, free } from "../../assembly/memory";

const TANH = 1;
const RELU = 2;
const SIGN: u32 = 0x80000000;
const ONE_BITS: u32 = 0x3F800000;
// tanhV reduces 2|x| = k·ln2 + r; k steps from 0 to 1 at |x| = ln2/4 and from
// 1 to 2 at 3·ln2/4. Below the first, expm1 is the polynomial alone; above, it
// is rebuilt from 2^k, where cancellation could hide.
const K1_BITS = reinterpret<u32>(<f32>(0.25 * Math.LN2));
const K2_BITS = reinterpret<u32>(<f32>(0.75 * Math.LN2));
const CLAIMED_ULP: i64 = 4; // the bound stated in assembly/activation.ts
const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";

// Inputs are queued as (x, -x) pairs in chunks. The buffers start 4 bytes past
// a 16-byte boundary: activate accepts any 4-byte alignment, so the v128
// loads and stores are tested unaligned.
const CHUNK = 8192;
const xBase = alloc((CHUNK + 1) << 2);
const vBase = alloc((CHUNK + 1) << 2);
const sBase = alloc((CHUNK + 1) << 2);
const xs = xBase + 4;
const yv = vBase + 4;   // results of the chunk call
const ys = sBase + 4;   // results of the per-element calls
let fill = 0;

// Worst case per slot: path (0 chunk call, 1 per-element call) × 2 + region
// (0: |x| < ln2/4, k = 0; 1: |x| >= ln2/4, k >= 1).
const maxUlp = new StaticArray<i64>(4);
const worstX = new StaticArray<u32>(4);
const worstY = new StaticArray<u32>(4);
let checked: i64 = 0;
let bad = 0;          // NaN mismatches, |y| > 1, or tanh(-x) != -tanh(x)
let firstBad: u32 = 0;

/** Maps f32 bits to an integer monotonic in the value (±0 → 0), so that a
 *  difference counts the representable floats between two values. */
function ordered(bits: u32): i64 {
  return (bits & SIGN) ? -<i64>(bits & ~SIGN) : <i64>bits;
}

function ulpDistance(a: u32, b: u32): i64 {
  let d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

function isNaN32(bits: u32): bool {
  return (bits & ~SIGN) > 0x7F800000;
}

function reference(bits: u32): u32 {
  return reinterpret<u32>(<f32>Math.tanh(<f64>reinterpret<f32>(bits)));
}

function noteBad(xBits: u32): void {
  if (bad == 0) firstBad = xBits;
  bad++;
}

function score(path: i32, xBits: u32, yBits: u32, refBits: u32): void {
  if (isNaN32(refBits) || isNaN32(yBits)) {
    if (!(isNaN32(refBits) && isNaN32(yBits))) noteBad(xBits);
    return;
  }
  if ((yBits & ~SIGN) > ONE_BITS) noteBad(xBits); // |y| > 1: overshoot
  let slot = path * 2 + ((xBits & ~SIGN) >= K1_BITS ? 1 : 0);
  let d = ulpDistance(yBits, refBits);
  if (d > unchecked(maxUlp[slot])) {
    unchecked(maxUlp[slot] = d);
    unchecked(worstX[slot] = xBits);
    unchecked(worstY[slot] = yBits);
  }
}

/** Runs the queued pairs through both paths and scores them. The reference is
 *  taken for x only: -x must give exactly the negated result (the rational is
 *  odd and IEEE rounding is sign-symmetric), which is checked bit for bit. */
function flush(): void {
  let n = fill;
  if (n == 0) return;
  activate(yv, xs, n, TANH);
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    activate(ys + o, xs + o, 1, TANH);
  }
  for (let i = 0; i < n; i += 2) {
    let o = <usize>i << 2;
    let xb = load<u32>(xs + o);
    let r = reference(xb);
    let v = load<u32>(yv + o);
    let s = load<u32>(ys + o);
    score(0, xb, v, r);
    score(1, xb, s, r);
    if (!isNaN32(xb) && (load<u32>(yv + o, 4) != (v ^ SIGN) || load<u32>(ys + o, 4) != (s ^ SIGN))) {
      noteBad(xb);
    }
  }
  checked += n;
  fill = 0;
}

/** Queues x and -x. */
function push(bits: u32): void {
  let o = <usize>fill << 2;
  store<u32>(xs + o, bits);
  store<u32>(xs + o, bits ^ SIGN, 4);
  fill += 2;
  if (fill == CHUNK) flush();
}

/** Queues every `stride`-th bit pattern in [first, last] and its negative. */
function sweep(first: u32, last: u32, stride: u32): void {
  for (let b = <u64>first; b <= <u64>last; b += stride) push(<u32>b);
}

function resetStats(): void {
  fill = 0;
  for (let i = 0; i < 4; i++) {
    maxUlp[i] = 0;
    worstX[i] = 0;
    worstY[i] = 0;
  }
  checked = 0;
  bad = 0;
}

function report(label: string): void {
  for (let slot = 0; slot < 4; slot++) {
    let x = worstX[slot];
    log<string>(BUILD + " " + label + (slot < 2 ? ", v128 path" : ", scalar twin") +
      ((slot & 1) ? ", k >= 1" : ", k = 0") + ": max " + maxUlp[slot].toString() +
      " ULP at x = " + reinterpret<f32>(x).toString() + " (0x" + x.toString(16) + "): got " +
      reinterpret<f32>(worstY[slot]).toString() + ", Math.tanh " + reinterpret<f32>(reference(x)).toString());
  }
  if (bad != 0) {
    log<string>(BUILD + " " + label + ": " + bad.toString() +
      " inputs with a NaN mismatch, |y| > 1 or tanh(-x) != -tanh(x), first x = 0x" + firstBad.toString(16));
  }
}

function expectWithinClaim(): void {
  expect<i32>(bad).toBe(0);
  for (let slot = 0; slot < 4; slot++) expect<i64>(maxUlp[slot]).toBeLessThanOrEqual(CLAIMED_ULP);
}

/** act(x) through the v128 path: `activate` over 4 copies (one v128 group). */
function viaV128(bits: u32, act: i32): u32 {
  for (let i = 0; i < 4; i++) store<u32>(xs + (<usize>i << 2), bits);
  activate(yv, xs, 4, act);
  // All four lanes must agree; return a NaN payload no kernel produces if not.
  let y = load<u32>(yv);
  for (let i = 1; i < 4; i++) if (load<u32>(yv + (<usize>i << 2)) != y) return 0x7FBADBAD;
  return y;
}

/** act(x) through the scalar twin: `activate` with n = 1 (in any build, a
 *  count below 4 takes the scalar loop only). */
function viaScalar(bits: u32, act: i32): u32 {
  store<u32>(xs, bits);
  activate(ys, xs, 1, act);
  return load<u32>(ys);
}

/** Expects act(x) to have the bits `want` on both paths. */
function expectBoth(x: u32, act: i32, want: u32): void {
  expect<u32>(viaV128(x, act)).toBe(want, "v128 path, x = 0x" + x.toString(16));
  expect<u32>(viaScalar(x, act)).toBe(want, "scalar twin, x = 0x" + x.toString(16));
}

function expectNaNBoth(x: u32, act: i32): void {
  expect<bool>(isNaN32(viaV128(x, act))).toBe(true, "v128 path, x = 0x" + x.toString(16));
  expect<bool>(isNaN32(viaScalar(x, act))).toBe(true, "scalar twin, x = 0x" + x.toString(16));
}

describe("tanh accuracy (" + BUILD + ")", () => {
  it("is within the claimed ULP of Math.tanh over a dense sweep of finite floats", () => {
    resetStats();
    if (isDefined(TANH_EXHAUSTIVE)) {
      // Opt-in (`node tests/kernel/run.mjs --exhaustive-tanh`, ~30 s a build idle):
      // every float with 1e-5 <= |x| <= 9.2 (166 M). Below, m/(m + 2) has
      // settled to its small-x rounding (sampled below); above, tanh rounds
      // to ±1: this range holds every large error.
      sweep(0x3727C5AC, 0x41133333, 1);
    } else {
      // Every 251st positive finite float (8.6 M), each with its negative.
      sweep(0, 0x7F7FFFFF, 251);
      // Where the result is far from both 0 and 1, 1e-3 <= |x| <= 9.2: every 23rd (4.7 M).
      sweep(0x3A83126F, 0x41133333, 23);
      // Around the first two steps of k: every float (262 k).
      sweep(K1_BITS - 65536, K1_BITS + 65536, 1);
      sweep(K2_BITS - 65536, K2_BITS + 65536, 1);
      // [0, 1e-3], subnormals included: every 997th (1 M).
      sweep(0, 0x3A83126F, 997);
    }
    flush();
    report("sweep of " + checked.toString() + " inputs");
    expectWithinClaim();
  });

  it("is within the claimed ULP at the edges and at known worst cases", () => {
    resetStats();
    push(0x00000000);              // 0 (and -0)
    push(0x00000001);              // smallest subnormal
    push(0x007FFFFF);              // largest subnormal
    push(0x00800000);              // FLT_MIN
    for (let d = -4; d <= 4; d++) {  // the first two steps of k ± 4 ULP
      push(<u32>(<i32>K1_BITS + d));
      push(<u32>(<i32>K2_BITS + d));
    }
    push(reinterpret<u32>(<f32>9.5));   // the saturation clamp
    push(reinterpret<u32>(<f32>9));
    push(reinterpret<u32>(<f32>10));
    push(reinterpret<u32>(<f32>20));
    push(0x7F7FFFFF);              // FLT_MAX
    // The largest errors: of the sampled sweep, and of --exhaustive-tanh (2 ULP).
    push(0x3954a4f6);              // 0.00020279348
    push(0x38f398c3);              // 0.00011615597
    push(0x3e317273);              // 0.17328815, just past the first step of k
    push(reinterpret<u32>(<f32>0.5)); // 21 pairs: the chunk call ends with a 2-lane scalar tail
    flush();
    report("edges");
    expectWithinClaim();
  });

  it("keeps the sign of zero, maps ±Inf to ±1 exactly and NaN to NaN, both paths", () => {
    expectBoth(0x00000000, TANH, 0x00000000);
    expectBoth(0x80000000, TANH, 0x80000000);       // -0 stays -0
    expectBoth(0x7F800000, TANH, ONE_BITS);          // +Inf → 1
    expectBoth(0xFF800000, TANH, ONE_BITS | SIGN);   // -Inf → -1
    expectNaNBoth(0x7FC00000, TANH);
    expectNaNBoth(0xFFC00000, TANH);
    expectNaNBoth(0x7F800001, TANH);
  });
});

describe("relu (" + BUILD + ")", () => {
  it("keeps -0 and NaN, zeroes negatives, passes positives, both paths", () => {
    expectBoth(0x80000000, RELU, 0x80000000);       // relu(-0) = -0, as in PyTorch
    expectBoth(0x00000000, RELU, 0x00000000);
    expectNaNBoth(0x7FC00000, RELU);
    expectNaNBoth(0xFFC00000, RELU);
    expectBoth(reinterpret<u32>(<f32>-1), RELU, 0);  // +0
    expectBoth(0xFF800000, RELU, 0);                 // -Inf → +0
    expectBoth(0x80000001, RELU, 0);                 // -subnormal → +0
    expectBoth(0x7F800000, RELU, 0x7F800000);        // +Inf
    expectBoth(reinterpret<u32>(<f32>1), RELU, reinterpret<u32>(<f32>1));
    // A sweep of bit patterns: positives pass unchanged, negatives give +0.
    let wrong = 0;
    for (let b: u64 = 0; b <= 0x7F7FFFFF; b += 65521) {
      let x = <u32>b;
      if (viaV128(x, RELU) != x || viaScalar(x, RELU) != x) wrong++;
      let want: u32 = x == 0 ? SIGN : 0;
      if (viaV128(x | SIGN, RELU) != want || viaScalar(x | SIGN, RELU) != want) wrong++;
    }
    expect<i32>(wrong).toBe(0);
  });

  it("is applied to every element of a call with a tail", () => {
    // 7 elements: one v128 group and a 3-element scalar tail, mixed signs.
    for (let i = 0; i < 7; i++) store<f32>(xs + (<usize>i << 2), <f32>(i & 1 ? -i : i));
    activate(yv, xs, 7, RELU);
    let wrong = 0;
    for (let i = 0; i < 7; i++) {
      let y = load<f32>(yv + (<usize>i << 2));
      if (y != (i & 1 ? <f32>0 : <f32>i)) wrong++;
    }
    expect<i32>(wrong).toBe(0);
  });
});

afterAll(() => {
  free(xBase);
  free(vBase);
  free(sBase);
});
