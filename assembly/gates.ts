// The recurrent step of the gated cells as one GEMM with a fused gate
// epilogue: for each hidden block of PANEL_WIDTH units and a tile of rows, the
// gates' pre-activations (p + h_prev·W_hhᵀ, gate-interleaved panels from
// pack_gate_panels) are computed into a 512-byte static scratch — gemm_4x8
// per gate for four rows (their 4 × 8 accumulators would not fit the 15 XMM
// registers V8 allocates), gemv_1x16 per pair of gates for a single row — and
// at once turned into the new state: σ/tanh, the cell update, and the stores
// of h (and c). No pass over a gates array in memory; the scratch of one tile
// stays in L1.
//
// LSTM (gates i, f, g, o): c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c').
// GRU (gates r, z, n; b_hn held apart): n = tanh(p_n + σ(r)·(W_hn h + b_hn));
// h' = n + σ(z)·(h − n), PyTorch's (1 − z)·n + z·h.
//
// In training the epilogue also keeps the tape backward needs (TRAIN-ABI.md
// §1): per row the activated gates, gate-major with a stride of H8 units —
// LSTM [i | f | g | o], GRU [r | z | n | W_hn h + b_hn].

import { Activation, Gates, PANEL_WIDTH } from "./abi";
import { sigmoidS, sigmoidV, tanhS, tanhV } from "./activation";
import { madd } from "./simd";
import { PACK_FLOATS, gemm_1x8, gemm_1x8_scalar, gemm_4x8, gemv_1x16, loadN, ownPackBuffer, storeN } from "./gemm";
import { PANEL_ROW_BYTES, packRows4, panelBytes, roundUpToPanel } from "./pack";
import { threadScratch, unitEnd, unitStart } from "./thread";

/** Bytes of one gate's slice of the scratch: four rows of one panel row. */
// @ts-ignore: decorator
@inline const GATE_TILE_BYTES: usize = 4 * PANEL_ROW_BYTES;
/** Gate pre-activations of one tile: [gate][row][PANEL_WIDTH] f32, at most 4 gates × 4 rows. */
const staticScratch: usize = memory.data(Gates.LSTM * <i32>GATE_TILE_BYTES, 16);
/** Bytes of the gate scratch, which a helper thread of a threaded build has its own of (thread.ts). */
// @ts-ignore: decorator
@inline export const GATE_SCRATCH_BYTES: usize = <usize>Gates.LSTM * GATE_TILE_BYTES;

/**
 * LSTM step for `rows` rows: h (row stride ldhB bytes) and c (ldcB) receive
 * `hidden` floats per row; cPrev (ldcPrevB): the previous cell state; a
 * (ldaB): the previous output state, `depth` floats (hidden, or proj with a
 * projection); w: the direction's recurrent gate panels (4, hidden, depth);
 * p (ldpB): its rows of input projections, 4·H8 floats each.
 * tape (ldtB): the rows' tapes, 4·H8 floats each, or 0 for none.
 * Outputs may not overlap the inputs.
 */
export function lstmGates(
  h: usize, ldhB: usize, c: usize, ldcB: usize, cPrev: usize, ldcPrevB: usize,
  a: usize, ldaB: usize, w: usize, p: usize, ldpB: usize, tape: usize, ldtB: usize, rows: i32, depth: i32,
  hidden: i32,
): void {
  gatedRows(Gates.LSTM, h, ldhB, c, ldcB, cPrev, ldcPrevB, a, ldaB, w, p, ldpB, 0, tape, ldtB, rows, depth, hidden);
}

/**
 * GRU step for `rows` rows: h (ldhB) receives `hidden` floats per row from the
 * previous state a (ldaB, hidden floats); w: the direction's recurrent gate
 * panels (3, hidden, hidden); p (ldpB): its input projections (3·H8 floats a
 * row, b_hn excluded); bhn: b_hn, H8 floats; tape (ldtB): as lstmGates'.
 */
export function gruGates(
  h: usize, ldhB: usize, a: usize, ldaB: usize, w: usize, p: usize, ldpB: usize, bhn: usize,
  tape: usize, ldtB: usize, rows: i32, hidden: i32,
): void {
  gatedRows(Gates.GRU, h, ldhB, 0, 0, 0, 0, a, ldaB, w, p, ldpB, bhn, tape, ldtB, rows, hidden, hidden);
}

/**
 * Both cells' steps: rows ≥ 3 in 4-row tiles over A packed four rows at a
 * time (as gemm does), the rest one row at a time (gates in pairs by
 * gemv_1x16, the batch-1 GEMV). The block loop is outside the row tiles so
 * that one block's panels stay in cache across them. A thread of a threaded
 * build computes the blocks of its units only (thread.ts): each block's
 * outputs take the same operations whichever thread computes them.
 */
