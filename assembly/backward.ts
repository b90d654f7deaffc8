// Backward through time of one recurrent layer, every direction (TRAIN-ABI.md
// §5): the reverse of layer.ts's time loop computes each step's gate
// gradients (gates_backward.ts) and passes dL/dh (and dL/dc) to the previous
// step with one GEMM against the transposed recurrent weights; everything
// that does not feed back — dW_ih, dW_hh, db, dx and dW_hr — is then one GEMM
// or one pass over all rows of the gate gradients.
//
// Scratch dg: per row and direction a block of (2·G + 1)·H8 floats, slot s at
// s·H8 (H8 = hidden rounded up to PANEL_WIDTH):
//   [0, G·H8)      dG, the input-side gate gradients, G·hidden floats unpadded;
//   [G·H8, 2G·H8)  GRU: the hidden-side dG (gate n: dn ⊙ r);
//                  LSTM: m = o ⊙ tanh c at G·H8, dL/dm at (G + 1)·H8 (projection);
//   [2G·H8, …)     the row's previous state (out floats), gathered for dW_hh.

import { Activation, Gates } from "./abi";
import { aligned16, inMemory, spanBytes } from "./contract";
import { gemm, gemmDeep } from "./gemm";
import { gemm_tn } from "./gemm_tn";
import { elmanRowBackward, gruRowBackward, lstmRowBackward } from "./gates_backward";
import { countRows, previous, previousStride } from "./layer";
import { roundUpToPanel } from "./pack";

/** The running backward's operands, for its step callback; one call at a time. */
@unmanaged class Backward {
  gates: i32; act: i32; hidden: i32; out: i32; proj: i32; dirs: i32; batch0: i32;
  dy: usize; dc: usize; dg: usize; y: usize; c: usize; h0: usize; c0: usize; dh0: usize; dc0: usize;
  tape: usize; wt_hh: usize; wt_hr: usize;
}
const layer = changetype<Backward>(memory.data(offsetof<Backward>(), 16));

/** Floats of one direction's block of a dg row (the file comment). */
// @ts-ignore: decorator
@inline function blockFloats(gates: i32, hidden: i32): i32 {
  return (2 * gates + 1) * roundUpToPanel(hidden);
}

/**
 * Runs backwardStep on every segment of layer.ts's timeLoop in the reverse order:
 * the forward direction from its last step down, the reverse direction from
 * step 0 up, so a step runs after every step that continued from it.
 */
function reverseTimeLoop(batch_sizes: usize, steps: i32, rows: i32, dirs: i32): void {
  let fwdOff = rows;
  let revOff = 0;
  for (let s = steps - 1; s >= 0; s--) {
    let bs = load<i32>(batch_sizes + (<usize>s << 2));
    fwdOff -= bs;
    backwardStep(0, fwdOff, bs, s == 0 ? ~0 : fwdOff - load<i32>(batch_sizes + (<usize>(s - 1) << 2)));
    if (dirs == 2) {
      let t = steps - 1 - s;
      let bt = load<i32>(batch_sizes + (<usize>t << 2));
      let carried = t + 1 < steps ? load<i32>(batch_sizes + (<usize>(t + 1) << 2)) : 0;
      if (carried > 0) backwardStep(1, revOff, carried, revOff + bt);
      if (bt > carried) backwardStep(1, revOff + carried, bt - carried, ~carried);
      revOff += bt;
    }
  }
}

/**
 * One segment (layer.ts's Step): gate gradients of its rows, the previous
 * states gathered for dW_hh, and dL/d(previous h) (and c) passed on — added
 * into dy (dc) rows, or written to dh0 (dc0) for initial states.
 */
