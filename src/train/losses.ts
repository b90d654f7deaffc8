// Losses with their gradient: what torch.nn.functional.cross_entropy and
// mse_loss compute, and what their backward gives for a loss that is summed
// (reduction "none": the gradient of the sum of the per-element losses).
// Accumulated in doubles, returned as float32.

import { describe, formatShape } from "../core/describe.js";
import { readTensor, Tensor } from "../core/tensor.js";
import { readOptionsObject, checkKnownKeys, valueOr } from "../modules/options.js";

export type Reduction = "mean" | "sum" | "none";

/** Options of `crossEntropy()`: F.cross_entropy's arguments in camelCase. */
export interface CrossEntropyOptions {
  /** "mean" (default: over the targets not ignored), "sum" or "none" (one loss per row). */
  reduction?: Reduction;
  /** Targets with this value add nothing to the loss or the gradient; default -100. */
  ignoreIndex?: number;
  /** In [0, 1]: the target becomes (1 − s)·one-hot + s / C; default 0. */
  labelSmoothing?: number;
}

/** Options of `mseLoss()`. */
export interface MSELossOptions {
  /** "mean" (default), "sum" or "none" (the squared errors, the input's shape). */
  reduction?: Reduction;
}

/** A loss and its gradient with respect to the input (the input's shape). */
export interface LossResult {
  /** Shape [] for "mean" and "sum", the per-element losses for "none". */
  readonly loss: Tensor;
  readonly grad: Tensor;
}

/**
 * `F.cross_entropy` with class-index targets: a numerically stable log-softmax over C, then the
 * negative log-likelihood of each target.
 * @param logits (N, C) or (C).
 * @param targets N class indices in [0, C) or ignoreIndex; one for (C) logits (also as a number).
 * @throws TypeError / RangeError with PyTorch's messages ("Target 5 is out of bounds.",
 *   "Expected input batch_size (3) to match target batch_size (2).").
 */
export function crossEntropy(
  logits: Tensor,
  targets: ArrayLike<number> | number,
  options: CrossEntropyOptions = {},
): LossResult {
  const name = "crossEntropy";
  const x = readTensor(logits, "logits", "crossEntropy: Expected logits to be a Tensor");
  const o = readOptionsObject(name, options, "{ reduction: 'mean' }");
  checkKnownKeys(name, o, ["reduction", "ignoreIndex", "labelSmoothing"]);
  const reduction = readReduction(o);
  const ignoreIndex = valueOr(o, "ignoreIndex", -100);
  if (typeof ignoreIndex !== "number" || !Number.isInteger(ignoreIndex)) {
    throw new TypeError(`crossEntropy: ignoreIndex should be an integer, got ${describe(ignoreIndex)}`);
  }
  const smoothing = valueOr(o, "labelSmoothing", 0);
  if (typeof smoothing !== "number") {
    throw new TypeError(`crossEntropy: labelSmoothing should be a number, got ${describe(smoothing)}`);
  }
  if (!(smoothing >= 0 && smoothing <= 1)) {
    throw new RangeError(`label_smoothing must be between 0.0 and 1.0. Got: ${smoothing}`);
  }
  const rank = x.shape.length;
  if (rank !== 1 && rank !== 2) {
    throw new RangeError(`crossEntropy: Expected logits of shape (N, C) or (C), got ${formatShape(x.shape)}`);
  }
  const N = rank === 2 ? x.shape[0] : 1;
  const C = x.shape[rank - 1];
  const t = readTargets(targets, rank === 1);
  if (rank === 2 && t.length !== N) {
    throw new RangeError(`Expected input batch_size (${N}) to match target batch_size (${t.length}).`);
  }
  if (rank === 1 && t.length !== 1) {
    throw new RangeError(`crossEntropy: logits of shape (C) take one target, got ${t.length}`);
  }
  for (const target of t) {
    if (target !== ignoreIndex && !(target >= 0 && target < C))
      throw new RangeError(`Target ${target} is out of bounds.`);
  }

  const losses = new Float64Array(N);
  const grad = new Float32Array(N * C);
  let counted = 0;
  for (let n = 0; n < N; n++) if (t[n] !== ignoreIndex) counted++;
  // Mean divides by the targets not ignored; none of them gives 0 / 0 = NaN, as in PyTorch.
  const scale = reduction === "mean" ? 1 / counted : 1;
  for (let n = 0; n < N; n++) {
    if (t[n] === ignoreIndex) continue;
    const row = x.data.subarray(n * C, (n + 1) * C);
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, row[c]);
    let sumExp = 0;
    let sumLogits = 0;
    for (let c = 0; c < C; c++) {
      sumExp += Math.exp(row[c] - max);
      sumLogits += row[c];
    }
    const logSumExp = max + Math.log(sumExp);
    // −log p[target] and, for smoothing, −Σ_c log p[c] / C.
    losses[n] = (1 - smoothing) * (logSumExp - row[t[n]]) + smoothing * (logSumExp - sumLogits / C);
    for (let c = 0; c < C; c++) {
      const q = (c === t[n] ? 1 - smoothing : 0) + smoothing / C;
      grad[n * C + c] = scale * (Math.exp(row[c] - logSumExp) - q);
    }
  }
  return { loss: reduce(losses, reduction, rank === 2 ? [N] : [], counted), grad: new Tensor(grad, [...x.shape]) };
}

