import { Gates } from "../../assembly/abi.js";
import type { Tensor } from "../core/tensor.js";
import { CellBase } from "./cell.js";
import { checkCellOptions, type Nonlinearity, type RNNCellOptions } from "./options.js";

/**
 * `torch.nn.RNNCell`: one step `h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)` —
 * the streaming API.
 */
export class RNNCell extends CellBase {
  readonly nonlinearity: Nonlinearity;

  /** @throws TypeError / RangeError for invalid options, naming the option and the value. */
  constructor(options: RNNCellOptions) {
    const config = checkCellOptions("RNNCell", options);
    super("RNNCell", config, Gates.Elman);
    this.nonlinearity = config.nonlinearity;
  }

  /**
   * One step. `input` is (inputSize) or (batch, inputSize); `hx` has the same rank,
   * (hiddenSize) or (batch, hiddenSize), zeros when omitted. Returns h'.
   * @throws with PyTorch's messages for wrong ranks or sizes; nothing changes then.
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

  protected reprExtra(): string {
    return this.nonlinearity === "tanh" ? "" : `, nonlinearity=${this.nonlinearity}`;
  }
}
