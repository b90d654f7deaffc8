// Activations applied in the fused epilogues: tanh, sigmoid and relu, each as
// a v128 kernel and its scalar twin. tanh and sigmoid share one exp core.
//
// exp core: Cody–Waite reduction w = k·ln2 + r, |r| ≤ ln2/2, and
// e^r − 1 = r + r²·P(r), P the degree-5 Taylor polynomial of
// (e^r − 1 − r)/r²; e^w = 2^k·e^r with 2^k built in the exponent bits.
//
// tanh z = m / (m + 2) with m = e^{2z} − 1 = expm1(2z), for z = |x|, then the
// sign of x is copied onto the result (tanh is odd; −0 stays −0). expm1 keeps
// its relative accuracy near 0, so one formula serves the whole range with no
// branch or select: expm1(2z) = 2^k·(e^r − 1) + (2^k − 1). Tiny and subnormal
// z give m = 2z and tanh = z exactly. z is clamped to 9.5 first (tanh rounds
// to ±1 in f32 from 9.01 on), so ±Inf gives ±1 exactly and e^{2z} never
// overflows; NaN passes every step as NaN.
// Error bound (required ≤ 4 ULP of Math.tanh rounded to f32, checked by
// tests/kernel/tanh.spec.ts on a dense sweep of all finite floats): measured
// 2 ULP at most — every float with 1e-5 ≤ |x| ≤ 9.2 (--exhaustive-tanh),
// worst at x = 1.1615597e-4 and 0.17328815 — in all three builds, fused or not.
//
// sigmoid x = 1 / (1 + e) for x ≥ 0 and e / (1 + e) for x < 0, with
// e = e^{−|x|} ∈ (0, 1]: e never overflows, and for large negative x the
// result is e itself, rounded once, down to the subnormals (σ(x) > 0 in f32
// down to x ≈ −103.97). 2^k is built as 2^{k1}·2^{k − k1}, k1 = ⌊k/2⌋, so
// that both factors stay normal for k down to −152. −|x| is clamped at −105,
// where e rounds to 0: −Inf gives 0 and +Inf gives 1 exactly; NaN stays NaN.
// Error bound (required ≤ 4 ULP of the exact sigmoid, computed in f64 and
// rounded to f32, subnormal results in subnormal ULPs; checked by
// tests/kernel/sigmoid.spec.ts on a dense sweep of all finite floats):
// measured 2 ULP at most — every float with 2^−26 ≤ |x|, −103.97 ≤ x ≤ 17.5
// (--exhaustive-sigmoid), worst at x = −1.0987998 (−1.0988041 on the v128
// path of the fused relaxed build); 1 ULP for x ≥ 0 and for subnormal
// results — in all three builds, fused or not.

import { madd } from "./simd";
import { Activation } from "./abi";

// @ts-ignore: decorator
@inline const SATURATE: f32 = 9.5;
// @ts-ignore: decorator
@inline const SIGMOID_FLOOR: f32 = -105;
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

/**
 * The v128 kernels' constants, one f32 each, read with v128.load32_splat: one
 * load µop under V8, where a v128 constant in a register costs three ALU µops
 * (movq, vmovq, vpunpcklqdq) at every use.
 */
const CONSTANTS: usize = memory.data<f32>([
  -0.0, SATURATE, SIGMOID_FLOOR, LOG2E, ROUND_SHIFT, -LN2_HI, -LN2_LO, E7, E6, E5, E4, E3, E2, 1, 2,
]);

/** Index of each constant in CONSTANTS. */
const enum Slot {
  SignMask, Saturate, SigmoidFloor, Log2e, RoundShift, MinusLn2Hi, MinusLn2Lo, E7, E6, E5, E4, E3, E2, One, Two,
}

/** Splat of CONSTANTS[slot]. */
// @ts-ignore: decorator
@inline function constant(slot: Slot): v128 {
  return v128.load32_splat(CONSTANTS + (<usize>slot << 2));
}

/**
 * w·log2(e) + ROUND_SHIFT, rounded: the integer k nearest to w·log2(e), as
 * in Cephes/XNNPACK expf. Its bits minus ROUND_SHIFT's are k; shifted left by
 * 23 they leave k + 127 in the exponent, i.e. 2^k for k ≥ −126.
 */
// @ts-ignore: decorator
@inline function roundLog2V(w: v128): v128 {
  return madd(w, constant(Slot.Log2e), constant(Slot.RoundShift));
}

