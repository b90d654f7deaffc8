import { Gates } from "../../assembly/abi.js";
import type { Tensor } from "../core/tensor.js";
import type { PackedSequence } from "../sequence/packed.js";
import { checkRecurrentOptions, type GRUOptions } from "./options.js";
import { RecurrentBase } from "./recurrent.js";

/**
 * `torch.nn.GRU`: gates r, z, n in PyTorch's order and equations,
 * `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`.
 */
export class GRU extends RecurrentBase {
  /**
   * @param options PyTorch's constructor arguments in camelCase (see GRUOptions).
   * @throws TypeError / RangeError for invalid options; Error if `init()` has not completed.
   */
  constructor(options: GRUOptions) {
    super("GRU", checkRecurrentOptions("GRU", options), Gates.GRU);
  }

  /**
   * Runs the GRU; shapes and input forms as `RNN.forward`.
   * @returns [output, hN].
   */
  forward(input: Tensor, h0?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const [output, [hN]] = this.forwardStates(input, h0 == null ? null : [h0]);
    return [output, hN];
  }

  /**
   * Backpropagates through the last forward (run in training mode); arguments and
   * results as `RNN.backward`.
   * @returns [gradInput, gradH0].
   */
  backward(gradOutput: Tensor, gradHn?: Tensor | null): [Tensor, Tensor];
  backward(gradOutput: PackedSequence, gradHn?: Tensor | null): [PackedSequence, Tensor];
  backward(gradOutput: Tensor | PackedSequence, gradHn?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const [gradInput, [gradH0]] = this.backwardStates(gradOutput, [gradHn]);
    return [gradInput, gradH0];
  }
}