function backwardStep(d: i32, row: i32, count: i32, prev: i32): void {
  let gates = layer.gates;
  let hidden = layer.hidden;
  let out = layer.out;
  let dirs = layer.dirs;
  let h8 = roundUpToPanel(hidden);
  let hiddenB = <usize>hidden << 2;
  let outB = <usize>out << 2;
  let h8B = <usize>h8 << 2;
  let ldy = dirs * out;
  let ldyB = <usize>ldy << 2;
  let ldcB = <usize>dirs * hiddenB;
  let blockB = <usize>blockFloats(gates, hidden) << 2;
  let ldg = dirs * blockFloats(gates, hidden);
  let ldgB = <usize>ldg << 2;
  let accumulate = prev >= 0;
  let hPrev = previous(layer.y, ldyB, layer.h0, layer.batch0, outB, d, prev);
  let hPrevStrideB = previousStride(ldyB, outB, prev);
  let dhPrev = previous(layer.dy, ldyB, layer.dh0, layer.batch0, outB, d, prev);
  let dhPrevStrideB = previousStride(ldyB, outB, prev);
  let cPrev = previous(layer.c, ldcB, layer.c0, layer.batch0, hiddenB, d, prev);
  let dcPrev = previous(layer.dc, ldcB, layer.dc0, layer.batch0, hiddenB, d, prev);
  let cPrevStrideB = previousStride(ldcB, hiddenB, prev);
  let dy = layer.dy + <usize>row * ldyB + <usize>d * outB;
  let dg = layer.dg + <usize>row * ldgB + <usize>d * blockB;
  let proj = layer.proj;
  if (proj > 0) {
    // dL/dm = dL/dh · W_hr, for the cell's epilogue.
    gemm(dg + <usize>(gates + 1) * h8B, ldg, dy, ldy,
         layer.wt_hr + <usize>d * <usize>h8 * <usize>proj * 4, 0, 0, count, proj, hidden, Activation.Identity);
  }
  for (let i = 0; i < count; i++) {
    let r = <usize>i;
    let dgRow = dg + r * ldgB;
    memory.copy(dgRow + <usize>(2 * gates) * h8B, hPrev + r * hPrevStrideB, outB);
    let dyRow = dy + r * ldyB;
    let t = layer.tape + (<usize>(row + i) * <usize>dirs + <usize>d) * 4 * h8B;
    if (gates == Gates.LSTM) {
      let dcRow = layer.dc + <usize>(row + i) * ldcB + <usize>d * hiddenB;
      let cRow = layer.c + <usize>(row + i) * ldcB + <usize>d * hiddenB;
      lstmRowBackward(dgRow, proj > 0 ? dgRow + <usize>(gates + 1) * h8B : dyRow, dcRow, cRow,
                      cPrev + r * cPrevStrideB, dcPrev + r * cPrevStrideB, accumulate, t, h8B,
                      proj > 0 ? dgRow + <usize>gates * h8B : 0, hidden);
    } else if (gates == Gates.GRU) {
      gruRowBackward(dgRow, dgRow + <usize>gates * h8B, dyRow, hPrev + r * hPrevStrideB,
                     dhPrev + r * dhPrevStrideB, accumulate, t, h8B, hidden);
    } else {
      elmanRowBackward(dgRow, dyRow, layer.y + <usize>(row + i) * ldyB + <usize>d * outB, layer.act, hidden);
    }
  }
  // dL/dhPrev (+)= dG_hidden · W_hh; GRU's direct term is already there.
  let dGh = gates == Gates.GRU ? dg + <usize>gates * h8B : dg;
  let into = accumulate || gates == Gates.GRU;
  gemmDeep(dhPrev, <i32>(dhPrevStrideB >> 2), dGh, ldg,
           layer.wt_hh + <usize>d * <usize>roundUpToPanel(out) * <usize>(gates * hidden) * 4,
           into ? dhPrev : 0, into ? <i32>(dhPrevStrideB >> 2) : 0, count, gates * hidden, out);
}

/**
 * What every kind's backward shares once the operands are in `layer`: the
 * reverse time loop, then per direction dW_ih += dGᵀ·x, dW_hh += dG_hᵀ·h_prev,
 * db_ih, db_hh (column sums), dW_hr += dyᵀ·m, and dx = Σ_d dG·W_ih unless
 * dx = 0 (an input nobody differentiates, whose GEMM PyTorch skips too).
 * grads: the gradient block (TRAIN-ABI.md §4).
 */
