// GEMM over packed column panels with a fused epilogue:
//   y[r][c] = act(init[r][c] + Σ_k a[r][k] · B[k][c])
// B comes from pack_panels ([ceil(cols/8)][depth][8]). One routine serves both
// the input projection (init = bias row, act = identity) and the recurrent
// step (init = projected input, act = tanh or relu), so the bias add, the
// activation and the store never take a separate pass over memory.
//
// Micro-kernels are named by shape and ISA, as in XNNPACK: gemm_4x8 (4 rows
// × one 8-wide panel), gemm_1x8, gemv_1x16 (one row × two panels) and
// gemm_1x8_scalar. The gated layers (gates.ts) reuse them for their gate tiles.
//
// Tiling after XNNPACK f32-gemm 4x8 loadsplat: per k, two B vectors and four
// v128.load32_splat of A, each splat consumed by two madds at once — 8
// accumulators, 2 B and 1 A: 11 live v128 values, well within V8/x64's 15
// allocatable XMM registers. A is packed four rows at a time first, so the
// tile walks one A pointer. Calls with one or two rows (batch 1: the
// recurrent GEMV) and the last one or two rows of a call use the 1x16 / 1x8
// row kernels on A as it is.

import { madd } from "./simd";
import { activateS, activateV } from "./activation";
import { Activation, PANEL_WIDTH } from "./abi";
import { PANEL_ROW_BYTES, packRows4, panelBytes, roundUpToPanel } from "./pack";
import { aligned16, inMemory, spanBytes } from "./contract";
import { threadPack } from "./thread";

// The v128 kernels hold one k-row of a panel as two v128: lanes 0..3 and 4..7.
// @ts-ignore: compile-time check
if (PANEL_WIDTH != 8) ERROR("gemm.ts: the v128 micro-kernels take PANEL_WIDTH = 8 columns as two v128");

/** Eight zero floats: the init row of a call with init = 0. */
const ZERO_ROW: usize = memory.data(<i32>PANEL_ROW_BYTES, 16);

/**
 * Computes `rows` × `cols` outputs (see the file comment).
 * y: f32 output, row stride `ldy` floats (≥ cols), 4-byte aligned, caller-owned.
 * a: f32 left operand, rows × depth, row stride `lda` floats; may not overlap y.
 * w: packed panels of the right operand (depth × cols), 16-byte aligned.
 * init: f32 rows of `cols` floats read, row stride `ldinit` floats; `ldinit`
 *   = 0 broadcasts one row (a bias) to every row; init = 0 means zeros (no
 *   bias); init may be y itself with ldinit = ldy (y += a·W, the backward
 *   passes of training): every tile reads its init before it stores.
 * act: 0 identity, 1 tanh, 2 relu.
 */
export function gemm(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize,
  init: usize, ldinit: i32, rows: i32, depth: i32, cols: i32, act: i32,
): void {
  assert(aligned16(w), "gemm: w must be 16-byte aligned");
  assert(rows >= 0 && depth >= 0 && cols > 0, "gemm: rows and depth must be >= 0, cols > 0");
  assert(ldy >= cols && lda >= depth && ldinit >= 0, "gemm: a row stride is shorter than its row");
  assert(act >= Activation.Identity && act <= Activation.Relu, "gemm: unknown activation code");
  let padded = roundUpToPanel(cols);
  assert(inMemory(y, spanBytes(rows, cols, ldy)), "gemm: y out of bounds");
  assert(inMemory(a, spanBytes(rows, depth, lda)), "gemm: a out of bounds");
  assert(inMemory(w, <u64>padded * <u64>depth << 2), "gemm: w out of bounds");
  assert(inMemory(init, spanBytes(ldinit == 0 ? 1 : rows, cols, ldinit)), "gemm: init out of bounds");
  if (rows == 0) return;
  // A zero init is one zero panel row for every row and column block.
  let initColumns = init != 0;
  if (!initColumns) {
    init = ZERO_ROW;
    ldinit = 0;
  }
  if (ASC_FEATURE_SIMD) {
    if (rows < 3) {
      for (let r = 0; r < rows; r++) {
        let row = <usize>r;
        gemvRow(y + row * (<usize>ldy << 2), a + row * (<usize>lda << 2), w,
                init + row * (<usize>ldinit << 2), initColumns, depth, cols, act);
      }
    } else {
      gemmTiles(y, ldy, a, lda, w, init, ldinit, initColumns, rows, depth, cols, act);
    }
  } else {
    let ldyB = <usize>ldy << 2;
    let ldaB = <usize>lda << 2;
    let ldiB = <usize>ldinit << 2;
    let panelB = panelBytes(depth);
    for (let j = 0; j < cols; j += PANEL_WIDTH) {
      let n = min(PANEL_WIDTH, cols - j);
      let bp = w + <usize>(j / PANEL_WIDTH) * panelB;
      let colB = <usize>j << 2;
      let initB = initColumns ? colB : 0;
      for (let r = 0; r < rows; r++) {
        let row = <usize>r;
        gemm_1x8_scalar(y + row * ldyB + colB, a + row * ldaB, bp, init + row * ldiB + initB, depth, n, act);
      }
    }
  }
}

