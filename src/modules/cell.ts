// The shared base of RNNCell, GRUCell and LSTMCell, as PyTorch's
// RNNCellBase: options, parameters (gates × hidden), seeded init, and a
// forward that validates input and state with PyTorch's checks and messages
// before running one step — a layer stack of one layer, one direction and
// one time step, so a cell computes exactly what its module computes.

import { Activation, type Gates } from "../../assembly/abi.js";
import { Tensor } from "../core/tensor.js";
import { describe } from "../core/describe.js";
import { MT19937, randomSeed } from "../core/random.js";
import { snapshotTensor, type TensorSnapshot } from "../core/snapshot.js";
import { activeKernel } from "../runtime/runtime.js";
import { checkStackFits, type ParameterNamer, type StackShape } from "./layers.js";
import { StackModule } from "./stack-module.js";
import type { CellConfig } from "./options.js";
import { recurrentInit, type ParameterSpec } from "./parameters.js";

export type CellName = "RNNCell" | "GRUCell" | "LSTMCell";

/** A cell's parameters have no layer suffix: weight_ih, weight_hh, bias_ih, bias_hh. */
const cellName: ParameterNamer = (kind) => kind;

export abstract class CellBase extends StackModule {
  private readonly kind: CellName;
  /** The batch sizes of one step, reused: a step allocates only its results. */
  private readonly steps = new Int32Array(1);

  protected constructor(name: CellName, config: CellConfig, gates: Gates) {
    const kernel = activeKernel();
    const shape: StackShape = {
      inputSize: config.inputSize,
      hidden: config.hiddenSize,
      proj: 0,
      layers: 1,
      dirs: 1,
      gates,
      bias: config.bias,
      activation: config.nonlinearity === "relu" ? Activation.Relu : Activation.Tanh,
    };
    checkStackFits(shape, `${name}(${config.inputSize}, ${config.hiddenSize})`);
    const rows = gates * config.hiddenSize;
    const specs: ParameterSpec[] = [
      { name: "weight_ih", shape: [rows, config.inputSize] },
      { name: "weight_hh", shape: [rows, config.hiddenSize] },
      ...(config.bias
        ? [
            { name: "bias_ih", shape: [rows] },
            { name: "bias_hh", shape: [rows] },
          ]
        : []),
    ];
    const params = recurrentInit(specs, config.hiddenSize, new MT19937(config.seed ?? randomSeed()));
    super(name, kernel, shape, specs, params, cellName);
    this.kind = name;
  }

  /** PyTorch's repr: `GRUCell(10, 20, bias=False)`. */
  toString(): string {
    return `${this.kind}(${this.inputSize}, ${this.hiddenSize}${this.bias ? "" : ", bias=False"}${this.reprExtra()})`;
  }

  /** What a subclass adds to the repr (RNNCell's nonlinearity). */
  protected reprExtra(): string {
    return "";
  }

  /**
   * One step for a cell whose state is `states` (one tensor, or LSTM's two),
   * guarded against re-entry. Returns the new states with the input's batching.
   */
  protected stepStates(input: unknown, states: readonly unknown[] | null): Tensor[] {
    return this.guard(() => {
      const name = this.kind;
      if (!(input instanceof Tensor))
        throw new TypeError(`${name}: Expected input to be a Tensor, got ${describe(input)}`);
      const x = snapshotTensor(input, "input");
      const rank = x.shape.length;
      if (rank !== 1 && rank !== 2)
        throw new RangeError(`${name}: Expected input to be 1D or 2D, got ${rank}D instead`);
      const hx = this.readStates(states, rank);
      const features = x.shape[rank - 1];
      if (features !== this.inputSize) {
        throw new RangeError(`input has inconsistent input_size: got ${features} expected ${this.inputSize}`);
      }
      const batch = rank === 2 ? x.shape[0] : 1;
      const H = this.hiddenSize;
      hx.forEach((h, i) => {
        if (h === null) return;
        const hBatch = rank === 2 ? h.shape[0] : 1;
        if (hBatch !== batch)
          throw new RangeError(`Input batch size ${batch} doesn't match hidden${i} batch size ${hBatch}`);
        const hFeatures = h.shape[h.shape.length - 1];
        if (hFeatures !== H)
          throw new RangeError(`hidden${i} has inconsistent hidden_size: got ${hFeatures}, expected ${H}`);
      });
      const shape = rank === 2 ? [batch, H] : [H];
      if (H === 0 || batch === 0) return hx.map(() => Tensor.zeros(shape));
      const { finals } = this.stack.run({
        x: x.data,
        batchFirst: false,
        batchSizes: this.oneStep(batch),
        rows: batch,
        initial: hx.map((h) => h?.data ?? null),
        dropout: null,
        output: false,
      });
      return finals.map((f) => new Tensor(f, shape));
    });
  }

  private oneStep(batch: number): Int32Array {
    this.steps[0] = batch;
    return this.steps;
  }

  /** The state tensors, type-checked, read once and ranked like the input (null entries: zeros). */
  private readStates(states: readonly unknown[] | null, rank: number): (TensorSnapshot | null)[] {
    if (states === null) return new Array<null>(this.stack.stateCount).fill(null);
    const pair = states.length === 2;
    const snapshots = states.map((h, i) => {
      const label = pair ? `hx[${i}]` : "hx";
      if (!(h instanceof Tensor))
        throw new TypeError(`${this.kind}: Expected ${label} to be a Tensor, got ${describe(h)}`);
      const snapshot = snapshotTensor(h, label);
      const r = snapshot.shape.length;
      if (r !== 1 && r !== 2) {
        throw new RangeError(`${this.kind}: Expected ${pair ? label : "hidden"} to be 1D or 2D, got ${r}D instead`);
      }
      return snapshot;
    });
    snapshots.forEach((h, i) => {
      // PyTorch unsqueezes the state of 1-D input and fails later with a misleading size; say what is wrong.
      if (h.shape.length !== rank) {
        const label = pair ? `hx[${i}]` : "hidden";
        throw new RangeError(
          `${this.kind}: Expected ${label} to be ${rank}D for ${rank}D (${rank === 1 ? "unbatched" : "batched"}) input, ` +
            `got ${h.shape.length}D`,
        );
      }
    });
    return snapshots;
  }
}
