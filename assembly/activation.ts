// Activations applied in the recurrent step: tanh and relu, each as a v128
// kernel and its scalar twin.
//
// tanh z = m / (m + 2) with m = e^{2z} − 1 = expm1(2z), for z = |x|, then the
// sign of x is copied onto the result (tanh is odd; −0 stays −0). expm1 keeps
// its relative accuracy near 0, so one formula serves the whole range with no
// branch or select: Cody–Waite reduction 2z = k·ln2 + r, |r| ≤ ln2/2;
// e^r − 1 = r + r²·P(r) with P the degree-5 Taylor polynomial of
// (e^r − 1 − r)/r²; expm1(2z) = 2^k·(e^r − 1) + (2^k − 1), 2^k built in the
// exponent bits. Tiny and subnormal z give m = 2z and tanh = z exactly.
// z is clamped to 9.5 first (tanh rounds to ±1 in f32 from 9.01 on), so ±Inf
// gives ±1 exactly and e^{2z} never overflows; NaN passes every step as NaN.
// Error bound (required ≤ 4 ULP of Math.tanh rounded to f32, checked by
// tests/kernel/tanh.spec.ts on a dense sweep of all finite floats): measured
// 2 ULP at most — every float with 1e-5 ≤ |x| ≤ 9.2 (--exhaustive-tanh),
// worst at x = 1.1615597e-4 and 0.17328815 — in all three builds, fused or not.

import { madd } from "./simd";

// @ts-ignore: decorator
@inline const SATURATE: f32 = 9.5;
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// ln 2 split so that k·LN2_HI is exact for |k| < 2^9.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693145751953125;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = 1.428606765330187045e-06;
/** 1.5·2^23 + 127: adding it rounds to an integer k and leaves k + 127 in the low mantissa bits. */
// @ts-ignore: decorator
@inline const ROUND_SHIFT: f32 = 12583039;
// P(r) = 1/2! + r/3! + … + r⁵/7!
// @ts-ignore: decorator
@inline const E2: f32 = 0.5;
// @ts-ignore: decorator
@inline const E3: f32 = 1.66666666666666666667e-01;
// @ts-ignore: decorator
@inline const E4: f32 = 4.16666666666666666667e-02;
// @ts-ignore: decorator
@inline const E5: f32 = 8.33333333333333333333e-03;
// @ts-ignore: decorator
@inline const E6: f32 = 1.38888888888888888889e-03;
// @ts-ignore: decorator
@inline const E7: f32 = 1.98412698412698412698e-04;

/** Activation codes shared with the host. */
export const enum Activation { Identity = 0, Tanh = 1, Relu = 2 }

/**
 * tanhV's constants, one f32 each, read with v128.load32_splat: one load µop
 * under V8, where a v128 constant in a register costs three ALU µops
 * (movq, vmovq, vpunpcklqdq) at every use.
 */
const TANH_CONSTANTS: usize = memory.data<f32>([
  -0.0, SATURATE, LOG2E, ROUND_SHIFT, -LN2_HI, -LN2_LO, E7, E6, E5, E4, E3, E2, 1, 2,
]);

/** Index of each constant in TANH_CONSTANTS. */
const enum Slot {
  SignMask, Saturate, Log2e, RoundShift, MinusLn2Hi, MinusLn2Lo, E7, E6, E5, E4, E3, E2, One, Two,
}

/** Splat of TANH_CONSTANTS[slot]. */
// @ts-ignore: decorator
@inline function constant(slot: Slot): v128 {
  return v128.load32_splat(TANH_CONSTANTS + (<usize>slot << 2));
}

/** tanh of four lanes; NaN lanes stay NaN. */
// @ts-ignore: decorator
@inline export function tanhV(x: v128): v128 {
  let signMask = constant(Slot.SignMask);
  let sign = v128.and(x, signMask);
  // pmin with the value first keeps NaN (one x86 instruction, unlike min).
  let z = f32x4.pmin(v128.andnot(x, signMask), constant(Slot.Saturate));
  let w = f32x4.add(z, z);
  // Round w·log2(e) to k by the shift constant (as in Cephes/XNNPACK expf);
  // shifting its bits left by 23 leaves k + 127 in the exponent: 2^k.
  let shifted = madd(w, constant(Slot.Log2e), constant(Slot.RoundShift));
  let kf = f32x4.sub(shifted, constant(Slot.RoundShift));
  let scale = i32x4.shl(shifted, 23);
  let r = madd(kf, constant(Slot.MinusLn2Hi), w);
  r = madd(kf, constant(Slot.MinusLn2Lo), r);
  let p = madd(constant(Slot.E7), r, constant(Slot.E6));
  p = madd(p, r, constant(Slot.E5));
  p = madd(p, r, constant(Slot.E4));
  p = madd(p, r, constant(Slot.E3));
  p = madd(p, r, constant(Slot.E2));
  let em1r = madd(f32x4.mul(r, r), p, r);
  let m = madd(scale, em1r, f32x4.sub(scale, constant(Slot.One)));
  return v128.or(f32x4.div(m, f32x4.add(m, constant(Slot.Two))), sign);
}

/** relu of four lanes: relu(-0) = -0 and NaN stays NaN, as in PyTorch. */
// @ts-ignore: decorator
@inline export function reluV(x: v128): v128 {
  return f32x4.pmax(x, f32x4.splat(0));
}

/** Scalar twin of tanhV. */
// @ts-ignore: decorator
@inline export function tanhS(x: f32): f32 {
  let z = min(abs(x), SATURATE);
  let w = z + z;
  let kf = nearest(w * LOG2E);
  let r = kf * -LN2_HI + w;
  r = kf * -LN2_LO + r;
  let p = ((((E7 * r + E6) * r + E5) * r + E4) * r + E3) * r + E2;
  let scale = reinterpret<f32>((<i32>kf + 127) << 23);
  let m = scale * (r * r * p + r) + (scale - <f32>1);
  return copysign(m / (m + <f32>2), x);
}

/** Scalar twin of reluV. */
// @ts-ignore: decorator
@inline export function reluS(x: f32): f32 {
  return select<f32>(0, x, x < 0);
}

/** Applies `act` to four lanes. */
// @ts-ignore: decorator
@inline export function activateV(x: v128, act: i32): v128 {
  if (act == Activation.Tanh) return tanhV(x);
  if (act == Activation.Relu) return reluV(x);
  return x;
}

/** Applies `act` to one value. */
// @ts-ignore: decorator
@inline export function activateS(x: f32, act: i32): f32 {
  if (act == Activation.Tanh) return tanhS(x);
  if (act == Activation.Relu) return reluS(x);
  return x;
}

/**
 * y[i] = act(x[i]) for i < n. `y` and `x`: f32 arrays (any alignment, may be
 * the same), owned by the caller. Used by tests and the host's RNNCell-free
 * paths; the recurrent step applies activations fused.
 */
export function activate(y: usize, x: usize, n: i32, act: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      v128.store(y + (<usize>i << 2), activateV(v128.load(x + (<usize>i << 2)), act));
    }
  }
  for (; i < n; i++) {
    store<f32>(y + (<usize>i << 2), activateS(load<f32>(x + (<usize>i << 2)), act));
  }
}
