// The exported entries of the kernel's routines (index.ts exports each under
// its routine's name). An entry checks, before anything is written, that
// every span its routine writes lies in the write window the host named
// (set_write_window, memory.ts), and traps otherwise (contract.ts); then it
// runs the routine. The routines stay unguarded for their callers inside the
// kernel (the layers' per-step gemm) and for the kernel specs: one check per
// written span per export call, none per step or element.
//
// Each span is an upper bound of what its routine writes, computed from the
// same arguments in 64 bits; the sizes it is computed from are checked first,
// as far as the routine would misread them (a negative depth would make
// gemm's packing loop run past its buffer).

import { Gates } from "./abi";
import { gru_layer_backward, lstm_layer_backward, rnn_layer_backward } from "./backward";
import { NO_WINDOW, checkSizes, checkWrite, floatBytes, guardedRows, panelFloats, spanBytes } from "./contract";
import { gemm } from "./gemm";
import { gemm_tn } from "./gemm_tn";
import { gru_layer } from "./gru";
import { lstm_layer } from "./lstm";
import { pack_gate_bias, pack_gate_panels, pack_panels, pack_transposed } from "./pack";
import { rnn_layer } from "./rnn";

/** gemm: writes y, rows × cols floats with row stride ldy. */
export function guardedGemm(
  y: usize, ldy: i32, a: usize, lda: i32, w: usize,
  init: usize, ldinit: i32, rows: i32, depth: i32, cols: i32, act: i32,
): void {
  checkSizes((rows | depth | cols | ldy) >= 0);
  checkWrite(y, spanBytes(rows, cols, ldy));
  gemm(y, ldy, a, lda, w, init, ldinit, rows, depth, cols, act);
}

/** gemm_tn: writes (adds into) c, m × n floats with row stride ldc. */
export function guardedGemmTn(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, rows: i32, m: i32, n: i32,
): void {
  checkSizes((m | n | ldc) >= 0);
  checkWrite(c, spanBytes(m, n, ldc));
  gemm_tn(c, ldc, a, lda, b, ldb, rows, m, n);
}

/** pack_transposed: writes panels, cols rounded up to whole panels × rows floats. */
export function guardedPackTransposed(panels: usize, w: usize, rows: i32, cols: i32): void {
  checkSizes((rows | cols) >= 0);
  checkWrite(panels, floatBytes(panelFloats(cols), <u64>rows));
  pack_transposed(panels, w, rows, cols);
}

/** pack_panels: writes panels, rows rounded up to whole panels × cols floats. */
export function guardedPackPanels(panels: usize, w: usize, rows: i32, cols: i32): void {
  checkSizes((rows | cols) >= 0);
  checkWrite(panels, floatBytes(panelFloats(rows), <u64>cols));
  pack_panels(panels, w, rows, cols);
}

/** pack_gate_panels: writes panels, gates × hidden rounded up to whole panels × cols floats. */
export function guardedPackGatePanels(panels: usize, w: usize, gates: i32, hidden: i32, cols: i32): void {
  checkSizes((gates | hidden | cols) >= 0);
  checkWrite(panels, floatBytes(panelFloats(hidden), <u64>gates, <u64>cols));
  pack_gate_panels(panels, w, gates, hidden, cols);
}

/** pack_gate_bias: writes dst, gates (GRU: 4) × hidden rounded up to whole panels floats. */
export function guardedPackGateBias(dst: usize, b_ih: usize, b_hh: usize, gates: i32, hidden: i32): void {
  checkSizes((gates | hidden) >= 0);
  checkWrite(dst, floatBytes(panelFloats(hidden), <u64>(gates == Gates.GRU ? 4 : gates)));
  pack_gate_bias(dst, b_ih, b_hh, gates, hidden);
}

/**
 * The sizes every layer entry refuses unless valid, as its routine asserts
 * them: the time loop and the projections run on these without a check.
 */
// @ts-ignore: decorator
@inline function layerSizesValid(steps: i32, hidden: i32, inputs: i32, ldx: i32, dirs: i32): bool {
  return steps > 0 && hidden > 0 && inputs > 0 && ldx >= inputs && (dirs == 1 || dirs == 2);
}

