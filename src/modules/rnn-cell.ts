import { checkConsistent, Tensor } from "../core/tensor.js";
import { describe } from "../core/describe.js";
import { Act, checkFitsInWasm, type Kernel } from "../runtime/kernel.js";
import { activeKernel } from "../runtime/runtime.js";
import { MT19937, randomSeed, seed32 } from "../core/random.js";
import { packWeight, roundUp8, uniformInit, type ParameterSpec } from "./parameters.js";
import { loadParameters, type LoadStateDictOptions, type StateDictInput } from "../io/state-dict.js";
import type { Nonlinearity } from "./options.js";

/** Options of `new RNNCell()`: PyTorch's constructor arguments in camelCase, plus `seed`. */
export interface RNNCellOptions {
  inputSize: number;
  /** May be 0, as in PyTorch (outputs then have no features). */
  hiddenSize: number;
  /** Default true. */
  bias?: boolean;
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: Nonlinearity;
  /** Bit-identical to `torch.manual_seed(seed); nn.RNNCell(...)`; random when omitted. */
  seed?: number | bigint;
}

/**
 * `torch.nn.RNNCell`: one step `h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)` —
 * the streaming API. Weights are packed once; a step copies x and h in, makes
 * two kernel calls (projection, then the fused recurrent step) and copies h' out.
 */
export class RNNCell {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  readonly nonlinearity: Nonlinearity;

  private readonly kernel: Kernel;
  private readonly specs: ParameterSpec[];
  private readonly params: Map<string, Float32Array>;
  private wIh = 0;
  private wHh = 0;
  private biasPtr = 0;
  /** Scratch for x | h | projection | h', sized for `capacity` rows. */
  private scratch = 0;
  private capacity = 0;
  private disposed = false;

  /** @throws TypeError / RangeError for invalid options, naming the option and the value. */
  constructor(options: RNNCellOptions) {
    const o = checkCellOptions(options);
    this.inputSize = o.inputSize;
    this.hiddenSize = o.hiddenSize;
    this.bias = o.bias;
    this.nonlinearity = o.nonlinearity;
    this.kernel = activeKernel();
    const H = this.hiddenSize;
    checkFitsInWasm(roundUp8(H) * (this.inputSize + H + 1), `RNNCell(${this.inputSize}, ${H})`);
    this.specs = [
      { name: "weight_ih", shape: [H, this.inputSize] },
      { name: "weight_hh", shape: [H, H] },
      ...(this.bias ? [{ name: "bias_ih", shape: [H] }, { name: "bias_hh", shape: [H] }] : []),
    ];
    this.params = uniformInit(this.specs, H, new MT19937(o.seed ?? randomSeed()));
    if (H > 0) {
      try {
        const H8 = roundUp8(H);
        this.wIh = this.kernel.alloc(H8 * this.inputSize);
        this.wHh = this.kernel.alloc(H8 * H);
        this.biasPtr = this.kernel.alloc(H8);
        this.ensureScratch(1);
        this.pack(this.kernel.alloc(Math.max(this.inputSize, H) * H));
      } catch (error) {
        this.dispose();
        throw error;
      }
    }
  }

