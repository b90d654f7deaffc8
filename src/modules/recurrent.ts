// The shared base of RNN, GRU and LSTM, as PyTorch's RNNBase: options,
// parameter specs (gates × hidden), seeded init, weights packed once,
// state dict, and a forward that validates every argument into a plain plan
// (batched, unbatched, batch-first or packed; states in sorted order) before
// the layer stack executes it. Each module adds only its gate count, the
// kernel export of one layer, and the form of its state. Backward validates
// the gradients in the output's form and returns them in the input's.

import { Activation, type Gates } from "../../assembly/abi.js";
import { readTensor, Tensor } from "../core/tensor.js";
import { describe, formatShape } from "../core/describe.js";
import { MT19937, randomSeed } from "../core/random.js";
import type { TensorSnapshot } from "../core/snapshot.js";
import { activeKernel } from "../runtime/runtime.js";
import { PackedSequence, readPackedSequence } from "../sequence/packed.js";
import { checkStackFits, type ParameterNamer, type StackShape } from "./layers.js";
import { checkShape, StackModule } from "./stack-module.js";
import { checkDropout, type RecurrentConfig } from "./options.js";
import { recurrentInit, type ParameterSpec } from "./parameters.js";

export type RecurrentName = "RNN" | "GRU" | "LSTM";

/** PyTorch's names: weight_ih_l0, bias_hh_l1_reverse, weight_hr_l0, … */
const layerName: ParameterNamer = (kind, layer, dir) => `${kind}_l${layer}${dir === 1 ? "_reverse" : ""}`;

/** What forward validated: everything the stack needs, plus how to shape the results. */
interface ForwardPlan {
  readonly form: "batched" | "unbatched" | "packed";
  readonly x: Float32Array;
  readonly batchFirst: boolean;
  readonly steps: number;
  readonly batch: number;
  readonly rows: number;
  readonly batchSizes: Int32Array;
  readonly sortedIndices: Int32Array | null;
  readonly unsortedIndices: Int32Array | null;
  /** Per state, in the caller's batch order, or null for zeros. */
  readonly initial: readonly (Float32Array | null)[];
  readonly dropout: number;
}

/** What a train-mode forward keeps of its plan for backward: the forms and sizes, no data. */
type KeptPlan = Omit<ForwardPlan, "x" | "initial" | "dropout">;

export abstract class RecurrentBase extends StackModule<KeptPlan> {
  readonly numLayers: number;
  readonly batchFirst: boolean;
  readonly bidirectional: boolean;

  private readonly kind: RecurrentName;
  private dropoutP: number;
  private readonly dropoutRng: MT19937;

  protected constructor(name: RecurrentName, config: RecurrentConfig, gates: Gates) {
    const kernel = activeKernel();
    const shape: StackShape = {
      inputSize: config.inputSize,
      hidden: config.hiddenSize,
      proj: config.projSize,
      layers: config.numLayers,
      dirs: config.bidirectional ? 2 : 1,
      gates,
      bias: config.bias,
      activation: config.nonlinearity === "relu" ? Activation.Relu : Activation.Tanh,
    };
    checkStackFits(shape, repr(name, config));
    const specs = recurrentSpecs(shape);
    const rng = new MT19937(config.seed ?? randomSeed());
    const params = recurrentInit(specs, config.hiddenSize, rng);
    super(name, kernel, shape, specs, params, layerName);
    this.kind = name;
    this.numLayers = config.numLayers;
    this.batchFirst = config.batchFirst;
    this.bidirectional = config.bidirectional;
    this.dropoutP = config.dropout;
    this.dropoutRng = new MT19937(rng.next());
  }

  /** Dropout probability between layers in training mode; settable like PyTorch's `rnn.dropout`. */
  get dropout(): number {
    return this.dropoutP;
  }

  set dropout(p: number) {
    this.dropoutP = checkDropout(p);
  }

  /** Number of directions: 2 when bidirectional. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** PyTorch's repr, e.g. `LSTM(10, 20, proj_size=5, num_layers=2, bidirectional=True)`. */
  toString(): string {
    return repr(this.kind, {
      inputSize: this.inputSize,
      hiddenSize: this.hiddenSize,
      projSize: this.stack.shape.proj,
      numLayers: this.numLayers,
      bias: this.bias,
      batchFirst: this.batchFirst,
      dropout: this.dropoutP,
      bidirectional: this.bidirectional,
    });
  }

  /**
   * The whole forward of a module whose state is `states` (already taken apart:
   * one tensor, or LSTM's two), guarded against re-entry.
   */
  protected forwardStates(input: unknown, states: readonly unknown[] | null): [Tensor | PackedSequence, Tensor[]] {
    return this.guard(() => {
      // Read once: user code run while validating (a getter) cannot switch the mode mid-call.
      const training = this.training;
      const plan = this.plan(input, states, training);
      this.beginForward(training);
      const result = this.execute(plan, training);
      const { form, batchFirst, steps, batch, rows, batchSizes, sortedIndices, unsortedIndices } = plan;
      this.endForward(training, { form, batchFirst, steps, batch, rows, batchSizes, sortedIndices, unsortedIndices });
      return result;
    });
  }