/** rnn_layer: writes y (rows × dirs·hidden) and p (rows × dirs·H8). */
export function guardedRnnLayer(
  y: usize, x: usize, ldx: i32, inputs: i32, p: usize,
  w_ih: usize, bias: usize, w_hh: usize, h0: usize,
  batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, act: i32,
): void {
  checkSizes(layerSizesValid(steps, hidden, inputs, ldx, dirs));
  let rows = guardedRows(batch_sizes, steps);
  checkWrite(y, floatBytes(rows, <u64>dirs, <u64>hidden));
  checkWrite(p, floatBytes(rows, <u64>dirs, panelFloats(hidden)));
  rnn_layer(y, x, ldx, inputs, p, w_ih, bias, w_hh, h0, batch_sizes, steps, hidden, dirs, act);
}

/** The training tape of a gated layer, when it keeps one: rows × dirs·4·H8 floats (0 bytes for tape = 0). */
// @ts-ignore: decorator
@inline function tapeBytes(tape: usize, rows: u64, dirs: i32, hidden: i32): u64 {
  return tape == 0 ? 0 : floatBytes(rows, <u64>(dirs * 4), panelFloats(hidden));
}

/** gru_layer: writes y (rows × dirs·hidden), p (rows × dirs·3·H8) and the tape. */
export function guardedGruLayer(
  y: usize, x: usize, ldx: i32, inputs: i32, p: usize, w_ih: usize, bias: usize, w_hh: usize, h0: usize,
  batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, tape: usize,
): void {
  checkSizes(layerSizesValid(steps, hidden, inputs, ldx, dirs));
  let rows = guardedRows(batch_sizes, steps);
  checkWrite(y, floatBytes(rows, <u64>dirs, <u64>hidden));
  checkWrite(p, floatBytes(rows, <u64>(dirs * Gates.GRU), panelFloats(hidden)));
  checkWrite(tape, tapeBytes(tape, rows, dirs, hidden));
  gru_layer(y, x, ldx, inputs, p, w_ih, bias, w_hh, h0, batch_sizes, steps, hidden, dirs, tape);
}

/**
 * lstm_layer: writes y (rows × dirs·out), c (rows × dirs·hidden), p (rows ×
 * dirs·4·H8), with a projection m (dirs·batch_sizes[0]·H8), and the tape.
 */
export function guardedLstmLayer(
  y: usize, c: usize, x: usize, ldx: i32, inputs: i32, p: usize, w_ih: usize, bias: usize, w_hh: usize,
  w_hr: usize, m: usize, h0: usize, c0: usize, batch_sizes: usize, steps: i32, hidden: i32, proj: i32, dirs: i32,
  tape: usize,
): void {
  checkSizes(layerSizesValid(steps, hidden, inputs, ldx, dirs) && proj >= 0);
  let rows = guardedRows(batch_sizes, steps);
  let out = proj > 0 ? proj : hidden;
  checkWrite(y, floatBytes(rows, <u64>dirs, <u64>out));
  checkWrite(c, floatBytes(rows, <u64>dirs, <u64>hidden));
  checkWrite(p, floatBytes(rows, <u64>(dirs * Gates.LSTM), panelFloats(hidden)));
  if (proj > 0) checkWrite(m, floatBytes(<u64>load<i32>(batch_sizes), <u64>dirs, panelFloats(hidden)));
  checkWrite(tape, tapeBytes(tape, rows, dirs, hidden));
  lstm_layer(y, c, x, ldx, inputs, p, w_ih, bias, w_hh, w_hr, m, h0, c0, batch_sizes, steps, hidden, proj, dirs, tape);
}

/** Bytes of a gradient block (TRAIN-ABI.md §4), at least NO_WINDOW past 4 GiB (f64: no wrap). */
// @ts-ignore: decorator
@inline function gradsBytes(gates: i32, hidden: i32, inputs: i32, out: i32, proj: i32, dirs: i32): u64 {
  let floats = <f64>dirs * (<f64>gates * <f64>hidden * (<f64>inputs + <f64>out + 2) + <f64>proj * <f64>hidden);
  return floats < <f64>NO_WINDOW ? <u64>floats << 2 : NO_WINDOW << 2;
}

/**
 * The spans every layer backward writes: dx (rows × inputs, unless 0), dy (rows ×
 * dirs·out), dg (rows × dirs·(2·gates + 1)·H8), dh0 (dirs × batch0 × out)
 * and the gradient block. Returns rows.
 */
