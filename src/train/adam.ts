import { describe } from "../core/describe.js";
import type { Module } from "../modules/module.js";
import { valueOr } from "../modules/options.js";
import { checkLearningRate, Optimizer, readFlag, readNonNegative, readOptimizerOptions } from "./optimizer.js";

/** Options of `new Adam()` and `new AdamW()`: torch.optim.Adam's arguments in camelCase. */
export interface AdamOptions {
  /** Learning rate, ≥ 0; default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages, each in [0, 1); default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator, ≥ 0; default 1e-8. */
  eps?: number;
  /** ≥ 0. Adam: L2 penalty added to the gradient, default 0. AdamW: decoupled decay, default 1e-2. */
  weightDecay?: number;
  /** The AMSGrad variant (the running maximum of the second moment); default false. */
  amsgrad?: boolean;
}

export type AdamWOptions = AdamOptions;

interface AdamState {
  step: number;
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
  readonly maxExpAvgSq: Float32Array | null;
}

/**
 * `torch.optim.Adam` / `AdamW` (1.13, single-tensor): g = grad (+ weightDecay·p for Adam);
 * m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p −= lr / (1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + eps),
 * with v̂ = v or, with amsgrad, the running maximum of v. AdamW first shrinks p ·= 1 − lr·weightDecay
 * (decoupled weight decay, Loshchilov & Hutter) and adds nothing to the gradient.
 */
abstract class AdamBase extends Optimizer<AdamState> {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;

  protected constructor(
    name: "Adam" | "AdamW",
    modules: unknown,
    options: unknown,
    private readonly decoupled: boolean,
  ) {
    const o = readOptimizerOptions(name, options, ["lr", "betas", "eps", "weightDecay", "amsgrad"], "{ lr: 1e-3 }");
    const lr = checkLearningRate(name, valueOr(o, "lr", 1e-3));
    const eps = readNonNegative(name, o, "eps", 1e-8, "epsilon value");
    const betas = readBetas(name, valueOr(o, "betas", [0.9, 0.999]));
    const weightDecay = readNonNegative(name, o, "weightDecay", decoupled ? 1e-2 : 0, "weight_decay value");
    const amsgrad = readFlag(o, "amsgrad");
    super(name, modules, lr);
    this.betas = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.amsgrad = amsgrad;
  }

  protected initialState(size: number): AdamState {
    return {
      step: 0,
      expAvg: new Float32Array(size),
      expAvgSq: new Float32Array(size),
      maxExpAvgSq: this.amsgrad ? new Float32Array(size) : null,
    };
  }

  protected update(value: Float32Array, grad: Float32Array, state: AdamState): AdamState {
    const [beta1, beta2] = this.betas;
    const { lr, eps } = this;
    state.step += 1;
    const stepSize = lr / (1 - beta1 ** state.step);
    const correction2 = Math.sqrt(1 - beta2 ** state.step);
    const coupled = this.decoupled ? 0 : this.weightDecay;
    const shrink = this.decoupled ? 1 - lr * this.weightDecay : 1;
    const { expAvg, expAvgSq, maxExpAvgSq } = state;
    for (let i = 0; i < value.length; i++) {
      const g = grad[i] + coupled * value[i];
      expAvg[i] = beta1 * expAvg[i] + (1 - beta1) * g;
      expAvgSq[i] = beta2 * expAvgSq[i] + (1 - beta2) * g * g;
      let second = expAvgSq[i];
      if (maxExpAvgSq !== null) {
        maxExpAvgSq[i] = Math.max(maxExpAvgSq[i], second);
        second = maxExpAvgSq[i];
      }
      value[i] = value[i] * shrink - (stepSize * expAvg[i]) / (Math.sqrt(second) / correction2 + eps);
    }
    return state;
  }
}

/** `torch.optim.Adam`: weightDecay (default 0) is an L2 penalty added to the gradient. */
export class Adam extends AdamBase {
  /**
   * @throws TypeError for an unknown option or a wrong type; RangeError with PyTorch's message
   *   for lr, eps or weightDecay < 0 and betas outside [0, 1).
   */
  constructor(modules: Module | readonly Module[], options: AdamOptions = {}) {
    super("Adam", modules, options, false);
  }
}

/** `torch.optim.AdamW`: decoupled weight decay, default 1e-2. */
export class AdamW extends AdamBase {
  /** @throws as `new Adam()`. */
  constructor(modules: Module | readonly Module[], options: AdamWOptions = {}) {
    super("AdamW", modules, options, true);
  }
}

/** A pair of numbers each in [0, 1), PyTorch's "Invalid beta parameter at index 0: 1.0" otherwise. */
function readBetas(name: string, value: unknown): readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || value.some((b) => typeof b !== "number")) {
    throw new TypeError(`${name}: betas should be a pair of numbers like [0.9, 0.999], got ${describe(value)}`);
  }
  const betas = Object.freeze([value[0], value[1]] as const);
  betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) throw new RangeError(`${name}: Invalid beta parameter at index ${i}: ${b}`);
  });
  return betas;
}
