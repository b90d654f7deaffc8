import { readTensor, Tensor } from "../core/tensor.js";
import { describe, formatShape } from "../core/describe.js";
import { normalFill } from "../core/normal.js";
import { MT19937, randomSeed } from "../core/random.js";
import { checkFitsInMemory, MEMORY_LIMIT_BYTES } from "../core/sizes.js";
import { copyInt32, readShape, typedArrayLength } from "../core/snapshot.js";
import { checkGradOutputShape, KeptForward } from "../train/kept.js";
import { Module } from "./module.js";
import { checkKnownKeys, checkSize, readOptionsObject, readSeed } from "./options.js";

/** Options of `new Embedding()`: PyTorch's arguments in camelCase, plus `seed`. */
export interface EmbeddingOptions {
  /** Rows of the table (PyTorch `num_embeddings`). */
  numEmbeddings: number;
  /** Features of each row (PyTorch `embedding_dim`). */
  embeddingDim: number;
  /** A row initialised to zeros (negative counts from the end, as in PyTorch); null or omitted for none. */
  paddingIdx?: number | null;
  /** Bit-identical to `torch.manual_seed(seed); nn.Embedding(...)`; random when omitted. */
  seed?: number | bigint;
}

/** Nested arrays of indices, as `Embedding.forward` takes them. */
export type NestedIndices = number | readonly NestedIndices[];

// Deeper nesting than this is not a batch of indices (and a cyclic array would never end).
const MAX_DEPTH = 32;

