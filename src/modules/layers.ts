// The stack of recurrent layers every recurrent module and cell runs on: the
// packed weights in linear memory, the workspace of a forward, and the final
// states gathered out of it. RNN, GRU and LSTM (and their cells, a stack of
// one layer and one step) differ only in their gate count and the kernel
// export that runs one layer. In training mode a forward keeps its tape in
// one training block (layer-tape.ts) and backward runs the layers in reverse.

import { ALIGNMENT, Gates, PANEL_WIDTH, type Activation } from "../../assembly/abi.js";
import { checkFitsInMemory, MEMORY_LIMIT_BYTES, roundUp } from "../core/sizes.js";
import type { MT19937 } from "../core/random.js";
import type { Kernel } from "../runtime/kernel.js";
import { Workspace } from "../runtime/kernel.js";
import {
  gradientBlockFloats,
  gradientParts,
  lastRows,
  layerInputs,
  outSize,
  scatterFinalStates,
  tapeLayout,
  transposedFloats,
  transposedLayerFloats,
  transposedParts,
  type TapeLayout,
} from "./layer-tape.js";

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
  /** Dropout between layers (training mode, p > 0, so only with `keep`), or null. */
  readonly dropout: { readonly p: number; readonly rng: MT19937 } | null;
  /** Whether the caller wants the last layer's output rows (a cell needs only the final states). */
  readonly output: boolean;
  /** Training mode: keep what backward needs (replacing what the previous forward kept). */
  readonly keep: boolean;
}

/** What backward is given, in the stack's row order (sorted, time-major unless `batchFirst`). */
export interface StackGradient {
  /** dL/d(the last layer's output rows), rows × dirs·out, or (batch, steps, dirs·out) when batchFirst; null: zeros. */
  readonly dy: Float32Array | null;
  readonly batchFirst: boolean;
  /** Per state: dL/d(final states), layers·dirs × batch × width in sorted order, or null for zeros. */
  readonly finals: readonly (Float32Array | null)[];
}

export interface StackGradientResult {
  /** dL/dx, rows × inputSize, time-major. */
  readonly dx: Float32Array;
  /** Per state: dL/d(initial states), layers·dirs × batch × width in sorted order. */
  readonly initial: Float32Array[];
}

/** A training forward's tape: where it lies in the training block, and the sizes it ran with. */
interface Tape {
  readonly layout: TapeLayout;
  readonly base: number;
  readonly batchSizes: Int32Array;
  readonly rows: number;
  readonly dropout: boolean;
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
  /** The training block: what a train-mode forward keeps, and its backward's scratch and gradients. */
  private readonly trainSpace: Workspace;
  /** The module's type, for messages. */
  private readonly label: string;
  private weights = 0;
  /** Transposed weight panels for backward, packed at the first backward after the weights changed. */
  private transposed = 0;
  private transposedStale = true;
  private tape: Tape | null = null;