function gatedRows(
  gates: i32, h: usize, ldhB: usize, c: usize, ldcB: usize, cPrev: usize, ldcPrevB: usize,
  a: usize, ldaB: usize, w: usize, p: usize, ldpB: usize, bhn: usize, tape: usize, ldtB: usize,
  rows: i32, depth: i32, hidden: i32,
): void {
  let panelB = panelBytes(depth);
  let tapeGateB = <usize>roundUpToPanel(hidden) << 2;
  let blockB = <usize>gates * panelB;
  let pBlockB = <usize>gates * PANEL_ROW_BYTES;
  let groupB = <usize>depth << 4;
  // Packed A must hold four rows; deeper states take the row kernels.
  let tiled = ASC_FEATURE_SIMD && rows >= 3 && depth <= PACK_FLOATS / 4;
  let block = tiled ? max(4, (PACK_FLOATS / depth) & ~3) : rows;
  let pack = ownPackBuffer();
  let scratch = ASC_FEATURE_THREADS && threadScratch != 0 ? threadScratch : staticScratch;
  let units0 = ASC_FEATURE_THREADS ? unitStart : 0;
  let units1 = ASC_FEATURE_THREADS ? min(unitEnd, hidden) : hidden;
  for (let r0 = 0; r0 < rows; r0 += block) {
    let blockRows = min(block, rows - r0);
    let tiledRows = !tiled ? 0 : (blockRows & 3) == 3 ? blockRows : blockRows & ~3;
    if (tiledRows > 0) packRows4(pack, a + <usize>r0 * ldaB, <i32>(ldaB >> 2), tiledRows, depth);
    for (let j = units0; j < units1; j += PANEL_WIDTH) {
      let n = min(PANEL_WIDTH, hidden - j);
      let b = <usize>(j / PANEL_WIDTH);
      let wb = w + b * blockB;
      let colB = <usize>j << 2;
      let pb = p + b * pBlockB;
      let hb = bhn + colB;
      let r = r0;
      if (ASC_FEATURE_SIMD) {
        for (let pa = pack; r < r0 + tiledRows; r += 4) {
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
                     cPrev + row * ldcPrevB + colB, a + row * ldaB + colB, pr + <usize>i * ldpB,
                     tape == 0 ? 0 : tape + row * ldtB + colB, tapeGateB, n);
          }
          pa += groupB;
        }
      }
      for (; r < r0 + blockRows; r++) {
        let row = <usize>r;
        let ar = a + row * ldaB;
        let pr = pb + row * ldpB;
        // Gates r, z of GRU and i, f, g, o of LSTM in pairs; GRU's n (init b_hn) alone.
        let g = 0;
        if (ASC_FEATURE_SIMD) {
          for (; g + 1 < gates; g += 2) {
            let s = scratch + <usize>g * GATE_TILE_BYTES;
            let i0 = pr + <usize>g * PANEL_ROW_BYTES;
            let p0 = wb + <usize>g * panelB;
            gemv_1x16(s, s + GATE_TILE_BYTES, PANEL_WIDTH, ar, p0, p0 + panelB, i0, i0 + PANEL_ROW_BYTES, depth,
                      Activation.Identity);
          }
        }
        for (; g < gates; g++) {
          let init = gates == Gates.GRU && g == 2 ? hb : pr + <usize>g * PANEL_ROW_BYTES;
          let s = scratch + <usize>g * GATE_TILE_BYTES;
          if (ASC_FEATURE_SIMD) {
            gemm_1x8(s, ar, wb + <usize>g * panelB, init, depth, PANEL_WIDTH, Activation.Identity);
          } else {
            gemm_1x8_scalar(s, ar, wb + <usize>g * panelB, init, depth, PANEL_WIDTH, Activation.Identity);
          }
        }
        epilogue(gates, scratch, h + row * ldhB + colB, c + row * ldcB + colB, cPrev + row * ldcPrevB + colB,
                 ar + colB, pr, tape == 0 ? 0 : tape + row * ldtB + colB, tapeGateB, n);
      }
    }
  }
}

/**
 * The new state of PANEL_WIDTH units of one row (the first `n` stored) from
 * the gate pre-activations at s (gate g at s + g·GATE_TILE_BYTES).
 * LSTM: h, c, cPrev. GRU: h, hPrev (the previous state), p (the row's input
 * projection of this block, gate n at p + 2·PANEL_ROW_BYTES). t: where this
 * block's tape goes (gate g at t + g·tGateB), or 0.
 */