  /**
   * The whole backward of a module whose final-state gradients are `states`
   * (one tensor or LSTM's two, null entries and null for zeros), guarded.
   */
  protected backwardStates(
    gradOutput: unknown,
    states: readonly unknown[] | null,
  ): [Tensor | PackedSequence, Tensor[]] {
    return this.guard(() => {
      const plan = this.keptForward();
      const dy = this.readGradOutput(gradOutput, plan);
      const finals = this.readGradStates(states, plan);
      const { steps, batch } = plan;
      const planes = this.numLayers * this.numDirections;
      const widths = Array.from({ length: this.stack.stateCount }, (_, i) => this.stack.stateWidth(i));
      const stateShape = (i: number): number[] =>
        plan.form === "unbatched" ? [planes, widths[i]] : [planes, batch, widths[i]];
      const inShape =
        plan.form === "unbatched"
          ? [steps, this.inputSize]
          : plan.batchFirst
            ? [batch, steps, this.inputSize]
            : [steps, batch, this.inputSize];
      if (batch === 0) {
        this.consumeForward();
        return [Tensor.zeros(inShape), widths.map((_, i) => Tensor.zeros(stateShape(i)))];
      }
      const sorted = plan.sortedIndices;
      const { dx, initial } = this.backwardStack({
        dy,
        batchFirst: plan.batchFirst,
        finals: finals.map((g, i) => (g === null || sorted === null ? g : permuteBatch(g, sorted, planes, widths[i]))),
      });
      this.consumeForward();
      const unsorted = plan.unsortedIndices;
      const gradStates = initial.map(
        (g, i) => new Tensor(unsorted === null ? g : permuteBatch(g, unsorted, planes, widths[i]), stateShape(i)),
      );
      if (plan.form === "packed") {
        const data = new Tensor(dx, [plan.rows, this.inputSize]);
        return [new PackedSequence(data, plan.batchSizes, sorted, unsorted), gradStates];
      }
      const data = plan.batchFirst ? timeToBatchMajor(dx, steps, batch, this.inputSize) : dx;
      return [new Tensor(data, inShape), gradStates];
    });
  }

  /** gradOutput read once and checked against the kept output's form; its values. */
  private readGradOutput(gradOutput: unknown, plan: KeptPlan): Float32Array {
    const name = `${this.kind}.backward`;
    const features = this.numDirections * this.stack.stateWidth(0);
    if (plan.form === "packed") {
      if (!(gradOutput instanceof PackedSequence)) {
        throw new TypeError(
          `${name}: Expected gradOutput to be a PackedSequence like the output of forward, got ${describe(gradOutput)}`,
        );
      }
      const packed = readPackedSequence(gradOutput, "gradOutput");
      checkShape(name, "gradOutput", [plan.rows, features], packed.data.shape);
      checkSameIntegers(name, "batchSizes", plan.batchSizes, packed.batchSizes);
      checkSameIntegers(name, "sortedIndices", plan.sortedIndices, packed.sortedIndices);
      checkSameIntegers(name, "unsortedIndices", plan.unsortedIndices, packed.unsortedIndices);
      return packed.data.data;
    }
    const g = readTensor(
      gradOutput,
      "gradOutput",
      `${name}: Expected gradOutput to be a Tensor like the output of forward`,
    );
    const { steps, batch } = plan;
    const shape =
      plan.form === "unbatched"
        ? [steps, features]
        : plan.batchFirst
          ? [batch, steps, features]
          : [steps, batch, features];
    checkShape(name, "gradOutput", shape, g.shape);
    return g.data;
  }

  /** The final-state gradients, each read once and checked against hN's (cN's) shape; null for zeros. */
  private readGradStates(states: readonly unknown[] | null, plan: KeptPlan): (Float32Array | null)[] {
    const name = `${this.kind}.backward`;
    const count = this.stack.stateCount;
    if (states === null) return new Array<null>(count).fill(null);
    const planes = this.numLayers * this.numDirections;
    const labels = count === 1 ? ["gradHn"] : ["gradHn", "gradCn"];
    return states.map((g, i) => {
      if (g === null || g === undefined) return null;
      const label = labels[i];
      const snapshot = readTensor(g, label, `${name}: Expected ${label} to be a Tensor or null`);
      const width = this.stack.stateWidth(i);
      const shape = plan.form === "unbatched" ? [planes, width] : [planes, plan.batch, width];
      checkShape(name, label, shape, snapshot.shape);
      return snapshot.data;
    });
  }

