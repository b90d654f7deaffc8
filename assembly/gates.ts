// The recurrent step of the gated cells as one GEMM with a fused gate
// epilogue: for each hidden block of PANEL_WIDTH units and a tile of rows, the
// gates' pre-activations (p + h_prev·W_hhᵀ, gate-interleaved panels from
// pack_gate_panels) are computed into a 512-byte static scratch — one 4x8 or
// 1x8 micro-kernel per gate — and at once turned into the new state: σ/tanh,
// the cell update, and the stores of h (and c). No pass over a gates array in
// memory; the scratch of one tile stays in L1.
//
// LSTM (gates i, f, g, o): c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c').
// GRU (gates r, z, n; b_hn held apart): n = tanh(p_n + σ(r)·(W_hn h + b_hn));
// h' = n + σ(z)·(h − n), PyTorch's (1 − z)·n + z·h.

import { Activation, Gates, PANEL_WIDTH } from "./abi";
import { sigmoidS, sigmoidV, tanhS, tanhV } from "./activation";
import { madd } from "./simd";
import { PACK_FLOATS, gemm_1x8, gemm_1x8_scalar, gemm_4x8, loadHi, loadLo, packBuffer, storeRow8 } from "./gemm";
import { PANEL_ROW_BYTES, packRows4, panelBytes } from "./pack";

/** Bytes of one gate's slice of the scratch: four rows of one panel row. */
// @ts-ignore: decorator
@inline const GATE_TILE_BYTES: usize = 4 * PANEL_ROW_BYTES;
/** Gate pre-activations of one tile: [gate][row][PANEL_WIDTH] f32, at most 4 gates × 4 rows. */
const scratch: usize = memory.data(Gates.LSTM * <i32>GATE_TILE_BYTES, 16);

/**
 * LSTM step for `rows` rows: h (row stride ldhB bytes) and c (ldcB) receive
 * `hidden` floats per row; cPrev (ldcPrevB): the previous cell state; a
 * (ldaB): the previous output state, `depth` floats (hidden, or proj with a
 * projection); w: the direction's recurrent gate panels (4, hidden, depth);
 * p (ldpB): its rows of input projections, 4·H8 floats each.
 * Outputs may not overlap the inputs.
 */
export function lstmGates(
  h: usize, ldhB: usize, c: usize, ldcB: usize, cPrev: usize, ldcPrevB: usize,
  a: usize, ldaB: usize, w: usize, p: usize, ldpB: usize, rows: i32, depth: i32, hidden: i32,
): void {
  gatedRows(Gates.LSTM, h, ldhB, c, ldcB, cPrev, ldcPrevB, a, ldaB, w, p, ldpB, 0, rows, depth, hidden);
}

/**
 * GRU step for `rows` rows: h (ldhB) receives `hidden` floats per row from the
 * previous state a (ldaB, hidden floats); w: the direction's recurrent gate
 * panels (3, hidden, hidden); p (ldpB): its input projections (3·H8 floats a
 * row, b_hn excluded); bhn: b_hn, H8 floats.
 */
export function gruGates(
  h: usize, ldhB: usize, a: usize, ldaB: usize, w: usize, p: usize, ldpB: usize, bhn: usize,
  rows: i32, hidden: i32,
): void {
  gatedRows(Gates.GRU, h, ldhB, 0, 0, 0, 0, a, ldaB, w, p, ldpB, bhn, rows, hidden, hidden);
}

/**
 * Both cells' steps: rows ≥ 3 in 4-row tiles over A packed four rows at a
 * time (as gemm does), the rest one row at a time. The block loop is outside
 * the row tiles so that one block's panels stay in L1 across them.
 */
