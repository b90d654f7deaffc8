// Activations applied in the recurrent step: tanh and relu, each as a v128
// kernel and its scalar twin.
//
// tanh(x) ≈ x·P(x²)/Q(x²), a [9/8] rational with P(t) = 1 + a3·t + a5·t² +
// a7·t³ + a9·t⁴ and Q(t) = 1 + b2·t + b4·t² + b6·t³ + b8·t⁴; coefficients and
// the input clamp as in XNNPACK's f32-vtanh rational-9-8. The input is clamped
// to ±7.8522667885 (where the rational first reaches 1.0f without FMA) and the
// result to [-1, 1], so the fused (relaxed) build cannot overshoot either.
// Error bound, measured by tests/kernel/tanh.spec.ts over a dense sweep of all
// finite floats: at most 4 ULP of Math.tanh rounded to f32, in every build.
// Special values: tanh(±0) = ±0, tanh(±Inf) = ±1, tanh(NaN) = NaN.

import { madd } from "./simd";

// @ts-ignore: decorator
@inline const TANH_CLAMP: f32 = 7.8522667885;
// @ts-ignore: decorator
@inline const A3: f32 = 1.3412411511e-01;
// @ts-ignore: decorator
@inline const A5: f32 = 3.5330520477e-03;
// @ts-ignore: decorator
@inline const A7: f32 = 2.1235626264e-05;
// @ts-ignore: decorator
@inline const A9: f32 = 1.4248920266e-08;
// @ts-ignore: decorator
@inline const B2: f32 = 4.6745735407e-01;
// @ts-ignore: decorator
@inline const B4: f32 = 2.6018999517e-02;
// @ts-ignore: decorator
@inline const B6: f32 = 3.3472978976e-04;
// @ts-ignore: decorator
@inline const B8: f32 = 8.1365948290e-07;

/** Activation codes shared with the host. */
export const enum Activation { Identity = 0, Tanh = 1, Relu = 2 }

/** tanh of four lanes; NaN lanes stay NaN. */
// @ts-ignore: decorator
@inline export function tanhV(x: v128): v128 {
  // pmin/pmax with x first pass NaN through (each is one x86 instruction).
  let xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(TANH_CLAMP)), f32x4.splat(-TANH_CLAMP));
  let t = f32x4.mul(xc, xc);
  let p = madd(t, f32x4.splat(A9), f32x4.splat(A7));
  p = madd(t, p, f32x4.splat(A5));
  p = madd(t, p, f32x4.splat(A3));
  p = madd(t, p, f32x4.splat(1.0));
  let q = madd(t, f32x4.splat(B8), f32x4.splat(B6));
  q = madd(t, q, f32x4.splat(B4));
  q = madd(t, q, f32x4.splat(B2));
  q = madd(t, q, f32x4.splat(1.0));
  let y = f32x4.div(f32x4.mul(xc, p), q);
  return f32x4.pmax(f32x4.pmin(y, f32x4.splat(1.0)), f32x4.splat(-1.0));
}

/** relu of four lanes: relu(-0) = -0 and NaN stays NaN, as in PyTorch. */
// @ts-ignore: decorator
@inline export function reluV(x: v128): v128 {
  return f32x4.pmax(x, f32x4.splat(0));
}

/** Scalar twin of tanhV. */
// @ts-ignore: decorator
@inline export function tanhS(x: f32): f32 {
  let xc = max(min(x, TANH_CLAMP), -TANH_CLAMP);
  let t = xc * xc;
  let p = ((((A9 * t + A7) * t + A5) * t + A3) * t) + <f32>1.0;
  let q = (((((B8 * t + B6) * t + B4) * t + B2) * t)) + <f32>1.0;
  return max(min(xc * p / q, <f32>1.0), <f32>-1.0);
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
