// The stack of recurrent layers every recurrent module and cell runs on: the
// packed weights in linear memory, the workspace of a forward, and the final
// states gathered out of it. RNN, GRU and LSTM (and their cells, a stack of
// one layer and one step) differ only in their gate count and the kernel
// export that runs one layer.

import { ALIGNMENT, Gates, PANEL_WIDTH, type Activation } from "../../assembly/abi.js";
import { checkFitsInMemory, MEMORY_LIMIT_BYTES, roundUp } from "../core/sizes.js";
import type { MT19937 } from "../core/random.js";
import type { Kernel } from "../runtime/kernel.js";
import { kernelError, Workspace } from "../runtime/kernel.js";

/** The sizes a stack is built for. */
export interface StackShape {
  readonly inputSize: number;
  readonly hidden: number;
  /** LSTM's projSize; 0 for none (and for every other kind). */
  readonly proj: number;
  readonly layers: number;
  readonly dirs: number;
  readonly gates: Gates;
  readonly bias: boolean;
  /** The Elman layer's nonlinearity (RNN, RNNCell); unused by the gated kinds. */
  readonly activation: Activation;
}

/** What one (layer, direction)'s parameter of each kind is called, e.g. `weight_ih_l1_reverse`. */
export type ParameterKind = "weight_ih" | "weight_hh" | "bias_ih" | "bias_hh" | "weight_hr";
export type ParameterNamer = (kind: ParameterKind, layer: number, dir: number) => string;

/** A validated forward, in the stack's row order (sorted, time-major). */
export interface StackInput {
  /** rows × inputSize floats, time-major; or (batch, steps, inputSize) when `batchFirst`. */
  readonly x: Float32Array;
  readonly batchFirst: boolean;
  readonly batchSizes: Int32Array;
  readonly rows: number;
  /** Per state (h, and c for LSTM): layers·dirs × batch × width floats, or null for zeros. */
  readonly initial: readonly (Float32Array | null)[];
  /** Dropout between layers (training mode, p > 0), or null. */
  readonly dropout: { readonly p: number; readonly rng: MT19937 } | null;
  /** Whether the caller wants the last layer's output rows (a cell needs only the final states). */
  readonly output: boolean;
}

export interface StackOutput {
  /** The last layer's output rows, rows × dirs·out, when asked for. */
  readonly y: Float32Array | null;
  /** Per state: layers·dirs × batch × width, in the stack's (sorted) batch order. */
  readonly finals: Float32Array[];
}

const ALIGN_FLOATS = ALIGNMENT / 4;

/** Floats of the per-direction blocks of a layer whose input has `inputs` features. */
function blockFloats(s: StackShape, inputs: number): { wIh: number; bias: number; wHh: number; wHr: number } {
  const h8 = roundUp(s.hidden, PANEL_WIDTH);
  return {
    wIh: s.gates * h8 * inputs,
    // GRU keeps b_hn apart (it is multiplied by r), so gated biases take 4·H8 for both kinds.
    bias: s.gates === Gates.Elman ? h8 : 4 * h8,
    wHh: s.gates * h8 * outSize(s),
    wHr: s.proj > 0 ? roundUp(s.proj, PANEL_WIDTH) * s.hidden : 0,
  };
}

function layerInputs(s: StackShape, layer: number): number {
  return layer === 0 ? s.inputSize : s.dirs * outSize(s);
}

/** Features of h: projSize when projecting, else hidden. */
function outSize(s: StackShape): number {
  return s.proj > 0 ? s.proj : s.hidden;
}

function layerFloats(s: StackShape, layer: number): number {
  const b = blockFloats(s, layerInputs(s, layer));
  return s.dirs * (b.wIh + b.bias + b.wHh + b.wHr);
}

/** Where a layer's blocks start (byte pointers), each holding the directions one after another. */
function layerPointers(s: StackShape, layer: number, base: number) {
  const b = blockFloats(s, layerInputs(s, layer));
  const bias = base + s.dirs * b.wIh * 4;
  const wHh = bias + s.dirs * b.bias * 4;
  const wHr = wHh + s.dirs * b.wHh * 4;
  return { b, wIh: base, bias, wHh, wHr };
}