/** Stores the first `n` (1..8) lanes of lo ⧺ hi to y after `act`. */
// @ts-ignore: decorator
@inline function storeRow8(y: usize, lo: v128, hi: v128, n: i32, act: i32): void {
  if (act == Activation.Identity && n == PANEL_WIDTH) {
    v128.store(y, lo);
    v128.store(y, hi, 16);
  } else {
    activateRow8(y, lo, hi, n, act);
  }
}

/**
 * storeRow8 with an activation or a partial row. Not inlined: once per tile
 * row it costs a call, inlined it would copy tanh into every micro-kernel's
 * every row (the module's size doubled).
 */
function activateRow8(y: usize, lo: v128, hi: v128, n: i32, act: i32): void {
  storeN(y, activateV(lo, act), min(n, 4));
  if (n > 4) storeN(y + 16, activateV(hi, act), n - 4);
}

/**
 * Floats in the buffer that holds a block of A packed for the 4x8 tiles
 * (128 KB): the 32 rows of a batch of 32 at depth 1024 in one block, so a
 * step streams its weights once (LSTM, hidden 1024: +5% over 64 KB).
 */
// @ts-ignore: decorator
@inline export const PACK_FLOATS: i32 = 32768;
/** Static scratch for packRows4: a single-thread build runs one call at a time, its thread 0 too. */
export const packBuffer: usize = memory.data(PACK_FLOATS << 2, 16);

/** The calling thread's pack buffer: a helper thread of a threaded build has its own (thread.ts). */
// @ts-ignore: decorator
@inline export function ownPackBuffer(): usize {
  return ASC_FEATURE_THREADS && threadPack != 0 ? threadPack : packBuffer;
}

/**
 * rows ≥ 3: 4x8 tiles. Depth is split into chunks whose four packed rows fit
 * the pack buffer (one chunk unless depth > 8192); a chunk after the first adds
 * onto y, and only the last one applies the activation.
 */
function gemmTiles(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize,
  init: usize, ldinit: i32, initColumns: bool, rows: i32, depth: i32, cols: i32, act: i32,
): void {
  let chunk = min(depth, PACK_FLOATS >> 2);
  let k0 = 0;
  do {
    let kn = min(chunk, depth - k0);
    let first = k0 == 0;
    let last = k0 + kn >= depth;
    gemmChunk(y, ldy, a + (<usize>k0 << 2), lda, w + <usize>k0 * PANEL_ROW_BYTES, depth,
              first ? init : y, first ? ldinit : ldy, first ? initColumns : true,
              rows, kn, cols, last ? act : Activation.Identity);
    k0 += kn;
  } while (k0 < depth);
}

/**
 * One depth chunk of gemmTiles: `depth` columns of A against the same rows of
 * every panel (panels hold `panelDepth` rows). A is packed four rows at a time
 * so the tile's A operands are splat loads at constant offsets from one
 * pointer: with a row pointer per row, V8 spent a register and an address add
 * on each and spilled inside the loop (1024³: 25.6 → 32.7 GFLOP/s on Emerald Rapids).
 * Row blocks of at most 128 KB of packed A stay in L2 while every panel
 * streams past them (after GotoBLAS's MC blocking).
 */
