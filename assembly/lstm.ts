// The LSTM layer driver, with PyTorch's optional projection: the input
// projection of every step and direction as one GEMM, then the time loop with
// the recurrent step and the gate epilogue fused (gates.ts); the cell state
// lives in the `c` output rows. PyTorch's equations:
//   i, f, o = σ(·), g = tanh(·) of W_i* x + b_i* + W_h* h + b_h*;
//   c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c'), or W_hr (o ⊙ tanh(c')) with proj > 0.

import { Activation, Gates, PANEL_WIDTH } from "./abi";
import { aligned16, inMemory, spanBytes } from "./contract";
import { gemm } from "./gemm";
import { lstmGates } from "./gates";
import { panelBytes, roundUpToPanel } from "./pack";
import { countRows, previous, previousStride, projectInputs, timeLoop } from "./layer";
import { projEnd, projStart, stepBarrier } from "./thread";
import { runOnThreads } from "./threads";

/** The running layer's operands, for its step callback; one call at a time. */
@unmanaged class LstmLayer {
  y: usize; ldy: i32; c: usize; ldc: i32; p: usize; ldp: i32;
  w_hh: usize; w_hr: usize; m: usize; h0: usize; c0: usize; tape: usize;
  batch0: i32; hidden: i32; proj: i32; out: i32; dirs: i32;
}
const layer = changetype<LstmLayer>(memory.data(offsetof<LstmLayer>(), 16));

/**
 * Runs `dirs` directions of an LSTM layer over time-major rows (layer.ts);
 * out = proj > 0 ? proj : hidden, H8 = hidden rounded up to PANEL_WIDTH,
 * rows = the sum of batch_sizes.
 *
 * y: f32 output, rows × (dirs·out), direction d in columns [d·out, (d+1)·out).
 * c: f32 output, rows × (dirs·hidden): the cell state after each step, rows as in y.
 * x: f32 input, rows × `inputs` used floats, row stride `ldx` floats.
 * p: f32 scratch, rows × (dirs·4·H8), 16-byte aligned; receives x·W_ihᵀ + bias.
 * w_ih: the directions' pack_gate_panels(4, hidden, inputs), one after another, 16-byte aligned.
 * bias: the directions' pack_gate_bias(gates = 4), 4·H8 floats each, one after another.
 * w_hh: the directions' pack_gate_panels(4, hidden, out), one after another, 16-byte aligned.
 * w_hr: the directions' pack_panels of weight_hr (proj × hidden), one after
 *   another, 16-byte aligned; 0 when proj = 0.
 * m: f32 scratch, dirs·batch_sizes[0]·H8, 16-byte aligned, for o ⊙ tanh(c')
 *   before the projection; 0 when proj = 0.
 * h0: dirs × batch_sizes[0] × out; c0: dirs × batch_sizes[0] × hidden (contiguous).
 * batch_sizes: i32 × steps, non-increasing, first > 0.
 * tape: 0, or (training) f32 rows × dirs × 4·H8 receiving per row and direction
 *   the activated gates [i | f | g | o] (TRAIN-ABI.md §1).
 * All buffers are caller-owned; y, c and tape overlap no other buffer nor each other.
 */