/** e^r − 1 for r = w − kf·ln2 (|r| ≤ ln2/2). */
// @ts-ignore: decorator
@inline function expm1ReducedV(w: v128, kf: v128): v128 {
  let r = madd(kf, constant(Slot.MinusLn2Hi), w);
  r = madd(kf, constant(Slot.MinusLn2Lo), r);
  let p = madd(constant(Slot.E7), r, constant(Slot.E6));
  p = madd(p, r, constant(Slot.E5));
  p = madd(p, r, constant(Slot.E4));
  p = madd(p, r, constant(Slot.E3));
  p = madd(p, r, constant(Slot.E2));
  return madd(f32x4.mul(r, r), p, r);
}

/** tanh of four lanes; NaN lanes stay NaN. */
// @ts-ignore: decorator
@inline export function tanhV(x: v128): v128 {
  let signMask = constant(Slot.SignMask);
  let sign = v128.and(x, signMask);
  // pmin with the value first keeps NaN (one x86 instruction, unlike min).
  let z = f32x4.pmin(v128.andnot(x, signMask), constant(Slot.Saturate));
  let w = f32x4.add(z, z);
  let shifted = roundLog2V(w);
  let kf = f32x4.sub(shifted, constant(Slot.RoundShift));
  let scale = i32x4.shl(shifted, 23);
  let m = madd(scale, expm1ReducedV(w, kf), f32x4.sub(scale, constant(Slot.One)));
  return v128.or(f32x4.div(m, f32x4.add(m, constant(Slot.Two))), sign);
}

/** sigmoid of four lanes, 1 / (1 + e^{−x}); NaN lanes stay NaN. */
// @ts-ignore: decorator
@inline export function sigmoidV(x: v128): v128 {
  let one = constant(Slot.One);
  // z = −|x|, clamped below; pmax with the value first keeps NaN.
  let z = f32x4.pmax(v128.or(x, constant(Slot.SignMask)), constant(Slot.SigmoidFloor));
  let shifted = roundLog2V(z);
  let kf = f32x4.sub(shifted, constant(Slot.RoundShift));
  let k = i32x4.sub(shifted, constant(Slot.RoundShift));
  let k1 = i32x4.shr_s(k, 1);
  // 2^j as (j << 23) + bits(1.0).
  let s1 = i32x4.add(i32x4.shl(k1, 23), one);
  let s2 = i32x4.add(i32x4.shl(i32x4.sub(k, k1), 23), one);
  let e = f32x4.mul(madd(s1, expm1ReducedV(z, kf), s1), s2);
  let numerator = v128.bitselect(e, one, i32x4.shr_s(x, 31));
  return f32x4.div(numerator, f32x4.add(e, one));
}

/** relu of four lanes: relu(-0) = -0 and NaN stays NaN, as in PyTorch. */
// @ts-ignore: decorator
@inline export function reluV(x: v128): v128 {
  return f32x4.pmax(x, f32x4.splat(0));
}

/** Scalar twin of expm1ReducedV. */
// @ts-ignore: decorator
@inline function expm1ReducedS(w: f32, kf: f32): f32 {
  let r = kf * -LN2_HI + w;
  r = kf * -LN2_LO + r;
  let p = ((((E7 * r + E6) * r + E5) * r + E4) * r + E3) * r + E2;
  return r * r * p + r;
}

/** 2^k for −126 ≤ k ≤ 127. */
// @ts-ignore: decorator
@inline function pow2S(k: i32): f32 {
  return reinterpret<f32>((k + 127) << 23);
}

/** Scalar twin of tanhV. */
// @ts-ignore: decorator
@inline export function tanhS(x: f32): f32 {
  let z = min(abs(x), SATURATE);
  let w = z + z;
  let kf = nearest(w * LOG2E);
  let scale = pow2S(<i32>kf);
  let m = scale * expm1ReducedS(w, kf) + (scale - <f32>1);
  return copysign(m / (m + <f32>2), x);
}

/** Scalar twin of sigmoidV. */
// @ts-ignore: decorator
@inline export function sigmoidS(x: f32): f32 {
  let z = max(-abs(x), SIGMOID_FLOOR);
  let kf = nearest(z * LOG2E);
  let k = <i32>kf;
  let k1 = k >> 1;
  let s1 = pow2S(k1);
  let e = (s1 * expm1ReducedS(z, kf) + s1) * pow2S(k - k1);
  return select<f32>(e, 1, x < 0) / (e + <f32>1);
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
