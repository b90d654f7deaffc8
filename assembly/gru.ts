// The GRU layer driver: the input projection of every step as one GEMM per
// direction, then the time loop with the recurrent step and the gate
// epilogue fused (gates.ts). PyTorch's equations:
//   r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.

import { Gates, PANEL_WIDTH } from "./abi";
import { aligned16, inMemory, spanBytes } from "./contract";
import { gruGates } from "./gates";
import { roundUpToPanel } from "./pack";
import { countRows, previous, previousStride, projectInputs, timeLoop } from "./layer";
import { runOnThreads } from "./threads";

/** The running layer's operands, for its step callback; one call at a time. */
@unmanaged class GruLayer {
  y: usize; ldy: i32; p: usize; ldp: i32; w_hh: usize; bias: usize; h0: usize;
  tape: usize; batch0: i32; hidden: i32; dirs: i32;
}
const layer = changetype<GruLayer>(memory.data(offsetof<GruLayer>(), 16));

/**
 * Runs `dirs` directions of a GRU layer over time-major rows (layer.ts);
 * H8 = hidden rounded up to PANEL_WIDTH, rows = the sum of batch_sizes.
 *
 * y: f32 output, rows × (dirs·hidden), direction d in columns [d·hidden, (d+1)·hidden).
 * x: f32 input, rows × `inputs` used floats, row stride `ldx` floats.
 * p: f32 scratch, rows × (dirs·3·H8), 16-byte aligned; receives x·W_ihᵀ + bias.
 * w_ih: the directions' pack_gate_panels(3, hidden, inputs), one after another, 16-byte aligned.
 * bias: the directions' pack_gate_bias(gates = 3), 4·H8 floats each, one after another.
 * w_hh: the directions' pack_gate_panels(3, hidden, hidden), one after another, 16-byte aligned.
 * h0: f32 initial states, dirs × batch_sizes[0] × hidden, contiguous.
 * batch_sizes: i32 × steps, non-increasing, first > 0.
 * tape: 0, or (training) f32 rows × dirs × 4·H8 receiving per row and direction
 *   [r | z | n | W_hn h + b_hn] (TRAIN-ABI.md §1).
 * All buffers are caller-owned; y and tape must not overlap x, p, bias or h0.
 */
export function gru_layer(
  y: usize, x: usize, ldx: i32, inputs: i32, p: usize, w_ih: usize, bias: usize, w_hh: usize, h0: usize,
  batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, tape: usize,
): void {
  assert(steps > 0 && hidden > 0 && inputs > 0 && ldx >= inputs && (dirs == 1 || dirs == 2), "gru_layer: bad sizes");
  assert(aligned16(p), "gru_layer: p must be 16-byte aligned");
  assert(aligned16(w_ih) && aligned16(w_hh), "gru_layer: w_ih and w_hh must be 16-byte aligned");
  assert(inMemory(batch_sizes, <u64>steps << 2), "gru_layer: batch_sizes out of bounds");
  let rows = countRows(batch_sizes, steps);
  assert(rows > 0, "gru_layer: batch_sizes must be positive and non-increasing");
  let h8 = roundUpToPanel(hidden);
  let gatesH8 = Gates.GRU * h8;
  let batch0 = load<i32>(batch_sizes);
  assert(inMemory(y, <u64>rows * <u64>(dirs * hidden) << 2), "gru_layer: y out of bounds");
  assert(inMemory(x, spanBytes(rows, inputs, ldx)), "gru_layer: x out of bounds");
  assert(inMemory(p, <u64>rows * <u64>(dirs * gatesH8) << 2), "gru_layer: p out of bounds");
  assert(inMemory(w_ih, <u64>(dirs * gatesH8) * <u64>inputs << 2), "gru_layer: w_ih out of bounds");
  assert(inMemory(w_hh, <u64>(dirs * gatesH8) * <u64>hidden << 2), "gru_layer: w_hh out of bounds");
  assert(inMemory(bias, <u64>(dirs * 4 * h8) << 2), "gru_layer: bias out of bounds");
  assert(inMemory(h0, <u64>dirs * <u64>batch0 * <u64>hidden << 2), "gru_layer: h0 out of bounds");
  assert(tape == 0 || inMemory(tape, <u64>rows * <u64>(dirs * 4 * h8) << 2), "gru_layer: tape out of bounds");

  let ldp = dirs * gatesH8;
  layer.y = y;
  layer.ldy = dirs * hidden;
  layer.p = p;
  layer.ldp = ldp;
  layer.w_hh = w_hh;
  layer.bias = bias;
  layer.h0 = h0;
  layer.tape = tape;
  layer.batch0 = batch0;
  layer.hidden = hidden;
  layer.dirs = dirs;
  if (ASC_FEATURE_THREADS && runOnThreads(gruStep, p, ldp, x, ldx, inputs, w_ih, bias, 4 * h8, rows, gatesH8, dirs,
                                          batch_sizes, steps, hidden, PANEL_WIDTH, 0,
                                          <i64>batch0 * <i64>gatesH8 * <i64>hidden)) {
    return;
  }
  projectInputs(p, ldp, x, ldx, inputs, w_ih, bias, 4 * h8, rows, gatesH8, dirs);
  timeLoop(batch_sizes, steps, rows, dirs, gruStep);
}

/** One segment of a step (layer.ts). */
function gruStep(d: i32, row: i32, count: i32, prev: i32): void {
  let hidden = layer.hidden;
  let hiddenB = <usize>hidden << 2;
  let h8B = <usize>roundUpToPanel(hidden) << 2;
  let ldyB = <usize>layer.ldy << 2;
  let ldpB = <usize>layer.ldp << 2;
  let a = previous(layer.y, ldyB, layer.h0, layer.batch0, hiddenB, d, prev);
  let ldtB = <usize>layer.dirs * 4 * h8B;
  let tape: usize = layer.tape == 0 ? 0 : layer.tape + <usize>row * ldtB + <usize>d * 4 * h8B;
  gruGates(layer.y + <usize>row * ldyB + <usize>d * hiddenB, ldyB, a, previousStride(ldyB, hiddenB, prev),
           layer.w_hh + <usize>d * Gates.GRU * h8B * <usize>hidden,
           layer.p + <usize>row * ldpB + <usize>d * Gates.GRU * h8B, ldpB,
           layer.bias + <usize>d * 4 * h8B + <usize>Gates.GRU * h8B, tape, ldtB, count, hidden);
}
