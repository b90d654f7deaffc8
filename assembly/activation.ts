// Activations applied in the recurrent step: tanh and relu, each as a v128
// kernel and its scalar twin.
//
// tanh(x) = A + B / C with one division, by the size of z = |x|:
//   z ≤ 1.25:  A = z, B = z³·P(z²), C = Q(z²) — the small-argument rational
//              z + z³·P/Q of Eigen's accurate ptanh (P = p1·t + p0,
//              Q = q2·t² + q1·t + 1), exact for 0 and subnormals;
//   z > 1.25:  A = 1, B = −2, C = e^{2z} + 1 — tanh z = 1 − 2/(e^{2z} + 1);
//              e^{2z} by Cody–Waite reduction
//              2z = k·ln2 + r, |r| ≤ ln2/2, a degree-7 Taylor polynomial for
//              e^r and 2^k built in the exponent bits.
// then the sign of x is copied onto the result (tanh is odd; −0 stays −0).
// z is clamped to 9.5 first (tanh rounds to ±1 in f32 from 9.01 on), so ±Inf
// gives ±1 exactly and e^{2z} never overflows; NaN passes every step as NaN.
// Error bound (required ≤ 4 ULP of Math.tanh rounded to f32, checked by
// tests/kernel/tanh.spec.ts on a dense sweep of all finite floats): measured
// 2 ULP at most — every float with 1e-3 ≤ |x| ≤ 9.2 (--exhaustive-tanh), worst
// at x = 1.0285624 — in all three builds, fused or not.

import { madd } from "./simd";

// @ts-ignore: decorator
@inline const SMALL: f32 = 1.25;
// @ts-ignore: decorator
@inline const SATURATE: f32 = 9.5;
// @ts-ignore: decorator
@inline const P1: f32 = -1.46725140511989593505859375e-02;
// @ts-ignore: decorator
@inline const P0: f32 = -3.333333432674407958984375e-01;
// @ts-ignore: decorator
@inline const Q2: f32 = 1.570280082523822784423828125e-02;
// @ts-ignore: decorator
@inline const Q1: f32 = 4.4401752948760986328125e-01;
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// ln 2 split so that k·LN2_HI is exact for |k| < 2^9.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693145751953125;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = 1.428606765330187045e-06;
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

/** tanh of four lanes; NaN lanes stay NaN. */
// @ts-ignore: decorator
@inline export function tanhV(x: v128): v128 {
  let sign = v128.and(x, i32x4.splat(0x80000000));
  // pmin with the value first keeps NaN (one x86 instruction, unlike min).
  let z = f32x4.pmin(v128.andnot(x, i32x4.splat(0x80000000)), f32x4.splat(SATURATE));
  let small = f32x4.le(z, f32x4.splat(SMALL));
  // Small branch: x³·P(x²) and Q(x²).
  let t = f32x4.mul(z, z);
  let p = madd(t, f32x4.splat(P1), f32x4.splat(P0));
  let q = madd(madd(t, f32x4.splat(Q2), f32x4.splat(Q1)), t, f32x4.splat(1));
  let bSmall = f32x4.mul(f32x4.mul(z, t), p);
  // Large branch: e^{2z} + 1.
  let w = f32x4.add(z, z);
  let kf = f32x4.nearest(f32x4.mul(w, f32x4.splat(LOG2E)));
  let r = madd(kf, f32x4.splat(-LN2_HI), w);
  r = madd(kf, f32x4.splat(-LN2_LO), r);
  let e = madd(f32x4.splat(E7), r, f32x4.splat(E6));
  e = madd(e, r, f32x4.splat(E5));
  e = madd(e, r, f32x4.splat(E4));
  e = madd(e, r, f32x4.splat(E3));
  e = madd(e, r, f32x4.splat(E2));
  e = madd(e, r, f32x4.splat(1));
  e = madd(e, r, f32x4.splat(1));
  let scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(kf), i32x4.splat(127)), 23);
  let cLarge = f32x4.add(f32x4.mul(e, scale), f32x4.splat(1));
  // One division for both branches, then the sign of x.
  let a = v128.bitselect(z, f32x4.splat(1), small);
  let b = v128.bitselect(bSmall, f32x4.splat(-2), small);
  let c = v128.bitselect(q, cLarge, small);
  return v128.or(f32x4.add(a, f32x4.div(b, c)), sign);
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
  if (z <= SMALL) {
    let t = z * z;
    let p = t * P1 + P0;
    let q = (t * Q2 + Q1) * t + <f32>1;
    return copysign(z + z * t * p / q, x);
  }
  let w = z + z;
  let kf = nearest(w * LOG2E);
  let r = kf * -LN2_HI + w;
  r = kf * -LN2_LO + r;
  let e = ((((((E7 * r + E6) * r + E5) * r + E4) * r + E3) * r + E2) * r + <f32>1) * r + <f32>1;
  let scale = reinterpret<f32>((<i32>kf + 127) << 23);
  let y = <f32>1 + <f32>-2 / (e * scale + <f32>1);
  return copysign(y, x);
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
