// The instantiated kernel: typed access to its exports and its linear memory.
// Views of memory are re-taken whenever the buffer changed (memory.grow
// detaches the old one), so no caller ever holds a stale view.

import { MEMORY_LIMIT_BYTES } from "../core/sizes.js";

/** The kernel's ABI (assembly/index.ts); pointers are byte offsets into `memory`. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): void;
  /** Payload bytes allocated; a wasm i32, so read it as `allocated_bytes() >>> 0` above 2 GiB. */
  allocated_bytes(): number;
  /**
   * Names the one block (a pointer from `alloc`) the next calls may write; any
   * other pointer empties the window. An export whose written spans leave it
   * traps before writing (see `kernelError`).
   */
  set_write_window(ptr: number): void;
  /** Which build this is: 0 scalar, 1 simd, 2 relaxed (from the compiler's feature flags). */
  kernel_build(): number;
  pack_panels(panels: number, w: number, rows: number, cols: number): void;
  pack_gate_panels(panels: number, w: number, gates: number, hidden: number, cols: number): void;
  pack_gate_bias(dst: number, bIh: number, bHh: number, gates: number, hidden: number): void;
  /** Packs wᵀ of a rows × cols weight as panels [ceil(cols/8)][rows][8] (roundUp(cols, 8)·rows floats). */
  pack_transposed(panels: number, w: number, rows: number, cols: number): void;
  gemm(
    y: number,
    ldy: number,
    a: number,
    lda: number,
    w: number,
    init: number,
    ldinit: number,
    rows: number,
    depth: number,
    cols: number,
    act: number,
  ): void;
  /** c[i][j] += Σ_r a[r][i]·b[r][j] for i < m, j < n (row strides in floats). */
  gemm_tn(
    c: number,
    ldc: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    rows: number,
    m: number,
    n: number,
  ): void;
  rnn_layer(
    y: number,
    x: number,
    ldx: number,
    inputs: number,
    p: number,
    wIh: number,
    bias: number,
    wHh: number,
    h0: number,
    batchSizes: number,
    steps: number,
    hidden: number,
    dirs: number,
    act: number,
  ): void;
  gru_layer(
    y: number,
    x: number,
    ldx: number,
    inputs: number,
    p: number,
    wIh: number,
    bias: number,
    wHh: number,
    h0: number,
    batchSizes: number,
    steps: number,
    hidden: number,
    dirs: number,
    /** 0 in eval mode; else rows × dirs × 4·H8 floats receiving [r | z | n | W_hn h + b_hn]. */
    tape?: number,
  ): void;
  lstm_layer(
    y: number,
    c: number,
    x: number,
    ldx: number,
    inputs: number,
    p: number,
    wIh: number,
    bias: number,
    wHh: number,
    wHr: number,
    m: number,
    h0: number,
    c0: number,
    batchSizes: number,
    steps: number,
    hidden: number,
    proj: number,
    dirs: number,
    /** 0 in eval mode; else rows × dirs × 4·H8 floats receiving the activated gates [i | f | g | o]. */
    tape?: number,
  ): void;
  /** Backward of rnn_layer (TRAIN-ABI.md §5); dg: rows × dirs × 3·H8 floats of scratch; dx = 0 skips dL/dx. */
  rnn_layer_backward(
    dx: number,
    dy: number,
    dg: number,
    x: number,
    ldx: number,
    inputs: number,
    y: number,
    h0: number,
    dh0: number,
    wtIh: number,
    wtHh: number,
    grads: number,
    batchSizes: number,
    steps: number,
    hidden: number,
    dirs: number,
    act: number,
  ): void;
  /** Backward of gru_layer (TRAIN-ABI.md §5); dg: rows × dirs × 7·H8 floats of scratch; dx = 0 skips dL/dx. */
  gru_layer_backward(
    dx: number,
    dy: number,
    dg: number,
    x: number,
    ldx: number,
    inputs: number,
    y: number,
    h0: number,
    dh0: number,
    tape: number,
    wtIh: number,
    wtHh: number,
    grads: number,
    batchSizes: number,
    steps: number,
    hidden: number,
    dirs: number,
  ): void;
  /** Backward of lstm_layer (TRAIN-ABI.md §5); dg: rows × dirs × 9·H8 floats of scratch; dx = 0 skips dL/dx. */
  lstm_layer_backward(
    dx: number,
    dy: number,
    dc: number,
    dg: number,
    x: number,
    ldx: number,
    inputs: number,
    y: number,
    c: number,
    h0: number,
    c0: number,
    dh0: number,
    dc0: number,
    tape: number,
    wtIh: number,
    wtHh: number,
    wtHr: number,
    grads: number,
    batchSizes: number,
    steps: number,
    hidden: number,
    proj: number,
    dirs: number,
  ): void;
}