// @ts-ignore: decorator
@inline function gatedRows(
  gates: i32, h: usize, ldhB: usize, c: usize, ldcB: usize, cPrev: usize, ldcPrevB: usize,
  a: usize, ldaB: usize, w: usize, p: usize, ldpB: usize, bhn: usize, rows: i32, depth: i32, hidden: i32,
): void {
  let panelB = panelBytes(depth);
  let blockB = <usize>gates * panelB;
  let pBlockB = <usize>gates * PANEL_ROW_BYTES;
  // Packed A must hold four rows; deeper states take the row kernels.
  let tiled = ASC_FEATURE_SIMD && rows >= 3 && depth <= PACK_FLOATS / 4;
  let block = tiled ? max(4, (PACK_FLOATS / depth) & ~3) : rows;
  for (let r0 = 0; r0 < rows; r0 += block) {
    let blockRows = min(block, rows - r0);
    let tiledRows = !tiled ? 0 : (blockRows & 3) == 3 ? blockRows : blockRows & ~3;
    let groupB = <usize>depth << 4;
    if (tiledRows > 0) packRows4(packBuffer, a + <usize>r0 * ldaB, <i32>(ldaB >> 2), tiledRows, depth);
    for (let j = 0; j < hidden; j += PANEL_WIDTH) {
      let n = min(PANEL_WIDTH, hidden - j);
      let b = <usize>(j / PANEL_WIDTH);
      let wb = w + b * blockB;
      let colB = <usize>j << 2;
      let pb = p + b * pBlockB;
      let hb = bhn + colB;
      let r = r0;
      if (ASC_FEATURE_SIMD) {
        for (let pa = packBuffer; r < r0 + tiledRows; r += 4) {
          let m = min(4, r0 + tiledRows - r);
          let pr = pb + <usize>r * ldpB;
          for (let g = 0; g < gates; g++) {
            let hn = gates == Gates.GRU && g == 2;
            gemm_4x8(scratch + <usize>g * GATE_TILE_BYTES, PANEL_ROW_BYTES, pa, wb + <usize>g * panelB,
                     hn ? hb : pr + <usize>g * PANEL_ROW_BYTES, hn ? 0 : ldpB, groupB, m, PANEL_WIDTH,
                     Activation.Identity);
          }
          for (let i = 0; i < m; i++) {
            let row = <usize>(r + i);
            epilogue(gates, scratch + <usize>i * PANEL_ROW_BYTES, h + row * ldhB + colB, c + row * ldcB + colB,
                     cPrev + row * ldcPrevB + colB, a + row * ldaB + colB, pr + <usize>i * ldpB, n);
          }
          pa += groupB;
        }
      }
      for (; r < r0 + blockRows; r++) {
        let row = <usize>r;
        let ar = a + row * ldaB;
        let pr = pb + row * ldpB;
        for (let g = 0; g < gates; g++) {
          let hn = gates == Gates.GRU && g == 2;
          let init = hn ? hb : pr + <usize>g * PANEL_ROW_BYTES;
          let s = scratch + <usize>g * GATE_TILE_BYTES;
          if (ASC_FEATURE_SIMD) {
            gemm_1x8(s, ar, wb + <usize>g * panelB, init, depth, PANEL_WIDTH, Activation.Identity);
          } else {
            gemm_1x8_scalar(s, ar, wb + <usize>g * panelB, init, depth, PANEL_WIDTH, Activation.Identity);
          }
        }
        epilogue(gates, scratch, h + row * ldhB + colB, c + row * ldcB + colB, cPrev + row * ldcPrevB + colB,
                 ar + colB, pr, n);
      }
    }
  }
}

/**
 * The new state of PANEL_WIDTH units of one row (the first `n` stored) from
 * the gate pre-activations at s (gate g at s + g·GATE_TILE_BYTES).
 * LSTM: h, c, cPrev. GRU: h, hPrev (the previous state), p (the row's input
 * projection of this block, gate n at p + 2·PANEL_ROW_BYTES).
 */
// @ts-ignore: decorator
@inline function epilogue(
  gates: i32, s: usize, h: usize, c: usize, cPrev: usize, hPrev: usize, p: usize, n: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    if (gates == Gates.LSTM) {
      let c0 = lstmCellV(s, loadLo(cPrev, n));
      let c1 = lstmCellV(s + 16, loadHi(cPrev, n));
      storeRow8(c, c0, c1, n, Activation.Identity);
      storeRow8(h, f32x4.mul(sigmoidV(v128.load(s, 3 * GATE_TILE_BYTES)), tanhV(c0)),
                f32x4.mul(sigmoidV(v128.load(s, 3 * GATE_TILE_BYTES + 16)), tanhV(c1)), n, Activation.Identity);
    } else {
      storeRow8(h, gruCellV(s, p, loadLo(hPrev, n)), gruCellV(s + 16, p + 16, loadHi(hPrev, n)), n,
                Activation.Identity);
    }
  } else {
    for (let i = 0; i < n; i++) {
      let o = <usize>i << 2;
      let si = s + o;
      if (gates == Gates.LSTM) {
        let cn = sigmoidS(load<f32>(si, GATE_TILE_BYTES)) * load<f32>(cPrev + o) +
                 sigmoidS(load<f32>(si)) * tanhS(load<f32>(si, 2 * GATE_TILE_BYTES));
        store<f32>(c + o, cn);
        store<f32>(h + o, sigmoidS(load<f32>(si, 3 * GATE_TILE_BYTES)) * tanhS(cn));
      } else {
        let nn = tanhS(sigmoidS(load<f32>(si)) * load<f32>(si, 2 * GATE_TILE_BYTES) +
                       load<f32>(p + o, 2 * PANEL_ROW_BYTES));
        store<f32>(h + o, sigmoidS(load<f32>(si, GATE_TILE_BYTES)) * (load<f32>(hPrev + o) - nn) + nn);
      }
    }
  }
}

/** c' = σ(f)·c + σ(i)·tanh(g) for four lanes, gates at s. */
// @ts-ignore: decorator
@inline function lstmCellV(s: usize, cPrev: v128): v128 {
  let ig = f32x4.mul(sigmoidV(v128.load(s)), tanhV(v128.load(s, 2 * GATE_TILE_BYTES)));
  return madd(sigmoidV(v128.load(s, GATE_TILE_BYTES)), cPrev, ig);
}

/** h' = n + σ(z)·(h − n), n = tanh(p_n + σ(r)·(W_hn h + b_hn)), for four lanes. */
// @ts-ignore: decorator
@inline function gruCellV(s: usize, p: usize, hPrev: v128): v128 {
  let nn = tanhV(madd(sigmoidV(v128.load(s)), v128.load(s, 2 * GATE_TILE_BYTES), v128.load(p, 2 * PANEL_ROW_BYTES)));
  return madd(sigmoidV(v128.load(s, GATE_TILE_BYTES)), f32x4.sub(hPrev, nn), nn);
}
