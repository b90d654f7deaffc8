// What a layer stack keeps for backward (issue 14): the layout of the one
// training block a train-mode forward fills and its backward works in, the
// transposed weight panels, and the per-layer gradient blocks in PyTorch's
// unpadded layouts (docs: /work/brief/TRAIN-ABI.md §1, §2, §4, §5).
//
// Everything a kernel call writes during training lives in the training
// block, so one write window covers every call of a forward or backward.

import { ALIGNMENT, Gates, PANEL_WIDTH } from "../../assembly/abi.js";
import { roundUp } from "../core/sizes.js";
import type { StackShape } from "./layers.js";

const ALIGN_FLOATS = ALIGNMENT / 4;

/** Features of h: projSize when projecting, else hidden. */
export function outSize(s: StackShape): number {
  return s.proj > 0 ? s.proj : s.hidden;
}

/** Features of a layer's input: inputSize for the first, the previous layer's output after that. */
export function layerInputs(s: StackShape, layer: number): number {
  return layer === 0 ? s.inputSize : s.dirs * outSize(s);
}

/** Float offsets (16-byte aligned) of the training block of one forward, and its size. */
export interface TapeLayout {
  readonly floats: number;
  /** Layer 0's input, time-major. */
  readonly x: number;
  /** Per layer: its output rows (before dropout), rows × dirs·out. */
  readonly y: readonly number[];
  /** Per layer but the last, with dropout: the next layer's input (after dropout) and the mask (0 or 1/(1−p)). */
  readonly dropped: readonly number[];
  readonly mask: readonly number[];
  /** Per layer (LSTM): the cell rows, rows × dirs·H. */
  readonly c: readonly number[];
  /** Per layer (GRU, LSTM): the kernel's tape, rows × dirs × 4·H8. */
  readonly tape: readonly number[];
  /** Per state: the initial states of every layer, layers·dirs × batch × width. */
  readonly initial: readonly number[];
  /** Forward's input projections, then backward's gate gradients (never live at once). */
  readonly scratch: number;
  /** LSTM projection scratch of the forward, dirs × batch × H8. */
  readonly m: number;
  /** batch sizes, as int32. */
  readonly batchSizes: number;
  /** Backward: dy ping-pong (rows × dirs·out each), layer 0's dx (rows × inputSize), LSTM's dc (rows × dirs·H). */
  readonly dyA: number;
  readonly dyB: number;
  readonly dx: number;
  readonly dc: number;
  /** Backward: the initial-state gradients per state, like `initial`. */
  readonly dInitial: readonly number[];
  /** Backward: every layer's gradient block, one after another (gradientBlockFloats). */
  readonly grads: number;
}

/**
 * The training block for `rows` rows of `batch` sequences over `steps` steps.
 * Its size in floats, each part rounded up to 4 floats (H8 = hidden rounded up to 8, G = gates,
 * D = dirs, L = layers, out = projSize || hidden, I = inputSize, P = projSize):
 *
 *   rows · (2·I + L·D·out + [dropout] 2·(L−1)·D·out + [LSTM] (L+1)·D·H + [GRU, LSTM] L·D·4·H8
 *           + D·(2G+1)·H8 + 2·D·out)
 *   + 2·L·D·batch·(out + [LSTM] H) + [P > 0] D·batch·H8 + steps + (the module's parameter count)
 */
export function tapeLayout(s: StackShape, rows: number, batch: number, steps: number, dropout: boolean): TapeLayout {
  const out = outSize(s);
  const h8 = roundUp(s.hidden, PANEL_WIDTH);
  const lstm = s.gates === Gates.LSTM;
  const gated = s.gates !== Gates.Elman;
  const widths = lstm ? [out, s.hidden] : [out];
  let cursor = 0;
  const take = (floats: number): number => {
    const at = cursor;
    cursor += roundUp(floats, ALIGN_FLOATS);
    return at;
  };
  const perLayer = (count: number, floats: number): number[] => Array.from({ length: count }, () => take(floats));
  const yRows = rows * s.dirs * out;
  const keepsDropout = dropout && s.layers > 1;
  return {
    x: take(rows * s.inputSize),
    y: perLayer(s.layers, yRows),
    dropped: perLayer(keepsDropout ? s.layers - 1 : 0, yRows),
    mask: perLayer(keepsDropout ? s.layers - 1 : 0, yRows),
    c: perLayer(lstm ? s.layers : 0, rows * s.dirs * s.hidden),
    tape: perLayer(gated ? s.layers : 0, rows * s.dirs * 4 * h8),
    initial: widths.map((w) => take(s.layers * s.dirs * batch * w)),
    scratch: take(rows * s.dirs * (2 * s.gates + 1) * h8),
    m: take(s.proj > 0 ? s.dirs * batch * h8 : 0),
    batchSizes: take(steps),
    dyA: take(yRows),
    dyB: take(yRows),
    dx: take(rows * s.inputSize),
    dc: take(lstm ? rows * s.dirs * s.hidden : 0),
    dInitial: widths.map((w) => take(s.layers * s.dirs * batch * w)),
    grads: take(gradientFloats(s)),
    get floats() {
      return cursor;
    },
  };
}