// @ts-ignore: decorator
@inline function epilogue(
  gates: i32, s: usize, h: usize, c: usize, cPrev: usize, hPrev: usize, p: usize, t: usize, tGateB: usize, n: i32,
): void {
  if (gates == Gates.LSTM) {
    lstmEpilogue(s, h, c, cPrev, t, tGateB, n);
  } else {
    gruEpilogue(s, h, hPrev, p, t, tGateB, n);
  }
}

/** LSTM's epilogue (see epilogue), four units at a time. */
function lstmEpilogue(s: usize, h: usize, c: usize, cPrev: usize, t: usize, tGateB: usize, n: i32): void {
  for (let u = 0; u < n; u += 4) {
    let o = <usize>u << 2;
    let k = min(4, n - u);
    if (ASC_FEATURE_SIMD) {
      let i = sigmoidV(v128.load(s + o));
      let g = tanhV(v128.load(s + o, 2 * GATE_TILE_BYTES));
      let f = sigmoidV(v128.load(s + o, GATE_TILE_BYTES));
      let cn = madd(f, loadN(cPrev + o, k), f32x4.mul(i, g));
      let og = sigmoidV(v128.load(s + o, 3 * GATE_TILE_BYTES));
      storeN(c + o, cn, k);
      storeN(h + o, f32x4.mul(og, tanhV(cn)), k);
      if (t != 0) storeTape4(t + o, tGateB, i, f, g, og);
    } else {
      for (let l = 0; l < k; l++) {
        let si = s + o + (<usize>l << 2);
        let ci = o + (<usize>l << 2);
        let i = sigmoidS(load<f32>(si));
        let f = sigmoidS(load<f32>(si, GATE_TILE_BYTES));
        let g = tanhS(load<f32>(si, 2 * GATE_TILE_BYTES));
        let og = sigmoidS(load<f32>(si, 3 * GATE_TILE_BYTES));
        let cn = f * load<f32>(cPrev + ci) + i * g;
        store<f32>(c + ci, cn);
        store<f32>(h + ci, og * tanhS(cn));
        if (t != 0) storeTape1(t + ci, tGateB, i, f, g, og);
      }
    }
  }
}

/** Four units of the four tape gates at t (gate g at t + g·tGateB). */
// @ts-ignore: decorator
@inline function storeTape4(t: usize, tGateB: usize, g0: v128, g1: v128, g2: v128, g3: v128): void {
  v128.store(t, g0);
  v128.store(t + tGateB, g1);
  v128.store(t + 2 * tGateB, g2);
  v128.store(t + 3 * tGateB, g3);
}

/** One unit of the four tape gates at t (gate g at t + g·tGateB). */
// @ts-ignore: decorator
@inline function storeTape1(t: usize, tGateB: usize, g0: f32, g1: f32, g2: f32, g3: f32): void {
  store<f32>(t, g0);
  store<f32>(t + tGateB, g1);
  store<f32>(t + 2 * tGateB, g2);
  store<f32>(t + 3 * tGateB, g3);
}

/** GRU's epilogue (see epilogue), four units at a time. */
function gruEpilogue(s: usize, h: usize, hPrev: usize, p: usize, t: usize, tGateB: usize, n: i32): void {
  for (let u = 0; u < n; u += 4) {
    let o = <usize>u << 2;
    let k = min(4, n - u);
    if (ASC_FEATURE_SIMD) {
      let r = sigmoidV(v128.load(s + o));
      let hn = v128.load(s + o, 2 * GATE_TILE_BYTES);
      let nn = tanhV(madd(r, hn, v128.load(p + o, 2 * PANEL_ROW_BYTES)));
      let z = sigmoidV(v128.load(s + o, GATE_TILE_BYTES));
      storeN(h + o, madd(z, f32x4.sub(loadN(hPrev + o, k), nn), nn), k);
      if (t != 0) storeTape4(t + o, tGateB, r, z, nn, hn);
    } else {
      for (let l = 0; l < k; l++) {
        let si = s + o + (<usize>l << 2);
        let hi = o + (<usize>l << 2);
        let r = sigmoidS(load<f32>(si));
        let hn = load<f32>(si, 2 * GATE_TILE_BYTES);
        let nn = tanhS(r * hn + load<f32>(p + hi, 2 * PANEL_ROW_BYTES));
        let z = sigmoidS(load<f32>(si, GATE_TILE_BYTES));
        store<f32>(h + hi, z * (load<f32>(hPrev + hi) - nn) + nn);
        if (t != 0) storeTape1(t + hi, tGateB, r, z, nn, hn);
      }
    }
  }
}
