// gemm_tn against a plain f64 reference: c[i][j] += Σ_r a[r][i]·b[r][j].
// Sizes sweep the tails of the 4x8 tiles (m not a multiple of 4, n not a
// multiple of 8), row counts across the depth chunks (256 rows) and column
// counts across the packed blocks of b (128 columns), strides longer than the
// rows and unaligned operands. c starts from random values (gemm_tn adds);
// every float of c's buffer outside its m × n cells (before, after and in the
// stride gaps) keeps its guard bits, and a and b stay unchanged.

import { gemm_tn } from "../../assembly/gemm_tn";
import { free } from "../../assembly/memory";
import { GUARD, Tally, U32, seed, fillRandom, fillBits, hashFloats, allocFloats, tolerance } from "./util";

const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";
const PAD = 8;

const tally = new Tally();

function f(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

function checkCase(rows: i32, m: i32, n: i32, variant: i32): void {
  let lda = m + variant % 3;
  let ldb = n + (variant >> 1) % 2;
  let ldc = n + variant % 2 * 3;
  let a = allocFloats(max(rows * lda, 1), variant % 4);
  let b = allocFloats(max(rows * ldb, 1), (variant + 1) % 4);
  fillRandom(a, rows * lda);
  fillRandom(b, rows * ldb);
  let cLen = m * ldc + 2 * PAD;
  let base = allocFloats(cLen, (variant + 2) % 4);
  fillBits(base, cLen, GUARD);
  let c = base + (PAD << 2);
  for (let i = 0; i < m; i++) fillRandom(c + (<usize>(i * ldc) << 2), n);
  let c0 = allocFloats(m * ldc);
  memory.copy(c0, c, <usize>(m * ldc) << 2);
  let inHash = hashFloats(a, rows * lda) ^ hashFloats(b, rows * ldb);
  gemm_tn(c, ldc, a, lda, b, ldb, rows, m, n);
  tally.cases++;
  let bad = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < ldc; j++) {
      let at = i * ldc + j;
      if (j >= n) {
        if (load<u32>(c + (<usize>at << 2)) != GUARD) bad++;
        continue;
      }
      let ref = f(c0, at);
      let mag = Math.abs(ref);
      for (let r = 0; r < rows; r++) {
        let q = f(a, r * lda + i) * f(b, r * ldb + j);
        ref += q;
        mag += Math.abs(q);
      }
      let got = f(c, at);
      if (!tally.within(got, ref, tolerance(rows, mag, ref, 0) + 1e-37)) {
        bad++;
        if (tally.failed()) {
          log<string>(BUILD + ": gemm_tn rows " + rows.toString() + " m " + m.toString() + " n " + n.toString() +
            " variant " + variant.toString() + ": c[" + i.toString() + "][" + j.toString() + "] = " +
            got.toString() + ", reference " + ref.toString());
        }
      }
    }
  }
  for (let i = 0; i < PAD; i++) {
    if (load<u32>(base + (<usize>i << 2)) != GUARD) bad++;
    if (load<u32>(c + (<usize>(m * ldc + i) << 2)) != GUARD) bad++;
  }
  if ((hashFloats(a, rows * lda) ^ hashFloats(b, rows * ldb)) != inHash) bad++;
  if (bad != 0 && tally.failed()) {
    log<string>(BUILD + ": gemm_tn rows " + rows.toString() + " m " + m.toString() + " n " + n.toString() + ": " +
      bad.toString() + " wrong floats (guards, inputs or values)");
  }
  free(a - (<usize>(variant % 4) << 2));
  free(b - (<usize>((variant + 1) % 4) << 2));
  free(base - (<usize>((variant + 2) % 4) << 2));
  free(c0);
}

describe("gemm_tn (" + BUILD + ")", () => {
  it("adds aᵀ·b to c for every tail of m, n and rows, with strides and unaligned operands", () => {
    tally.reset();
    seed(3);
    let ms: i32[] = [1, 2, 3, 4, 5, 7, 8, 9, 13, 17];
    let ns: i32[] = [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 33];
    let rowsList: i32[] = [0, 1, 2, 3, 5, 9];
    let variant = 0;
    for (let a = 0; a < ms.length; a++) {
      for (let b = 0; b < ns.length; b++) {
        for (let r = 0; r < rowsList.length; r++) checkCase(rowsList[r], ms[a], ns[b], variant++ % 8);
      }
    }
    log<string>(tally.summary(BUILD, "gemm_tn"));
    expect<i32>(tally.failures).toBe(0);
  });

  it("does the same across depth chunks (more than 256 rows) and packed blocks of b (more than 128 columns)", () => {
    tally.reset();
    seed(4);
    let cases_: i32[][] = [[256, 5, 9], [257, 6, 17], [600, 3, 20], [40, 9, 129], [300, 5, 140], [513, 1, 257]];
    for (let i = 0; i < cases_.length; i++) checkCase(cases_[i][0], cases_[i][1], cases_[i][2], i);
    log<string>(tally.summary(BUILD, "gemm_tn"));
    expect<i32>(tally.failures).toBe(0);
  });
});

describe("gemm_tn rounding (" + BUILD + ")", () => {
  it("sums many rows in chunks: error within (128 + rows/128 + 2) roundings, where a running sum takes ~rows", () => {
    // Σ of 65536 × 0.1f: a running f32 sum errs by 6e-4 relative, 16× this bound.
    let rows = 65536;
    let m = 5;
    let n = 9;
    let a = allocFloats(rows * m);
    let b = allocFloats(rows * n);
    for (let i = 0; i < rows * m; i++) store<f32>(a + (<usize>i << 2), 1);
    for (let i = 0; i < rows * n; i++) store<f32>(b + (<usize>i << 2), 0.1);
    let c = allocFloats(m * n);
    memory.fill(c, 0, <usize>(m * n) << 2);
    gemm_tn(c, n, a, m, b, n, rows, m, n);
    let exact = <f64>rows * <f64><f32>0.1;
    let tol = <f64>(128 + rows / 128 + 2) * U32 * exact;
    let worst: f64 = 0;
    for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(<f64>load<f32>(c + (<usize>i << 2)) - exact));
    log<string>(BUILD + ": worst error " + (worst / exact).toString() + " relative, bound " + (tol / exact).toString());
    free(a);
    free(b);
    free(c);
    expect<bool>(worst <= tol).toBe(true);
  });
});