function checkBackwardWrites(
  dx: usize, dy: usize, dg: usize, dh0: usize, grads: usize, batch_sizes: usize, steps: i32, gates: i32,
  hidden: i32, inputs: i32, out: i32, proj: i32, dirs: i32,
): u64 {
  let rows = guardedRows(batch_sizes, steps);
  if (dx != 0) checkWrite(dx, floatBytes(rows, <u64>inputs));
  checkWrite(dy, floatBytes(rows, <u64>dirs, <u64>out));
  checkWrite(dg, floatBytes(rows, <u64>(dirs * (2 * gates + 1)), panelFloats(hidden)));
  checkWrite(dh0, floatBytes(<u64>load<i32>(batch_sizes), <u64>dirs, <u64>out));
  checkWrite(grads, gradsBytes(gates, hidden, inputs, out, proj, dirs));
  return rows;
}

/** rnn_layer_backward: writes dx, dy, dg, dh0 and grads (checkBackwardWrites). */
export function guardedRnnLayerBackward(
  dx: usize, dy: usize, dg: usize, x: usize, ldx: i32, inputs: i32, y: usize, h0: usize, dh0: usize,
  wt_ih: usize, wt_hh: usize, grads: usize, batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, act: i32,
): void {
  checkSizes(layerSizesValid(steps, hidden, inputs, ldx, dirs));
  checkBackwardWrites(dx, dy, dg, dh0, grads, batch_sizes, steps, Gates.Elman, hidden, inputs, hidden, 0, dirs);
  rnn_layer_backward(dx, dy, dg, x, ldx, inputs, y, h0, dh0, wt_ih, wt_hh, grads, batch_sizes, steps, hidden, dirs,
                     act);
}

/** gru_layer_backward: writes dx, dy, dg, dh0 and grads (checkBackwardWrites). */
export function guardedGruLayerBackward(
  dx: usize, dy: usize, dg: usize, x: usize, ldx: i32, inputs: i32, y: usize, h0: usize, dh0: usize,
  tape: usize, wt_ih: usize, wt_hh: usize, grads: usize, batch_sizes: usize, steps: i32, hidden: i32, dirs: i32,
): void {
  checkSizes(layerSizesValid(steps, hidden, inputs, ldx, dirs));
  checkBackwardWrites(dx, dy, dg, dh0, grads, batch_sizes, steps, Gates.GRU, hidden, inputs, hidden, 0, dirs);
  gru_layer_backward(dx, dy, dg, x, ldx, inputs, y, h0, dh0, tape, wt_ih, wt_hh, grads, batch_sizes, steps, hidden,
                     dirs);
}

/**
 * lstm_layer_backward: writes dx, dy, dg, dh0 and grads (checkBackwardWrites),
 * dc (rows × dirs·hidden) and dc0 (dirs × batch0 × hidden); proj < hidden
 * keeps the gathered previous states inside their dg slot.
 */
export function guardedLstmLayerBackward(
  dx: usize, dy: usize, dc: usize, dg: usize, x: usize, ldx: i32, inputs: i32, y: usize, c: usize, h0: usize,
  c0: usize, dh0: usize, dc0: usize, tape: usize, wt_ih: usize, wt_hh: usize, wt_hr: usize, grads: usize,
  batch_sizes: usize, steps: i32, hidden: i32, proj: i32, dirs: i32,
): void {
  checkSizes(layerSizesValid(steps, hidden, inputs, ldx, dirs) && proj >= 0 && proj < hidden);
  let out = proj > 0 ? proj : hidden;
  let rows = checkBackwardWrites(dx, dy, dg, dh0, grads, batch_sizes, steps, Gates.LSTM, hidden, inputs, out, proj,
                                 dirs);
  checkWrite(dc, floatBytes(rows, <u64>dirs, <u64>hidden));
  checkWrite(dc0, floatBytes(<u64>load<i32>(batch_sizes), <u64>dirs, <u64>hidden));
  lstm_layer_backward(dx, dy, dc, dg, x, ldx, inputs, y, c, h0, c0, dh0, dc0, tape, wt_ih, wt_hh, wt_hr, grads,
                      batch_sizes, steps, hidden, proj, dirs);
}
