// Operand packing for the GEMM microkernels. Weights, once per load: a PyTorch
// weight (outputs × inputs, row-major) becomes column panels
// [ceil(outputs/8)][inputs][8], after XNNPACK's goi packing for NR = 8 (without
// the bias, which the kernels take separately); gate weights interleave their
// gates block by block, so that one hidden block's gates are adjacent panels.
// The left operand, per call: rows interleaved four at a time,
// [ceil(rows/4)][depth][4] (MR = 4).

import { PANEL_WIDTH, Gates } from "./abi";
import { aligned16, inMemory } from "./contract";

/** Bytes of one k-row of a panel. */
// @ts-ignore: decorator
@inline export const PANEL_ROW_BYTES: usize = <usize>PANEL_WIDTH << 2;

/** `n` rounded up to a multiple of PANEL_WIDTH. */
// @ts-ignore: decorator
@inline export function roundUpToPanel(n: i32): i32 {
  return (n + PANEL_WIDTH - 1) & -PANEL_WIDTH;
}

/** Bytes of one panel over `depth` k-rows. */
// @ts-ignore: decorator
@inline export function panelBytes(depth: i32): usize {
  return <usize>depth * PANEL_ROW_BYTES;
}

/**
 * Packs `w` (rows × cols f32, row-major, any 4-byte alignment, caller-owned)
 * into `panels` (roundUpToPanel(rows)·cols f32, 16-byte aligned,
 * caller-owned); columns past `rows` in the last panel are zero.
 */
export function pack_panels(panels: usize, w: usize, rows: i32, cols: i32): void {
  assert(aligned16(panels), "pack_panels: panels must be 16-byte aligned");
  assert(rows > 0 && cols >= 0, "pack_panels: rows must be > 0 and cols >= 0");
  assert(inMemory(w, <u64>rows * <u64>cols << 2), "pack_panels: w out of bounds");
  assert(inMemory(panels, <u64>roundUpToPanel(rows) * <u64>cols << 2), "pack_panels: panels out of bounds");
  for (let j = 0; j < rows; j += PANEL_WIDTH) {
    packPanel(panels + <usize>(j / PANEL_WIDTH) * panelBytes(cols), w, j, rows, cols);
  }
}

/**
 * Packs a PyTorch gate weight `w` ((gates·hidden) × cols f32, row-major, row
 * g·hidden + j = unit j of gate g; any 4-byte alignment) into `panels`
 * (gates·H8·cols f32, H8 = hidden rounded up to PANEL_WIDTH, 16-byte aligned):
 * for each hidden block b, for each gate g, one panel [cols][8] of rows
 * g·hidden + 8b + c (zero when 8b + c ≥ hidden). As a GEMM right operand,
 * output column (b·gates + g)·8 + c is unit 8b + c of gate g.
 * gates: 1 (then the layout is pack_panels'), 3 (GRU) or 4 (LSTM).
 */
export function pack_gate_panels(panels: usize, w: usize, gates: i32, hidden: i32, cols: i32): void {
  assert(aligned16(panels), "pack_gate_panels: panels must be 16-byte aligned");
  assert(gates == Gates.Elman || gates == Gates.GRU || gates == Gates.LSTM, "pack_gate_panels: gates must be 1, 3 or 4");
  assert(hidden > 0 && cols >= 0, "pack_gate_panels: hidden must be > 0 and cols >= 0");
  assert(inMemory(w, <u64>gates * <u64>hidden * <u64>cols << 2), "pack_gate_panels: w out of bounds");
  assert(inMemory(panels, <u64>gates * <u64>roundUpToPanel(hidden) * <u64>cols << 2),
         "pack_gate_panels: panels out of bounds");
  let dst = panels;
  let gateB = (<usize>hidden * <usize>cols) << 2;
  for (let j = 0; j < hidden; j += PANEL_WIDTH) {
    for (let g = 0; g < gates; g++) {
      packPanel(dst, w + <usize>g * gateB, j, hidden, cols);
      dst += panelBytes(cols);
    }
  }
}

/**
 * Packs the transpose of `w` (rows × cols f32, row-major, any 4-byte
 * alignment) as pack_panels packs a cols × rows weight, into `panels`
 * (roundUpToPanel(cols)·rows f32, 16-byte aligned): panel b, k-row k holds
 * w[k][8b .. 8b + 7], zeros past cols. gemm(…, a, …, panels, depth = rows,
 * cols) then computes a·w: the backward products dG·W (TRAIN-ABI.md §2).
 */
export function pack_transposed(panels: usize, w: usize, rows: i32, cols: i32): void {
  assert(aligned16(panels), "pack_transposed: panels must be 16-byte aligned");
  assert(rows >= 0 && cols > 0, "pack_transposed: rows must be >= 0 and cols > 0");
  assert(inMemory(w, <u64>rows * <u64>cols << 2), "pack_transposed: w out of bounds");
  assert(inMemory(panels, <u64>roundUpToPanel(cols) * <u64>rows << 2), "pack_transposed: panels out of bounds");
  let dst = panels;
  let ldwB = <usize>cols << 2;
  for (let j = 0; j < cols; j += PANEL_WIDTH) {
    let n = min(PANEL_WIDTH, cols - j);
    let src = w + (<usize>j << 2);
    for (let k = 0; k < rows; k++) {
      if (ASC_FEATURE_SIMD && n == PANEL_WIDTH) {
        // A whole panel row is two v128 (once per optimizer step on every weight).
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += PANEL_ROW_BYTES;
      } else {
        for (let c = 0; c < PANEL_WIDTH; c++) {
          store<f32>(dst, c < n ? load<f32>(src + (<usize>c << 2)) : 0);
          dst += 4;
        }
      }
      src += ldwB;
    }
  }
}

