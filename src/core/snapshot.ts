// The boundary's reading of user objects: each is read once into a validated
// snapshot, and only the snapshot is used afterwards. Typed arrays are read
// through the engine's own accessors, so an own `length`, a replaced
// `constructor` or a Proxy cannot make a copy longer than what was validated.

import { describe, formatShape } from "./describe.js";
import type { Tensor } from "./tensor.js";

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (name: string | symbol): ((this: unknown) => unknown) =>
  Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!.get! as (this: unknown) => unknown;
const lengthOf = intrinsic("length");
const bufferOf = intrinsic("buffer");
const byteOffsetOf = intrinsic("byteOffset");
const kindOf = intrinsic(Symbol.toStringTag);

/** A tensor as validated at the boundary: a view of exactly `numel` floats and a copied shape. */
export interface TensorSnapshot {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly numel: number;
}

/**
 * The elements of a typed array of kind `kind` ("Float32Array", "Int32Array"),
 * or null when `value` is not one (a look-alike, a Proxy, another kind).
 */
export function typedArrayLength(value: unknown, kind: string): number | null {
  if (typeof value !== "object" || value === null || kindOf.call(value) !== kind) return null;
  return lengthOf.call(value) as number;
}

/** A fresh view of the first `n` elements of a Float32Array, independent of its own properties. */
export function exactFloats(data: Float32Array, n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  return new Float32Array(bufferOf.call(data) as ArrayBufferLike, byteOffsetOf.call(data) as number, n);
}

/** A copy of the first `n` elements of an Int32Array, independent of its own properties. */
export function copyInt32(data: Int32Array, n: number): Int32Array {
  return new Int32Array(bufferOf.call(data) as ArrayBufferLike, byteOffsetOf.call(data) as number, n).slice();
}

/**
 * Reads a Tensor's data and shape once and checks them against each other.
 * @throws TypeError if the data is not a Float32Array (any more) or the shape not an array of sizes.
 * @throws RangeError if the shape does not describe the data, naming both.
 */
export function snapshotTensor(tensor: Tensor, what: string): TensorSnapshot {
  const data: unknown = tensor.data;
  const shape = readShape(tensor.shape, what);
  let numel = 1;
  for (const size of shape) numel *= size;
  const length = typedArrayLength(data, "Float32Array");
  if (length === null) {
    const kind = typeof data === "object" && data !== null ? kindOf.call(data) : undefined;
    throw new TypeError(`${what} data must be a Float32Array, got ${kind ?? describe(data)}`);
  }
  if (numel !== length) {
    throw new RangeError(`${what} has shape ${formatShape(shape)} (${numel} elements) but ${length} data elements`);
  }
  return { data: exactFloats(data as Float32Array, numel), shape, numel };
}

/** A copy of a shape, validated: non-negative safe integers with a safe product. */
export function readShape(shape: unknown, what: string): readonly number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${what} shape must be an array of sizes, got ${describe(shape)}`);
  const copy: unknown[] = Array.prototype.slice.call(shape);
  let numel = 1;
  for (const size of copy) {
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(
        `${what} shape must hold non-negative integers, got ${describe(size)} in [${copy.map(String).join(", ")}]`,
      );
    }
    numel *= size;
  }
  if (!Number.isSafeInteger(numel))
    throw new RangeError(`${what} shape ${formatShape(copy as number[])} has too many elements`);
  return copy as number[];
}
