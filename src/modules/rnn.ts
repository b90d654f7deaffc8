import { checkConsistent, Tensor } from "../core/tensor.js";
import { describe, formatShape } from "../core/describe.js";
import { Act, checkFitsInWasm, type Kernel } from "../runtime/kernel.js";
import { activeKernel } from "../runtime/runtime.js";
import { MT19937, randomSeed } from "../core/random.js";
import { checkDropout, checkRNNOptions, type Nonlinearity, type RNNConfig, type RNNOptions } from "./options.js";
import { PackedSequence } from "../sequence/packed.js";
import { loadParameters, type LoadStateDictOptions, type StateDictInput } from "../io/state-dict.js";
import { packWeight, roundUp8, uniformInit, type ParameterSpec } from "./parameters.js";

export type { RNNOptions, Nonlinearity } from "./options.js";
export type { ParameterSpec } from "./parameters.js";

/** Where one layer's packed weights live in the kernel's memory. */
interface PackedLayer {
  wIh: number;
  bias: number;
  wHh: number;
}

/** Reusable per-model scratch in linear memory, grown only when a call needs more. */
interface Workspace {
  ptr: number;
  floats: number;
}

/**
 * `torch.nn.RNN`: a multi-layer Elman RNN with tanh or relu, optionally
 * bidirectional, on batched, unbatched or packed input. Weights live in the
 * kernel's linear memory, packed once at construction and at every
 * `loadStateDict`; results are plain tensors that own their data.
 */
export class RNN {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly nonlinearity: Nonlinearity;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly bidirectional: boolean;
  /** true after `train()` (the initial mode, as in PyTorch), false after `eval()`. */
  training = true;

  private dropoutP: number;
  private readonly kernel: Kernel;
  private readonly specs: ParameterSpec[];
  private readonly params: Map<string, Float32Array>;
  private readonly layers: PackedLayer[] = [];
  private readonly dropoutRng: MT19937;
  private workspace: Workspace = { ptr: 0, floats: 0 };
  private disposed = false;

  /**
   * @param options PyTorch's constructor arguments in camelCase (see RNNOptions).
   * @throws TypeError / RangeError for invalid options, naming the option and the value given.
   * @throws Error if `init()` has not completed.
   */
  constructor(options: RNNOptions) {
    const config: RNNConfig = checkRNNOptions(options);
    this.kernel = activeKernel();
    this.inputSize = config.inputSize;
    this.hiddenSize = config.hiddenSize;
    this.numLayers = config.numLayers;
    this.nonlinearity = config.nonlinearity;
    this.bias = config.bias;
    this.batchFirst = config.batchFirst;
    this.bidirectional = config.bidirectional;
    this.dropoutP = config.dropout;
    this.specs = parameterSpecs(config);
    checkFitsInWasm(packedFloats(config), String(this));
    const rng = new MT19937(config.seed ?? randomSeed());
    this.params = uniformInit(this.specs, this.hiddenSize, rng);
    this.dropoutRng = new MT19937(rng.next());
    try {
      this.allocateLayers();
      this.packAll();
    } catch (error) {
      this.dispose();
      throw error;
    }
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

  /** Parameter names and shapes in PyTorch's registration order. */
  parameterSpecs(): readonly ParameterSpec[] {
    return this.specs;
  }

  /** The parameters as PyTorch names them, in PyTorch's order; each tensor is a copy. */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    const out: Record<string, Tensor> = {};
    for (const spec of this.specs) out[spec.name] = new Tensor(this.params.get(spec.name)!.slice(), spec.shape);
    return out;
  }

  /**
   * Loads parameters with PyTorch's names (`weight_ih_l0`, `bias_hh_l1_reverse`, …).
   * Accepts a record of tensors or a loader's result (`loadSafetensors`, `loadTorch`).
   * With `prefix`, only keys starting with it are considered and it is stripped.
   * @throws Error naming missing/unexpected keys (strict) or mismatched shapes; the model is unchanged then.
   */
  loadStateDict(stateDict: StateDictInput, options: LoadStateDictOptions = {}): void {
    this.checkAlive();
    const values = loadParameters(stateDict, this.specs, options, "RNN");
    for (const [name, data] of values) this.params.set(name, data);
    this.packAll();
  }

