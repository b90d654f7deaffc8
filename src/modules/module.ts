// What every module shares, as torch.nn.Module does for them: parameters by
// PyTorch name, stateDict / loadStateDict, train / eval, dispose, gradients
// and zeroGrad, and the guard that refuses a call while another one on the
// same module runs (user code — a getter on an input — may call back into the
// module mid-call).

import { Tensor } from "../core/tensor.js";
import { describe } from "../core/describe.js";
import { loadParameters, type LoadStateDictOptions, type StateDictInput } from "../io/state-dict.js";
import type { ParameterSpec } from "./parameters.js";

/**
 * One parameter as an optimizer sees it: the module's live value array, which
 * the optimizer updates in place before calling `parametersUpdated()`, and the
 * live gradient accumulated by `backward` since the last `zeroGrad()` — null
 * while the module has never run backward (PyTorch's `grad is None`: optimizers
 * skip it). Take them afresh for every step: `loadStateDict` replaces the value arrays.
 */
export interface TrainableParameter {
  readonly name: string;
  readonly value: Float32Array;
  readonly grad: Float32Array | null;
}

export abstract class Module {
  /** true after `train()` (the initial mode, as in PyTorch), false after `eval()`. */
  training = true;

  protected params: Map<string, Float32Array>;
  private readonly specs: readonly ParameterSpec[];
  private phase: "idle" | "running" | "disposed" = "idle";
  /** Gradients accumulated by backward, by parameter name; allocated (zeros) on first use. */
  private grads: Map<string, Float32Array> | null = null;
  /**
   * Counts changes of the parameters (loadStateDict, an optimizer step): what
   * a forward kept for its backward is stale once this moved on.
   */
  protected parametersVersion = 0;

  protected constructor(
    protected readonly typeName: string,
    specs: readonly ParameterSpec[],
    params: Map<string, Float32Array>,
  ) {
    this.specs = Object.freeze(specs.map((s) => Object.freeze({ name: s.name, shape: Object.freeze([...s.shape]) })));
    this.params = params;
  }

  /** Parameter names and shapes in PyTorch's registration order. */
  parameterSpecs(): readonly ParameterSpec[] {
    return this.specs;
  }

  /** The parameters as PyTorch names them, in PyTorch's order; each tensor is a copy. */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    const out: Record<string, Tensor> = {};
    for (const spec of this.specs) out[spec.name] = new Tensor(this.params.get(spec.name)!.slice(), spec.shape);
    return out;
  }

  /**
   * Loads parameters with PyTorch's names. Accepts a record of tensors, a Map, or a
   * loader's result (`loadSafetensors`, `loadTorch`). With `prefix`, only keys starting
   * with it are considered, with it stripped; other keys are ignored even when strict.
   * @throws Error naming missing/unexpected keys (strict) or mismatched shapes; the module is unchanged then.
   */
  loadStateDict(stateDict: StateDictInput, options: LoadStateDictOptions = {}): void {
    this.guard(() => {
      const values = loadParameters(stateDict, this.specs, options, this.typeName);
      const next = new Map(this.params);
      for (const [name, data] of values) next.set(name, data);
      this.apply(next);
      this.params = next;
      this.parametersVersion++;
    });
  }

  /**
   * The gradients accumulated by `backward` since the last `zeroGrad()`, keyed
   * and ordered like `stateDict()`; zeros before any backward. Each tensor is a copy.
   */
  gradients(): Record<string, Tensor> {
    this.checkAlive();
    const grads = this.gradientArrays();
    const out: Record<string, Tensor> = {};
    for (const spec of this.specs) out[spec.name] = new Tensor(grads.get(spec.name)!.slice(), spec.shape);
    return out;
  }

  /** Sets every accumulated gradient to zero (PyTorch's `zero_grad(set_to_none=False)`). */
  zeroGrad(): void {
    this.checkAlive();
    if (this.grads !== null) for (const g of this.grads.values()) g.fill(0);
  }

  /**
   * The parameters with their live values and gradients, in stateDict order.
   * @internal For optimizers and clipGradNorm.
   */
  trainableParameters(): TrainableParameter[] {
    this.checkAlive();
    const grads = this.grads;
    return this.specs.map((s) => ({ name: s.name, value: this.params.get(s.name)!, grad: grads?.get(s.name) ?? null }));
  }

  /**
   * Makes in-place changes to the value arrays of `trainableParameters()`
   * take effect (repacks them), and marks what forwards kept as stale.
   * @internal For optimizers.
   */
  parametersUpdated(): void {
    this.guard(() => {
      this.apply(this.params);
      this.parametersVersion++;
    });
  }

  /** Training mode (dropout applies where the module has it). Returns this. */
  train(mode = true): this {
    if (typeof mode !== "boolean") throw new TypeError(`train: mode should be a boolean, got ${describe(mode)}`);
    this.training = mode;
    return this;
  }

  /** Evaluation mode. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Frees the module's linear memory; forward, stateDict and loadStateDict throw afterwards. */
  dispose(): void {
    if (this.phase === "running") throw new Error("forward is already running on this module");
    if (this.phase === "disposed") return;
    this.release();
    this.grads = null;
    this.phase = "disposed";
  }

  /** PyTorch's repr. */
  abstract toString(): string;

  /**
   * Makes `next` the parameters in use (e.g. packs them into linear memory).
   * Must throw before changing anything, if at all.
   */
  protected abstract apply(next: Map<string, Float32Array>): void;

  /** Frees what the module holds in linear memory. */
  protected abstract release(): void;

  /** Adds `values` (a parameter's shape, float32) into its accumulated gradient. */
  protected accumulateGradient(name: string, values: Float32Array): void {
    const g = this.gradientOf(name);
    for (let i = 0; i < g.length; i++) g[i] += values[i];
  }

  /** A parameter's live accumulated gradient, for backward to add into in place. */
  protected gradientOf(name: string): Float32Array {
    return this.gradientArrays().get(name)!;
  }

  /** The gradient arrays, allocated as zeros on first use. */
  private gradientArrays(): Map<string, Float32Array> {
    if (this.grads === null) {
      this.grads = new Map(this.specs.map((s) => [s.name, new Float32Array(this.params.get(s.name)!.length)]));
    }
    return this.grads;
  }

  /** Runs `fn` as the module's one call in progress. */
  protected guard<T>(fn: () => T): T {
    this.checkAlive();
    if (this.phase === "running") throw new Error("forward is already running on this module");
    this.phase = "running";
    try {
      return fn();
    } finally {
      this.phase = "idle";
    }
  }

  protected checkAlive(): void {
    if (this.phase === "disposed") throw new Error(`This ${this.typeName} was disposed; create a new one`);
  }
}
