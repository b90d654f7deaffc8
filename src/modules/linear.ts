import { Activation, ALIGNMENT, PANEL_WIDTH } from "../../assembly/abi.js";
import { readTensor, Tensor } from "../core/tensor.js";
import { MT19937, randomSeed } from "../core/random.js";
import { checkFitsInMemory, roundUp } from "../core/sizes.js";
import { activeKernel } from "../runtime/runtime.js";
import { kernelError, Workspace, type Kernel } from "../runtime/kernel.js";
import { checkGradOutputShape, KeptForward } from "../train/kept.js";
import { Module } from "./module.js";
import { checkBoolean, checkKnownKeys, checkSize, readOptionsObject, readSeed, valueOr } from "./options.js";
import { uniformFill, type ParameterSpec } from "./parameters.js";

/** Options of `new Linear()`: PyTorch's arguments in camelCase, plus `seed`. */
export interface LinearOptions {
  /** Features of each input row (PyTorch `in_features`). */
  inFeatures: number;
  /** Features of each output row (PyTorch `out_features`). */
  outFeatures: number;
  /** Whether to add a learned bias; default true. */
  bias?: boolean;
  /** Bit-identical to `torch.manual_seed(seed); nn.Linear(...)`; random when omitted. */
  seed?: number | bigint;
}

const ALIGN_FLOATS = ALIGNMENT / 4;

