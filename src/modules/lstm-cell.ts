import { Gates } from "../../assembly/abi.js";
import type { Tensor } from "../core/tensor.js";
import { CellBase } from "./cell.js";
import { readPair } from "./lstm.js";
import { checkCellOptions, type LSTMCellOptions } from "./options.js";

/** `torch.nn.LSTMCell`: one LSTM step (gates i, f, g, o, PyTorch's equations); the state is the pair [h, c]. */
export class LSTMCell extends CellBase {
  /** @throws TypeError / RangeError for invalid options, naming the option and the value. */
  constructor(options: LSTMCellOptions) {
    super("LSTMCell", checkCellOptions("LSTMCell", options), Gates.LSTM);
  }

  /**
   * One step. `input` is (inputSize) or (batch, inputSize); `state` [h, c] has the same rank, zeros when omitted.
   * @returns [h', c'].
   * @throws TypeError if `state` is not a pair of Tensors; RangeError with PyTorch's messages for wrong shapes.
   */
  forward(input: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    const [h, c] = this.stepStates(input, readPair(state, "LSTMCell: Expected the state to be a pair [h, c]"));
    return [h, c];
  }

  /**
   * Backpropagates through the last step (run in training mode); as `RNNCell.backward`.
   * @param gradState [dL/dh', dL/dc'] with their shapes; either entry null for zeros.
   * @returns [gradInput, [gradHx, gradCx]].
   * @throws as `RNNCell.backward`; TypeError if `gradState` is not a pair.
   */
  backward(gradState: readonly [Tensor | null, Tensor | null]): [Tensor, [Tensor, Tensor]] {
    const pair = readPair(gradState, "LSTMCell.backward: Expected gradState to be a pair [gradH, gradC]") ?? [
      null,
      null,
    ];
    const [gradInput, gradHx, gradCx] = this.backwardStep(pair);
    return [gradInput, [gradHx, gradCx]];
  }
}
