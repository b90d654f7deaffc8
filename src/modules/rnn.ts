import { Gates } from "../../assembly/abi.js";
import type { Tensor } from "../core/tensor.js";
import type { PackedSequence } from "../sequence/packed.js";
import { checkRecurrentOptions, type Nonlinearity, type RNNOptions } from "./options.js";
import { RecurrentBase } from "./recurrent.js";

/**
 * `torch.nn.RNN`: a multi-layer Elman RNN, `h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)`
 * with tanh or relu, optionally bidirectional, on batched, unbatched or packed input.
 */
export class RNN extends RecurrentBase {
  readonly nonlinearity: Nonlinearity;

  /**
   * @param options PyTorch's constructor arguments in camelCase (see RNNOptions).
   * @throws TypeError / RangeError for invalid options, naming the option and the value given.
   * @throws Error if `init()` has not completed.
   */
  constructor(options: RNNOptions) {
    const config = checkRecurrentOptions("RNN", options);
    super("RNN", config, Gates.Elman);
    this.nonlinearity = config.nonlinearity;
  }

  /**
   * Runs the RNN.
   * - Tensor input: (L, N, inputSize), or (N, L, inputSize) with batchFirst, or unbatched (L, inputSize).
   *   Returns [output (L, N, D·H) or (N, L, D·H) or (L, D·H), hN (numLayers·D, N, H) or (numLayers·D, H)].
   * - PackedSequence input: returns [PackedSequence output with the input's batchSizes and indices,
   *   hN in the caller's order].
   * `h0` has hN's shape (batch in the caller's order) and defaults to zeros.
   * @throws Error with PyTorch's message for wrong ranks, sizes or h0 shapes; nothing changes then.
   */
  forward(input: Tensor, h0?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const [output, [hN]] = this.forwardStates(input, h0 == null ? null : [h0]);
    return [output, hN];
  }

  /**
   * Backpropagates through the last forward (run in training mode): adds the
   * parameter gradients into `gradients()` and returns the input's and h0's.
   * @param gradOutput dL/d(output), in the output's form: a Tensor of its shape, or a
   *   PackedSequence with its batchSizes and indices.
   * @param gradHn dL/d(hN), hN's shape; null or omitted for zeros.
   * @returns [gradInput in the input's form (PackedSequence for packed input), gradH0 with h0's shape
   *   (also when forward had no h0)].
   * @throws Error before any forward, after an eval-mode forward, a second time for one forward, or
   *   once the parameters changed; TypeError / RangeError for a gradient of the wrong form or shape.
   *   Nothing changes then.
   */
  backward(gradOutput: Tensor, gradHn?: Tensor | null): [Tensor, Tensor];
  backward(gradOutput: PackedSequence, gradHn?: Tensor | null): [PackedSequence, Tensor];
  backward(gradOutput: Tensor | PackedSequence, gradHn?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const [gradInput, [gradH0]] = this.backwardStates(gradOutput, [gradHn]);
    return [gradInput, gradH0];
  }
}
