// GEMM over packed column panels with a fused epilogue:
//   y[r][c] = act(init[r][c] + Σ_k a[r][k] · B[k][c])
// B comes from pack_panels ([ceil(cols/8)][depth][8]). One routine serves both
// the input projection (init = bias row, act = identity) and the recurrent
// step (init = projected input, act = tanh or relu), so the bias add, the
// activation and the store never take a separate pass over memory.
//
// Tiling after XNNPACK f32-gemm 4x8 loadsplat: 8 accumulators, two B vectors
// and four v128.load32_splat of A per k — 14 live v128 values, within V8/x64's
// 15 allocatable XMM registers. Rows left over (< 4) and batch-1 calls use
// 1x8 / 1x16 row kernels with k unrolled by two for more independent chains.

import { madd } from "./simd";
import { activateS, activateV } from "./activation";
import { aligned16, inMemory, spanBytes } from "./contract";

/**
 * Computes `rows` × `cols` outputs (see the file comment).
 * y: f32 output, row stride `ldy` floats (≥ cols), 4-byte aligned, caller-owned.
 * a: f32 left operand, rows × depth, row stride `lda` floats; may not overlap y.
 * w: packed panels of the right operand (depth × cols), 16-byte aligned.
 * init: f32 rows of at least 8·ceil(cols/8) readable floats, row stride
 *   `ldinit` floats; `ldinit` = 0 broadcasts one row (a bias) to every row.
 * act: 0 identity, 1 tanh, 2 relu.
 */
export function gemm(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize,
  init: usize, ldinit: i32, rows: i32, depth: i32, cols: i32, act: i32,
): void {
  assert(aligned16(w), "gemm: w must be 16-byte aligned");
  assert(rows >= 0 && depth >= 0 && cols > 0, "gemm: rows and depth must be >= 0, cols > 0");
  assert(ldy >= cols && lda >= depth && ldinit >= 0, "gemm: a row stride is shorter than its row");
  assert(act >= 0 && act <= 2, "gemm: unknown activation code");
  let padded = ((cols + 7) >> 3) << 3;
  assert(inMemory(y, spanBytes(rows, cols, ldy)), "gemm: y out of bounds");
  assert(inMemory(a, spanBytes(rows, depth, lda)), "gemm: a out of bounds");
  assert(inMemory(w, <u64>padded * <u64>depth << 2), "gemm: w out of bounds");
  assert(inMemory(init, spanBytes(ldinit == 0 ? 1 : rows, padded, ldinit)), "gemm: init out of bounds");
  if (rows == 0) return;
  if (ASC_FEATURE_SIMD) {
    if (rows < 4) {
      for (let r = 0; r < rows; r++) {
        let row = <usize>r;
        gemvRow(y + row * (<usize>ldy << 2), a + row * (<usize>lda << 2), w,
                init + row * (<usize>ldinit << 2), depth, cols, act);
      }
    } else {
      gemmTiles(y, ldy, a, lda, w, init, ldinit, rows, depth, cols, act);
    }
  } else {
    gemmScalar(y, ldy, a, lda, w, init, ldinit, rows, depth, cols, act);
  }
}

/** Stores the first `n` (1..8) lanes of lo ⧺ hi to y after `act`. */
// @ts-ignore: decorator
@inline function storeRow8(y: usize, lo: v128, hi: v128, n: i32, act: i32): void {
  lo = activateV(lo, act);
  hi = activateV(hi, act);
  if (n == 8) {
    v128.store(y, lo);
    v128.store(y, hi, 16);
    return;
  }
  if (n >= 4) {
    v128.store(y, lo);
    lo = hi;
    y += 16;
    n -= 4;
  }
  if (n >= 1) store<f32>(y, f32x4.extract_lane(lo, 0));
  if (n >= 2) store<f32>(y, f32x4.extract_lane(lo, 1), 4);
  if (n >= 3) store<f32>(y, f32x4.extract_lane(lo, 2), 8);
}

/** Floats of A in one row block of gemmTiles (64 KB). */
// @ts-ignore: decorator
@inline const A_BLOCK_FLOATS: i32 = 16384;

