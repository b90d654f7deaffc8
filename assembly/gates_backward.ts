// The gate-gradient epilogues of backward through time, one row at a time:
// from dL/dh of a row (and dL/dc for LSTM) and what the forward kept (its
// outputs and the tape of activated gates), the gradients of the gates'
// pre-activations and of the previous state's direct terms. f32x4 over four
// units in the SIMD builds, the same arithmetic lane by lane in the scalar one.
// Derivatives from the kept activations: σ' = s(1 − s), tanh' = 1 − t².
//
// Gate gradients are stored gate-major with a stride of `hidden` units (no
// padding), the rows of dG as the backward GEMMs take them against PyTorch's
// (gates·hidden) × k weights.

import { Activation } from "./abi";
import { tanhS, tanhV } from "./activation";
import { loadN, storeN } from "./gemm";

/** s(1 − s) of an activated sigmoid s. */
// @ts-ignore: decorator
@inline function sigmoidSlopeV(s: v128): v128 {
  return f32x4.mul(s, f32x4.sub(f32x4.splat(1), s));
}

/** 1 − t² of an activated tanh t. */
// @ts-ignore: decorator
@inline function tanhSlopeV(t: v128): v128 {
  return f32x4.sub(f32x4.splat(1), f32x4.mul(t, t));
}

/** Stores v to the first k lanes at p, or adds it there when `accumulate`. */
// @ts-ignore: decorator
@inline function putN(p: usize, v: v128, k: i32, accumulate: bool): void {
  storeN(p, accumulate ? f32x4.add(loadN(p, k), v) : v, k);
}

/** Scalar twin of putN. */
// @ts-ignore: decorator
@inline function put1(p: usize, v: f32, accumulate: bool): void {
  store<f32>(p, accumulate ? load<f32>(p) + v : v);
}

/**
 * Elman: dG = dh ⊙ act'(y), act' = 1 − y² (tanh) or [y > 0] (relu), for
 * `hidden` units of one row.
 */
export function elmanRowBackward(dG: usize, dh: usize, y: usize, act: i32, hidden: i32): void {
  let u = 0;
  if (ASC_FEATURE_SIMD) {
    for (; u < hidden; u += 4) {
      let o = <usize>u << 2;
      let k = min(4, hidden - u);
      let yv = loadN(y + o, k);
      let slope = act == Activation.Tanh
        ? tanhSlopeV(yv)
        : v128.and(f32x4.gt(yv, f32x4.splat(0)), f32x4.splat(1));
      storeN(dG + o, f32x4.mul(loadN(dh + o, k), slope), k);
    }
  } else {
    for (; u < hidden; u++) {
      let o = <usize>u << 2;
      let yu = load<f32>(y + o);
      let slope: f32 = act == Activation.Tanh ? 1 - yu * yu : yu > 0 ? 1 : 0;
      store<f32>(dG + o, load<f32>(dh + o) * slope);
    }
  }
}

/**
 * LSTM, one row: dh (dL/dh, or dL/dm = dh·W_hr with a projection), dc (dL/dc
 * of the row so far), c and cPrev (the row's cell state and its previous
 * one), t (the row's tape [i | f | g | o], gate stride tGateB bytes).
 * Writes dG ([di | df | dg | do] pre-activation gradients), dcPrev (+= when
 * `accumulate`, else =) and, when m ≠ 0, m = o ⊙ tanh(c) (for dW_hr).
 *   dc' = dc + dh ⊙ o ⊙ (1 − tanh²c); do = dh ⊙ tanh c ⊙ σ'; di = dc' ⊙ g ⊙ σ';
 *   df = dc' ⊙ cPrev ⊙ σ'; dg = dc' ⊙ i ⊙ (1 − g²); dcPrev = dc' ⊙ f.
 */
