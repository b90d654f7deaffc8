// Helpers shared by the kernel specs (imported, not a spec itself).

import { alloc } from "../../assembly/memory";
import { Activation, PANEL_WIDTH } from "../../assembly/abi";
import { reluS, reluV, sigmoidS, sigmoidV, tanhS, tanhV } from "../../assembly/activation";

/** Bits no kernel stores: a NaN with a recognisable payload, for guard cells. */
export const GUARD: u32 = 0x7FA5A5A5;

/** Unit roundoff of f32. */
export const U32: f64 = 1.0 / 16777216.0; // 2^-24

let state: u32 = 0x2545F491;

/** Restarts the random sequence, so every case is reproducible on its own. */
export function seed(s: u32): void {
  state = s == 0 ? 0x2545F491 : s;
}

/** xorshift32: a deterministic uniform f32 in [-1, 1). */
export function rand(): f32 {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return <f32>(<f64>state / 2147483648.0 - 1.0);
}

/** Allocates `n` floats from the kernel allocator, `shift` floats past a
 *  16-byte boundary (for unaligned operands); free `result − 4·shift`. Never
 *  asks for 0 bytes: alloc(0) has its own test in memory.spec.ts, and these
 *  specs are about the arithmetic. */
export function allocFloats(n: i32, shift: i32 = 0): usize {
  let p = alloc(<usize>max(n + shift, 1) << 2);
  assert(p != 0, "spec: out of memory");
  return p + (<usize>shift << 2);
}

export function fillRandom(p: usize, n: i32, scale: f32 = 1): void {
  for (let i = 0; i < n; i++) store<f32>(p + (<usize>i << 2), rand() * scale);
}

export function fillBits(p: usize, n: i32, bits: u32): void {
  for (let i = 0; i < n; i++) store<u32>(p + (<usize>i << 2), bits);
}

/** FNV-1a over `n` floats' bits: detects writes into buffers a kernel must only read. */
export function hashFloats(p: usize, n: i32): u32 {
  let h: u32 = 0x811C9DC5;
  for (let i = 0; i < n; i++) {
    h = (h ^ load<u32>(p + (<usize>i << 2))) * 0x01000193;
  }
  return h;
}

/** f64 reference of the activation codes shared with the kernel. */
export function actRef(u: f64, act: i32): f64 {
  if (act == 1) return Math.tanh(u);
  if (act == 2) return u < 0 ? 0 : u;
  return u;
}

/**
 * Allowed |y − ref| for y = act(init + Σ_k a_k·b_k) computed in f32, where
 * `mag` = |init| + Σ|a_k·b_k| and `ref` is the f64 result: the worst-case f32
 * dot-product bound γ_{n+1}·mag with a factor of 2 to spare (fused or not),
 * plus 8 ULP of the result for the kernel's tanh (measured ≤ 7 ULP; tanh is
 * 1-Lipschitz, so the pre-activation error passes through at most unchanged).
 */
export function tolerance(depth: i32, mag: f64, ref: f64, act: i32): f64 {
  let t = <f64>(2 * (depth + 1)) * U32 * mag;
  if (act == 1) t += 16.0 * U32 * Math.abs(ref) + 1e-37;
  return t;
}

/** Floats taken by pack_panels' panels of a `rows` × `cols` weight. */
export function panelFloats(rows: i32, cols: i32): i32 {
  return (rows + PANEL_WIDTH - 1) / PANEL_WIDTH * PANEL_WIDTH * cols;
}

/** f64 sigmoid, the reference of the kernel's. */
export function sigmoidRef(u: f64): f64 {
  return 1.0 / (1.0 + Math.exp(-u));
}

/** Code of sigmoid in `apply`, past the Activation codes (the GEMM epilogue has no sigmoid). */
export const SIGMOID: i32 = 3;

/**
 * y[i] = fn(x[i]) for i < n, fn an Activation code or SIGMOID: v128 groups of
 * four (in the SIMD builds), the scalar twin for the tail; any 4-byte
 * alignment, y may be x.
 */
export function apply(y: usize, x: usize, n: i32, fn: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      let v = v128.load(x + o);
      v128.store(y + o, fn == SIGMOID ? sigmoidV(v) : fn == Activation.Tanh ? tanhV(v) : fn == Activation.Relu ? reluV(v) : v);
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let v = load<f32>(x + o);
    store<f32>(y + o, fn == SIGMOID ? sigmoidS(v) : fn == Activation.Tanh ? tanhS(v) : fn == Activation.Relu ? reluS(v) : v);
  }
}

/**
 * A spec's count of cases and failures, and its worst error as a fraction of
 * the tolerance. Only the first few failures are logged, and their messages
 * are built only then: the test runtime never frees.
 */
export class Tally {
  cases: i32 = 0;
  failures: i32 = 0;
  worstRatio: f64 = 0;

  reset(): void {
    this.cases = 0;
    this.failures = 0;
    this.worstRatio = 0;
  }

  /** Counts a failure; true if it should be logged. */
  failed(): bool {
    return this.failures++ < 8;
  }

  /** Whether |got − ref| <= tol (false for NaN); keeps the worst ratio of those within. */
  within(got: f64, ref: f64, tol: f64): bool {
    let err = Math.abs(got - ref);
    if (!(err <= tol)) return false;
    if (tol > 0 && err / tol > this.worstRatio) this.worstRatio = err / tol;
    return true;
  }

  summary(build: string, what: string): string {
    return build + ": " + this.cases.toString() + " " + what + " cases, worst error " +
      (this.worstRatio * 100).toString() + "% of the tolerance";
  }
}
