import { describe } from "../core/describe.js";
import type { Module } from "../modules/module.js";
import { parametersOf, readModules } from "./modules.js";

/**
 * `torch.nn.utils.clip_grad_norm_`: the norm of all gradients together (as if
 * concatenated into one vector), and when maxNorm / (norm + 1e-6) < 1 every gradient
 * is scaled in place by that factor. A NaN norm makes every gradient NaN, as in PyTorch
 * (whose error_if_nonfinite defaults to false).
 * @param normType p of the p-norm (> 0), or Infinity for the largest absolute value; default 2.
 * @returns the total norm before clipping.
 * @throws TypeError / RangeError for bad arguments, a disposed module's own Error; nothing changes then.
 */
export function clipGradNorm(modules: Module | readonly Module[], maxNorm: number, normType = 2): number {
  const list = readModules("clipGradNorm", modules, true);
  const maxNormError = `clipGradNorm: maxNorm should be a non-negative number, got ${describe(maxNorm)}`;
  if (typeof maxNorm !== "number") throw new TypeError(maxNormError);
  if (!(maxNorm >= 0)) throw new RangeError(maxNormError);
  const normTypeError = `clipGradNorm: normType should be a positive number or Infinity, got ${describe(normType)}`;
  if (typeof normType !== "number") throw new TypeError(normTypeError);
  if (!(normType > 0)) throw new RangeError(normTypeError);
  const grads = parametersOf(list).flatMap((params) => params.flatMap((p) => (p.grad === null ? [] : [p.grad])));
  const total = normOf(grads, normType);
  const coefficient = maxNorm / (total + 1e-6);
  if (!(coefficient >= 1)) {
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coefficient;
  }
  return total;
}

/** The p-norm of the concatenated arrays, accumulated in doubles. */
function normOf(arrays: readonly Float32Array[], p: number): number {
  let acc = 0;
  for (const g of arrays) {
    for (let i = 0; i < g.length; i++) {
      const a = Math.abs(g[i]);
      if (p === Infinity) acc = a > acc || Number.isNaN(a) ? a : acc;
      else acc += p === 2 ? a * a : a ** p;
    }
  }
  return p === Infinity ? acc : p === 2 ? Math.sqrt(acc) : acc ** (1 / p);
}