/** One panel: rows j .. j + 7 of `w` (rows × cols), zeros for rows ≥ `rows`. */
function packPanel(dst: usize, w: usize, j: i32, rows: i32, cols: i32): void {
  for (let k = 0; k < cols; k++) {
    for (let c = 0; c < PANEL_WIDTH; c++) {
      let r = j + c;
      let v: f32 = r < rows ? load<f32>(w + ((<usize>r * <usize>cols + <usize>k) << 2)) : 0;
      store<f32>(dst, v);
      dst += 4;
    }
  }
}

/**
 * The bias of one direction of a gated layer, in pack_gate_panels' column
 * order, as the layers take it. b_ih, b_hh: gates·hidden f32 each (any 4-byte
 * alignment), or 0 for no bias (zeros). dst (4-byte aligned, caller-owned):
 * - gates 4 (LSTM): 4·H8 floats, b_ih + b_hh interleaved;
 * - gates 3 (GRU): 4·H8 floats: 3·H8 interleaved (r, z: b_ih + b_hh; n: b_ih
 *   only), then b_hn (b_hh of gate n) in plain unit order;
 * - gates 1 (Elman): H8 floats, b_ih + b_hh.
 * Padding units are zero. H8 = hidden rounded up to PANEL_WIDTH.
 */
export function pack_gate_bias(dst: usize, b_ih: usize, b_hh: usize, gates: i32, hidden: i32): void {
  assert(gates == Gates.Elman || gates == Gates.GRU || gates == Gates.LSTM, "pack_gate_bias: gates must be 1, 3 or 4");
  assert(hidden > 0, "pack_gate_bias: hidden must be > 0");
  let h8 = roundUpToPanel(hidden);
  let n = <u64>gates * <u64>hidden << 2;
  assert(b_ih == 0 || inMemory(b_ih, n), "pack_gate_bias: b_ih out of bounds");
  assert(b_hh == 0 || inMemory(b_hh, n), "pack_gate_bias: b_hh out of bounds");
  assert(inMemory(dst, <u64>(gates == Gates.GRU ? 4 : gates) * <u64>h8 << 2), "pack_gate_bias: dst out of bounds");
  for (let j = 0; j < h8; j += PANEL_WIDTH) {
    for (let g = 0; g < gates; g++) {
      // GRU's b_hn is applied inside r ⊙ (W_hn h + b_hn), not with the input.
      let withHidden = gates != Gates.GRU || g != 2;
      for (let c = 0; c < PANEL_WIDTH; c++) {
        let i = g * hidden + j + c;
        let v: f32 = 0;
        if (j + c < hidden) v = biasAt(b_ih, i) + (withHidden ? biasAt(b_hh, i) : 0);
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
  if (gates == Gates.GRU) {
    for (let j = 0; j < h8; j++) {
      store<f32>(dst, j < hidden ? biasAt(b_hh, 2 * hidden + j) : 0);
      dst += 4;
    }
  }
}

/** b[i], or 0 when there is no bias (b = 0). */
// @ts-ignore: decorator
@inline function biasAt(b: usize, i: i32): f32 {
  return b == 0 ? 0 : load<f32>(b + (<usize>i << 2));
}

/**
 * Packs `rows` rows of `a` (f32, row stride `lda` floats, first `depth` used,
 * 4-byte aligned) into `dst` (ceil(rows/4)·depth·4 f32, caller-owned) as
 * [ceil(rows/4)][depth][4]: per k, one float from each of four rows; rows
 * past `rows` in the last group are zero.
 */
export function packRows4(dst: usize, a: usize, lda: i32, rows: i32, depth: i32): void {
  let ldaB = <usize>lda << 2;
  let kEnd = <usize>depth << 2;
  for (let r = 0; r < rows; r += 4) {
    let a0 = a + <usize>r * ldaB;
    let m = min(4, rows - r);
    if (m == 4) {
      let a1 = a0 + ldaB;
      let a2 = a1 + ldaB;
      let a3 = a2 + ldaB;
      for (let k: usize = 0; k < kEnd; k += 4) {
        store<f32>(dst, load<f32>(a0 + k));
        store<f32>(dst, load<f32>(a1 + k), 4);
        store<f32>(dst, load<f32>(a2 + k), 8);
        store<f32>(dst, load<f32>(a3 + k), 12);
        dst += 16;
      }
    } else {
      for (let k: usize = 0; k < kEnd; k += 4) {
        for (let i = 0; i < 4; i++) {
          store<f32>(dst, i < m ? load<f32>(a0 + <usize>i * ldaB + k) : 0);
          dst += 4;
        }
      }
    }
  }
}