/**
 * `torch.nn.Embedding`: a lookup table, (*shape) integer indices → (*shape, embeddingDim).
 * The table stays in JavaScript: a forward is a gather that writes straight into the
 * result the caller owns, one copy, where the kernel would need the indices copied in
 * and the rows copied back out.
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding row as a non-negative index, or null. */
  readonly paddingIdx: number | null;

  /** The last train-mode forward's indices and their shape, for backward. */
  private readonly kept = new KeptForward<{ indices: readonly number[] | Int32Array; shape: readonly number[] }>(
    "Embedding",
  );

  /** @throws TypeError / RangeError for invalid options (PyTorch's `Padding_idx must be within num_embeddings`). */
  constructor(options: EmbeddingOptions) {
    const o = readOptionsObject("Embedding", options, "{ numEmbeddings: 10, embeddingDim: 3 }");
    checkKnownKeys("Embedding", o, ["numEmbeddings", "embeddingDim", "paddingIdx", "seed"]);
    const numEmbeddings = checkSize("Embedding", o, "numEmbeddings", 0);
    const embeddingDim = checkSize("Embedding", o, "embeddingDim", 0);
    const paddingIdx = checkPaddingIdx(o.paddingIdx, numEmbeddings);
    const seed = readSeed(o);
    // Held in JavaScript, where typed arrays stop near 4 GiB in the engines that matter: refused up front.
    checkFitsInMemory(numEmbeddings * embeddingDim * 4, `Embedding(${numEmbeddings}, ${embeddingDim}) (its weights)`);
    const weight = new Float32Array(numEmbeddings * embeddingDim);
    normalFill(weight, new MT19937(seed ?? randomSeed()), 0, 1);
    if (paddingIdx !== null) weight.fill(0, paddingIdx * embeddingDim, (paddingIdx + 1) * embeddingDim);
    super("Embedding", [{ name: "weight", shape: [numEmbeddings, embeddingDim] }], new Map([["weight", weight]]));
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = paddingIdx;
  }

  /**
   * Looks up rows.
   * @param indices integers in [0, numEmbeddings): an array (nested arrays give the shape), an
   *   Int32Array or any array-like of numbers or bigints (a BigInt64Array).
   * @param shape the shape of flat `indices` (default: 1-D, or the nesting of nested arrays).
   * @returns (*shape, embeddingDim), a fresh tensor.
   * @throws TypeError for non-integer indices; RangeError for an index out of range or a shape
   *   that does not hold the indices.
   */
  forward(
    indices: NestedIndices | Int32Array | ArrayLike<number> | ArrayLike<bigint>,
    shape?: readonly number[],
  ): Tensor {
    return this.guard(() => {
      const read = readIndices(indices);
      const dims = shape === undefined ? read.shape : readShape(shape, "indices");
      const count = read.values.length;
      if (shape !== undefined && dims.reduce((a, b) => a * b, 1) !== count) {
        throw new RangeError(`Embedding: shape ${formatShape(dims)} is invalid for ${count} indices`);
      }
      const n = this.numEmbeddings;
      const dim = this.embeddingDim;
      for (const index of read.values) {
        if (!(index >= 0 && index < n)) throw new RangeError(`index ${index} is out of range for ${this}`);
      }
      if (!(count * dim * 4 <= MEMORY_LIMIT_BYTES)) {
        throw new RangeError(
          `Embedding: ${count} indices of ${dim} floats need ${count * dim * 4} bytes, more than 4 GiB`,
        );
      }
      const table = this.params.get("weight")!;
      const out = new Float32Array(count * dim);
      read.values.forEach((index, i) => out.set(table.subarray(index * dim, (index + 1) * dim), i * dim));
      // The indices are the reader's own copy: keeping them costs no second copy.
      this.kept.record(this.training, { indices: read.values, shape: dims }, this.parametersVersion);
      return new Tensor(out, [...dims, dim]);
    });
  }

  /**
   * Adds the weight gradient of the last train-mode forward: each index's row of `gradOutput`
   * into its row of the table gradient (repeated indices sum, summed in doubles), except the
   * paddingIdx row, which PyTorch leaves without a gradient.
   * @param gradOutput the forward's output shape, (*shape, embeddingDim).
   * @returns null: integer indices have no gradient.
   * @throws Error without a train-mode forward to use (none, eval mode, already used, parameters
   *   changed); TypeError / RangeError for a gradOutput that is not a Tensor of the output's shape.
   */
  backward(gradOutput: Tensor): null {
    return this.guard(() => {
      const { indices, shape } = this.kept.get(this.parametersVersion);
      const dim = this.embeddingDim;
      const dy = readTensor(gradOutput, "gradOutput", "Embedding.backward: Expected gradOutput to be a Tensor");
      checkGradOutputShape("Embedding", dy.shape, [...shape, dim]);
      this.kept.consume();
      const slots = new Map<number, number>();
      for (const index of indices) if (index !== this.paddingIdx && !slots.has(index)) slots.set(index, slots.size);
      const sums = new Float64Array(slots.size * dim);
      indices.forEach((index, i) => {
        const slot = slots.get(index);
        if (slot === undefined) return;
        for (let d = 0; d < dim; d++) sums[slot * dim + d] += dy.data[i * dim + d];
      });
      const grad = this.gradientOf("weight");
      for (const [index, slot] of slots) {
        for (let d = 0; d < dim; d++) grad[index * dim + d] += sums[slot * dim + d];
      }
      return null;
    });
  }

  /** PyTorch's repr: `Embedding(10, 3, padding_idx=0)`. */
  toString(): string {
    const padding = this.paddingIdx === null ? "" : `, padding_idx=${this.paddingIdx}`;
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim}${padding})`;
  }

  protected apply(): void {
    // The table is the parameter itself: nothing to pack.
  }

  protected release(): void {
    // Nothing in linear memory.
  }
}

/** PyTorch's padding_idx rule: within [−num, num), negative counting from the end. */
function checkPaddingIdx(value: unknown, numEmbeddings: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`paddingIdx should be an integer or null, got ${typeof value} (${describe(value)})`);
  }
  const index = value < 0 ? numEmbeddings + value : value;
  if (!(index >= 0 && index < numEmbeddings)) {
    throw new RangeError(
      `Padding_idx must be within num_embeddings, got paddingIdx ${value} for numEmbeddings ${numEmbeddings}`,
    );
  }
  return index;
}

/** The longest JavaScript array. */
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

/** Indices read once into an Int32-ranged number list, with the shape their nesting gives. */
function readIndices(indices: unknown): { values: number[] | Int32Array; shape: readonly number[] } {
  const int32 = typedArrayLength(indices, "Int32Array");
  if (int32 !== null) return { values: copyInt32(indices as Int32Array, int32), shape: [int32] };
  if (Array.isArray(indices)) return readNested(indices);
  if (typeof indices === "object" && indices !== null && typeof (indices as ArrayLike<unknown>).length === "number") {
    const length = (indices as ArrayLike<unknown>).length;
    // Checked before anything is built from it: Array.from would otherwise try a huge array.
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_ARRAY_LENGTH)
      throw new TypeError(`Embedding: indices have an invalid length ${length}`);
    const values = Array.from({ length }, (_, i) => checkIndex((indices as ArrayLike<unknown>)[i], i));
    return { values, shape: [length] };
  }
  throw new TypeError(
    `Embedding: Expected indices to be an array of integers or an Int32Array, got ${describe(indices)}`,
  );
}

/** Nested arrays: a regular nesting of integers, like a tensor's. */
function readNested(root: unknown[]): { values: number[]; shape: readonly number[] } {
  const shape: number[] = [];
  let level: unknown = root;
  while (Array.isArray(level)) {
    if (shape.length === MAX_DEPTH)
      throw new RangeError(`Embedding: indices are nested more than ${MAX_DEPTH} levels deep`);
    shape.push(level.length);
    level = level[0];
  }
  const values: number[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      values.push(checkIndex(node, values.length));
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new RangeError(
        `Embedding: indices must be regularly nested: expected ${shape[depth]} elements at depth ${depth}, ` +
          `got ${Array.isArray(node) ? node.length : describe(node)}`,
      );
    }
    for (const child of node.slice()) walk(child, depth + 1);
  };
  walk(root, 0);
  return { values, shape };
}

function checkIndex(value: unknown, position: number): number {
  // int64 indices (a BigInt64Array, as PyTorch's LongTensor) are integers too; any out of range fails the range check.
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`Embedding: indices must be integers, got ${describe(value)} at position ${position}`);
  }
  return value;
}
