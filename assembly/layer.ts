// What the layer drivers (rnn.ts, gru.ts, lstm.ts) share: the batch-size
// bookkeeping, the input projection, and the time loop that advances both
// directions together.
//
// Rows are time-major: step t owns rows [off_t, off_t + batch_sizes[t]), the
// rows of a step being the longest sequences first (PackedSequence order), so
// a sequence is row b at every step it is alive. The reverse direction starts
// each sequence at its own last step, from its own initial state.

import { gemm } from "./gemm";
import { Activation } from "./abi";
import { dirFirst, dirLast, stepBarrier } from "./thread";

/**
 * The steps' rows of one direction: `count` rows from `row` on, whose previous
 * state is, for prev ≥ 0, rows [prev, prev + count) of the neighbouring step
 * (t − 1 forward, t + 1 reverse), in the same order; for prev < 0, the initial
 * states of sequences [~prev, ~prev + count).
 */
export type Step = (d: i32, row: i32, count: i32, prev: i32) => void;

/**
 * Sum of the `steps` batch sizes at `batch_sizes` (i32), or 0 unless they are
 * positive and non-increasing (the drivers assert it, each in its own file).
 */
export function countRows(batch_sizes: usize, steps: i32): i32 {
  let rows = 0;
  let last = i32.MAX_VALUE;
  for (let t = 0; t < steps; t++) {
    let bs = load<i32>(batch_sizes + (<usize>t << 2));
    if (bs <= 0 || bs > last) return 0;
    rows += bs;
    last = bs;
  }
  return rows;
}

/**
 * p (rows × ldp floats, direction d at column d·cols) = x·W_ihᵀ + bias for
 * every row and direction: w_ih holds the directions' panels one after
 * another (cols × inputs each), bias their `cols` used floats every
 * `biasStride` floats. One GEMM when the biases are contiguous.
 */
export function projectInputs(
  p: usize, ldp: i32, x: usize, ldx: i32, inputs: i32, w_ih: usize, bias: usize, biasStride: i32,
  rows: i32, cols: i32, dirs: i32,
): void {
  if (biasStride == cols) {
    gemm(p, ldp, x, ldx, w_ih, bias, 0, rows, inputs, dirs * cols, Activation.Identity);
    return;
  }
  for (let d = 0; d < dirs; d++) {
    gemm(p + (<usize>(d * cols) << 2), ldp, x, ldx, w_ih + (<usize>d * <usize>cols * <usize>inputs << 2),
         bias + (<usize>(d * biasStride) << 2), 0, rows, inputs, cols, Activation.Identity);
  }
}

/**
 * Calls `step` for every step's rows in time order, the forward direction at
 * t = s and the reverse one at t = steps − 1 − s in the same iteration s;
 * `rows` is countRows(batch_sizes, steps). A thread of a threaded build runs
 * its directions only (thread.ts), and meets the threads sharing its
 * directions at a barrier after each iteration: the next one reads every
 * column of the states this one wrote.
 */
export function timeLoop(batch_sizes: usize, steps: i32, rows: i32, dirs: i32, step: Step): void {
  let fwdOff = 0;
  let fwdPrev = ~0;
  let revOff = rows;
  for (let s = 0; s < steps; s++) {
    let bs = load<i32>(batch_sizes + (<usize>s << 2));
    if (!ASC_FEATURE_THREADS || dirFirst == 0) step(0, fwdOff, bs, fwdPrev);
    fwdPrev = fwdOff;
    fwdOff += bs;
    if (dirs == 2 && (!ASC_FEATURE_THREADS || dirLast == 1)) {
      // Rows alive at t + 1 continue from there; rows whose sequence ends at
      // t start from their initial state.
      let t = steps - 1 - s;
      let bt = load<i32>(batch_sizes + (<usize>t << 2));
      let off = revOff - bt;
      let carried = s == 0 ? 0 : load<i32>(batch_sizes + (<usize>(t + 1) << 2));
      if (carried > 0) step(1, off, carried, revOff);
      if (bt > carried) step(1, off + carried, bt - carried, ~carried);
      revOff = off;
    }
    if (ASC_FEATURE_THREADS) stepBarrier();
  }
}

/**
 * Where a segment's previous state lives: for prev ≥ 0 row `prev` of `y`
 * (row stride ldB bytes, direction d at byte d·widthB), else sequence ~prev
 * of direction d in `initial` (dirs × batch0 × width, contiguous).
 */
// @ts-ignore: decorator
@inline export function previous(y: usize, ldB: usize, initial: usize, batch0: i32, widthB: usize, d: i32, prev: i32): usize {
  return prev >= 0
    ? y + <usize>prev * ldB + <usize>d * widthB
    : initial + <usize>(d * batch0 + ~prev) * widthB;
}

/** The row stride in bytes of the previous state `previous` points to. */
// @ts-ignore: decorator
@inline export function previousStride(ldB: usize, widthB: usize, prev: i32): usize {
  return prev >= 0 ? ldB : widthB;
}