  /** Reads and validates every argument once, in PyTorch's order of checks. */
  private plan(input: unknown, states: readonly unknown[] | null, training: boolean): ForwardPlan {
    const name = this.kind;
    const dropout = training && this.dropoutP > 0 ? this.dropoutP : 0;
    if (input instanceof PackedSequence) {
      const packed = readPackedSequence(input);
      const data = packed.data;
      if (data.shape.length !== 2) throw new RangeError(`input must have 2 dimensions, got ${data.shape.length}`);
      this.checkInputSize(data.shape[1]);
      const batch = packed.batchSizes[0];
      const hx = this.readStates(states);
      this.checkStateShapes(hx, batch, false);
      return {
        form: "packed",
        x: data.data,
        batchFirst: false,
        steps: packed.batchSizes.length,
        batch,
        rows: data.shape[0],
        batchSizes: packed.batchSizes,
        sortedIndices: packed.sortedIndices,
        unsortedIndices: packed.unsortedIndices,
        initial: hx.map((h) => h?.data ?? null),
        dropout,
      };
    }
    const x = readTensor(input, "input", `${name}: Expected input to be a Tensor or PackedSequence`);
    const ndim = x.shape.length;
    if (ndim !== 2 && ndim !== 3) {
      throw new RangeError(
        `${name}: Expected input to be 2D or 3D, got ${ndim}D ${name === "RNN" ? "tensor " : ""}instead`,
      );
    }
    const unbatched = ndim === 2;
    const hx = this.readStates(states);
    this.checkStateRanks(hx, unbatched);
    const batchFirst = this.batchFirst && !unbatched;
    const steps = x.shape[batchFirst ? 1 : 0];
    const batch = unbatched ? 1 : x.shape[batchFirst ? 0 : 1];
    this.checkInputSize(x.shape[ndim - 1]);
    this.checkStateShapes(hx, batch, unbatched);
    if (steps === 0) throw new RangeError("Expected sequence length to be larger than 0 in RNN");
    return {
      form: unbatched ? "unbatched" : "batched",
      x: x.data,
      batchFirst,
      steps,
      batch,
      rows: steps * batch,
      batchSizes: new Int32Array(batch === 0 ? 0 : steps).fill(batch),
      sortedIndices: null,
      unsortedIndices: null,
      initial: hx.map((h) => h?.data ?? null),
      dropout,
    };
  }

  /** Runs a plan on the layer stack (keeping its tape in training mode) and shapes the results as PyTorch does. */
  private execute(plan: ForwardPlan, training: boolean): [Tensor | PackedSequence, Tensor[]] {
    const { steps, batch } = plan;
    const planes = this.numLayers * this.numDirections;
    const stateCount = this.stack.stateCount;
    const widths = Array.from({ length: stateCount }, (_, i) => this.stack.stateWidth(i));
    const features = this.numDirections * widths[0];
    const stateShape = (i: number): number[] =>
      plan.form === "unbatched" ? [planes, widths[i]] : [planes, batch, widths[i]];
    const outShape =
      plan.form === "unbatched"
        ? [steps, features]
        : plan.batchFirst
          ? [batch, steps, features]
          : [steps, batch, features];
    if (batch === 0) return [Tensor.zeros(outShape), widths.map((_, i) => Tensor.zeros(stateShape(i)))];

    const sorted = plan.sortedIndices;
    const { y, finals } = this.stack.run({
      x: plan.x,
      batchFirst: plan.batchFirst,
      batchSizes: plan.batchSizes,
      rows: plan.rows,
      initial: plan.initial.map((h, i) =>
        h === null || sorted === null ? h : permuteBatch(h, sorted, planes, widths[i]),
      ),
      dropout: plan.dropout > 0 ? { p: plan.dropout, rng: this.dropoutRng } : null,
      output: true,
      keep: training,
    });
    const unsorted = plan.unsortedIndices;
    const states = finals.map(
      (f, i) => new Tensor(unsorted === null ? f : permuteBatch(f, unsorted, planes, widths[i]), stateShape(i)),
    );
    const rows = y!; // asked for with `output: true`
    if (plan.form === "packed") {
      return [new PackedSequence(new Tensor(rows, [plan.rows, features]), plan.batchSizes, sorted, unsorted), states];
    }
    return [new Tensor(plan.batchFirst ? timeToBatchMajor(rows, steps, batch, features) : rows, outShape), states];
  }

  /** The state tensors, type-checked and read once (null entries: zeros). */
  private readStates(states: readonly unknown[] | null): (TensorSnapshot | null)[] {
    const count = this.stack.stateCount;
    if (states === null) return new Array<null>(count).fill(null);
    return states.map((h, i) => {
      const label = count === 1 ? "hx" : `hx[${i}]`;
      return readTensor(h, label, `${this.kind}: Expected ${label} to be a Tensor`);
    });
  }