/** Floats of linear memory the packed weights take, computed without listing the layers. */
function packedFloats(s: StackShape): number {
  return layerFloats(s, 0) + (s.layers - 1) * layerFloats(s, Math.min(1, s.layers - 1));
}

/** Floats of staging the packing needs: the largest single weight, or both gated biases. */
function stagingFloats(s: StackShape): number {
  const inputs = Math.max(layerInputs(s, 0), s.layers > 1 ? layerInputs(s, 1) : 0);
  const rows = s.gates * s.hidden;
  return Math.max(rows * inputs, rows * outSize(s), s.proj * s.hidden, 2 * roundUp(rows, ALIGN_FLOATS), ALIGN_FLOATS);
}

/**
 * Refuses up front a stack whose weights and packing staging cannot fit in
 * linear memory, before anything is listed or allocated.
 * @throws RangeError naming the module and the size.
 */
export function checkStackFits(s: StackShape, what: string): void {
  checkFitsInMemory((packedFloats(s) + stagingFloats(s)) * 4, `${what} (its weights)`);
}

export class LayerStack {
  readonly shape: StackShape;
  private readonly kernel: Kernel;
  private readonly workspace: Workspace;
  /** The module's type, for messages. */
  private readonly label: string;
  private weights = 0;

  private constructor(kernel: Kernel, shape: StackShape, label: string) {
    this.kernel = kernel;
    this.shape = shape;
    this.label = label;
    this.workspace = new Workspace(kernel);
  }

  /** A stack with `params` packed; frees what it took if allocating fails. */
  static create(
    kernel: Kernel,
    shape: StackShape,
    label: string,
    params: ReadonlyMap<string, Float32Array>,
    name: ParameterNamer,
  ): LayerStack {
    const stack = new LayerStack(kernel, shape, label);
    try {
      if (shape.hidden > 0) stack.weights = kernel.alloc(packedFloats(shape));
      stack.pack(params, name);
    } catch (error) {
      stack.release();
      throw error;
    }
    return stack;
  }

  /** Number of states: h, and c for LSTM. */
  get stateCount(): number {
    return this.shape.gates === Gates.LSTM ? 2 : 1;
  }

  /** Features of each state: h (projSize or hidden), c (hidden). */
  stateWidth(state: number): number {
    return state === 0 ? outSize(this.shape) : this.shape.hidden;
  }

  /**
   * Packs every layer's weights into the kernel layout. Takes the staging
   * first, so a failure to allocate throws before anything changed.
   */
  pack(params: ReadonlyMap<string, Float32Array>, name: ParameterNamer): void {
    try {
      this.packLayers(params, name);
    } catch (error) {
      throw kernelError(error, `${this.label}: packing the weights`);
    }
  }

  private packLayers(params: ReadonlyMap<string, Float32Array>, name: ParameterNamer): void {
    const s = this.shape;
    if (s.hidden === 0) return;
    const k = this.kernel;
    const staging = this.workspace.ensure(stagingFloats(s));
    const exports = k.exports;
    const h8 = roundUp(s.hidden, PANEL_WIDTH);
    const rows = s.gates * s.hidden;
    const stage = (data: Float32Array): number => {
      k.write(staging, data);
      return staging;
    };
    let at = this.weights;
    // Packing writes only the weights block (the staging is read): the kernel's write window.
    exports.set_write_window(this.weights);
    for (let l = 0; l < s.layers; l++) {
      const inputs = layerInputs(s, l);
      const { b, wIh, bias, wHh, wHr } = layerPointers(s, l, at);
      at += layerFloats(s, l) * 4;
      for (let d = 0; d < s.dirs; d++) {
        const get = (kind: ParameterKind): Float32Array => params.get(name(kind, l, d))!;
        packWeight(k, wIh + d * b.wIh * 4, stage(get("weight_ih")), s.gates, s.hidden, inputs);
        packWeight(k, wHh + d * b.wHh * 4, stage(get("weight_hh")), s.gates, s.hidden, outSize(s));
        if (s.proj > 0) exports.pack_panels(wHr + d * b.wHr * 4, stage(get("weight_hr")), s.proj, s.hidden);
        const dst = bias + d * b.bias * 4;
        if (s.gates === Gates.Elman) {
          // b_ih + b_hh summed once in float32; the kernel adds the sum to x·W_ihᵀ.
          const sum = new Float32Array(h8);
          if (s.bias) {
            const bIh = get("bias_ih");
            const bHh = get("bias_hh");
            for (let j = 0; j < s.hidden; j++) sum[j] = bIh[j] + bHh[j];
          }
          k.write(dst, sum);
        } else if (s.bias) {
          const second = staging + roundUp(rows, ALIGN_FLOATS) * 4;
          k.write(staging, get("bias_ih"));
          k.write(second, get("bias_hh"));
          exports.pack_gate_bias(dst, staging, second, s.gates, s.hidden);
        } else {
          exports.pack_gate_bias(dst, 0, 0, s.gates, s.hidden);
        }
      }
    }
  }