export function lstmRowBackward(
  dG: usize, dh: usize, dc: usize, c: usize, cPrev: usize, dcPrev: usize, accumulate: bool,
  t: usize, tGateB: usize, m: usize, hidden: i32,
): void {
  let gateB = <usize>hidden << 2;
  if (ASC_FEATURE_SIMD) {
    for (let u = 0; u < hidden; u += 4) {
      let o = <usize>u << 2;
      let k = min(4, hidden - u);
      let i = v128.load(t + o);
      let f = v128.load(t + o + tGateB);
      let g = v128.load(t + o + 2 * tGateB);
      let og = v128.load(t + o + 3 * tGateB);
      let tc = tanhV(loadN(c + o, k));
      let dhv = loadN(dh + o, k);
      let dcv = f32x4.add(loadN(dc + o, k), f32x4.mul(f32x4.mul(dhv, og), tanhSlopeV(tc)));
      storeN(dG + o, f32x4.mul(f32x4.mul(dcv, g), sigmoidSlopeV(i)), k);
      storeN(dG + o + gateB, f32x4.mul(f32x4.mul(dcv, loadN(cPrev + o, k)), sigmoidSlopeV(f)), k);
      storeN(dG + o + 2 * gateB, f32x4.mul(f32x4.mul(dcv, i), tanhSlopeV(g)), k);
      storeN(dG + o + 3 * gateB, f32x4.mul(f32x4.mul(dhv, tc), sigmoidSlopeV(og)), k);
      putN(dcPrev + o, f32x4.mul(dcv, f), k, accumulate);
      if (m != 0) storeN(m + o, f32x4.mul(og, tc), k);
    }
  } else {
    for (let u = 0; u < hidden; u++) {
      let o = <usize>u << 2;
      let i = load<f32>(t + o);
      let f = load<f32>(t + o + tGateB);
      let g = load<f32>(t + o + 2 * tGateB);
      let og = load<f32>(t + o + 3 * tGateB);
      let tc = tanhS(load<f32>(c + o));
      let dhu = load<f32>(dh + o);
      let dcu = load<f32>(dc + o) + dhu * og * (1 - tc * tc);
      store<f32>(dG + o, dcu * g * (i * (1 - i)));
      store<f32>(dG + o + gateB, dcu * load<f32>(cPrev + o) * (f * (1 - f)));
      store<f32>(dG + o + 2 * gateB, dcu * i * (1 - g * g));
      store<f32>(dG + o + 3 * gateB, dhu * tc * (og * (1 - og)));
      put1(dcPrev + o, dcu * f, accumulate);
      if (m != 0) store<f32>(m + o, og * tc);
    }
  }
}

/**
 * GRU, one row: dh (dL/dh'), hPrev (the previous state), t (the row's tape
 * [r | z | n | hn], gate stride tGateB bytes). Writes dGi (input side
 * [dr | dz | dn]), dGh (hidden side [dr | dz | dn ⊙ r]) and the direct term
 * dh ⊙ z of dL/dhPrev to dhPrev (+= when `accumulate`, else =).
 *   dn = dh ⊙ (1 − z) ⊙ (1 − n²); dz = dh ⊙ (hPrev − n) ⊙ σ'; dr = dn ⊙ hn ⊙ σ'.
 */
export function gruRowBackward(
  dGi: usize, dGh: usize, dh: usize, hPrev: usize, dhPrev: usize, accumulate: bool,
  t: usize, tGateB: usize, hidden: i32,
): void {
  let gateB = <usize>hidden << 2;
  if (ASC_FEATURE_SIMD) {
    let one = f32x4.splat(1);
    for (let u = 0; u < hidden; u += 4) {
      let o = <usize>u << 2;
      let k = min(4, hidden - u);
      let r = v128.load(t + o);
      let z = v128.load(t + o + tGateB);
      let n = v128.load(t + o + 2 * tGateB);
      let hn = v128.load(t + o + 3 * tGateB);
      let dhv = loadN(dh + o, k);
      let dn = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, z)), tanhSlopeV(n));
      let dz = f32x4.mul(f32x4.mul(dhv, f32x4.sub(loadN(hPrev + o, k), n)), sigmoidSlopeV(z));
      let dr = f32x4.mul(f32x4.mul(dn, hn), sigmoidSlopeV(r));
      storeN(dGi + o, dr, k);
      storeN(dGi + o + gateB, dz, k);
      storeN(dGi + o + 2 * gateB, dn, k);
      storeN(dGh + o, dr, k);
      storeN(dGh + o + gateB, dz, k);
      storeN(dGh + o + 2 * gateB, f32x4.mul(dn, r), k);
      putN(dhPrev + o, f32x4.mul(dhv, z), k, accumulate);
    }
  } else {
    for (let u = 0; u < hidden; u++) {
      let o = <usize>u << 2;
      let r = load<f32>(t + o);
      let z = load<f32>(t + o + tGateB);
      let n = load<f32>(t + o + 2 * tGateB);
      let hn = load<f32>(t + o + 3 * tGateB);
      let dhu = load<f32>(dh + o);
      let dn = dhu * (1 - z) * (1 - n * n);
      let dz = dhu * (load<f32>(hPrev + o) - n) * (z * (1 - z));
      let dr = dn * hn * (r * (1 - r));
      store<f32>(dGi + o, dr);
      store<f32>(dGi + o + gateB, dz);
      store<f32>(dGi + o + 2 * gateB, dn);
      store<f32>(dGh + o, dr);
      store<f32>(dGh + o + gateB, dz);
      store<f32>(dGh + o + 2 * gateB, dn * r);
      put1(dhPrev + o, dhu * z, accumulate);
    }
  }
}
