import type { Kernel } from "../runtime/kernel.js";
import { LayerStack, type ParameterNamer, type StackShape } from "./layers.js";
import { Module } from "./module.js";
import type { ParameterSpec } from "./parameters.js";

/**
 * A module whose parameters live packed in a layer stack (the recurrent
 * modules and the cells): loading repacks them, disposing frees them.
 */
export abstract class StackModule extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;

  protected readonly stack: LayerStack;
  private readonly parameterName: ParameterNamer;

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
    this.stack.release();
  }
}
