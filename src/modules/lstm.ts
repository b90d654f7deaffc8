import { Gates } from "../../assembly/abi.js";
import type { Tensor } from "../core/tensor.js";
import { describe } from "../core/describe.js";
import type { PackedSequence } from "../sequence/packed.js";
import { checkRecurrentOptions, type LSTMOptions } from "./options.js";
import { RecurrentBase } from "./recurrent.js";

/**
 * `torch.nn.LSTM`: gates i, f, g, o in PyTorch's order, `c' = f ⊙ c + i ⊙ g`,
 * `h' = o ⊙ tanh(c')`, projected by `W_hr` when `projSize` > 0. The state is
 * the pair [h, c] where PyTorch has a tuple.
 */
export class LSTM extends RecurrentBase {
  readonly projSize: number;

  /**
   * @param options PyTorch's constructor arguments in camelCase (see LSTMOptions).
   * @throws TypeError / RangeError for invalid options (PyTorch's proj_size messages).
   * @throws Error if `init()` has not completed.
   */
  constructor(options: LSTMOptions) {
    const config = checkRecurrentOptions("LSTM", options);
    super("LSTM", config, Gates.LSTM);
    this.projSize = config.projSize;
  }

  /**
   * Runs the LSTM; input forms as `RNN.forward`. With P = projSize || hiddenSize:
   * output has D·P features, hN is (numLayers·D, N, P), cN (numLayers·D, N, hiddenSize)
   * (without the batch dim for unbatched input); `state` [h0, c0] has their shapes and defaults to zeros.
   * @returns [output, [hN, cN]].
   * @throws TypeError if `state` is not a pair of Tensors; RangeError with PyTorch's messages for wrong shapes.
   */
  forward(input: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]];
  forward(input: PackedSequence, state?: readonly [Tensor, Tensor] | null): [PackedSequence, [Tensor, Tensor]];
  forward(
    input: Tensor | PackedSequence,
    state?: readonly [Tensor, Tensor] | null,
  ): [Tensor | PackedSequence, [Tensor, Tensor]] {
    const [output, [hN, cN]] = this.forwardStates(
      input,
      readPair(state, "LSTM: Expected the state to be a pair [h0, c0]"),
    );
    return [output, [hN, cN]];
  }

  /**
   * Backpropagates through the last forward (run in training mode); gradOutput as in
   * `RNN.backward`.
   * @param gradState [dL/dhN, dL/dcN] with hN's and cN's shapes; either entry, or the pair, null
   *   or omitted for zeros.
   * @returns [gradInput in the input's form, [gradH0, gradC0]] with h0's and c0's shapes.
   * @throws as `RNN.backward`; TypeError if `gradState` is not a pair.
   */
  backward(gradOutput: Tensor, gradState?: readonly [Tensor | null, Tensor | null] | null): [Tensor, [Tensor, Tensor]];
  backward(
    gradOutput: PackedSequence,
    gradState?: readonly [Tensor | null, Tensor | null] | null,
  ): [PackedSequence, [Tensor, Tensor]];
  backward(
    gradOutput: Tensor | PackedSequence,
    gradState?: readonly [Tensor | null, Tensor | null] | null,
  ): [Tensor | PackedSequence, [Tensor, Tensor]] {
    const [gradInput, [gradH0, gradC0]] = this.backwardStates(
      gradOutput,
      readPair(gradState, "LSTM.backward: Expected gradState to be a pair [gradHn, gradCn]"),
    );
    return [gradInput, [gradH0, gradC0]];
  }
}

/** An LSTM state (or its gradient) [h, c], read once; null or undefined for zeros. */
export function readPair(state: unknown, expected: string): [unknown, unknown] | null {
  if (state === null || state === undefined) return null;
  if (!Array.isArray(state) || state.length !== 2)
    throw new TypeError(`${expected} of Tensors, got ${describe(state)}`);
  const [h, c] = state as unknown[];
  return [h, c];
}