function gemmChunk(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize, panelDepth: i32,
  init: usize, ldinit: i32, initColumns: bool, rows: i32, depth: i32, cols: i32, act: i32,
): void {
  let ldyB = <usize>ldy << 2;
  let ldaB = <usize>lda << 2;
  let ldiB = <usize>ldinit << 2;
  let panelB = panelBytes(panelDepth);
  let groupB = <usize>depth << 4;
  let block = max(4, (PACK_FLOATS / max(depth, 1)) & ~3);
  for (let r0 = 0; r0 < rows; r0 += block) {
    let blockRows = min(block, rows - r0);
    // The last one or two rows of a block take the row kernel on A as it is.
    let tiledRows = (blockRows & 3) == 3 ? blockRows : blockRows & ~3;
    let pack = ownPackBuffer();
    packRows4(pack, a + <usize>r0 * ldaB, lda, tiledRows, depth);
    for (let j = 0; j < cols; j += PANEL_WIDTH) {
      let n = min(PANEL_WIDTH, cols - j);
      let bp = w + <usize>(j / PANEL_WIDTH) * panelB;
      let colB = <usize>j << 2;
      let initB = initColumns ? colB : 0;
      let pa = pack;
      for (let r = r0; r < r0 + blockRows; r += 4) {
        let m = min(4, r0 + blockRows - r);
        if (m >= 3) {
          gemm_4x8(y + <usize>r * ldyB + colB, ldyB, pa, bp, init + <usize>r * ldiB + initB, ldiB,
                   groupB, m, n, act);
        } else {
          // A padded tile would waste half or more of its work on these.
          for (let i = r; i < r + m; i++) {
            gemm_1x8(y + <usize>i * ldyB + colB, a + <usize>i * ldaB, bp, init + <usize>i * ldiB + initB,
                     depth, n, act);
          }
        }
        pa += groupB;
      }
    }
  }
}

/**
 * The 4x8 microkernel (after XNNPACK f32-gemm 4x8 loadsplat): rows [0, m) and
 * columns [0, n) of y from one group of packed A ([depth][4] at pa, `depthB` =
 * depth·16 bytes) and one panel at bp. Rows past m are computed from the zero
 * padding and not stored; their init reads row 0's. `addToY` (a compile-time
 * constant; gemm_tn's chunks) adds the sums to y's values after the loop.
 */
// @ts-ignore: decorator
@inline export function gemm_4x8(
  y: usize, ldyB: usize, pa: usize, bp: usize, init: usize, ldiB: usize,
  depthB: usize, m: i32, n: i32, act: i32, addToY: bool = false,
): void {
  let i1 = m > 1 ? init + ldiB : init;
  let i2 = m > 2 ? i1 + ldiB : init;
  let i3 = m > 3 ? i2 + ldiB : init;
  let c00 = loadLo(init, n), c01 = loadHi(init, n);
  let c10 = loadLo(i1, n), c11 = loadHi(i1, n);
  let c20 = loadLo(i2, n), c21 = loadHi(i2, n);
  let c30 = loadLo(i3, n), c31 = loadHi(i3, n);
  let end = pa + depthB;
  while (pa < end) {
    let b0 = v128.load(bp);
    let b1 = v128.load(bp, 16);
    let v = v128.load32_splat(pa);
    c00 = madd(v, b0, c00);
    c01 = madd(v, b1, c01);
    v = v128.load32_splat(pa, 4);
    c10 = madd(v, b0, c10);
    c11 = madd(v, b1, c11);
    v = v128.load32_splat(pa, 8);
    c20 = madd(v, b0, c20);
    c21 = madd(v, b1, c21);
    v = v128.load32_splat(pa, 12);
    c30 = madd(v, b0, c30);
    c31 = madd(v, b1, c31);
    bp += PANEL_ROW_BYTES;
    pa += 16;
  }
  if (addToY) {
    c00 = f32x4.add(c00, loadLo(y, n));
    c01 = f32x4.add(c01, loadHi(y, n));
    if (m > 1) {
      c10 = f32x4.add(c10, loadLo(y + ldyB, n));
      c11 = f32x4.add(c11, loadHi(y + ldyB, n));
    }
    if (m > 2) {
      c20 = f32x4.add(c20, loadLo(y + 2 * ldyB, n));
      c21 = f32x4.add(c21, loadHi(y + 2 * ldyB, n));
    }
    if (m > 3) {
      c30 = f32x4.add(c30, loadLo(y + 3 * ldyB, n));
      c31 = f32x4.add(c31, loadHi(y + 3 * ldyB, n));
    }
  }
  storeRow8(y, c00, c01, n, act);
  if (m > 1) storeRow8(y + ldyB, c10, c11, n, act);
  if (m > 2) storeRow8(y + 2 * ldyB, c20, c21, n, act);
  if (m > 3) storeRow8(y + 3 * ldyB, c30, c31, n, act);
}