/**
 * `F.mse_loss`: (input − target)², reduced; the gradient is 2·(input − target), divided by the
 * element count for "mean".
 * @throws TypeError for a non-Tensor; RangeError when the shapes differ (no broadcasting).
 */
export function mseLoss(input: Tensor, target: Tensor, options: MSELossOptions = {}): LossResult {
  const x = readTensor(input, "input", "mseLoss: Expected input to be a Tensor");
  const y = readTensor(target, "target", "mseLoss: Expected target to be a Tensor");
  const o = readOptionsObject("mseLoss", options, "{ reduction: 'mean' }");
  checkKnownKeys("mseLoss", o, ["reduction"]);
  const reduction = readReduction(o);
  if (x.shape.length !== y.shape.length || x.shape.some((s, i) => s !== y.shape[i])) {
    throw new RangeError(`mseLoss: Expected target of shape ${formatShape(x.shape)}, got ${formatShape(y.shape)}`);
  }
  const n = x.numel;
  const losses = new Float64Array(n);
  const grad = new Float32Array(n);
  const scale = reduction === "mean" ? 2 / n : 2;
  for (let i = 0; i < n; i++) {
    const d = x.data[i] - y.data[i];
    losses[i] = d * d;
    grad[i] = scale * d;
  }
  return { loss: reduce(losses, reduction, x.shape, n), grad: new Tensor(grad, [...x.shape]) };
}

function readReduction(o: Record<string, unknown>): Reduction {
  const reduction = valueOr(o, "reduction", "mean");
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new RangeError(
      `${typeof reduction === "string" ? reduction : describe(reduction)} is not a valid value for reduction`,
    );
  }
  return reduction;
}

/** The loss tensor: the per-element losses ("none"), or their sum or mean over `count` as shape []. */
function reduce(losses: Float64Array, reduction: Reduction, shape: readonly number[], count: number): Tensor {
  if (reduction === "none") return new Tensor(Float32Array.from(losses), [...shape]);
  let sum = 0;
  for (const l of losses) sum += l;
  return new Tensor(Float32Array.of(reduction === "mean" ? sum / count : sum), []);
}

/** Class indices read once: integers (numbers or bigints) from an array-like, or one number. */
function readTargets(targets: unknown, single: boolean): number[] {
  if (single && (typeof targets === "number" || typeof targets === "bigint")) return [checkTarget(targets, 0)];
  if (typeof targets !== "object" || targets === null || typeof (targets as ArrayLike<unknown>).length !== "number") {
    throw new TypeError(
      `crossEntropy: Expected targets to be an array of class indices (or an Int32Array), got ${describe(targets)}`,
    );
  }
  const length = (targets as ArrayLike<unknown>).length;
  if (!Number.isSafeInteger(length) || length < 0 || length > 2 ** 32 - 1) {
    throw new TypeError(`crossEntropy: targets have an invalid length ${length}`);
  }
  return Array.from({ length }, (_, i) => checkTarget((targets as ArrayLike<unknown>)[i], i));
}

function checkTarget(value: unknown, position: number): number {
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `crossEntropy: targets must be integer class indices, got ${describe(value)} at position ${position}`,
    );
  }
  return value;
}
