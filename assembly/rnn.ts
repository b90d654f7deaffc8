// The Elman layer driver: h_t = act(x_t·W_ihᵀ + b + h_{t−1}·W_hhᵀ), the
// recurrent step one gemm per segment with the activation in its epilogue.
// All time steps run inside wasm: the host crosses in once per layer.

import { gemm } from "./gemm";
import { Activation, PANEL_WIDTH } from "./abi";
import { aligned16, inMemory, spanBytes } from "./contract";
import { panelBytes, roundUpToPanel } from "./pack";
import { countRows, previous, previousStride, projectInputs, timeLoop } from "./layer";
import { unitEnd, unitStart } from "./thread";
import { runOnThreads } from "./threads";

/** The running layer's operands, for its step callback; one call at a time. */
@unmanaged class ElmanLayer {
  y: usize; ldy: i32; p: usize; ldp: i32; w_hh: usize; h0: usize;
  batch0: i32; hidden: i32; act: i32;
}
const layer = changetype<ElmanLayer>(memory.data(offsetof<ElmanLayer>(), 16));

/**
 * Runs `dirs` directions of the layer over time-major rows (layer.ts).
 *
 * y: f32 output, rows × (dirs·hidden), direction d in columns [d·hidden, (d+1)·hidden).
 * x: f32 input, rows × `inputs` used floats, row stride `ldx` floats.
 * p: f32 scratch, rows × (dirs·H8) floats, 16-byte aligned (H8 = hidden
 *   rounded up to PANEL_WIDTH); receives x·W_ihᵀ + b.
 * w_ih: the directions' input weights packed one after another by pack_panels
 *   (hidden × inputs each), 16-byte aligned.
 * bias: dirs·H8 floats: b_ih + b_hh per direction, zero padded.
 * w_hh: the directions' recurrent weights packed one after another (hidden × hidden each).
 * h0: f32 initial states, dirs × batch_sizes[0] × hidden, contiguous.
 * batch_sizes: i32 × steps, non-increasing, first > 0. act: tanh or relu.
 * All buffers are caller-owned; y must not overlap x, p or h0.
 */
export function rnn_layer(
  y: usize, x: usize, ldx: i32, inputs: i32, p: usize,
  w_ih: usize, bias: usize, w_hh: usize, h0: usize,
  batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, act: i32,
): void {
  assert(steps > 0 && hidden > 0 && inputs > 0 && ldx >= inputs && (dirs == 1 || dirs == 2), "rnn_layer: bad sizes");
  assert(act == Activation.Tanh || act == Activation.Relu, "rnn_layer: act must be tanh or relu");
  assert(aligned16(p), "rnn_layer: p must be 16-byte aligned");
  assert(aligned16(w_ih) && aligned16(w_hh), "rnn_layer: w_ih and w_hh must be 16-byte aligned");
  assert(inMemory(batch_sizes, <u64>steps << 2), "rnn_layer: batch_sizes out of bounds");
  let rows = countRows(batch_sizes, steps);
  assert(rows > 0, "rnn_layer: batch_sizes must be positive and non-increasing");
  let hidden8 = roundUpToPanel(hidden);
  let batch0 = load<i32>(batch_sizes);
  assert(inMemory(y, <u64>rows * <u64>(dirs * hidden) << 2), "rnn_layer: y out of bounds");
  assert(inMemory(x, spanBytes(rows, inputs, ldx)), "rnn_layer: x out of bounds");
  assert(inMemory(p, <u64>rows * <u64>(dirs * hidden8) << 2), "rnn_layer: p out of bounds");
  assert(inMemory(w_ih, <u64>dirs * <u64>hidden8 * <u64>inputs << 2), "rnn_layer: w_ih out of bounds");
  assert(inMemory(w_hh, <u64>dirs * <u64>hidden8 * <u64>hidden << 2), "rnn_layer: w_hh out of bounds");
  assert(inMemory(bias, <u64>(dirs * hidden8) << 2), "rnn_layer: bias out of bounds");
  assert(inMemory(h0, <u64>dirs * <u64>batch0 * <u64>hidden << 2), "rnn_layer: h0 out of bounds");

  let ldp = dirs * hidden8;
  layer.y = y;
  layer.ldy = dirs * hidden;
  layer.p = p;
  layer.ldp = ldp;
  layer.w_hh = w_hh;
  layer.h0 = h0;
  layer.batch0 = batch0;
  layer.hidden = hidden;
  layer.act = act;
  // Threads split the units in 16s, the pairs of panels gemv_1x16 computes together.
  if (ASC_FEATURE_THREADS && runOnThreads(elmanStep, p, ldp, x, ldx, inputs, w_ih, bias, hidden8, rows, hidden8, dirs,
                                          batch_sizes, steps, hidden, 2 * PANEL_WIDTH, 0,
                                          <i64>batch0 * <i64>hidden * <i64>hidden)) {
    return;
  }
  projectInputs(p, ldp, x, ldx, inputs, w_ih, bias, hidden8, rows, hidden8, dirs);
  timeLoop(batch_sizes, steps, rows, dirs, elmanStep);
}

/**
 * One segment of a step (layer.ts): one gemm, the activation in its epilogue;
 * a thread of a threaded build computes its units' columns (thread.ts).
 */
function elmanStep(d: i32, row: i32, count: i32, prev: i32): void {
  let hidden = layer.hidden;
  let hiddenB = <usize>hidden << 2;
  let ldyB = <usize>layer.ldy << 2;
  let hidden8B = <usize>roundUpToPanel(hidden) << 2;
  let u0 = ASC_FEATURE_THREADS ? unitStart : 0;
  let u1 = ASC_FEATURE_THREADS ? min(unitEnd, hidden) : hidden;
  let u0B = <usize>u0 << 2;
  let a = previous(layer.y, ldyB, layer.h0, layer.batch0, hiddenB, d, prev);
  let lda = <i32>(previousStride(ldyB, hiddenB, prev) >> 2);
  gemm(layer.y + <usize>row * ldyB + <usize>d * hiddenB + u0B, layer.ldy, a, lda,
       layer.w_hh + <usize>d * hidden8B * <usize>hidden + <usize>(u0 / PANEL_WIDTH) * panelBytes(hidden),
       layer.p + ((<usize>row * <usize>layer.ldp) << 2) + <usize>d * hidden8B + u0B, layer.ldp,
       count, hidden, u1 - u0, layer.act);
}