/** rows ≥ 4: 4x8 tiles. */
function gemmTiles(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize,
  init: usize, ldinit: i32, rows: i32, depth: i32, cols: i32, act: i32,
): void {
  let ldyB = <usize>ldy << 2;
  let ldaB = <usize>lda << 2;
  let ldiB = <usize>ldinit << 2;
  let panelB = <usize>depth << 5;
  let kEnd = <usize>depth << 2;
  // Row blocks of at most ~64 KB of A stay in L2 while every panel streams
  // past them (after GotoBLAS's MC blocking); a panel stays in L1 across the
  // 4-row tiles of a block.
  let block = max(4, min(rows, (A_BLOCK_FLOATS / max(depth, 1)) & ~3));
  for (let r0 = 0; r0 < rows; r0 += block) {
    let rEnd = min(rows, r0 + block);
    for (let j = 0; j < cols; j += 8) {
      let n = min(8, cols - j);
      let bp0 = w + (<usize>(j >> 3)) * panelB;
      let colB = <usize>j << 2;
      let r = r0;
      for (; r + 4 <= rEnd; r += 4) {
        let a0 = a + <usize>r * ldaB;
        let a1 = a0 + ldaB;
        let a2 = a1 + ldaB;
        let a3 = a2 + ldaB;
        let i0 = init + <usize>r * ldiB + colB;
        let i1 = i0 + ldiB;
        let i2 = i1 + ldiB;
        let i3 = i2 + ldiB;
        let c00 = v128.load(i0), c01 = v128.load(i0, 16);
        let c10 = v128.load(i1), c11 = v128.load(i1, 16);
        let c20 = v128.load(i2), c21 = v128.load(i2, 16);
        let c30 = v128.load(i3), c31 = v128.load(i3, 16);
        let bp = bp0;
        for (let k: usize = 0; k < kEnd; k += 4) {
          let b0 = v128.load(bp);
          let b1 = v128.load(bp, 16);
          let v = v128.load32_splat(a0 + k);
          c00 = madd(v, b0, c00);
          c01 = madd(v, b1, c01);
          v = v128.load32_splat(a1 + k);
          c10 = madd(v, b0, c10);
          c11 = madd(v, b1, c11);
          v = v128.load32_splat(a2 + k);
          c20 = madd(v, b0, c20);
          c21 = madd(v, b1, c21);
          v = v128.load32_splat(a3 + k);
          c30 = madd(v, b0, c30);
          c31 = madd(v, b1, c31);
          bp += 32;
        }
        let y0 = y + <usize>r * ldyB + colB;
        storeRow8(y0, c00, c01, n, act);
        storeRow8(y0 + ldyB, c10, c11, n, act);
        storeRow8(y0 + 2 * ldyB, c20, c21, n, act);
        storeRow8(y0 + 3 * ldyB, c30, c31, n, act);
      }
      for (; r < rEnd; r++) {
        row1x8(y + <usize>r * ldyB + colB, a + <usize>r * ldaB, bp0,
               init + <usize>r * ldiB + colB, depth, n, act);
      }
    }
  }
}

/** One row against one panel: 8 columns, k unrolled by two (4 accumulators). */
// @ts-ignore: decorator
@inline function row1x8(y: usize, a: usize, bp: usize, init: usize, depth: i32, n: i32, act: i32): void {
  let c0 = v128.load(init), c1 = v128.load(init, 16);
  let e0 = f32x4.splat(0), e1 = f32x4.splat(0);
  let kEnd = <usize>(depth & ~1) << 2;
  for (let k: usize = 0; k < kEnd; k += 8) {
    let v = v128.load32_splat(a + k);
    let u = v128.load32_splat(a + k, 4);
    c0 = madd(v, v128.load(bp), c0);
    c1 = madd(v, v128.load(bp, 16), c1);
    e0 = madd(u, v128.load(bp, 32), e0);
    e1 = madd(u, v128.load(bp, 48), e1);
    bp += 64;
  }
  if (depth & 1) {
    let v = v128.load32_splat(a + kEnd);
    c0 = madd(v, v128.load(bp), c0);
    c1 = madd(v, v128.load(bp, 16), c1);
  }
  storeRow8(y, f32x4.add(c0, e0), f32x4.add(c1, e1), n, act);
}

