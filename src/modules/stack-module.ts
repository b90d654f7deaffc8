import type { Kernel } from "../runtime/kernel.js";
import {
  LayerStack,
  type ParameterNamer,
  type StackGradient,
  type StackGradientResult,
  type StackShape,
} from "./layers.js";
import { Module } from "./module.js";
import type { ParameterSpec } from "./parameters.js";

/** What the last forward left for backward: nothing yet, an eval-mode forward, a used one, or a kept one. */
type LastForward<T> =
  | { readonly kind: "none" | "eval" | "consumed" }
  | { readonly kind: "kept"; readonly version: number; readonly record: T };

/**
 * A module whose parameters live packed in a layer stack (the recurrent
 * modules and the cells): loading repacks them, disposing frees them; a
 * train-mode forward keeps its tape in the stack for one backward.
 */
export abstract class StackModule<Kept = unknown> extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;

  protected readonly stack: LayerStack;
  private readonly parameterName: ParameterNamer;
  private last: LastForward<Kept> = { kind: "none" };

  protected constructor(
    typeName: string,
    kernel: Kernel,
    shape: StackShape,
    specs: readonly ParameterSpec[],
    params: Map<string, Float32Array>,
    parameterName: ParameterNamer,
  ) {
    super(typeName, specs, params);
    this.inputSize = shape.inputSize;
    this.hiddenSize = shape.hidden;
    this.bias = shape.bias;
    this.parameterName = parameterName;
    this.stack = LayerStack.create(kernel, shape, typeName, params, parameterName);
  }

  protected apply(next: Map<string, Float32Array>): void {
    this.stack.pack(next, this.parameterName);
  }

  protected release(): void {
    this.last = { kind: "none" };
    this.stack.release();
  }

  /**
   * Called by a validated forward before it runs: forgets what the previous
   * forward kept (an eval-mode forward also frees the training block).
   */
  protected beginForward(training: boolean): void {
    this.last = { kind: "none" };
    this.stack.forgetTape(!training);
  }

  /** Called when a forward succeeded: in training mode `record` (with the stack's tape) is kept for backward. */
  protected endForward(training: boolean, record: Kept): void {
    this.last = training ? { kind: "kept", version: this.parametersVersion, record } : { kind: "eval" };
  }

  /**
   * What the last forward kept, if backward may use it.
   * @throws Error before any forward, after an eval-mode forward, for a forward already
   *   differentiated, or once the parameters changed since the forward.
   */
  protected keptForward(): Kept {
    const name = `${this.typeName}.backward`;
    const last = this.last;
    switch (last.kind) {
      case "none":
        throw new Error(`${name}: there is no forward to differentiate; run forward in training mode first`);
      case "eval":
        throw new Error(
          `${name}: the last forward ran in eval mode and kept nothing for backward; call train() and run forward again`,
        );
      case "consumed":
        throw new Error(
          `${name}: the last forward was already differentiated (backward consumes what forward kept); ` +
            "run forward again",
        );
      default:
        if (last.version !== this.parametersVersion) {
          throw new Error(
            `${name}: the parameters changed since the last forward (optimizer step or loadStateDict); ` +
              "run forward again",
          );
        }
        return last.record;
    }
  }

  /** Marks the kept forward as used: a second backward for it throws. */
  protected consumeForward(): void {
    this.last = { kind: "consumed" };
  }

  /** Runs the stack's backward on the kept tape, adding the parameter gradients into the module's. */
  protected backwardStack(grad: StackGradient): StackGradientResult {
    return this.stack.backward(grad, this.params, this.parameterName, (name, values) =>
      this.accumulateGradient(name, values),
    );
  }
}

/**
 * A gradient's shape must be the one forward's result had.
 * @throws RangeError "Expected gradOutput of shape (5, 3, 20), got (5, 3, 21)".
 */
export function checkShape(name: string, what: string, expected: readonly number[], got: readonly number[]): void {
  if (got.length !== expected.length || got.some((n, i) => n !== expected[i])) {
    throw new RangeError(`${name}: Expected ${what} of shape (${expected.join(", ")}), got (${got.join(", ")})`);
  }
}