  private constructor(kernel: Kernel, shape: StackShape, label: string) {
    this.kernel = kernel;
    this.shape = shape;
    this.label = label;
    this.workspace = new Workspace(kernel);
    this.trainSpace = new Workspace(kernel);
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
   * first, so a failure to allocate throws before anything changed. The
   * transposed panels of backward are repacked lazily from then on.
   */
  pack(params: ReadonlyMap<string, Float32Array>, name: ParameterNamer): void {
    const s = this.shape;
    if (s.hidden === 0) return;
    const k = this.kernel;
    const staging = this.workspace.ensure(stagingFloats(s));
    this.transposedStale = true;
    const exports = k.exports;
    const h8 = roundUp(s.hidden, PANEL_WIDTH);
    const rows = s.gates * s.hidden;
    const stage = (data: Float32Array): number => {
      k.write(staging, data);
      return staging;
    };
    exports.set_write_window(this.weights);
    let at = this.weights;
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

  /**
   * Runs every layer on a validated input. With `keep` the forward's tape
   * replaces the previous one; without it whatever was kept is freed.
   */
  run(input: StackInput): StackOutput {
    if (input.keep) return this.runKept(input);
    this.forgetTape(true);
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
    let cursor = this.workspace.ensure(total);
    // Every buffer the layer calls write is in the workspace block: the kernel's write window.
    k.exports.set_write_window(cursor);
    const at = sizes.map((n) => {
      const ptr = cursor;
      cursor += n * 4;
      return ptr;
    });
    const [xPtr, yPing, yPongOrNone, pPtr] = at;
    const initPtrs = at.slice(4, 4 + widths.length);
    const [cPtr, mPtr, bsPtr] = at.slice(4 + widths.length);
    const yPong = s.layers > 1 ? yPongOrNone : yPing;
    this.writeInputs(input, xPtr, initPtrs, stateFloats, bsPtr);

    const finals = stateFloats.map((n) => new Float32Array(n));
    let layerIn = xPtr;
    let layerOut = yPing;
    for (let l = 0; l < s.layers; l++) {
      const call = { y: layerOut, c: cPtr, x: layerIn, p: pPtr, m: mPtr, init: initPtrs, bs: bsPtr, tape: 0 };
      this.forwardLayer(l, { ...call, steps, batch });
      this.gatherLayer(l, layerOut, cPtr, batchSizes, finals);
      layerIn = layerOut;
      layerOut = layerOut === yPing ? yPong : yPing;
    }
    return { y: input.output ? k.read(layerIn, rows * s.dirs * out) : null, finals };
  }

  /**
   * Forgets the kept tape; with `free` also gives its block back (an eval-mode
   * forward keeps nothing), else the block is reused by the next train-mode forward.
   */
  forgetTape(free: boolean): void {
    this.tape = null;
    if (free) this.trainSpace.release();
  }

  /**
   * Backward through the kept forward: layers from last to first, each
   * layer's dx (through its dropout mask) the previous layer's dy. Adds the
   * parameter gradients with `accumulate` (under the names of `name`) and
   * consumes the tape. `params` are the weights in use, for the transposed
   * panels when they are stale. Throws before anything changed if memory
   * for the panels cannot be had.
   */
  backward(
    grad: StackGradient,
    params: ReadonlyMap<string, Float32Array>,
    name: ParameterNamer,
    accumulate: (name: string, values: Float32Array) => void,
  ): StackGradientResult {
    const tape = this.tape!;
    const s = this.shape;
    const k = this.kernel;
    this.packTransposed(params, name);
    const { layout, base, batchSizes, rows } = tape;
    // Every buffer the backward calls write (dy, dc, dg, dx, dh0, dc0, grads) is in the training block.
    k.exports.set_write_window(base);
    const ptr = (floats: number): number => base + floats * 4;
    const steps = batchSizes.length;
    const batch = batchSizes[0];
    const out = outSize(s);
    const lstm = this.stateCount === 2;
    const last = lastRows(batchSizes);
    const yFloats = rows * s.dirs * out;
    let gradientTotal = 0;
    for (let l = 0; l < s.layers; l++) gradientTotal += gradientBlockFloats(s, l);

    // Float indices into memory of the block's parts (layout offsets are relative to the block).
    const f = (floats: number): number => base / 4 + floats;
    let mem = k.f32();
    mem.fill(0, f(layout.grads), f(layout.grads) + gradientTotal);
    const dyTop = f(layout.dyA);
    if (grad.dy === null) mem.fill(0, dyTop, dyTop + yFloats);
    else if (grad.batchFirst) writeTimeMajor(mem, dyTop, grad.dy, steps, batch, s.dirs * out);
    else mem.set(grad.dy, dyTop);

    let dy = layout.dyA;
    let gradsAt = layout.grads;
    const gradsAtOf: number[] = [];
    for (let l = 0; l < s.layers; l++) {
      gradsAtOf.push(gradsAt);
      gradsAt += gradientBlockFloats(s, l);
    }
    let transposedAt = this.transposed;
    const transposedOf: number[] = [];
    for (let l = 0; l < s.layers; l++) {
      transposedOf.push(transposedAt);
      transposedAt += transposedLayerFloats(s, l) * 4;
    }
    for (let l = s.layers - 1; l >= 0; l--) {
      const inputs = layerInputs(s, l);
      const dx = l === 0 ? layout.dx : dy === layout.dyA ? layout.dyB : layout.dyA;
      const stateAt = (i: number): number => l * s.dirs * batch * this.stateWidth(i);
      mem = k.f32();
      if (grad.finals[0] !== null) scatterFinalStates(mem, f(dy), last, s.dirs, out, grad.finals[0], stateAt(0));
      if (lstm) {
        mem.fill(0, f(layout.dc), f(layout.dc) + rows * s.dirs * s.hidden);
        if (grad.finals[1] !== null) {
          scatterFinalStates(mem, f(layout.dc), last, s.dirs, s.hidden, grad.finals[1], stateAt(1));
        }
      }
      const x = l === 0 ? layout.x : tape.dropout ? layout.dropped[l - 1] : layout.y[l - 1];
      const t = transposedParts(s, l);
      const wtIh = transposedOf[l];
      const wtHh = wtIh + s.dirs * t.ih * 4;
      const wtHr = wtHh + s.dirs * t.hh * 4;
      const h0 = ptr(layout.initial[0] + stateAt(0));
      const dh0 = ptr(layout.dInitial[0] + stateAt(0));
      const bs = ptr(layout.batchSizes);
      const common = [ptr(layout.scratch), ptr(x), inputs, inputs, ptr(layout.y[l])] as const;
      if (s.gates === Gates.Elman) {
        k.exports.rnn_layer_backward(
          ptr(dx),
          ptr(dy),
          ...common,
          h0,
          dh0,
          wtIh,
          wtHh,
          ptr(gradsAtOf[l]),
          bs,
          steps,
          s.hidden,
          s.dirs,
          s.activation,
        );
      } else if (s.gates === Gates.GRU) {
        k.exports.gru_layer_backward(
          ptr(dx),
          ptr(dy),
          ...common,
          h0,
          dh0,
          ptr(layout.tape[l]),
          wtIh,
          wtHh,
          ptr(gradsAtOf[l]),
          bs,
          steps,
          s.hidden,
          s.dirs,
        );
      } else {
        k.exports.lstm_layer_backward(
          ptr(dx),
          ptr(dy),
          ptr(layout.dc),
          ...common,
          ptr(layout.c[l]),
          h0,
          ptr(layout.initial[1] + stateAt(1)),
          dh0,
          ptr(layout.dInitial[1] + stateAt(1)),
          ptr(layout.tape[l]),
          wtIh,
          wtHh,
          s.proj > 0 ? wtHr : 0,
          ptr(gradsAtOf[l]),
          bs,
          steps,
          s.hidden,
          s.proj,
          s.dirs,
        );
      }
      if (l > 0 && tape.dropout) multiplyInPlace(k.f32(), f(dx), f(layout.mask[l - 1]), yFloats);
      dy = dx;
    }

    const grads = k.read(ptr(layout.grads), gradientTotal);
    const result: StackGradientResult = {
      dx: k.read(ptr(layout.dx), rows * s.inputSize),
      initial: layout.dInitial.map((at, i) => k.read(ptr(at), s.layers * s.dirs * batch * this.stateWidth(i))),
    };
    this.tape = null;
    for (let l = 0; l < s.layers; l++) {
      for (let d = 0; d < s.dirs; d++) {
        const parts = gradientParts(s, l, d);
        const kinds: ParameterKind[] = ["weight_ih", "weight_hh"];
        if (s.bias) kinds.push("bias_ih", "bias_hh");
        if (s.proj > 0) kinds.push("weight_hr");
        for (const kind of kinds) {
          const at = gradsAtOf[l] - layout.grads + parts[kind].at;
          accumulate(name(kind, l, d), grads.subarray(at, at + parts[kind].floats));
        }
      }
    }
    return result;
  }

  /** Frees the weights, the workspace and whatever training kept. */
  release(): void {
    this.kernel.free(this.weights);
    this.weights = 0;
    this.kernel.free(this.transposed);
    this.transposed = 0;
    this.transposedStale = true;
    this.workspace.release();
    this.forgetTape(true);
  }

  /** A train-mode forward: every layer's rows, cells and kernel tape kept in the training block. */
  private runKept(input: StackInput): StackOutput {
    const s = this.shape;
    const k = this.kernel;
    const { batchSizes, rows } = input;
    const batch = batchSizes[0];
    const out = outSize(s);
    const dropout = input.dropout !== null;
    const layout = tapeLayout(s, rows, batch, batchSizes.length, dropout);
    checkFitsInMemory(layout.floats * 4, `${this.label}.forward on ${rows} rows in training mode (its tape)`);
    this.tape = null;
    const base = this.trainSpace.ensure(layout.floats);
    k.exports.set_write_window(base);
    const ptr = (floats: number): number => base + floats * 4;
    const stateFloats = [out, s.hidden].slice(0, this.stateCount).map((w) => s.layers * s.dirs * batch * w);
    const init = layout.initial.map(ptr);
    this.writeInputs(input, ptr(layout.x), init, stateFloats, ptr(layout.batchSizes));

    const finals = stateFloats.map((n) => new Float32Array(n));
    for (let l = 0; l < s.layers; l++) {
      const x = l === 0 ? layout.x : dropout ? layout.dropped[l - 1] : layout.y[l - 1];
      const c = layout.c.length > 0 ? ptr(layout.c[l]) : 0;
      const tape = layout.tape.length > 0 ? ptr(layout.tape[l]) : 0;
      const y = ptr(layout.y[l]);
      const bs = ptr(layout.batchSizes);
      const steps = batchSizes.length;
      this.forwardLayer(l, { y, c, x: ptr(x), p: ptr(layout.scratch), m: ptr(layout.m), init, bs, tape, steps, batch });
      this.gatherLayer(l, y, c, batchSizes, finals);
      if (l < s.layers - 1 && input.dropout !== null) {
        const mem = k.f32();
        const count = rows * s.dirs * out;
        const [mask, dropped, rowsAt] = [layout.mask[l], layout.dropped[l], layout.y[l]].map((at) => base / 4 + at);
        drawDropoutMask(mem, mask, count, input.dropout.p, input.dropout.rng);
        mem.copyWithin(dropped, rowsAt, rowsAt + count);
        multiplyInPlace(mem, dropped, mask, count);
      }
    }
    this.tape = { layout, base, batchSizes: batchSizes.slice(), rows, dropout };
    return { y: input.output ? k.read(ptr(layout.y[s.layers - 1]), rows * s.dirs * out) : null, finals };
  }

  /** Copies the input rows, the initial states (or zeros) and the batch sizes into memory. */
  private writeInputs(
    input: StackInput,
    xPtr: number,
    initPtrs: readonly number[],
    stateFloats: readonly number[],
    bsPtr: number,
  ): void {
    const s = this.shape;
    const k = this.kernel;
    const steps = input.batchSizes.length;
    const mem = k.f32();
    if (input.batchFirst) writeTimeMajor(mem, xPtr / 4, input.x, steps, input.batchSizes[0], s.inputSize);
    else mem.set(input.x, xPtr / 4);
    input.initial.forEach((values, i) => {
      if (values === null) mem.fill(0, initPtrs[i] / 4, initPtrs[i] / 4 + stateFloats[i]);
      else mem.set(values, initPtrs[i] / 4);
    });
    k.i32().set(input.batchSizes, bsPtr / 4);
  }

  /** Runs layer `l` (all directions) with the kernel export of the cell kind; `tape` 0 keeps nothing. */
  private forwardLayer(l: number, at: LayerPointers): void {
    const s = this.shape;
    const k = this.kernel;
    const inputs = layerInputs(s, l);
    const { wIh, bias, wHh, wHr } = layerPointers(s, l, this.weights + layerOffset(s, l) * 4);
    const { steps, batch } = at;
    const h0 = at.init[0] + l * s.dirs * batch * outSize(s) * 4;
    if (s.gates === Gates.Elman) {
      k.exports.rnn_layer(
        at.y,
        at.x,
        inputs,
        inputs,
        at.p,
        wIh,
        bias,
        wHh,
        h0,
        at.bs,
        steps,
        s.hidden,
        s.dirs,
        s.activation,
      );
    } else if (s.gates === Gates.GRU) {
      k.exports.gru_layer(
        at.y,
        at.x,
        inputs,
        inputs,
        at.p,
        wIh,
        bias,
        wHh,
        h0,
        at.bs,
        steps,
        s.hidden,
        s.dirs,
        at.tape,
      );
    } else {
      const c0 = at.init[1] + l * s.dirs * batch * s.hidden * 4;
      k.exports.lstm_layer(
        at.y,
        at.c,
        at.x,
        inputs,
        inputs,
        at.p,
        wIh,
        bias,
        wHh,
        s.proj > 0 ? wHr : 0,
        s.proj > 0 ? at.m : 0,
        h0,
        c0,
        at.bs,
        steps,
        s.hidden,
        s.proj,
        s.dirs,
        at.tape,
      );
    }
  }

  /** Copies layer `l`'s final states (h from its rows `y`, c from `c` for LSTM) into `finals`. */
  private gatherLayer(l: number, y: number, c: number, batchSizes: Int32Array, finals: Float32Array[]): void {
    const s = this.shape;
    const view = this.kernel.f32();
    const batch = batchSizes[0];
    const offsetOf = (i: number): number => l * s.dirs * batch * this.stateWidth(i);
    gatherFinalStates(view, y / 4, batchSizes, s.dirs, outSize(s), finals[0], offsetOf(0));
    if (finals.length === 2) gatherFinalStates(view, c / 4, batchSizes, s.dirs, s.hidden, finals[1], offsetOf(1));
  }

  /**
   * Packs the transposed weight panels of backward (TRAIN-ABI §2) when the
   * weights changed since they were last packed: once per parameters version.
   */
  private packTransposed(params: ReadonlyMap<string, Float32Array>, name: ParameterNamer): void {
    if (!this.transposedStale) return;
    const s = this.shape;
    const k = this.kernel;
    if (this.transposed === 0) this.transposed = k.alloc(transposedFloats(s));
    const staging = this.workspace.ensure(stagingFloats(s));
    k.exports.set_write_window(this.transposed);
    const rows = s.gates * s.hidden;
    const packOne = (dst: number, data: Float32Array, r: number, cols: number): void => {
      k.write(staging, data);
      k.exports.pack_transposed(dst, staging, r, cols);
    };
    let at = this.transposed;
    for (let l = 0; l < s.layers; l++) {
      const t = transposedParts(s, l);
      for (let d = 0; d < s.dirs; d++) {
        const get = (kind: ParameterKind): Float32Array => params.get(name(kind, l, d))!;
        packOne(at + d * t.ih * 4, get("weight_ih"), rows, layerInputs(s, l));
        packOne(at + (s.dirs * t.ih + d * t.hh) * 4, get("weight_hh"), rows, outSize(s));
        if (s.proj > 0) packOne(at + (s.dirs * (t.ih + t.hh) + d * t.hr) * 4, get("weight_hr"), s.proj, s.hidden);
      }
      at += transposedLayerFloats(s, l) * 4;
    }
    this.transposedStale = false;
  }
}

/** Byte pointers (and sizes) one layer's forward call works with. */
interface LayerPointers {
  readonly y: number;
  readonly c: number;
  readonly x: number;
  readonly p: number;
  readonly m: number;
  readonly init: readonly number[];
  readonly bs: number;
  readonly tape: number;
  readonly steps: number;
  readonly batch: number;
}

/** Float offset of layer `l`'s packed weights from the start of the stack's weights. */
function layerOffset(s: StackShape, l: number): number {
  return l === 0 ? 0 : layerFloats(s, 0) + (l - 1) * layerFloats(s, 1);
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

/**
 * Inverted dropout's mask, as at::dropout draws it: keep with 1 − p, scale kept
 * values by 1/(1 − p); 0 where dropped, 1/(1 − p) where kept, written at float `at`.
 */
function drawDropoutMask(mem: Float32Array, at: number, count: number, p: number, rng: MT19937): void {
  const scale = p === 1 ? 0 : 1 / (1 - p);
  for (let i = at; i < at + count; i++) mem[i] = rng.nextFloat24() < p ? 0 : scale;
}

/** mem[to + i] *= mem[by + i] for i < count. */
function multiplyInPlace(mem: Float32Array, to: number, by: number, count: number): void {
  for (let i = 0; i < count; i++) mem[to + i] *= mem[by + i];
}