export function lstm_layer(
  y: usize, c: usize, x: usize, ldx: i32, inputs: i32, p: usize, w_ih: usize, bias: usize, w_hh: usize,
  w_hr: usize, m: usize, h0: usize, c0: usize, batch_sizes: usize, steps: i32, hidden: i32, proj: i32, dirs: i32,
  tape: usize,
): void {
  assert(steps > 0 && hidden > 0 && inputs > 0 && ldx >= inputs && proj >= 0 && (dirs == 1 || dirs == 2),
         "lstm_layer: bad sizes");
  assert(aligned16(p), "lstm_layer: p must be 16-byte aligned");
  assert(aligned16(w_ih) && aligned16(w_hh), "lstm_layer: w_ih and w_hh must be 16-byte aligned");
  assert(proj == 0 || (aligned16(w_hr) && aligned16(m)), "lstm_layer: w_hr and m must be 16-byte aligned");
  assert(inMemory(batch_sizes, <u64>steps << 2), "lstm_layer: batch_sizes out of bounds");
  let rows = countRows(batch_sizes, steps);
  assert(rows > 0, "lstm_layer: batch_sizes must be positive and non-increasing");
  let h8 = roundUpToPanel(hidden);
  let gatesH8 = Gates.LSTM * h8;
  let out = proj > 0 ? proj : hidden;
  let batch0 = load<i32>(batch_sizes);
  assert(inMemory(y, <u64>rows * <u64>(dirs * out) << 2), "lstm_layer: y out of bounds");
  assert(inMemory(c, <u64>rows * <u64>(dirs * hidden) << 2), "lstm_layer: c out of bounds");
  assert(inMemory(x, spanBytes(rows, inputs, ldx)), "lstm_layer: x out of bounds");
  assert(inMemory(p, <u64>rows * <u64>(dirs * gatesH8) << 2), "lstm_layer: p out of bounds");
  assert(inMemory(w_ih, <u64>(dirs * gatesH8) * <u64>inputs << 2), "lstm_layer: w_ih out of bounds");
  assert(inMemory(w_hh, <u64>(dirs * gatesH8) * <u64>out << 2), "lstm_layer: w_hh out of bounds");
  assert(inMemory(bias, <u64>(dirs * gatesH8) << 2), "lstm_layer: bias out of bounds");
  assert(proj == 0 || inMemory(w_hr, <u64>(dirs * roundUpToPanel(proj)) * <u64>hidden << 2),
         "lstm_layer: w_hr out of bounds");
  assert(proj == 0 || inMemory(m, <u64>(dirs * batch0) * <u64>h8 << 2), "lstm_layer: m out of bounds");
  assert(inMemory(h0, <u64>(dirs * batch0) * <u64>out << 2), "lstm_layer: h0 out of bounds");
  assert(inMemory(c0, <u64>(dirs * batch0) * <u64>hidden << 2), "lstm_layer: c0 out of bounds");
  assert(tape == 0 || inMemory(tape, <u64>rows * <u64>(dirs * gatesH8) << 2), "lstm_layer: tape out of bounds");

  let ldp = dirs * gatesH8;
  layer.y = y;
  layer.ldy = dirs * out;
  layer.c = c;
  layer.ldc = dirs * hidden;
  layer.p = p;
  layer.ldp = ldp;
  layer.w_hh = w_hh;
  layer.w_hr = w_hr;
  layer.m = m;
  layer.h0 = h0;
  layer.c0 = c0;
  layer.tape = tape;
  layer.dirs = dirs;
  layer.batch0 = batch0;
  layer.hidden = hidden;
  layer.proj = proj;
  layer.out = out;
  if (ASC_FEATURE_THREADS && runOnThreads(lstmStep, p, ldp, x, ldx, inputs, w_ih, bias, gatesH8, rows, gatesH8, dirs,
                                          batch_sizes, steps, hidden, PANEL_WIDTH, proj,
                                          <i64>batch0 * (<i64>gatesH8 * <i64>out + <i64>proj * <i64>hidden))) {
    return;
  }
  projectInputs(p, ldp, x, ldx, inputs, w_ih, bias, gatesH8, rows, gatesH8, dirs);
  timeLoop(batch_sizes, steps, rows, dirs, lstmStep);
}

/**
 * One segment of a step (layer.ts): the fused gates write c' and h' (into y,
 * or into m, then projected into y by one gemm). Threads sharing the step
 * (thread.ts) meet before the projection, which reads every unit of m, and
 * after it, before a next segment's gates write m again.
 */
function lstmStep(d: i32, row: i32, count: i32, prev: i32): void {
  let hidden = layer.hidden;
  let out = layer.out;
  let hiddenB = <usize>hidden << 2;
  let outB = <usize>out << 2;
  let h8 = roundUpToPanel(hidden);
  let gatesH8B = <usize>(Gates.LSTM * h8) << 2;
  let ldyB = <usize>layer.ldy << 2;
  let ldcB = <usize>layer.ldc << 2;
  let ldpB = <usize>layer.ldp << 2;
  let a = previous(layer.y, ldyB, layer.h0, layer.batch0, outB, d, prev);
  let cPrev = previous(layer.c, ldcB, layer.c0, layer.batch0, hiddenB, d, prev);
  let yRow = layer.y + <usize>row * ldyB + <usize>d * outB;
  let cRow = layer.c + <usize>row * ldcB + <usize>d * hiddenB;
  let w = layer.w_hh + <usize>d * gatesH8B * <usize>out;
  let pRow = layer.p + <usize>row * ldpB + <usize>d * gatesH8B;
  // With a projection, h' = o ⊙ tanh(c') goes to m first.
  let proj = layer.proj;
  let m = layer.m + (<usize>(d * layer.batch0) * <usize>h8 << 2);
  let ldtB = <usize>layer.dirs * gatesH8B;
  let tape: usize = layer.tape == 0 ? 0 : layer.tape + <usize>row * ldtB + <usize>d * gatesH8B;
  lstmGates(proj > 0 ? m : yRow, proj > 0 ? <usize>h8 << 2 : ldyB, cRow, ldcB, cPrev,
            previousStride(ldcB, hiddenB, prev), a, previousStride(ldyB, outB, prev), w, pRow, ldpB, tape, ldtB,
            count, out, hidden);
  if (proj == 0) return;
  let w_hr = layer.w_hr + (<usize>d * <usize>roundUpToPanel(proj) * <usize>hidden << 2);
  if (!ASC_FEATURE_THREADS) {
    gemm(yRow, layer.ldy, m, h8, w_hr, 0, 0, count, hidden, proj, Activation.Identity);
    return;
  }
  // Threads split the projection's columns in 16s, the pairs of panels gemv_1x16 computes together.
  let c0 = projStart;
  let c1 = min(projEnd, proj);
  stepBarrier();
  if (c1 > c0) {
    gemm(yRow + (<usize>c0 << 2), layer.ldy, m, h8, w_hr + <usize>(c0 / PANEL_WIDTH) * panelBytes(hidden),
         0, 0, count, hidden, c1 - c0, Activation.Identity);
  }
  stepBarrier();
}
