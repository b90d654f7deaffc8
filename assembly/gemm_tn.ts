// The weight-gradient GEMM of training: c[i][j] += Σ_r a[r][i] · b[r][j], the
// product aᵀ·b of two row-major operands that share their rows (dW = dGᵀ·X
// over every time step at once; TRAIN-ABI.md §3).
//
// SIMD builds reuse gemm's 4x8 micro-kernel: depth chunks of KC rows
// (GotoBLAS's KC blocking), in each of which up to PACK_FLOATS floats of b are
// packed into 8-column panels once (they stay in L2 while every 4-column
// strip of a — [KC][4], in L1 — streams past them). The scalar build takes
// the same chunks one row of c and four columns at a time.
//
// Each chunk's sums start from zero and are then added to c, so a sum over
// many rows (every step of a long sequence) rounds like KC + rows/KC
// additions rather than `rows` in a row: PyTorch's per-step GEMMs accumulated
// over the steps round like batch + steps.

import { Activation, PANEL_WIDTH } from "./abi";
import { inMemory, spanBytes } from "./contract";
import { PACK_FLOATS, gemm_4x8, loadN, packBuffer } from "./gemm";
import { PANEL_ROW_BYTES, panelBytes } from "./pack";

/**
 * Rows of a and b per depth chunk: 128 measured 2.7× faster than 256 or 512
 * at 4096 × 1024 × 2048 (the L workload's dW_hh) and no slower on small ones.
 */
// @ts-ignore: decorator
@inline const KC: i32 = 128;
/** Columns of b packed per chunk: KC rows of them fill the pack buffer. */
// @ts-ignore: decorator
@inline const NC: i32 = PACK_FLOATS / KC;
/** One 4-column strip of a chunk of a, [KC][4] f32. */
const strip: usize = memory.data(KC << 4, 16);
/** Eight zeros: the init row of every chunk's tile. */
const zeroRow: usize = memory.data(<i32>PANEL_ROW_BYTES, 16);

// @ts-ignore: compile-time check
if (NC % PANEL_WIDTH != 0) ERROR("gemm_tn.ts: a chunk of b must be whole panels");

/**
 * c (m × n, row stride ldc floats) += aᵀ·b, where a is rows × m (row stride
 * lda) and b is rows × n (row stride ldb). Any 4-byte alignment; c must not
 * overlap a or b. All buffers caller-owned.
 */
export function gemm_tn(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, rows: i32, m: i32, n: i32): void {
  assert(rows >= 0 && m > 0 && n > 0, "gemm_tn: rows must be >= 0, m and n > 0");
  assert(ldc >= n && lda >= m && ldb >= n, "gemm_tn: a row stride is shorter than its row");
  assert(inMemory(c, spanBytes(m, n, ldc)), "gemm_tn: c out of bounds");
  assert(inMemory(a, spanBytes(rows, m, lda)), "gemm_tn: a out of bounds");
  assert(inMemory(b, spanBytes(rows, n, ldb)), "gemm_tn: b out of bounds");
  let ldcB = <usize>ldc << 2;
  let ldaB = <usize>lda << 2;
  let ldbB = <usize>ldb << 2;
  if (ASC_FEATURE_SIMD) {
    tiles(c, ldcB, a, ldaB, b, ldbB, rows, m, n);
  } else {
    scalarChunks(c, ldcB, a, ldaB, b, ldbB, rows, m, n);
  }
}