/**
 * One row against all panels (the batch-1 recurrent GEMV): panels in pairs,
 * 16 columns, 4 accumulators. Each weight is loaded once, so the loop is
 * load-bound; on Zen 3 under V8 this form measured 1.4–1.6× faster than
 * 8 accumulators (k unrolled by two, or 1x32), whose extra live registers made
 * V8 spill accumulators inside the loop — for relaxed_madd as well.
 */
function gemvRow(y: usize, a: usize, w: usize, init: usize, depth: i32, cols: i32, act: i32): void {
  let panelB = <usize>depth << 5;
  let kEnd = <usize>depth << 2;
  let j = 0;
  for (; j + 8 < cols; j += 16) {
    let p0 = w + <usize>(j >> 3) * panelB;
    let p1 = p0 + panelB;
    let ip = init + (<usize>j << 2);
    let c0 = v128.load(ip), c1 = v128.load(ip, 16);
    let c2 = v128.load(ip, 32), c3 = v128.load(ip, 48);
    for (let k: usize = 0; k < kEnd; k += 4) {
      let v = v128.load32_splat(a + k);
      c0 = madd(v, v128.load(p0), c0);
      c1 = madd(v, v128.load(p0, 16), c1);
      c2 = madd(v, v128.load(p1), c2);
      c3 = madd(v, v128.load(p1, 16), c3);
      p0 += 32;
      p1 += 32;
    }
    let yj = y + (<usize>j << 2);
    storeRow8(yj, c0, c1, 8, act);
    storeRow8(yj + 32, c2, c3, min(8, cols - j - 8), act);
  }
  if (j < cols) {
    row1x8(y + (<usize>j << 2), a, w + <usize>(j >> 3) * panelB, init + (<usize>j << 2),
           depth, cols - j, act);
  }
}

/** Scalar twin of gemm for runtimes without SIMD: one row × 8 columns at a time. */
function gemmScalar(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize,
  init: usize, ldinit: i32, rows: i32, depth: i32, cols: i32, act: i32,
): void {
  let panelB = <usize>depth << 5;
  let kEnd = <usize>depth << 2;
  for (let j = 0; j < cols; j += 8) {
    let n = min(8, cols - j);
    let bp0 = w + <usize>(j >> 3) * panelB;
    for (let r = 0; r < rows; r++) {
      let ar = a + ((<usize>r * <usize>lda) << 2);
      let ir = init + ((<usize>r * <usize>ldinit + <usize>j) << 2);
      let c0 = load<f32>(ir), c1 = load<f32>(ir, 4), c2 = load<f32>(ir, 8), c3 = load<f32>(ir, 12);
      let c4 = load<f32>(ir, 16), c5 = load<f32>(ir, 20), c6 = load<f32>(ir, 24), c7 = load<f32>(ir, 28);
      let bp = bp0;
      for (let k: usize = 0; k < kEnd; k += 4) {
        let v = load<f32>(ar + k);
        c0 += v * load<f32>(bp);
        c1 += v * load<f32>(bp, 4);
        c2 += v * load<f32>(bp, 8);
        c3 += v * load<f32>(bp, 12);
        c4 += v * load<f32>(bp, 16);
        c5 += v * load<f32>(bp, 20);
        c6 += v * load<f32>(bp, 24);
        c7 += v * load<f32>(bp, 28);
        bp += 32;
      }
      let yr = y + ((<usize>r * <usize>ldy + <usize>j) << 2);
      store<f32>(yr, activateS(c0, act));
      if (n > 1) store<f32>(yr, activateS(c1, act), 4);
      if (n > 2) store<f32>(yr, activateS(c2, act), 8);
      if (n > 3) store<f32>(yr, activateS(c3, act), 12);
      if (n > 4) store<f32>(yr, activateS(c4, act), 16);
      if (n > 5) store<f32>(yr, activateS(c5, act), 20);
      if (n > 6) store<f32>(yr, activateS(c6, act), 24);
      if (n > 7) store<f32>(yr, activateS(c7, act), 28);
    }
  }
}