/**
 * `torch.nn.Linear`: `y = x·Wᵀ + b` on the last dimension, (*, in) → (*, out),
 * on the kernel's GEMM with the weight packed once into panels.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;

  private readonly kernel: Kernel;
  private readonly workspace: Workspace;
  /** Packed weight panels, then the bias padded to a panel (zeros without bias). */
  private weights = 0;
  /** Wᵀ packed for gradInput = gradOutput·W, allocated on the first backward. */
  private transposed = 0;
  /** The parametersVersion `transposed` was packed from (−1: never). */
  private transposedVersion = -1;
  /** Backward's gradOutput, gradInput and weight-gradient rows: the one block its kernel calls write. */
  private readonly backwardScratch: Workspace;
  /**
   * The last train-mode forward: its input rows stay where the forward wrote them, in the
   * workspace, which only a new forward or a parameter change (making them stale) overwrites.
   */
  private readonly kept = new KeptForward<{ input: number; rows: number; inputShape: readonly number[] }>("Linear");

  /**
   * @throws TypeError / RangeError for invalid options; Error if `init()` has not completed.
   */
  constructor(options: LinearOptions) {
    const o = readOptionsObject("Linear", options, "{ inFeatures: 10, outFeatures: 20 }");
    checkKnownKeys("Linear", o, ["inFeatures", "outFeatures", "bias", "seed"]);
    const bias = checkBoolean(valueOr(o, "bias", true), "bias");
    const inFeatures = checkSize("Linear", o, "inFeatures", 0);
    const outFeatures = checkSize("Linear", o, "outFeatures", 0);
    const seed = readSeed(o);
    const kernel = activeKernel();
    const out8 = roundUp(outFeatures, PANEL_WIDTH);
    checkFitsInMemory(
      (out8 * inFeatures + out8 + outFeatures * inFeatures) * 4,
      `Linear(in_features=${inFeatures}, out_features=${outFeatures}) (its weights)`,
    );
    const specs: ParameterSpec[] = [
      { name: "weight", shape: [outFeatures, inFeatures] },
      ...(bias ? [{ name: "bias", shape: [outFeatures] }] : []),
    ];
    super("Linear", specs, linearInit(inFeatures, outFeatures, bias, new MT19937(seed ?? randomSeed())));
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.bias = bias;
    this.kernel = kernel;
    this.workspace = new Workspace(kernel);
    this.backwardScratch = new Workspace(kernel);
    try {
      this.weights = kernel.alloc(out8 * inFeatures + out8 + ALIGN_FLOATS);
      this.apply(this.params);
    } catch (error) {
      this.release();
      throw error;
    }
  }

  /**
   * Applies the layer to the last dimension.
   * @param input (*, inFeatures), at least 1-D; leading dimensions may be 0.
   * @returns (*, outFeatures).
   * @throws TypeError for a non-Tensor; RangeError with PyTorch's message for a wrong last dimension.
   */
  forward(input: Tensor): Tensor {
    return this.guard(() => {
      const x = readTensor(input, "input", "Linear: Expected input to be a Tensor");
      const rank = x.shape.length;
      if (rank === 0) throw new RangeError("both arguments to linear need to be at least 1D, but they are 0D and 2D");
      const I = this.inFeatures;
      const O = this.outFeatures;
      const last = x.shape[rank - 1];
      let rows = 1;
      for (let d = 0; d < rank - 1; d++) rows *= x.shape[d];
      if (last !== I) {
        throw new RangeError(`mat1 and mat2 shapes cannot be multiplied (${rows}x${last} and ${I}x${O})`);
      }
      const outShape = [...x.shape.slice(0, -1), O];
      const inputShape = [...x.shape];
      if (rows === 0 || O === 0) {
        this.kept.record(this.training, { input: 0, rows, inputShape }, this.parametersVersion);
        return Tensor.zeros(outShape);
      }
      const xFloats = roundUp(rows * I, ALIGN_FLOATS);
      checkFitsInMemory((xFloats + rows * O) * 4, `Linear.forward on ${rows} rows (its workspace)`);
      const k = this.kernel;
      this.kept.clear();
      const xPtr = this.workspace.ensure(xFloats + rows * O);
      const yPtr = xPtr + xFloats * 4;
      k.write(xPtr, x.data);
      const biasPtr = this.weights + roundUp(O, PANEL_WIDTH) * I * 4;
      k.exports.set_write_window(xPtr);
      try {
        k.exports.gemm(yPtr, O, xPtr, I, this.weights, biasPtr, 0, rows, I, O, Activation.Identity);
      } catch (error) {
        throw kernelError(error, "Linear.forward");
      }
      this.kept.record(this.training, { input: xPtr, rows, inputShape }, this.parametersVersion);
      return new Tensor(k.read(yPtr, rows * O), outShape);
    });
  }

  /**
   * Backpropagates through the last train-mode forward: returns gradInput = gradOutput·W and
   * adds gradOutputᵀ·input to the weight gradient and the column sums of gradOutput to the bias
   * gradient (PyTorch's accumulation, until `zeroGrad()`).
   * @param gradOutput the forward's output shape, (*, outFeatures).
   * @returns gradInput, the forward input's shape.
   * @throws Error without a train-mode forward to use (none, eval mode, already used, parameters
   *   changed); TypeError / RangeError for a gradOutput that is not a Tensor of the output's shape.
   */
  backward(gradOutput: Tensor): Tensor {
    return this.guard(() => {
      const { input, rows, inputShape } = this.kept.get(this.parametersVersion);
      const I = this.inFeatures;
      const O = this.outFeatures;
      const dy = readTensor(gradOutput, "gradOutput", "Linear.backward: Expected gradOutput to be a Tensor");
      checkGradOutputShape("Linear", dy.shape, [...inputShape.slice(0, -1), O]);
      const dyFloats = roundUp(rows * O, ALIGN_FLOATS);
      const dxFloats = roundUp(rows * I, ALIGN_FLOATS);
      const used = rows > 0 && O > 0 && I > 0;
      if (used) {
        checkFitsInMemory((dyFloats + dxFloats + O * I) * 4, `Linear.backward on ${rows} rows (its scratch)`);
        checkFitsInMemory(roundUp(I, PANEL_WIDTH) * O * 4, `${this} (its transposed weights)`);
      }
      let gradInput: Float32Array = new Float32Array(rows * I);
      let gradWeight: Float32Array = new Float32Array(O * I);
      if (used) {
        const k = this.kernel;
        const dyPtr = this.backwardScratch.ensure(dyFloats + dxFloats + O * I);
        const dxPtr = dyPtr + dyFloats * 4;
        const dwPtr = dxPtr + dxFloats * 4;
        try {
          this.packTransposed(dwPtr);
          k.write(dyPtr, dy.data);
          k.f32().fill(0, dwPtr / 4, dwPtr / 4 + O * I);
          k.exports.set_write_window(dyPtr);
          k.exports.gemm(dxPtr, I, dyPtr, O, this.transposed, 0, 0, rows, O, I, Activation.Identity);
          k.exports.gemm_tn(dwPtr, I, dyPtr, O, input, I, rows, O, I);
        } catch (error) {
          throw kernelError(error, "Linear.backward");
        }
        gradInput = k.read(dxPtr, rows * I);
        gradWeight = k.read(dwPtr, O * I);
      }
      // Consumed only now: a failure above (memory) leaves the forward usable and the gradients as they were.
      this.kept.consume();
      this.accumulateGradient("weight", gradWeight);
      if (this.bias) this.accumulateGradient("bias", columnSums(dy.data, rows, O));
      return new Tensor(gradInput, inputShape);
    });
  }

  /** PyTorch's repr: `Linear(in_features=4, out_features=5, bias=True)`. */
  toString(): string {
    const bias = this.bias ? "True" : "False";
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${bias})`;
  }

  /** Packs the weight into panels through the workspace (taken first) and writes the padded bias. */
  protected apply(next: Map<string, Float32Array>): void {
    const O = this.outFeatures;
    const I = this.inFeatures;
    const k = this.kernel;
    const out8 = roundUp(O, PANEL_WIDTH);
    const staging = this.workspace.ensure(O * I);
    if (O > 0) {
      k.write(staging, next.get("weight")!);
      k.exports.set_write_window(this.weights);
      try {
        k.exports.pack_panels(this.weights, staging, O, I);
      } catch (error) {
        throw kernelError(error, "Linear: packing the weight");
      }
    }
    const bias = new Float32Array(out8);
    if (this.bias) bias.set(next.get("bias")!);
    k.write(this.weights + out8 * I * 4, bias);
  }

  protected release(): void {
    this.kernel.free(this.weights);
    this.kernel.free(this.transposed);
    this.weights = 0;
    this.transposed = 0;
    this.workspace.release();
    this.backwardScratch.release();
  }

  /**
   * Packs Wᵀ for the backward GEMM unless it is current: once per parameters version (an
   * optimizer step, a load), never per call. `staging` holds O·I floats of scratch.
   */
  private packTransposed(staging: number): void {
    if (this.transposedVersion === this.parametersVersion) return;
    const k = this.kernel;
    if (this.transposed === 0) this.transposed = k.alloc(roundUp(this.inFeatures, PANEL_WIDTH) * this.outFeatures);
    k.write(staging, this.params.get("weight")!);
    k.exports.set_write_window(this.transposed);
    k.exports.pack_transposed(this.transposed, staging, this.outFeatures, this.inFeatures);
    this.transposedVersion = this.parametersVersion;
  }
}

/** The sums of each column of a rows × cols array, accumulated in doubles. */
function columnSums(data: Float32Array, rows: number, cols: number): Float32Array {
  const sums = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) sums[c] += data[r * cols + c];
  return Float32Array.from(sums);
}

/**
 * PyTorch's Linear.reset_parameters: `kaiming_uniform_(weight, a=√5)`, then the
 * bias from U(−1/√fan_in, 1/√fan_in). The bounds are computed in doubles in
 * the same steps as torch.nn.init, so the float32 draws are bit-identical.
 */
function linearInit(inFeatures: number, outFeatures: number, bias: boolean, rng: MT19937): Map<string, Float32Array> {
  const weight = new Float32Array(outFeatures * inFeatures);
  if (weight.length > 0) {
    // kaiming_uniform_ skips zero-element tensors without drawing.
    const a = Math.sqrt(5);
    const gain = Math.sqrt(2 / (1 + a * a));
    const std = gain / Math.sqrt(inFeatures);
    uniformFill(weight, Math.sqrt(3) * std, rng);
  }
  const params = new Map([["weight", weight]]);
  if (bias) {
    const values = new Float32Array(outFeatures);
    uniformFill(values, inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0, rng);
    params.set("bias", values);
  }
  return params;
}
