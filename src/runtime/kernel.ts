// The instantiated kernel: typed access to its exports and its linear memory.
// Views of memory are re-taken whenever the buffer changed (memory.grow
// detaches the old one), so no caller ever holds a stale view.

/** The kernel's ABI (assembly/index.ts); pointers are byte offsets into `memory`. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): void;
  /** Payload bytes allocated; a wasm i32, so read it as `allocated_bytes() >>> 0` above 2 GiB. */
  allocated_bytes(): number;
  packed_floats(rows: number, cols: number): number;
  pack_panels(panels: number, w: number, rows: number, cols: number): void;
  gemm(y: number, ldy: number, a: number, lda: number, w: number, init: number, ldinit: number,
       rows: number, depth: number, cols: number, act: number): void;
  activate(y: number, x: number, n: number, act: number): void;
  rnn_layer(y: number, x: number, ldx: number, inputs: number, p: number, wIh: number, bias: number,
            wHh: number, h0: number, batchSizes: number, steps: number, hidden: number, dirs: number,
            act: number): void;
}

/** Bytes a wasm32 instance can address at most. */
const WASM32_LIMIT = 2 ** 32;

/**
 * Refuses up front a model whose packed weights alone cannot fit in wasm32
 * memory, before anything is allocated in JS or wasm.
 * @throws RangeError naming the size needed.
 */
export function checkFitsInWasm(floats: number, what: string): void {
  const bytes = floats * 4;
  if (!(bytes < WASM32_LIMIT)) {
    throw new RangeError(
      `${what} needs ${bytes} bytes of WebAssembly memory for its weights, ` +
      "more than the 4 GiB a WebAssembly instance can address");
  }
}

/** Activation codes of the kernel (assembly/activation.ts). */
export const enum Act { Identity = 0, Tanh = 1, Relu = 2 }

export class Kernel {
  readonly exports: KernelExports;
  readonly backend: string;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  constructor(exports: KernelExports, backend: string) {
    this.exports = exports;
    this.backend = backend;
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
    const ptr = bytes <= 0xffff0000 ? this.exports.alloc(bytes) >>> 0 : 0;
    if (ptr === 0) {
      throw new RangeError(
        `wasm-rnn: cannot allocate ${bytes} bytes of WebAssembly memory ` +
        `(${this.exports.memory.buffer.byteLength} bytes in use; the limit is 4 GiB or the runtime's own)`);
    }
    return ptr;
  }

  /** Frees a pointer from `alloc`; 0 is ignored. */
  free(ptr: number): void {
    if (ptr !== 0) this.exports.free(ptr);
  }

  /** Copies `src` into memory at byte offset `ptr`. */
  write(ptr: number, src: ArrayLike<number>): void {
    this.f32().set(src, ptr >>> 2);
  }

  /** Copies `floats` values from byte offset `ptr` into a new Float32Array. */
  read(ptr: number, floats: number): Float32Array {
    return this.f32().slice(ptr >>> 2, (ptr >>> 2) + floats);
  }
}