  /** Runs every layer on a validated input. */
  run(input: StackInput): StackOutput {
    try {
      return this.runLayers(input);
    } catch (error) {
      throw kernelError(error, `${this.label}.forward`);
    }
  }

  private runLayers(input: StackInput): StackOutput {
    const s = this.shape;
    const k = this.kernel;
    const { batchSizes, rows } = input;
    const steps = batchSizes.length;
    const batch = batchSizes[0];
    const out = outSize(s);
    const h8 = roundUp(s.hidden, PANEL_WIDTH);
    const lstm = this.stateCount === 2;
    const widths = [out, s.hidden].slice(0, this.stateCount);
    const stateFloats = widths.map((w) => s.layers * s.dirs * batch * w);

    // Workspace: x | y ping | y pong | projections | initial states | c | m | batch sizes.
    const sizes = [
      rows * s.inputSize,
      rows * s.dirs * out,
      s.layers > 1 ? rows * s.dirs * out : 0,
      rows * s.dirs * s.gates * h8,
      ...stateFloats,
      lstm ? rows * s.dirs * s.hidden : 0,
      s.proj > 0 ? s.dirs * batch * h8 : 0,
      steps,
    ].map((n) => roundUp(n, ALIGN_FLOATS));
    let total = 0;
    for (const n of sizes) total += n;
    // The message is built only on refusal: this runs on every streaming step.
    if (!(total * 4 <= MEMORY_LIMIT_BYTES))
      checkFitsInMemory(total * 4, `${this.label}.forward on ${rows} rows (its workspace)`);
    // Every buffer a layer call writes is in this one block: the kernel's write window.
    const block = this.workspace.ensure(total);
    let cursor = block;
    const at = sizes.map((n) => {
      const ptr = cursor;
      cursor += n * 4;
      return ptr;
    });
    const [xPtr, yPing, yPongOrNone, pPtr] = at;
    const initPtrs = at.slice(4, 4 + widths.length);
    const [cPtr, mPtr, bsPtr] = at.slice(4 + widths.length);
    const yPong = s.layers > 1 ? yPongOrNone : yPing;

    const mem = k.f32();
    if (input.batchFirst) writeTimeMajor(mem, xPtr / 4, input.x, steps, batch, s.inputSize);
    else mem.set(input.x, xPtr / 4);
    input.initial.forEach((values, i) => {
      if (values === null) mem.fill(0, initPtrs[i] / 4, initPtrs[i] / 4 + stateFloats[i]);
      else mem.set(values, initPtrs[i] / 4);
    });
    k.i32().set(batchSizes, bsPtr / 4);

    const finals = stateFloats.map((n) => new Float32Array(n));
    let layerIn = xPtr;
    let layerOut = yPing;
    let at0 = this.weights;
    for (let l = 0; l < s.layers; l++) {
      const inputs = layerInputs(s, l);
      const { wIh, bias, wHh, wHr } = layerPointers(s, l, at0);
      at0 += layerFloats(s, l) * 4;
      const h0 = initPtrs[0] + l * s.dirs * batch * out * 4;
      k.exports.set_write_window(block);
      // The kernel export of the cell kind, called directly: a hot call site with plain arguments.
      if (s.gates === Gates.Elman) {
        k.exports.rnn_layer(
          layerOut,
          layerIn,
          inputs,
          inputs,
          pPtr,
          wIh,
          bias,
          wHh,
          h0,
          bsPtr,
          steps,
          s.hidden,
          s.dirs,
          s.activation,
        );
      } else if (s.gates === Gates.GRU) {
        k.exports.gru_layer(
          layerOut,
          layerIn,
          inputs,
          inputs,
          pPtr,
          wIh,
          bias,
          wHh,
          h0,
          bsPtr,
          steps,
          s.hidden,
          s.dirs,
        );
      } else {
        const c0 = initPtrs[1] + l * s.dirs * batch * s.hidden * 4;
        k.exports.lstm_layer(
          layerOut,
          cPtr,
          layerIn,
          inputs,
          inputs,
          pPtr,
          wIh,
          bias,
          wHh,
          s.proj > 0 ? wHr : 0,
          s.proj > 0 ? mPtr : 0,
          h0,
          c0,
          bsPtr,
          steps,
          s.hidden,
          s.proj,
          s.dirs,
        );
      }
      const view = k.f32();
      const offsetOf = (i: number): number => l * s.dirs * batch * widths[i];
      gatherFinalStates(view, layerOut / 4, batchSizes, s.dirs, out, finals[0], offsetOf(0));
      if (lstm) gatherFinalStates(view, cPtr / 4, batchSizes, s.dirs, s.hidden, finals[1], offsetOf(1));
      if (l < s.layers - 1 && input.dropout !== null) {
        applyDropout(view, layerOut / 4, rows * s.dirs * out, input.dropout.p, input.dropout.rng);
      }
      layerIn = layerOut;
      layerOut = layerOut === yPing ? yPong : yPing;
    }
    return { y: input.output ? k.read(layerIn, rows * s.dirs * out) : null, finals };
  }

