// What SGD, Adam and AdamW share, as torch.optim.Optimizer does for them: the
// modules, per-parameter state keyed by module and parameter name, step() over
// every module's live parameters and zeroGrad(), and the option checks with
// PyTorch's messages.

import { describe } from "../core/describe.js";
import type { Module } from "../modules/module.js";
import { checkBoolean, checkKnownKeys, readOptionsObject, valueOr } from "../modules/options.js";
import { parametersOf, readModules } from "./modules.js";

export abstract class Optimizer<State> {
  protected readonly modules: readonly Module[];
  private readonly states = new Map<Module, Map<string, State>>();
  private learningRate: number;

  protected constructor(
    protected readonly typeName: string,
    modules: unknown,
    lr: number,
  ) {
    this.modules = readModules(typeName, modules, false);
    this.learningRate = lr;
  }

  /** The learning rate; may be changed between steps (a schedule), with the constructor's check. */
  get lr(): number {
    return this.learningRate;
  }

  set lr(value: number) {
    this.learningRate = checkLearningRate(this.typeName, value);
  }

  /**
   * One update of every parameter from its accumulated gradient, in place, then
   * `parametersUpdated()` on every module. A disposed module throws its own
   * error before any module changes.
   */
  step(): void {
    const groups = parametersOf(this.modules);
    groups.forEach((params, i) => {
      const module = this.modules[i];
      const states = this.states.get(module) ?? new Map<string, State>();
      this.states.set(module, states);
      for (const { name, value, grad } of params) {
        // A module that never ran backward has no gradients: PyTorch skips parameters whose grad is None.
        if (grad === null) continue;
        const state = states.has(name) ? states.get(name)! : this.initialState(value.length);
        states.set(name, this.update(value, grad, state));
      }
    });
    for (const module of this.modules) module.parametersUpdated();
  }

  /** Sets every module's gradients to zero; a disposed module throws before any changes. */
  zeroGrad(): void {
    parametersOf(this.modules);
    for (const module of this.modules) module.zeroGrad();
  }

  /** The state of a parameter of `size` elements before its first step. */
  protected abstract initialState(size: number): State;

  /**
   * Updates `value` in place from `grad` (PyTorch's single-tensor rule) and returns the
   * parameter's state for the next step (float32 arrays, as PyTorch keeps them).
   */
  protected abstract update(value: Float32Array, grad: Float32Array, state: State): State;
}

/** An optimizer's options object, read once, with only `known` keys. */
export function readOptimizerOptions(
  name: string,
  options: unknown,
  known: readonly string[],
  example: string,
): Record<string, unknown> {
  const o = readOptionsObject(name, options, example);
  checkKnownKeys(name, o, known);
  return o;
}

/** A number option (absent: `fallback`). */
export function readNumber(name: string, o: Record<string, unknown>, key: string, fallback: number): number {
  return checkNumber(name, key, valueOr(o, key, fallback));
}

function checkNumber(name: string, key: string, value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`${name}: ${key} should be a number, got ${describe(value)}`);
  return value;
}

/**
 * A number ≥ 0 (finite), else PyTorch's message, e.g. "Invalid learning rate: -1".
 * NaN and infinities are refused too: they would turn every parameter into NaN.
 */
function checkNonNegative(name: string, key: string, value: unknown, label: string): number {
  const n = checkNumber(name, key, value);
  if (!(n >= 0 && n < Infinity)) throw new RangeError(`${name}: Invalid ${label}: ${n}`);
  return n;
}

export function checkLearningRate(name: string, value: unknown): number {
  return checkNonNegative(name, "lr", value, "learning rate");
}

/** A non-negative option (absent: `fallback`). */
export function readNonNegative(
  name: string,
  o: Record<string, unknown>,
  key: string,
  fallback: number,
  label: string,
): number {
  return checkNonNegative(name, key, valueOr(o, key, fallback), label);
}

export function readFlag(o: Record<string, unknown>, key: string): boolean {
  return checkBoolean(valueOr(o, key, false), key);
}
