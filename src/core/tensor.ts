import { describe, formatShape } from "./describe.js";
import { snapshotTensor, typedArrayLength, type TensorSnapshot } from "./snapshot.js";

/** The most dimensions a tensor may have: PyTorch's limit (torch.tensor of deeper lists raises "too many dimensions"). */
const MAX_DIMS = 128;

/** Nested arrays of numbers, as produced by `Tensor.toArray()`. */
export type NestedArray = number | NestedArray[];

/**
 * A float32 tensor: a flat `Float32Array` in row-major (C) order plus a shape.
 * Small on purpose: it carries data in and out of the kernel, it is not a
 * tensor library. `reshape` returns a view that shares `data`.
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];

  /**
   * @param data values in row-major order; kept, not copied.
   * @param shape sizes per dimension; defaults to `[data.length]`.
   * @throws TypeError if `data` is not a Float32Array or `shape` not an array of integers.
   * @throws RangeError if a size is negative or the product of `shape` is not `data.length`.
   */
  constructor(data: Float32Array, shape?: readonly number[]) {
    if (!(data instanceof Float32Array)) {
      throw new TypeError(`Tensor data must be a Float32Array, got ${describe(data)}`);
    }
    const dims = shape === undefined ? [data.length] : checkShape(shape, "Tensor shape");
    const numel = product(dims);
    if (numel !== data.length) {
      throw new RangeError(`Tensor shape ${formatShape(dims)} holds ${numel} elements, but data has ${data.length}`);
    }
    this.data = data;
    // Not frozen: Object.freeze costs more than the rest of a small step.
    // Consumers re-check the invariant with checkConsistent().
    this.shape = dims;
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[]): Tensor {
    const dims = checkShape(shape, "Tensor shape");
    return new Tensor(new Float32Array(product(dims)), dims);
  }

  /**
   * Builds a tensor from nested arrays of numbers (or a typed array, taken as 1-D).
   * @throws TypeError for non-numbers; RangeError for ragged nesting or more than 128 levels (a cyclic array).
   */
  static from(values: NestedArray | ArrayLike<number>): Tensor {
    if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
      if (isDetached(values.buffer)) {
        throw new TypeError("Tensor.from got a typed array whose ArrayBuffer is detached (transferred away)");
      }
      // A Float32Array is copied bit for bit (NaN payloads kept); the length is the copy's own, not an
      // own `length` property of the argument.
      const copy =
        values instanceof Float32Array ? new Float32Array(values) : Float32Array.from(values as ArrayLike<number>);
      return new Tensor(copy, [copy.length]);
    }
    const shape: number[] = [];
    let level: unknown = values;
    while (Array.isArray(level)) {
      // Also what stops an array that contains itself, which would nest forever.
      if (shape.length === MAX_DIMS) {
        throw new RangeError(
          `Tensor.from: too many dimensions: the arrays nest more than ${MAX_DIMS} levels deep (does an array contain itself?)`,
        );
      }
      shape.push(level.length);
      level = level[0];
    }
    const data = new Float32Array(product(shape));
    let at = 0;
    const walk = (node: unknown, depth: number): void => {
      if (depth === shape.length) {
        if (typeof node !== "number") {
          throw new TypeError(`Tensor.from expects numbers, got ${describe(node)}`);
        }
        data[at++] = node;
        return;
      }
      if (!Array.isArray(node) || node.length !== shape[depth]) {
        throw new RangeError(
          `Tensor.from expects a regular nesting: expected ${shape[depth]} elements at depth ${depth}, ` +
            `got ${Array.isArray(node) ? node.length : describe(node)}`,
        );
      }
      for (const child of node) walk(child, depth + 1);
    };
    walk(values, 0);
    return new Tensor(data, shape);
  }

  get [Symbol.toStringTag](): string {
    return "Tensor";
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return this.data.length;
  }

  /**
   * A view with another shape over the same data; one size may be -1 (inferred).
   * @throws RangeError if the sizes do not multiply to `numel`.
   */
  reshape(shape: readonly number[]): Tensor {
    if (!Array.isArray(shape)) throw new TypeError(`reshape expects an array of sizes, got ${describe(shape)}`);
    const inferred = shape.filter((s) => s === -1).length;
    if (inferred > 1) throw new RangeError(`reshape: only one size can be -1, got ${formatShape(shape)}`);
    if (inferred === 1) {
      const known = product(
        checkShape(
          shape.filter((s) => s !== -1),
          "reshape shape",
        ),
      );
      if (known === 0 || this.numel % known !== 0) {
        throw new RangeError(`shape ${formatShape(shape)} is invalid for input of size ${this.numel}`);
      }
      shape = shape.map((s) => (s === -1 ? this.numel / known : s));
    }
    const dims = checkShape(shape, "reshape shape");
    if (product(dims) !== this.numel) {
      throw new RangeError(`shape ${formatShape(dims)} is invalid for input of size ${this.numel}`);
    }
    return new Tensor(this.data, dims);
  }

  /** The element at `index` (one integer per dimension). */
  get(...index: number[]): number {
    return this.data[this.offset(index)];
  }

  /** Sets the element at `index` (one integer per dimension). */
  set(value: number, ...index: number[]): void {
    if (typeof value !== "number") throw new TypeError(`set expects a number value, got ${describe(value)}`);
    this.data[this.offset(index)] = value;
  }

  /** A copy with its own data. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** The values as nested arrays (a number for a 0-D tensor). */
  toArray(): NestedArray {
    const build = (depth: number, start: number): NestedArray => {
      if (depth === this.shape.length) return this.data[start];
      const stride = product(this.shape.slice(depth + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[depth]; i++) out.push(build(depth + 1, start + i * stride));
      return out;
    };
    return build(0, 0);
  }

  private offset(index: number[]): number {
    if (index.length !== this.shape.length) {
      throw new RangeError(`Expected ${this.shape.length} indices, got ${index.length}`);
    }
    let offset = 0;
    for (let d = 0; d < index.length; d++) {
      const size = this.shape[d];
      let i = index[d];
      if (!Number.isInteger(i) || i < -size || i >= size) {
        throw new RangeError(`index ${describe(i)} is out of bounds for dimension ${d} with size ${size}`);
      }
      if (i < 0) i += size;
      offset = offset * size + i;
    }
    return offset;
  }
}