/** Floats of one layer's gradient block: dW_ih | dW_hh | db_ih | db_hh | dW_hr, each over the directions. */
export function gradientBlockFloats(s: StackShape, layer: number): number {
  const rows = s.gates * s.hidden;
  return s.dirs * (rows * layerInputs(s, layer) + rows * outSize(s) + 2 * rows + s.proj * s.hidden);
}

/** Floats of every layer's gradient block. */
function gradientFloats(s: StackShape): number {
  return gradientBlockFloats(s, 0) + (s.layers - 1) * gradientBlockFloats(s, Math.min(1, s.layers - 1));
}

/** Where each parameter's gradient sits in a layer's gradient block (float offsets, per direction). */
export function gradientParts(s: StackShape, layer: number, dir: number) {
  const rows = s.gates * s.hidden;
  const inputs = layerInputs(s, layer);
  const out = outSize(s);
  const wIh = rows * inputs;
  const wHh = rows * out;
  const wHr = s.proj * s.hidden;
  const hhAt = s.dirs * wIh;
  const bIhAt = hhAt + s.dirs * wHh;
  const bHhAt = bIhAt + s.dirs * rows;
  const hrAt = bHhAt + s.dirs * rows;
  return {
    weight_ih: { at: dir * wIh, floats: wIh },
    weight_hh: { at: hhAt + dir * wHh, floats: wHh },
    bias_ih: { at: bIhAt + dir * rows, floats: rows },
    bias_hh: { at: bHhAt + dir * rows, floats: rows },
    weight_hr: { at: hrAt + dir * wHr, floats: wHr },
  };
}

/** Floats per direction of a layer's transposed panels: wt_ih, wt_hh, wt_hr (TRAIN-ABI §2). */
export function transposedParts(s: StackShape, layer: number): { ih: number; hh: number; hr: number } {
  const rows = s.gates * s.hidden;
  return {
    ih: roundUp(layerInputs(s, layer), PANEL_WIDTH) * rows,
    hh: roundUp(outSize(s), PANEL_WIDTH) * rows,
    hr: s.proj > 0 ? roundUp(s.hidden, PANEL_WIDTH) * s.proj : 0,
  };
}

/** Floats of one layer's transposed panels, all directions. */
export function transposedLayerFloats(s: StackShape, layer: number): number {
  const t = transposedParts(s, layer);
  return s.dirs * (t.ih + t.hh + t.hr);
}

/** Floats of every layer's transposed panels. */
export function transposedFloats(s: StackShape): number {
  return transposedLayerFloats(s, 0) + (s.layers - 1) * transposedLayerFloats(s, Math.min(1, s.layers - 1));
}

/**
 * For each sorted sequence b, the row (time-major packed index) of its last
 * step: where the forward direction's final state was taken.
 */
export function lastRows(batchSizes: Int32Array): Int32Array {
  const last = new Int32Array(batchSizes[0]);
  let offset = 0;
  for (let t = 0; t < batchSizes.length; t++) {
    const next = t + 1 < batchSizes.length ? batchSizes[t + 1] : 0;
    for (let b = next; b < batchSizes[t]; b++) last[b] = offset + b;
    offset += batchSizes[t];
  }
  return last;
}

/**
 * Adds one layer's final-state gradients (dirs × batch × width at float `at`
 * of `grad`) into rows of `width` floats, dirs per row, at float `rowsAt`:
 * the mirror of gatherFinalStates (forward direction at each sequence's last
 * step, reverse direction at step 0, i.e. row b).
 */
export function scatterFinalStates(
  mem: Float32Array,
  rowsAt: number,
  last: Int32Array,
  dirs: number,
  width: number,
  grad: Float32Array,
  at: number,
): void {
  const batch = last.length;
  const ld = dirs * width;
  for (let d = 0; d < dirs; d++) {
    for (let b = 0; b < batch; b++) {
      const to = rowsAt + (d === 0 ? last[b] : b) * ld + d * width;
      const from = at + (d * batch + b) * width;
      for (let j = 0; j < width; j++) mem[to + j] += grad[from + j];
    }
  }
}
