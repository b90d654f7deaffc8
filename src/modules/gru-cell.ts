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
}