/** Lanes 0..3 of the first `n` (1..8) floats at p, zeros past n; reads only those. */
// @ts-ignore: decorator
@inline function loadLo(p: usize, n: i32): v128 {
  return loadN(p, min(n, 4));
}

/** Lanes 4..7 of the first `n` (1..8) floats at p, zeros past n; reads only those. */
// @ts-ignore: decorator
@inline function loadHi(p: usize, n: i32): v128 {
  return n > 4 ? loadN(p + 16, n - 4) : f32x4.splat(0);
}

/** The first `k` (1..4) floats at p in lanes 0..k−1, zeros elsewhere; reads only those. */
// @ts-ignore: decorator
@inline export function loadN(p: usize, k: i32): v128 {
  return k == 4 ? v128.load(p) : loadPartial(p, k);
}

/** The first `n` (1..3) floats at p in lanes 0..n−1, zeros elsewhere. */
function loadPartial(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n >= 2) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n >= 3) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores lanes 0..k−1 (k = 1..4) of v to p. */
// @ts-ignore: decorator
@inline export function storeN(p: usize, v: v128, k: i32): void {
  if (k == 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (k >= 2) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (k >= 3) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** One row against one panel: 8 columns, k unrolled by two (4 accumulators). */
// @ts-ignore: decorator
@inline export function gemm_1x8(y: usize, a: usize, bp: usize, init: usize, depth: i32, n: i32, act: i32): void {
  let c0 = loadLo(init, n), c1 = loadHi(init, n);
  let e0 = f32x4.splat(0), e1 = f32x4.splat(0);
  let kEnd = <usize>(depth & ~1) << 2;
  for (let k: usize = 0; k < kEnd; k += 8) {
    let v = v128.load32_splat(a + k);
    let u = v128.load32_splat(a + k, 4);
    c0 = madd(v, v128.load(bp), c0);
    c1 = madd(v, v128.load(bp, 16), c1);
    e0 = madd(u, v128.load(bp, 32), e0);
    e1 = madd(u, v128.load(bp, 48), e1);
    bp += 2 * PANEL_ROW_BYTES;
  }
  if (depth & 1) {
    let v = v128.load32_splat(a + kEnd);
    c0 = madd(v, v128.load(bp), c0);
    c1 = madd(v, v128.load(bp, 16), c1);
  }
  storeRow8(y, f32x4.add(c0, e0), f32x4.add(c1, e1), n, act);
}

/**
 * One row against all panels (the batch-1 recurrent GEMV): panels in pairs
 * by gemv_1x16, an odd last one by gemm_1x8. `initColumns` false: one init
 * panel row (zeros) for every panel.
 */
function gemvRow(
  y: usize, a: usize, w: usize, init: usize, initColumns: bool, depth: i32, cols: i32, act: i32,
): void {
  let panelB = panelBytes(depth);
  let j = 0;
  for (; j + PANEL_WIDTH < cols; j += 2 * PANEL_WIDTH) {
    let p0 = w + <usize>(j / PANEL_WIDTH) * panelB;
    let i0 = initColumns ? init + (<usize>j << 2) : init;
    let y0 = y + (<usize>j << 2);
    gemv_1x16(y0, y0 + PANEL_ROW_BYTES, min(PANEL_WIDTH, cols - j - PANEL_WIDTH), a, p0, p0 + panelB,
              i0, initColumns ? i0 + PANEL_ROW_BYTES : init, depth, act);
  }
  if (j < cols) {
    gemm_1x8(y + (<usize>j << 2), a, w + <usize>(j / PANEL_WIDTH) * panelB,
             initColumns ? init + (<usize>j << 2) : init, depth, cols - j, act);
  }
}

/**
 * One row against two panels (p0, p1; 16 columns), 4 accumulators: 8 columns
 * to y0 (init i0), the first n1 of the next 8 to y1 (init i1). Each weight is
 * loaded once, so the loop is load-bound; on Zen 3 under V8 this form
 * measured 1.4–1.6× faster than 8 accumulators (k unrolled by two, or 1x32),
 * whose extra live registers made V8 spill accumulators inside the loop — for
 * relaxed_madd as well.
 */
// @ts-ignore: decorator
@inline export function gemv_1x16(
  y0: usize, y1: usize, n1: i32, a: usize, p0: usize, p1: usize, i0: usize, i1: usize, depth: i32, act: i32,
): void {
  let kEnd = <usize>depth << 2;
  let c0 = v128.load(i0), c1 = v128.load(i0, 16);
  let c2 = loadLo(i1, n1), c3 = loadHi(i1, n1);
  for (let k: usize = 0; k < kEnd; k += 4) {
    let v = v128.load32_splat(a + k);
    c0 = madd(v, v128.load(p0), c0);
    c1 = madd(v, v128.load(p0, 16), c1);
    c2 = madd(v, v128.load(p1), c2);
    c3 = madd(v, v128.load(p1, 16), c3);
    p0 += PANEL_ROW_BYTES;
    p1 += PANEL_ROW_BYTES;
  }
  storeRow8(y0, c0, c1, PANEL_WIDTH, act);
  storeRow8(y1, c2, c3, n1, act);
}

/**
 * Scalar twin of gemm_1x8 for runtimes without SIMD: one row × one panel,
 * eight accumulators; stores the first `n` (1..8) columns.
 */
// @ts-ignore: decorator
@inline export function gemm_1x8_scalar(
  y: usize, a: usize, bp: usize, init: usize, depth: i32, n: i32, act: i32,
): void {
  let kEnd = <usize>depth << 2;
  // Only the first n init floats are read: init may end with the row.
  let c0 = load<f32>(init);
  let c1: f32 = n > 1 ? load<f32>(init, 4) : 0, c2: f32 = n > 2 ? load<f32>(init, 8) : 0;
  let c3: f32 = n > 3 ? load<f32>(init, 12) : 0, c4: f32 = n > 4 ? load<f32>(init, 16) : 0;
  let c5: f32 = n > 5 ? load<f32>(init, 20) : 0, c6: f32 = n > 6 ? load<f32>(init, 24) : 0;
  let c7: f32 = n > 7 ? load<f32>(init, 28) : 0;
  for (let k: usize = 0; k < kEnd; k += 4) {
    let v = load<f32>(a + k);
    c0 += v * load<f32>(bp);
    c1 += v * load<f32>(bp, 4);
    c2 += v * load<f32>(bp, 8);
    c3 += v * load<f32>(bp, 12);
    c4 += v * load<f32>(bp, 16);
    c5 += v * load<f32>(bp, 20);
    c6 += v * load<f32>(bp, 24);
    c7 += v * load<f32>(bp, 28);
    bp += PANEL_ROW_BYTES;
  }
  store<f32>(y, activateS(c0, act));
  if (n > 1) store<f32>(y, activateS(c1, act), 4);
  if (n > 2) store<f32>(y, activateS(c2, act), 8);
  if (n > 3) store<f32>(y, activateS(c3, act), 12);
  if (n > 4) store<f32>(y, activateS(c4, act), 16);
  if (n > 5) store<f32>(y, activateS(c5, act), 20);
  if (n > 6) store<f32>(y, activateS(c6, act), 24);
  if (n > 7) store<f32>(y, activateS(c7, act), 28);
}

/**
 * gemm (identity activation) for a deep product over many rows, the backward
 * passes' dG·W: depth split into chunks short enough that a block of packed
 * A holds `rows` rows (at least 64), so each chunk's panels stream past the
 * rows once, not once per block of 8 (depth 4096) rows; a chunk after the
 * first adds onto y. Rows < 3 (the GEMV) and the scalar build take gemm as
 * it is. Internal: no checks, gemm's contract (init may be y).
 */
export function gemmDeep(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize, init: usize, ldinit: i32, rows: i32, depth: i32, cols: i32,
): void {
  if (!ASC_FEATURE_SIMD || rows < 3) {
    gemm(y, ldy, a, lda, w, init, ldinit, rows, depth, cols, Activation.Identity);
    return;
  }
  let chunk = min(depth, max(DEEP_CHUNK, (PACK_FLOATS / ((rows + 3) & ~3)) & ~3));
  let initColumns = init != 0;
  if (!initColumns) {
    init = ZERO_ROW;
    ldinit = 0;
  }
  for (let k0 = 0; k0 < depth; k0 += chunk) {
    let first = k0 == 0;
    gemmChunk(y, ldy, a + (<usize>k0 << 2), lda, w + <usize>k0 * PANEL_ROW_BYTES, depth,
              first ? init : y, first ? ldinit : ldy, first ? initColumns : true,
              rows, min(chunk, depth - k0), cols, Activation.Identity);
  }
}

/** gemmDeep's shortest depth chunk: 64-row blocks of packed A (measured best of 64, 128, 256). */
// @ts-ignore: decorator
@inline const DEEP_CHUNK: i32 = PACK_FLOATS / 64;