function run(dx: usize, x: usize, ldx: i32, inputs: i32, wt_ih: usize, grads: usize, batch_sizes: usize,
             steps: i32, rows: i32): void {
  let gates = layer.gates;
  let hidden = layer.hidden;
  let out = layer.out;
  let dirs = layer.dirs;
  let proj = layer.proj;
  let h8 = roundUpToPanel(hidden);
  let gh = gates * hidden;
  let ldg = dirs * blockFloats(gates, hidden);
  reverseTimeLoop(batch_sizes, steps, rows, dirs);
  let dWih = grads;
  let dWhh = dWih + (<usize>(dirs * gh) * <usize>inputs << 2);
  let dbih = dWhh + (<usize>(dirs * gh) * <usize>out << 2);
  let dbhh = dbih + (<usize>(dirs * gh) << 2);
  let dWhr = dbhh + (<usize>(dirs * gh) << 2);
  for (let d = 0; d < dirs; d++) {
    let dG = layer.dg + (<usize>(d * blockFloats(gates, hidden)) << 2);
    let dGh = gates == Gates.GRU ? dG + (<usize>(gates * h8) << 2) : dG;
    let gathered = dG + (<usize>(2 * gates * h8) << 2);
    gemm_tn(dWih + (<usize>(d * gh) * <usize>inputs << 2), inputs, dG, ldg, x, ldx, rows, gh, inputs);
    gemm_tn(dWhh + (<usize>(d * gh) * <usize>out << 2), out, dGh, ldg, gathered, ldg, rows, gh, out);
    addColumnSums(dbih + (<usize>(d * gh) << 2), dG, ldg, rows, gh);
    addColumnSums(dbhh + (<usize>(d * gh) << 2), dGh, ldg, rows, gh);
    if (proj > 0) {
      gemm_tn(dWhr + (<usize>(d * proj) * <usize>hidden << 2), hidden, layer.dy + (<usize>(d * proj) << 2),
              dirs * proj, dG + (<usize>(gates * h8) << 2), ldg, rows, proj, hidden);
    }
    if (dx == 0) continue;
    gemmDeep(dx, inputs, dG, ldg, wt_ih + (<usize>roundUpToPanel(inputs) * <usize>gh * <usize>d << 2),
             d == 0 ? 0 : dx, d == 0 ? 0 : inputs, rows, gh, inputs);
  }
}

/** Rows per partial sum of addColumnSums. */
// @ts-ignore: decorator
@inline const SUM_ROWS: i32 = 64;
/** Columns per pass of addColumnSums. */
// @ts-ignore: decorator
@inline const SUM_COLS: i32 = 1024;
/** The partial sums of one pass of addColumnSums. */
const partial: usize = memory.data(SUM_COLS << 2, 16);

/**
 * b[j] += Σ_r a[r][j] for j < n (a: rows × n, row stride lda floats; any
 * 4-byte alignment). Rows are summed in blocks of SUM_ROWS from zero, each
 * block then added to b: rounding like SUM_ROWS + rows/SUM_ROWS additions
 * (as gemm_tn's chunks), not `rows` in a row.
 */
function addColumnSums(b: usize, a: usize, lda: i32, rows: i32, n: i32): void {
  let ldaB = <usize>lda << 2;
  for (let j0 = 0; j0 < n; j0 += SUM_COLS) {
    let nB = <usize>min(SUM_COLS, n - j0) << 2;
    let aj = a + (<usize>j0 << 2);
    for (let r0 = 0; r0 < rows; r0 += SUM_ROWS) {
      memory.fill(partial, 0, nB);
      let end = min(rows, r0 + SUM_ROWS);
      for (let r = r0; r < end; r++) addRow(partial, aj + <usize>r * ldaB, nB);
      addRow(b + (<usize>j0 << 2), partial, nB);
    }
  }
}

/** dst[j] += src[j] over nB bytes of floats. */
function addRow(dst: usize, src: usize, nB: usize): void {
  let o: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; o + 16 <= nB; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; o < nB; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
}

