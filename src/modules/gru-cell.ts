import { Gates } from "../../assembly/abi.js";
import type { Tensor } from "../core/tensor.js";
import { CellBase } from "./cell.js";
import { checkCellOptions, type GRUCellOptions } from "./options.js";

/** `torch.nn.GRUCell`: one GRU step (gates r, z, n, PyTorch's equations). */
export class GRUCell extends CellBase {
  /** @throws TypeError / RangeError for invalid options, naming the option and the value. */
  constructor(options: GRUCellOptions) {
    super("GRUCell", checkCellOptions("GRUCell", options), Gates.GRU);
  }

  /**
   * One step. `input` is (inputSize) or (batch, inputSize); `hx` has the same rank, zeros when omitted.
   * @returns h'.
   */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this.stepStates(input, hx == null ? null : [hx])[0];
  }

  /**
   * Backpropagates through the last step (run in training mode): adds the
   * parameter gradients into `gradients()`.
   * @param gradH dL/dh', h''s shape.
   * @returns [gradInput with the input's shape, gradHx with hx's shape (also when the step had no hx)].
   * @throws Error before any step, after an eval-mode step, a second time for one step, or once the
   *   parameters changed; TypeError / RangeError for a gradient of the wrong type or shape. Nothing
   *   changes then.
   */
  backward(gradH: Tensor): [Tensor, Tensor] {
    const [gradInput, gradHx] = this.backwardStep([gradH]);
    return [gradInput, gradHx];
  }
}