export class Kernel {
  readonly exports: KernelExports;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  constructor(exports: KernelExports) {
    this.exports = exports;
  }

  /** A Float32Array over all of linear memory, valid until the next call that may grow it. */
  f32(): Float32Array {
    if (this.f32View.buffer !== this.exports.memory.buffer) {
      this.f32View = new Float32Array(this.exports.memory.buffer);
    }
    return this.f32View;
  }

  /** An Int32Array over all of linear memory, valid until the next call that may grow it. */
  i32(): Int32Array {
    if (this.i32View.buffer !== this.exports.memory.buffer) {
      this.i32View = new Int32Array(this.exports.memory.buffer);
    }
    return this.i32View;
  }

  /**
   * Allocates `floats` 4-byte elements (16-byte aligned).
   * @throws RangeError when linear memory cannot grow enough (4 GiB or the runtime's limit).
   */
  alloc(floats: number): number {
    const bytes = floats * 4;
    const ptr = bytes <= MEMORY_LIMIT_BYTES ? this.exports.alloc(bytes) >>> 0 : 0;
    if (ptr === 0) {
      throw new RangeError(
        `wasm-rnn: cannot allocate ${bytes} bytes of WebAssembly memory ` +
          `(${this.exports.memory.buffer.byteLength} bytes in use; the limit is 4 GiB or the runtime's own)`,
      );
    }
    return ptr;
  }

  /** Frees a pointer from `alloc`; 0 is ignored. */
  free(ptr: number): void {
    if (ptr !== 0) this.exports.free(ptr);
  }

  /** Copies `src` (a validated, exact-length array) into memory at byte offset `ptr`. */
  write(ptr: number, src: Float32Array): void {
    this.f32().set(src, ptr / 4);
  }

  /** Copies `floats` values from byte offset `ptr` into a new Float32Array. */
  read(ptr: number, floats: number): Float32Array {
    return this.f32().slice(ptr / 4, ptr / 4 + floats);
  }
}

/**
 * What an error thrown by a kernel call becomes: the write guard's trap (a
 * span outside the block named by set_write_window, i.e. a bug in the host's
 * sizes or pointers) becomes an Error saying so; anything else is returned as
 * it came. The guard traps before writing, so the instance and every other
 * module in it stay intact and usable.
 */
export function kernelError(error: unknown, call: string): unknown {
  // The trap's message differs by engine: "unreachable" (V8), "unreachable executed"
  // (SpiderMonkey), "Unreachable code should not be executed" (JavaScriptCore).
  if (error instanceof WebAssembly.RuntimeError && /unreachable/i.test(error.message)) {
    return new Error(
      `wasm-rnn: the kernel refused a write outside the module's memory (${call}); ` +
        "nothing was written outside it and the module stays usable; this is a bug in wasm-rnn, please report it",
      { cause: error },
    );
  }
  return error;
}

/**
 * Scratch in linear memory owned by one module, grown only when a call needs
 * more; the old block is kept if growing fails.
 */
export class Workspace {
  private ptr = 0;
  private floats = 0;

  constructor(private readonly kernel: Kernel) {}

  /** Base pointer of at least `floats` floats. */
  ensure(floats: number): number {
    if (floats > this.floats || this.ptr === 0) {
      const ptr = this.kernel.alloc(Math.max(floats, 4));
      this.kernel.free(this.ptr);
      this.ptr = ptr;
      this.floats = floats;
    }
    return this.ptr;
  }

  release(): void {
    this.kernel.free(this.ptr);
    this.ptr = 0;
    this.floats = 0;
  }
}