  /** Training mode (dropout between layers applies). Returns this. */
  train(mode = true): this {
    if (typeof mode !== "boolean") throw new TypeError(`train: mode should be a boolean, got ${describe(mode)}`);
    this.training = mode;
    return this;
  }

  /** Evaluation mode (no dropout). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Frees the model's linear memory; forward, stateDict and loadStateDict throw afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const layer of this.layers) {
      this.kernel.free(layer.wIh);
      this.kernel.free(layer.bias);
      this.kernel.free(layer.wHh);
    }
    this.layers.length = 0;
    this.kernel.free(this.workspace.ptr);
    this.workspace = { ptr: 0, floats: 0 };
    this.disposed = true;
  }

  /** PyTorch's repr: `RNN(10, 20, num_layers=2, bidirectional=True)`. */
  toString(): string {
    let s = `RNN(${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += ", bias=False";
    if (this.batchFirst) s += ", batch_first=True";
    if (this.dropoutP !== 0) s += `, dropout=${this.dropoutP}`;
    if (this.bidirectional) s += ", bidirectional=True";
    return s + ")";
  }

  /**
   * Runs the RNN.
   * - Tensor input: (L, N, inputSize), or (N, L, inputSize) with batchFirst, or unbatched (L, inputSize).
   *   Returns [output (L, N, D·H) or (N, L, D·H) or (L, D·H), hN (numLayers·D, N, H) or (numLayers·D, H)].
   * - PackedSequence input: returns [PackedSequence output with the input's batchSizes and indices, hN in the caller's order].
   * `h0` has hN's shape (batch in the caller's order) and defaults to zeros.
   * @throws Error with PyTorch's message for wrong ranks, sizes or h0 shapes; nothing changes then.
   */
  forward(input: Tensor, h0?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    this.checkAlive();
    if (input instanceof PackedSequence) return this.forwardPacked(input, h0 ?? null);
    return this.forwardTensor(input, h0 ?? null);
  }

  private forwardTensor(input: Tensor, h0: Tensor | null): [Tensor, Tensor] {
    if (!(input instanceof Tensor)) {
      throw new TypeError(`RNN: Expected input to be a Tensor or PackedSequence, got ${describe(input)}`);
    }
    checkConsistent(input, "input");
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new RangeError(`RNN: Expected input to be 2D or 3D, got ${input.ndim}D tensor instead`);
    }
    const unbatched = input.ndim === 2;
    if (h0 !== null) {
      if (!(h0 instanceof Tensor)) throw new TypeError(`RNN: Expected hx to be a Tensor, got ${describe(h0)}`);
      checkConsistent(h0, "hx");
      if (unbatched && h0.ndim !== 2) {
        throw new RangeError(`For unbatched 2-D input, hx should also be 2-D but got ${h0.ndim}-D tensor`);
      }
      if (!unbatched && h0.ndim !== 3) {
        throw new RangeError(`For batched 3-D input, hx should also be 3-D but got ${h0.ndim}-D tensor`);
      }
    }
    const batchFirst = this.batchFirst && !unbatched;
    const steps = unbatched ? input.shape[0] : input.shape[batchFirst ? 1 : 0];
    const batch = unbatched ? 1 : input.shape[batchFirst ? 0 : 1];
    this.checkInputSize(input.shape[input.ndim - 1]);
    this.checkHidden(h0, batch, unbatched);
    if (steps === 0) throw new RangeError("Expected sequence length to be larger than 0 in RNN");

    const D = this.numDirections;
    const H = this.hiddenSize;
    const outFeatures = D * H;
    const hShape = unbatched ? [this.numLayers * D, H] : [this.numLayers * D, batch, H];
    const outShape = unbatched ? [steps, outFeatures]
      : batchFirst ? [batch, steps, outFeatures] : [steps, batch, outFeatures];
    if (batch === 0) {
      return [Tensor.zeros(outShape), Tensor.zeros(hShape)];
    }

    const batchSizes = new Int32Array(steps).fill(batch);
    const I = this.inputSize;
    const x = input.data;
    const writeInput = (mem: Float32Array, at: number): void => {
      if (!batchFirst) {
        mem.set(x, at);
        return;
      }
      for (let t = 0; t < steps; t++) {
        for (let b = 0; b < batch; b++) {
          const from = (b * steps + t) * I;
          mem.set(x.subarray(from, from + I), at + (t * batch + b) * I);
        }
      }
    };
    const { y, hN } = this.execute(batchSizes, writeInput, h0 === null ? null : h0.data);
    const output = batchFirst ? timeToBatchMajor(y, steps, batch, outFeatures) : y;
    return [new Tensor(output, outShape), new Tensor(hN, hShape)];
  }

  private forwardPacked(input: PackedSequence, h0: Tensor | null): [PackedSequence, Tensor] {
    const data = input.data;
    checkConsistent(data, "input.data");
    if (data.ndim !== 2) {
      throw new RangeError(`input must have 2 dimensions, got ${data.ndim}`);
    }
    this.checkInputSize(data.shape[1]);
    const batchSizes = input.batchSizes;
    checkBatchSizes(batchSizes, data.shape[0]);
    const batch = batchSizes[0];
    if (h0 !== null) {
      if (!(h0 instanceof Tensor)) throw new TypeError(`RNN: Expected hx to be a Tensor, got ${describe(h0)}`);
      checkConsistent(h0, "hx");
      this.checkHidden(h0, batch, false);
    }
    const sorted = input.sortedIndices;
    const D = this.numDirections;
    const H = this.hiddenSize;
    const hSorted = h0 === null || sorted === null ? h0?.data ?? null : permuteBatch(h0.data, sorted, this.numLayers * D, H);
    const { y, hN } = this.execute(batchSizes, (mem, at) => mem.set(data.data, at), hSorted);
    const unsorted = input.unsortedIndices;
    const hOut = unsorted === null ? hN : permuteBatch(hN, unsorted, this.numLayers * D, H);
    const output = new PackedSequence(new Tensor(y, [data.shape[0], D * H]), batchSizes, sorted, unsorted);
    return [output, new Tensor(hOut, [this.numLayers * D, batch, H])];
  }

  private checkInputSize(got: number): void {
    if (got !== this.inputSize) {
      throw new RangeError(`input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${got}`);
    }
  }

  private checkHidden(h0: Tensor | null, batch: number, unbatched: boolean): void {
    if (h0 === null) return;
    const expected = [this.numLayers * this.numDirections, batch, this.hiddenSize];
    const got = unbatched ? [h0.shape[0], 1, h0.shape[1]] : [...h0.shape];
    if (got.length !== 3 || got.some((s, i) => s !== expected[i])) {
      throw new RangeError(`Expected hidden size (${expected.join(", ")}), got ${formatShape(got)}`);
    }
  }

  /**
   * Runs every layer on time-major rows described by `batchSizes` (rows of a
   * step in sorted order). Returns the last layer's output rows and hN
   * (numLayers·D × batchSizes[0] × H) in the same sorted order.
   */
  private execute(
    batchSizes: Int32Array,
    writeInput: (mem: Float32Array, at: number) => void,
    h0: Float32Array | null,
  ): { y: Float32Array; hN: Float32Array } {
    const k = this.kernel;
    const D = this.numDirections;
    const H = this.hiddenSize;
    const H8 = roundUp8(H);
    const I = this.inputSize;
    const L = this.numLayers;
    const steps = batchSizes.length;
    const batch = batchSizes[0];
    let rows = 0;
    for (const bs of batchSizes) rows += bs;

    // Scratch layout: x | y ping | y pong | projections | h0 | batch sizes.
    const sizes = [rows * I, rows * D * H, rows * D * H, rows * D * H8, L * D * batch * H, steps].map(roundUp4);
    const base = this.ensureWorkspace(sizes.reduce((a, b) => a + b, 0));
    const at: number[] = [];
    let cursor = base;
    for (const s of sizes) {
      at.push(cursor);
      cursor += s * 4;
    }
    const [xPtr, yPing, yPong, pPtr, h0Ptr, bsPtr] = at;

    const mem = k.f32();
    writeInput(mem, xPtr >>> 2);
    if (h0 === null) mem.fill(0, h0Ptr >>> 2, (h0Ptr >>> 2) + L * D * batch * H);
    else mem.set(h0, h0Ptr >>> 2);
    k.i32().set(batchSizes, bsPtr >>> 2);

    const hN = new Float32Array(L * D * batch * H);
    const lastStep = lastStepRows(batchSizes);
    const act = this.nonlinearity === "tanh" ? Act.Tanh : Act.Relu;
    let layerIn = xPtr;
    let layerOut = yPing;
    for (let l = 0; l < L; l++) {
      const inputs = l === 0 ? I : D * H;
      const packed = this.layers[l];
      k.exports.rnn_layer(layerOut, layerIn, inputs, inputs, pPtr, packed.wIh, packed.bias, packed.wHh,
        h0Ptr + l * D * batch * H * 4, bsPtr, steps, H, D, act);
      gatherFinalStates(k.f32(), layerOut >>> 2, lastStep, D, H, hN, l * D * batch * H);
      if (l < L - 1 && this.training && this.dropoutP > 0) {
        this.applyDropout(k.f32(), layerOut >>> 2, rows * D * H);
      }
      layerIn = layerOut;
      layerOut = layerOut === yPing ? yPong : yPing;
    }
    return { y: k.read(layerIn, rows * D * H), hN };
  }

  /** Inverted dropout in place, as at::dropout: keep with 1 − p, scale kept values by 1/(1 − p). */
  private applyDropout(mem: Float32Array, from: number, count: number): void {
    const p = this.dropoutP;
    const scale = p === 1 ? 0 : 1 / (1 - p);
    for (let i = from; i < from + count; i++) {
      mem[i] = this.dropoutRng.nextFloat24() < p ? mem[i] * 0 : mem[i] * scale;
    }
  }

  /** Base pointer of a workspace of at least `floats` floats; the old one is kept if allocation fails. */
  private ensureWorkspace(floats: number): number {
    if (floats > this.workspace.floats) {
      const ptr = this.kernel.alloc(floats);
      this.kernel.free(this.workspace.ptr);
      this.workspace = { ptr, floats };
    }
    return this.workspace.ptr;
  }

  private allocateLayers(): void {
    const D = this.numDirections;
    const H = this.hiddenSize;
    const H8 = roundUp8(H);
    for (let l = 0; l < this.numLayers; l++) {
      const inputs = l === 0 ? this.inputSize : D * H;
      const layer: PackedLayer = { wIh: 0, bias: 0, wHh: 0 };
      this.layers.push(layer);
      layer.wIh = this.kernel.alloc(D * H8 * inputs);
      layer.bias = this.kernel.alloc(D * H8);
      layer.wHh = this.kernel.alloc(D * H8 * H);
    }
  }

  /** Packs every layer's weights into the kernel layout and pre-sums the biases. */
  private packAll(): void {
    const k = this.kernel;
    const D = this.numDirections;
    const H = this.hiddenSize;
    const H8 = roundUp8(H);
    const largest = Math.max(this.inputSize, D * H, H) * H;
    const staging = this.ensureWorkspace(largest);
    for (let l = 0; l < this.numLayers; l++) {
      const inputs = l === 0 ? this.inputSize : D * H;
      const layer = this.layers[l];
      const bias = new Float32Array(D * H8);
      for (let d = 0; d < D; d++) {
        const suffix = `_l${l}${d === 1 ? "_reverse" : ""}`;
        packWeight(k, layer.wIh + d * H8 * inputs * 4, staging, this.params.get(`weight_ih${suffix}`)!, H, inputs);
        packWeight(k, layer.wHh + d * H8 * H * 4, staging, this.params.get(`weight_hh${suffix}`)!, H, H);
        if (this.bias) {
          const bIh = this.params.get(`bias_ih${suffix}`)!;
          const bHh = this.params.get(`bias_hh${suffix}`)!;
          for (let j = 0; j < H; j++) bias[d * H8 + j] = bIh[j] + bHh[j];
        }
      }
      k.write(layer.bias, bias);
    }
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error("This RNN was disposed; create a new one");
  }
}

/** PyTorch's parameter names and shapes, in registration order (layer, direction, [w_ih, w_hh, b_ih, b_hh]). */
function parameterSpecs(c: RNNConfig): ParameterSpec[] {
  const D = c.bidirectional ? 2 : 1;
  const specs: ParameterSpec[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    for (let d = 0; d < D; d++) {
      const suffix = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const inputs = l === 0 ? c.inputSize : D * c.hiddenSize;
      specs.push({ name: `weight_ih${suffix}`, shape: [c.hiddenSize, inputs] });
      specs.push({ name: `weight_hh${suffix}`, shape: [c.hiddenSize, c.hiddenSize] });
      if (c.bias) {
        specs.push({ name: `bias_ih${suffix}`, shape: [c.hiddenSize] });
        specs.push({ name: `bias_hh${suffix}`, shape: [c.hiddenSize] });
      }
    }
  }
  return specs;
}

/**
 * Re-checks a PackedSequence's batch sizes (a mutable Int32Array that may have
 * been edited since construction): positive, non-increasing, summing to the rows.
 */
function checkBatchSizes(batchSizes: Int32Array, rows: number): void {
  let sum = 0;
  for (let t = 0; t < batchSizes.length; t++) {
    const bs = batchSizes[t];
    if (!(bs > 0) || (t > 0 && bs > batchSizes[t - 1])) {
      throw new RangeError(
        `PackedSequence batchSizes must be positive and non-increasing, got ${bs} at step ${t}` +
        (t > 0 ? ` after ${batchSizes[t - 1]}` : ""));
    }
    sum += bs;
  }
  if (batchSizes.length === 0 || sum !== rows) {
    throw new RangeError(`PackedSequence batchSizes sum to ${sum} rows, but data has ${rows}`);
  }
}

/** Floats of kernel memory the packed weights of all layers take. */
function packedFloats(c: RNNConfig): number {
  const D = c.bidirectional ? 2 : 1;
  const H8 = roundUp8(c.hiddenSize);
  let floats = 0;
  for (let l = 0; l < c.numLayers; l++) {
    const inputs = l === 0 ? c.inputSize : D * c.hiddenSize;
    floats += D * H8 * (inputs + c.hiddenSize + 1);
  }
  return floats;
}

/** For each sorted batch row b, the row index (into time-major rows) of its last step. */
function lastStepRows(batchSizes: Int32Array): Int32Array {
  const batch = batchSizes[0];
  const last = new Int32Array(batch);
  let offset = 0;
  for (let t = 0; t < batchSizes.length; t++) {
    const bs = batchSizes[t];
    const next = t + 1 < batchSizes.length ? batchSizes[t + 1] : 0;
    for (let b = next; b < bs; b++) last[b] = offset + b;
    offset += bs;
  }
  return last;
}

/**
 * Copies one layer's final states into hN: the forward direction ends at each
 * sequence's last step, the reverse direction at step 0 (row b).
 */
function gatherFinalStates(
  mem: Float32Array, y: number, lastStep: Int32Array, D: number, H: number, hN: Float32Array, at: number,
): void {
  const batch = lastStep.length;
  const ld = D * H;
  for (let b = 0; b < batch; b++) {
    const from = y + lastStep[b] * ld;
    hN.set(mem.subarray(from, from + H), at + b * H);
  }
  if (D === 2) {
    for (let b = 0; b < batch; b++) {
      const from = y + b * ld + H;
      hN.set(mem.subarray(from, from + H), at + (batch + b) * H);
    }
  }
}

/** hN-shaped data (planes × batch × H) with the batch rows reordered: out[:, i] = src[:, index[i]]. */
function permuteBatch(src: Float32Array, index: Int32Array, planes: number, H: number): Float32Array {
  const batch = index.length;
  const out = new Float32Array(planes * batch * H);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < batch; i++) {
      const from = (p * batch + index[i]) * H;
      out.set(src.subarray(from, from + H), (p * batch + i) * H);
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

function roundUp4(n: number): number {
  return (n + 3) & ~3;
}
