// The layer driver: one Elman RNN layer over a time-major batch, packed or
// not, with both directions advanced in the same time loop. All time steps
// run inside wasm: the host crosses in once per layer.

import { gemm } from "./gemm";
import { Activation } from "./activation";
import { aligned16, inMemory } from "./contract";

/**
 * Runs layer `h_t = act(x_t·W_ihᵀ + b + h_{t−1}·W_hhᵀ)` for `dirs` directions.
 *
 * Rows are time-major: step t owns rows [off_t, off_t + batch_sizes[t]), the
 * rows of a step being the longest sequences first (PackedSequence order), so
 * a sequence is row b at every step it is alive. The reverse direction starts
 * each sequence at its own last step, from its own initial state.
 *
 * y: f32 output, rows × (dirs·hidden), direction d in columns [d·hidden, (d+1)·hidden).
 * x: f32 input, rows × `inputs` used floats, row stride `ldx` floats.
 * p: f32 scratch, rows × (dirs·hidden8) floats, 16-byte aligned (hidden8 =
 *   hidden rounded up to 8); receives x·W_ihᵀ + b.
 * w_ih: the directions' input weights packed one after another by pack_panels
 *   (hidden × inputs each), 16-byte aligned.
 * bias: dirs·hidden8 floats: b_ih + b_hh per direction, zero padded.
 * w_hh: the directions' recurrent weights packed one after another (hidden × hidden each).
 * h0: f32 initial states, dirs × batch_sizes[0] × hidden, contiguous.
 * batch_sizes: i32 × steps, non-increasing, first > 0.
 * All buffers are caller-owned; y must not overlap x, p or h0.
 */
export function rnn_layer(
  y: usize, x: usize, ldx: i32, inputs: i32, p: usize,
  w_ih: usize, bias: usize, w_hh: usize, h0: usize,
  batch_sizes: usize, steps: i32, hidden: i32, dirs: i32, act: i32,
): void {
  assert(steps > 0 && hidden > 0 && inputs > 0 && (dirs == 1 || dirs == 2), "rnn_layer: bad sizes");
  assert(act == Activation.Tanh || act == Activation.Relu, "rnn_layer: act must be tanh or relu");
  assert(aligned16(p), "rnn_layer: p must be 16-byte aligned");
  assert(inMemory(batch_sizes, <u64>steps << 2), "rnn_layer: batch_sizes out of bounds");
  let rows = 0;
  for (let t = 0; t < steps; t++) {
    let bs = load<i32>(batch_sizes + (<usize>t << 2));
    assert(bs > 0 && (t == 0 || bs <= load<i32>(batch_sizes + (<usize>(t - 1) << 2))),
           "rnn_layer: batch_sizes must be positive and non-increasing");
    rows += bs;
  }
  let hidden8 = ((hidden + 7) >> 3) << 3;
  let ldy = dirs * hidden;
  let ldp = dirs * hidden8;
  let batch0 = load<i32>(batch_sizes);
  assert(inMemory(y, <u64>rows * <u64>ldy << 2), "rnn_layer: y out of bounds");
  assert(inMemory(h0, <u64>dirs * <u64>batch0 * <u64>hidden << 2), "rnn_layer: h0 out of bounds");

  // Input projection for every step and both directions: one GEMM.
  gemm(p, ldp, x, ldx, w_ih, bias, 0, rows, inputs, ldp, Activation.Identity);

  let ldyB = <usize>ldy << 2;
  let ldpB = <usize>ldp << 2;
  let hiddenB = <usize>hidden << 2;
  let whhB = (<usize>hidden8 * <usize>hidden) << 2;
  let fwdOff = 0;
  let fwdPrev = 0;
  let revOff = rows;
  for (let s = 0; s < steps; s++) {
    // Forward direction at t = s, continuing from row b of step t − 1.
    let bs = load<i32>(batch_sizes + (<usize>s << 2));
    let a = s == 0 ? h0 : y + <usize>fwdPrev * ldyB;
    let lda = s == 0 ? hidden : ldy;
    gemm(y + <usize>fwdOff * ldyB, ldy, a, lda, w_hh,
         p + <usize>fwdOff * ldpB, ldp, bs, hidden, hidden, act);
    fwdPrev = fwdOff;
    fwdOff += bs;

    if (dirs == 2) {
      // Reverse direction at t = steps − 1 − s: rows alive at t + 1 continue
      // from there; rows whose sequence ends at t start from h0.
      let t = steps - 1 - s;
      let bt = load<i32>(batch_sizes + (<usize>t << 2));
      let off = revOff - bt;
      let carried = s == 0 ? 0 : load<i32>(batch_sizes + (<usize>(t + 1) << 2));
      let yt = y + <usize>off * ldyB + hiddenB;
      let pt = p + <usize>off * ldpB + (<usize>hidden8 << 2);
      let w = w_hh + whhB;
      if (carried > 0) {
        gemm(yt, ldy, y + <usize>revOff * ldyB + hiddenB, ldy, w, pt, ldp, carried, hidden, hidden, act);
      }
      if (bt > carried) {
        let h0r = h0 + (<usize>batch0 + <usize>carried) * hiddenB;
        gemm(yt + <usize>carried * ldyB, ldy, h0r, hidden, w,
             pt + <usize>carried * ldpB, ldp, bt - carried, hidden, hidden, act);
      }
      revOff = off;
    }
  }
}