  private checkStateRanks(hx: readonly (TensorSnapshot | null)[], unbatched: boolean): void {
    if (hx[0] === null) return;
    const want = unbatched ? 2 : 3;
    const ranks = hx.map((h) => h!.shape.length);
    if (ranks.every((r) => r === want)) return;
    const kind = unbatched ? "unbatched 2-D" : "batched 3-D";
    if (ranks.length === 1) {
      throw new RangeError(`For ${kind} input, hx should also be ${want}-D but got ${ranks[0]}-D tensor`);
    }
    throw new RangeError(
      `For ${kind} input, hx and cx should also be ${want}-D but got (${ranks.join("-D, ")}-D) tensors`,
    );
  }

  /** PyTorch's check_hidden_size for each state; unbatched shapes are shown unsqueezed. */
  private checkStateShapes(hx: readonly (TensorSnapshot | null)[], batch: number, unbatched: boolean): void {
    hx.forEach((h, i) => {
      if (h === null) return;
      const expected = [this.numLayers * this.numDirections, batch, this.stack.stateWidth(i)];
      const got = unbatched && h.shape.length === 2 ? [h.shape[0], 1, h.shape[1]] : [...h.shape];
      if (got.length !== 3 || got.some((s, d) => s !== expected[d])) {
        const what = hx.length === 1 ? "hidden" : `hidden[${i}]`;
        throw new RangeError(`Expected ${what} size (${expected.join(", ")}), got ${formatShape(got)}`);
      }
    });
  }

  private checkInputSize(got: number): void {
    if (got !== this.inputSize) {
      throw new RangeError(`input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${got}`);
    }
  }
}

/** PyTorch's parameter names and shapes, in registration order (layer, direction, [w_ih, w_hh, b_ih, b_hh, w_hr]). */
function recurrentSpecs(s: StackShape): ParameterSpec[] {
  const out = s.proj > 0 ? s.proj : s.hidden;
  const rows = s.gates * s.hidden;
  const specs: ParameterSpec[] = [];
  for (let l = 0; l < s.layers; l++) {
    for (let d = 0; d < s.dirs; d++) {
      const inputs = l === 0 ? s.inputSize : s.dirs * out;
      specs.push({ name: layerName("weight_ih", l, d), shape: [rows, inputs] });
      specs.push({ name: layerName("weight_hh", l, d), shape: [rows, out] });
      if (s.bias) {
        specs.push({ name: layerName("bias_ih", l, d), shape: [rows] });
        specs.push({ name: layerName("bias_hh", l, d), shape: [rows] });
      }
      if (s.proj > 0) specs.push({ name: layerName("weight_hr", l, d), shape: [s.proj, s.hidden] });
    }
  }
  return specs;
}

/** PyTorch's extra_repr: sizes, then only the options that differ from the defaults. */
function repr(name: RecurrentName, c: Omit<RecurrentConfig, "nonlinearity" | "seed">): string {
  let s = `${name}(${c.inputSize}, ${c.hiddenSize}`;
  if (c.projSize !== 0) s += `, proj_size=${c.projSize}`;
  if (c.numLayers !== 1) s += `, num_layers=${c.numLayers}`;
  if (!c.bias) s += ", bias=False";
  if (c.batchFirst) s += ", batch_first=True";
  if (c.dropout !== 0) s += `, dropout=${c.dropout}`;
  if (c.bidirectional) s += ", bidirectional=True";
  return `${s})`;
}

/** A packed gradient's integer fields must be the output's. */
function checkSameIntegers(name: string, what: string, expected: Int32Array | null, got: Int32Array | null): void {
  const same =
    expected === null || got === null
      ? expected === got
      : expected.length === got.length && expected.every((v, i) => v === got[i]);
  if (!same) {
    const show = (v: Int32Array | null): string => (v === null ? "None" : `[${Array.from(v).join(", ")}]`);
    throw new RangeError(`${name}: Expected gradOutput with the output's ${what} ${show(expected)}, got ${show(got)}`);
  }
}

/** State-shaped data (planes × batch × width) with the batch rows reordered: out[:, i] = src[:, index[i]]. */
function permuteBatch(src: Float32Array, index: Int32Array, planes: number, width: number): Float32Array {
  const batch = index.length;
  const out = new Float32Array(planes * batch * width);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < batch; i++) {
      const from = (p * batch + index[i]) * width;
      out.set(src.subarray(from, from + width), (p * batch + i) * width);
    }
  }
  return out;
}

/** (T, B, F) → (B, T, F). */
function timeToBatchMajor(y: Float32Array, steps: number, batch: number, features: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < batch; b++) {
      const from = (t * batch + b) * features;
      out.set(y.subarray(from, from + features), (b * steps + t) * features);
    }
  }
  return out;
}
