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
import { checkSizes, checkWrite, floatBytes, guardedRows, panelFloats, spanBytes } from "./contract";
import { gemm } from "./gemm";
import { gru_layer } from "./gru";
import { lstm_layer } from "./lstm";
import { pack_gate_bias, pack_gate_panels, pack_panels } from "./pack";
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
 * What every layer entry checks: its sizes, as its routine asserts them (the
 * time loop and the projections run on them unchecked), then its spans of
 * rows floats each, rows being the sum of the batch sizes: y (dirs·yWidth
 * per row), c (dirs·cWidth; 0 for none) and p (dirs·gates·H8).
 */
function guardLayer(
  batch_sizes: usize, steps: i32, hidden: i32, inputs: i32, ldx: i32, dirs: i32, gates: i32,
  y: usize, yWidth: i32, c: usize, cWidth: i32, p: usize,
): void {
  checkSizes(steps > 0 && hidden > 0 && inputs > 0 && ldx >= inputs && (dirs == 1 || dirs == 2));
  let rows = guardedRows(batch_sizes, steps);
  checkWrite(y, floatBytes(rows, <u64>dirs, <u64>yWidth));
  checkWrite(c, floatBytes(rows, <u64>dirs, <u64>cWidth));
  checkWrite(p, floatBytes(rows, <u64>(dirs * gates), panelFloats(hidden)));
}

/** rnn_layer: writes y (rows × dirs·hidden) and p (rows × dirs·H8). */
export function guardedRnnLayer(
  y: usize, x: usize, ldx: i32, inputs: i32, p: usize,
  w_ih: usize, bias: usize, w_hh: usize, h0: usize,
  batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, act: i32,
): void {
  guardLayer(batch_sizes, steps, hidden, inputs, ldx, dirs, Gates.Elman, y, hidden, 0, 0, p);
  rnn_layer(y, x, ldx, inputs, p, w_ih, bias, w_hh, h0, batch_sizes, steps, hidden, dirs, act);
}

/** gru_layer: writes y (rows × dirs·hidden) and p (rows × dirs·3·H8). */
export function guardedGruLayer(
  y: usize, x: usize, ldx: i32, inputs: i32, p: usize, w_ih: usize, bias: usize, w_hh: usize, h0: usize,
  batch_sizes: usize, steps: i32, hidden: i32, dirs: i32,
): void {
  guardLayer(batch_sizes, steps, hidden, inputs, ldx, dirs, Gates.GRU, y, hidden, 0, 0, p);
  gru_layer(y, x, ldx, inputs, p, w_ih, bias, w_hh, h0, batch_sizes, steps, hidden, dirs);
}

/**
 * lstm_layer: writes y (rows × dirs·out), c (rows × dirs·hidden), p (rows ×
 * dirs·4·H8) and, with a projection, m (dirs·batch_sizes[0]·H8).
 */
export function guardedLstmLayer(
  y: usize, c: usize, x: usize, ldx: i32, inputs: i32, p: usize, w_ih: usize, bias: usize, w_hh: usize,
  w_hr: usize, m: usize, h0: usize, c0: usize, batch_sizes: usize, steps: i32, hidden: i32, proj: i32, dirs: i32,
): void {
  checkSizes(proj >= 0);
  guardLayer(batch_sizes, steps, hidden, inputs, ldx, dirs, Gates.LSTM, y, proj > 0 ? proj : hidden, c, hidden, p);
  if (proj > 0) checkWrite(m, floatBytes(<u64>load<i32>(batch_sizes), <u64>dirs, panelFloats(hidden)));
  lstm_layer(y, c, x, ldx, inputs, p, w_ih, bias, w_hh, w_hr, m, h0, c0, batch_sizes, steps, hidden, proj, dirs);
}
