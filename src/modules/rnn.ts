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
}