/**
 * Throws if a tensor's shape no longer matches its data (e.g. its shape array
 * was mutated), so kernels never read past the data.
 */
export function checkConsistent(t: Tensor, what: string): void {
  const numel = product(t.shape);
  if (numel !== t.data.length) {
    throw new RangeError(
      `${what} has shape ${formatShape(t.shape)} (${numel} elements) but ${t.data.length} data elements`,
    );
  }
}

/** Whether an ArrayBuffer was detached (transferred); views over it then read as empty. */
export function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** Product of sizes (1 for an empty shape). */
export function product(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Validates a shape: an array of non-negative safe integers whose product is a safe integer. */
export function checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${what} must be an array of sizes, got ${describe(shape)}`);
  let numel = 1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (typeof s !== "number" || !Number.isInteger(s)) {
      throw new TypeError(`${what} must hold integers, got ${describe(s)} in ${formatShape(shape)}`);
    }
    if (!Number.isSafeInteger(s)) {
      throw new RangeError(`${what} holds a size too large to index: ${s} in ${formatShape(shape)}`);
    }
    if (s < 0) throw new RangeError(`${what} must not hold negative sizes, got ${formatShape(shape)}`);
    numel *= s;
  }
  if (!Number.isSafeInteger(numel)) {
    throw new RangeError(`${what} ${formatShape(shape)} has more elements than fit in memory`);
  }
  return shape.slice();
}

/**
 * The one rule for tensors crossing the boundary: a Tensor of this package, or any object shaped
 * like one (a Tensor from a second copy of the package, e.g. two bundles on one page), is accepted
 * and read once into a validated snapshot (core/snapshot.ts); anything else is a TypeError.
 * @param what the argument's name in messages ("input", "hx", "sequences[2]").
 * @param expected how the TypeError starts, e.g. "GRU: Expected input to be a Tensor".
 * @throws TypeError for a non-object, or one whose data is not a Float32Array or shape not an array.
 * @throws RangeError if its shape does not describe its data.
 */
export function readTensor(value: unknown, what: string, expected: string): TensorSnapshot {
  if (typeof value !== "object" || value === null) throw new TypeError(`${expected}, got ${describe(value)}`);
  // Each field read once, here: the snapshot is taken from these values, not from the object again.
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  if (typedArrayLength(data, "Float32Array") === null || !Array.isArray(shape)) {
    throw new TypeError(`${expected}, got ${describe(value)}`);
  }
  return snapshotTensor({ data, shape } as unknown as Tensor, what);
}