  /** The parameters with PyTorch's names (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`); copies. */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    const out: Record<string, Tensor> = {};
    for (const s of this.specs) out[s.name] = new Tensor(this.params.get(s.name)!.slice(), s.shape);
    return out;
  }

  /** Loads PyTorch-named parameters; see RNN.loadStateDict. */
  loadStateDict(stateDict: StateDictInput, options: LoadStateDictOptions = {}): void {
    this.checkAlive();
    const values = loadParameters(stateDict, this.specs, options, "RNNCell");
    // Take the packing scratch before changing anything, so running out of
    // memory leaves the cell as it was.
    const staging = this.hiddenSize > 0 ? this.kernel.alloc(Math.max(this.inputSize, this.hiddenSize) * this.hiddenSize) : 0;
    for (const [name, data] of values) this.params.set(name, data);
    if (this.hiddenSize > 0) this.pack(staging);
  }

  /**
   * One step. `input` is (inputSize) or (batch, inputSize); `hx` is (hiddenSize) or
   * (batch, hiddenSize), zeros when omitted. Returns h' with hx's batching.
   * @throws with PyTorch's messages for wrong ranks or sizes; nothing changes then.
   */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    this.checkAlive();
    if (!(input instanceof Tensor)) throw new TypeError(`RNNCell: Expected input to be a Tensor, got ${describe(input)}`);
    checkConsistent(input, "input");
    if (input.ndim !== 1 && input.ndim !== 2) {
      throw new RangeError(`RNNCell: Expected input to be 1D or 2D, got ${input.ndim}D instead`);
    }
    if (hx != null) {
      if (!(hx instanceof Tensor)) throw new TypeError(`RNNCell: Expected hx to be a Tensor, got ${describe(hx)}`);
      checkConsistent(hx, "hx");
      if (hx.ndim !== 1 && hx.ndim !== 2) {
        throw new RangeError(`RNNCell: Expected hidden to be 1D or 2D, got ${hx.ndim}D instead`);
      }
    }
    const batched = input.ndim === 2;
    const batch = batched ? input.shape[0] : 1;
    const features = input.shape[input.ndim - 1];
    if (features !== this.inputSize) {
      throw new RangeError(`input has inconsistent input_size: got ${features} expected ${this.inputSize}`);
    }
    const H = this.hiddenSize;
    if (hx != null) {
      const hBatch = hx.ndim === 2 ? hx.shape[0] : 1;
      if (hBatch !== batch) {
        throw new RangeError(`Input batch size ${batch} doesn't match hidden0 batch size ${hBatch}`);
      }
      const hFeatures = hx.shape[hx.ndim - 1];
      if (hFeatures !== H) {
        throw new RangeError(`hidden0 has inconsistent hidden_size: got ${hFeatures}, expected ${H}`);
      }
    }
    const outShape = batched || hx?.ndim === 2 ? [batch, H] : [H];
    if (H === 0 || batch === 0) return Tensor.zeros(outShape);
    return new Tensor(this.step(input.data, hx?.data ?? null, batch), outShape);
  }

  /** Frees the cell's linear memory; forward, stateDict and loadStateDict throw afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const ptr of [this.wIh, this.wHh, this.biasPtr, this.scratch]) this.kernel.free(ptr);
    this.wIh = this.wHh = this.biasPtr = this.scratch = 0;
    this.disposed = true;
  }

  private step(x: Float32Array, h: Float32Array | null, batch: number): Float32Array {
    const k = this.kernel;
    const I = this.inputSize;
    const H = this.hiddenSize;
    const H8 = roundUp8(H);
    this.ensureScratch(batch);
    const xPtr = this.scratch;
    const hPtr = xPtr + roundUp8(this.capacity * I) * 4;
    const pPtr = hPtr + roundUp8(this.capacity * H) * 4;
    const yPtr = pPtr + this.capacity * H8 * 4;
    const mem = k.f32();
    mem.set(x, xPtr >>> 2);
    if (h === null) mem.fill(0, hPtr >>> 2, (hPtr >>> 2) + batch * H);
    else mem.set(h, hPtr >>> 2);
    const act = this.nonlinearity === "tanh" ? Act.Tanh : Act.Relu;
    k.exports.gemm(pPtr, H8, xPtr, I, this.wIh, this.biasPtr, 0, batch, I, H8, Act.Identity);
    k.exports.gemm(yPtr, H, hPtr, H, this.wHh, pPtr, H8, batch, H, H, act);
    return k.read(yPtr, batch * H);
  }

  private ensureScratch(batch: number): void {
    if (batch <= this.capacity) return;
    const I = this.inputSize;
    const H = this.hiddenSize;
    const floats = roundUp8(batch * I) + roundUp8(batch * H) + batch * roundUp8(H) + batch * H;
    const ptr = this.kernel.alloc(floats);
    this.kernel.free(this.scratch);
    this.scratch = ptr;
    this.capacity = batch;
  }

  /** Packs the weights through `staging` (max(I, H)·H floats), which it frees. */
  private pack(staging: number): void {
    const k = this.kernel;
    const H = this.hiddenSize;
    const I = this.inputSize;
    try {
      packWeight(k, this.wIh, staging, this.params.get("weight_ih")!, H, I);
      packWeight(k, this.wHh, staging, this.params.get("weight_hh")!, H, H);
    } finally {
      k.free(staging);
    }
    const bias = new Float32Array(roundUp8(H));
    if (this.bias) {
      const bIh = this.params.get("bias_ih")!;
      const bHh = this.params.get("bias_hh")!;
      for (let j = 0; j < H; j++) bias[j] = bIh[j] + bHh[j];
    }
    k.write(this.biasPtr, bias);
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error("This RNNCell was disposed; create a new one");
  }
}

function checkCellOptions(options: unknown): Required<Omit<RNNCellOptions, "seed">> & { seed: number | null } {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`RNNCell options must be an object like { inputSize: 10, hiddenSize: 20 }, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!["inputSize", "hiddenSize", "bias", "nonlinearity", "seed"].includes(key)) {
      throw new TypeError(`RNNCell got an unexpected option '${key}'`);
    }
  }
  const nonlinearity = o.nonlinearity === undefined ? "tanh" : o.nonlinearity;
  if (nonlinearity !== "tanh" && nonlinearity !== "relu") {
    throw new RangeError(`Unknown nonlinearity ${describe(nonlinearity)}. Select from 'tanh' or 'relu'.`);
  }
  const bias = o.bias === undefined ? true : o.bias;
  if (typeof bias !== "boolean") throw new TypeError(`bias should be of type boolean, got ${typeof bias} (${describe(bias)})`);
  const size = (name: string, min: number): number => {
    const v = o[name];
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new TypeError(`${name} should be an integer, got ${typeof v} (${describe(v)})`);
    }
    if (v < min) throw new RangeError(`${name} must be ${min === 0 ? "non-negative" : "greater than zero"}, got ${v}`);
    return v;
  };
  return {
    inputSize: size("inputSize", 1), hiddenSize: size("hiddenSize", 0), bias, nonlinearity,
    seed: o.seed === undefined ? null : seed32(o.seed as number | bigint, "seed"),
  };
}
