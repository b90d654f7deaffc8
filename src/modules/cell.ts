// The shared base of RNNCell, GRUCell and LSTMCell, as PyTorch's
// RNNCellBase: options, parameters (gates × hidden), seeded init, and a
// forward that validates input and state with PyTorch's checks and messages
// before running one step — a layer stack of one layer, one direction and
// one time step, so a cell computes exactly what its module computes, and
// differentiates exactly as its module does.

import { Activation, type Gates } from "../../assembly/abi.js";
import { readTensor, Tensor } from "../core/tensor.js";
import { MT19937, randomSeed } from "../core/random.js";
import type { TensorSnapshot } from "../core/snapshot.js";
import { activeKernel } from "../runtime/runtime.js";
import { checkStackFits, type ParameterNamer, type StackShape } from "./layers.js";
import { checkShape, StackModule } from "./stack-module.js";
import type { CellConfig } from "./options.js";
import { recurrentInit, type ParameterSpec } from "./parameters.js";

export type CellName = "RNNCell" | "GRUCell" | "LSTMCell";

/** A cell's parameters have no layer suffix: weight_ih, weight_hh, bias_ih, bias_hh. */
const cellName: ParameterNamer = (kind) => kind;

/** What a train-mode step keeps for backward: the input's rank and batch. */
interface KeptStep {
  readonly rank: number;
  readonly batch: number;
}

export abstract class CellBase extends StackModule<KeptStep> {
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
      // Read once: user code run while validating (a getter) cannot switch the mode mid-call.
      const training = this.training;
      const name = this.kind;
      const x = readTensor(input, "input", `${name}: Expected input to be a Tensor`);
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
      this.beginForward(training);
      let result: Tensor[];
      if (H === 0 || batch === 0) {
        result = hx.map(() => Tensor.zeros(shape));
      } else {
        const { finals } = this.stack.run({
          x: x.data,
          batchFirst: false,
          batchSizes: this.oneStep(batch),
          rows: batch,
          initial: hx.map((h) => h?.data ?? null),
          dropout: null,
          output: false,
          keep: training,
        });
        result = finals.map((f) => new Tensor(f, shape));
      }
      this.endForward(training, { rank, batch });
      return result;
    });
  }

  /**
   * Backward of the last step for a cell whose state gradients are `states`
   * (dL/dh', and dL/dc' for LSTMCell; null entries for zeros), guarded.
   * Returns [gradInput with the input's shape, ...gradients of the states with their shape].
   */
  protected backwardStep(states: readonly unknown[]): Tensor[] {
    return this.guard(() => {
      const kept = this.keptForward();
      const name = `${this.kind}.backward`;
      const H = this.hiddenSize;
      const shape = kept.rank === 2 ? [kept.batch, H] : [H];
      const labels = states.length === 1 ? ["gradH"] : ["gradH", "gradC"];
      const finals = states.map((g, i) => {
        if (g === null || g === undefined) return null;
        const snapshot = readTensor(g, labels[i], `${name}: Expected ${labels[i]} to be a Tensor or null`);
        checkShape(name, labels[i], shape, snapshot.shape);
        return snapshot.data;
      });
      const inShape = kept.rank === 2 ? [kept.batch, this.inputSize] : [this.inputSize];
      if (H === 0 || kept.batch === 0) {
        this.consumeForward();
        return [Tensor.zeros(inShape), ...states.map(() => Tensor.zeros(shape))];
      }
      const { dx, initial } = this.backwardStack({ dy: null, batchFirst: false, finals });
      this.consumeForward();
      return [new Tensor(dx, inShape), ...initial.map((g) => new Tensor(g, shape))];
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
      const snapshot = readTensor(h, label, `${this.kind}: Expected ${label} to be a Tensor`);
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