  /** Frees the weights and the workspace. */
  release(): void {
    this.kernel.free(this.weights);
    this.weights = 0;
    this.workspace.release();
  }
}

/** Packs a staged (gates·hidden) × cols weight: plain panels for one gate, gate-interleaved panels otherwise. */
function packWeight(k: Kernel, dst: number, staged: number, gates: Gates, hidden: number, cols: number): void {
  if (gates === Gates.Elman) k.exports.pack_panels(dst, staged, hidden, cols);
  else k.exports.pack_gate_panels(dst, staged, gates, hidden, cols);
}

/** (N, T, F) → time-major rows (T, N, F), written into memory at float index `at`. */
function writeTimeMajor(
  mem: Float32Array,
  at: number,
  x: Float32Array,
  steps: number,
  batch: number,
  features: number,
): void {
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < batch; b++) {
      const from = (b * steps + t) * features;
      mem.set(x.subarray(from, from + features), at + (t * batch + b) * features);
    }
  }
}

/**
 * Copies one layer's final states (rows of `width` floats, dirs per row) into
 * `finals` at `at`: the forward direction ends at each sequence's last step
 * (sorted row b leaves the batch after step t when batchSizes[t + 1] ≤ b),
 * the reverse direction at step 0 (row b).
 */
function gatherFinalStates(
  mem: Float32Array,
  rowsAt: number,
  batchSizes: Int32Array,
  dirs: number,
  width: number,
  finals: Float32Array,
  at: number,
): void {
  const batch = batchSizes[0];
  const ld = dirs * width;
  let offset = 0;
  for (let t = 0; t < batchSizes.length; t++) {
    const next = t + 1 < batchSizes.length ? batchSizes[t + 1] : 0;
    for (let b = next; b < batchSizes[t]; b++) {
      const from = rowsAt + (offset + b) * ld;
      finals.set(mem.subarray(from, from + width), at + b * width);
    }
    offset += batchSizes[t];
  }
  if (dirs === 2) {
    for (let b = 0; b < batch; b++) {
      const from = rowsAt + b * ld + width;
      finals.set(mem.subarray(from, from + width), at + (batch + b) * width);
    }
  }
}

/** Inverted dropout in place, as at::dropout: keep with 1 − p, scale kept values by 1/(1 − p). */
function applyDropout(mem: Float32Array, from: number, count: number, p: number, rng: MT19937): void {
  const scale = p === 1 ? 0 : 1 / (1 - p);
  for (let i = from; i < from + count; i++) {
    mem[i] = rng.nextFloat24() < p ? mem[i] * 0 : mem[i] * scale;
  }
}