/**
 * Checks the operands every kind's backward takes (debug builds), puts them in
 * `layer` (the LSTM's own ones cleared) and returns the row count.
 */
function prepare(
  name: string, gates: i32, dx: usize, dy: usize, dg: usize, x: usize, ldx: i32, inputs: i32, y: usize, h0: usize,
  dh0: usize, wt_ih: usize, wt_hh: usize, grads: usize, batch_sizes: usize, steps: i32, hidden: i32, out: i32,
  dirs: i32,
): i32 {
  assert(steps > 0 && hidden > 0 && inputs > 0 && ldx >= inputs && (dirs == 1 || dirs == 2), name);
  assert(inMemory(batch_sizes, <u64>steps << 2), name);
  let rows = countRows(batch_sizes, steps);
  assert(rows > 0, name);
  let batch0 = load<i32>(batch_sizes);
  let gh = <u64>(gates * hidden);
  assert(aligned16(dg) && aligned16(wt_ih) && aligned16(wt_hh), name);
  assert(dx == 0 || inMemory(dx, <u64>rows * <u64>inputs << 2), name);
  assert(inMemory(dy, <u64>rows * <u64>(dirs * out) << 2), name);
  assert(inMemory(dg, <u64>rows * <u64>(dirs * blockFloats(gates, hidden)) << 2), name);
  assert(inMemory(x, spanBytes(rows, inputs, ldx)), name);
  assert(inMemory(y, <u64>rows * <u64>(dirs * out) << 2), name);
  assert(inMemory(h0, <u64>(dirs * batch0) * <u64>out << 2), name);
  assert(inMemory(dh0, <u64>(dirs * batch0) * <u64>out << 2), name);
  assert(inMemory(wt_ih, <u64>dirs * <u64>roundUpToPanel(inputs) * gh << 2), name);
  assert(inMemory(wt_hh, <u64>dirs * <u64>roundUpToPanel(out) * gh << 2), name);
  assert(inMemory(grads, <u64>dirs * gh * <u64>(inputs + out + 2) << 2), name);
  layer.gates = gates;
  layer.dy = dy;
  layer.dg = dg;
  layer.y = y;
  layer.h0 = h0;
  layer.dh0 = dh0;
  layer.wt_hh = wt_hh;
  layer.batch0 = batch0;
  layer.hidden = hidden;
  layer.out = out;
  layer.dirs = dirs;
  layer.proj = 0;
  layer.act = Activation.Identity;
  layer.tape = 0;
  layer.c = 0;
  layer.c0 = 0;
  layer.dc = 0;
  layer.dc0 = 0;
  layer.wt_hr = 0;
  return rows;
}

/**
 * Backward of rnn_layer (TRAIN-ABI.md §5) over its `rows` rows and `dirs`
 * directions. x, ldx, inputs, y, h0, batch_sizes: what the forward got and
 * made. dy (rows × dirs·hidden, in/out): dL/dy, gradHn included; scratch
 * afterwards. dx (rows × inputs; 0: not computed) and dh0 (dirs × batch0 ×
 * hidden) are written;
 * grads (dW_ih | dW_hh | db_ih | db_hh) accumulated. dg: scratch of
 * rows × dirs × 3·H8 floats, 16-byte aligned. wt_ih, wt_hh: the directions'
 * pack_transposed(W_ih, hidden, inputs) and pack_transposed(W_hh, hidden,
 * hidden), one after another, 16-byte aligned. act: tanh or relu.
 */
export function rnn_layer_backward(
  dx: usize, dy: usize, dg: usize, x: usize, ldx: i32, inputs: i32, y: usize, h0: usize, dh0: usize,
  wt_ih: usize, wt_hh: usize, grads: usize, batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, act: i32,
): void {
  assert(act == Activation.Tanh || act == Activation.Relu, "rnn_layer_backward: act must be tanh or relu");
  let rows = prepare("rnn_layer_backward: bad operands", Gates.Elman, dx, dy, dg, x, ldx, inputs, y, h0, dh0, wt_ih,
                     wt_hh, grads, batch_sizes, steps, hidden, hidden, dirs);
  layer.act = act;
  run(dx, x, ldx, inputs, wt_ih, grads, batch_sizes, steps, rows);
}