/** The SIMD builds' gemm_tn (see the file comment). */
function tiles(
  c: usize, ldcB: usize, a: usize, ldaB: usize, b: usize, ldbB: usize, rows: i32, m: i32, n: i32,
): void {
  for (let k0 = 0; k0 < rows; k0 += KC) {
    let kc = min(KC, rows - k0);
    let ak = a + <usize>k0 * ldaB;
    let bk = b + <usize>k0 * ldbB;
    let panelB = panelBytes(kc);
    for (let j0 = 0; j0 < n; j0 += NC) {
      let nb = min(NC, n - j0);
      packPanels(packBuffer, bk + (<usize>j0 << 2), ldbB, kc, nb);
      for (let i = 0; i < m; i += 4) {
        let mi = min(4, m - i);
        packStrip(strip, ak + (<usize>i << 2), ldaB, kc, mi);
        for (let j = 0; j < nb; j += PANEL_WIDTH) {
          gemm_4x8(c + <usize>i * ldcB + (<usize>(j0 + j) << 2), ldcB, strip,
                   packBuffer + <usize>(j / PANEL_WIDTH) * panelB, zeroRow, 0, <usize>kc << 4, mi,
                   min(PANEL_WIDTH, nb - j), Activation.Identity, true);
        }
      }
    }
  }
}

/** Columns [0, n) of `rows` rows of b (row stride ldbB bytes) as panels [ceil(n/8)][rows][8], zero padded. */
function packPanels(dst: usize, b: usize, ldbB: usize, rows: i32, n: i32): void {
  for (let j = 0; j < n; j += PANEL_WIDTH) {
    let w = min(PANEL_WIDTH, n - j);
    let src = b + (<usize>j << 2);
    if (w == PANEL_WIDTH) {
      for (let r = 0; r < rows; r++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += ldbB;
        dst += PANEL_ROW_BYTES;
      }
    } else {
      for (let r = 0; r < rows; r++) {
        v128.store(dst, loadN(src, min(w, 4)));
        v128.store(dst, w > 4 ? loadN(src + 16, w - 4) : f32x4.splat(0), 16);
        src += ldbB;
        dst += PANEL_ROW_BYTES;
      }
    }
  }
}

/** Columns [0, k) (k = 1..4) of `rows` rows of a (row stride ldaB bytes) as [rows][4], zero padded. */
function packStrip(dst: usize, a: usize, ldaB: usize, rows: i32, k: i32): void {
  for (let r = 0; r < rows; r++) {
    v128.store(dst, loadN(a, k));
    a += ldaB;
    dst += 16;
  }
}

/** The scalar build's gemm_tn: per depth chunk, each row of c four columns at a time. */
function scalarChunks(
  c: usize, ldcB: usize, a: usize, ldaB: usize, b: usize, ldbB: usize, rows: i32, m: i32, n: i32,
): void {
  for (let k0 = 0; k0 < rows; k0 += KC) {
    let kc = min(KC, rows - k0);
    let ak = a + <usize>k0 * ldaB;
    let bk = b + <usize>k0 * ldbB;
    for (let i = 0; i < m; i++) {
      let ci = c + <usize>i * ldcB;
      let ai = ak + (<usize>i << 2);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        let bj = bk + (<usize>j << 2);
        let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
        for (let r = 0; r < kc; r++) {
          let v = load<f32>(ai + <usize>r * ldaB);
          let br = bj + <usize>r * ldbB;
          s0 += v * load<f32>(br);
          s1 += v * load<f32>(br, 4);
          s2 += v * load<f32>(br, 8);
          s3 += v * load<f32>(br, 12);
        }
        let cj = ci + (<usize>j << 2);
        store<f32>(cj, load<f32>(cj) + s0);
        store<f32>(cj, load<f32>(cj, 4) + s1, 4);
        store<f32>(cj, load<f32>(cj, 8) + s2, 8);
        store<f32>(cj, load<f32>(cj, 12) + s3, 12);
      }
      for (; j < n; j++) {
        let bj = bk + (<usize>j << 2);
        let sum: f32 = 0;
        for (let r = 0; r < kc; r++) sum += load<f32>(ai + <usize>r * ldaB) * load<f32>(bj + <usize>r * ldbB);
        let cj = ci + (<usize>j << 2);
        store<f32>(cj, load<f32>(cj) + sum);
      }
    }
  }
}