/**
 * Backward of gru_layer: as rnn_layer_backward, with tape (rows × dirs × 4·H8,
 * what gru_layer kept) and a scratch dg of rows × dirs × 7·H8 floats.
 */
export function gru_layer_backward(
  dx: usize, dy: usize, dg: usize, x: usize, ldx: i32, inputs: i32, y: usize, h0: usize, dh0: usize,
  tape: usize, wt_ih: usize, wt_hh: usize, grads: usize, batch_sizes: usize, steps: i32, hidden: i32, dirs: i32,
): void {
  let rows = prepare("gru_layer_backward: bad operands", Gates.GRU, dx, dy, dg, x, ldx, inputs, y, h0, dh0, wt_ih,
                     wt_hh, grads, batch_sizes, steps, hidden, hidden, dirs);
  assert(inMemory(tape, <u64>rows * <u64>(dirs * 4 * roundUpToPanel(hidden)) << 2), "gru_layer_backward: tape");
  layer.tape = tape;
  run(dx, x, ldx, inputs, wt_ih, grads, batch_sizes, steps, rows);
}

/**
 * Backward of lstm_layer (out = proj > 0 ? proj : hidden): as
 * rnn_layer_backward, with c, c0 and tape (what lstm_layer got and kept), dc
 * (rows × dirs·hidden, in/out: dL/dc, gradCn included), dc0 (dirs × batch0 ×
 * hidden, written), wt_hr (the directions' pack_transposed(W_hr, proj,
 * hidden); 0 without projection), grads ending with dW_hr when proj > 0, and
 * a scratch dg of rows × dirs × 9·H8 floats.
 */
export function lstm_layer_backward(
  dx: usize, dy: usize, dc: usize, dg: usize, x: usize, ldx: i32, inputs: i32, y: usize, c: usize, h0: usize,
  c0: usize, dh0: usize, dc0: usize, tape: usize, wt_ih: usize, wt_hh: usize, wt_hr: usize, grads: usize,
  batch_sizes: usize, steps: i32, hidden: i32, proj: i32, dirs: i32,
): void {
  let name = "lstm_layer_backward: bad operands";
  assert(proj >= 0 && proj < hidden, "lstm_layer_backward: proj must be in [0, hidden)");
  let out = proj > 0 ? proj : hidden;
  let rows = prepare(name, Gates.LSTM, dx, dy, dg, x, ldx, inputs, y, h0, dh0, wt_ih, wt_hh, grads, batch_sizes,
                     steps, hidden, out, dirs);
  let h8 = roundUpToPanel(hidden);
  let batch0 = load<i32>(batch_sizes);
  assert(inMemory(tape, <u64>rows * <u64>(dirs * 4 * h8) << 2), name);
  assert(inMemory(c, <u64>rows * <u64>(dirs * hidden) << 2), name);
  assert(inMemory(dc, <u64>rows * <u64>(dirs * hidden) << 2), name);
  assert(inMemory(c0, <u64>(dirs * batch0) * <u64>hidden << 2), name);
  assert(inMemory(dc0, <u64>(dirs * batch0) * <u64>hidden << 2), name);
  assert(proj == 0 || (aligned16(wt_hr) && inMemory(wt_hr, <u64>(dirs * h8) * <u64>proj << 2)), name);
  assert(inMemory(grads, (<u64>dirs * <u64>(4 * hidden) * <u64>(inputs + out + 2) + <u64>(dirs * proj) *
                          <u64>hidden) << 2), name);
  layer.tape = tape;
  layer.c = c;
  layer.c0 = c0;
  layer.dc = dc;
  layer.dc0 = dc0;
  layer.wt_hr = wt_hr;
  layer.proj = proj;
  run(dx, x, ldx, inputs, wt_ih, grads, batch_sizes, steps, rows);
}
