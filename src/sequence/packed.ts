/**
 * Variable-length batches: `PackedSequence` and the `torch.nn.utils.rnn` helpers
 * (pack/pad/unpack/unpad), with PyTorch's semantics, defaults and messages.
 *
 * Beyond PyTorch, every input is validated before anything is computed, so a
 * rejected call changes nothing, and the cases PyTorch mishandles silently
 * (lengths longer than the input, fractional lengths, hand-built inconsistent
 * PackedSequences) are errors. Results own fresh data: they never alias inputs.
 */
import { describe, formatShape } from "../core/describe.js";
import { readTensor, Tensor, product } from "../core/tensor.js";
import { snapshotTensor, type TensorSnapshot } from "../core/snapshot.js";
import { MEMORY_LIMIT_BYTES } from "../core/sizes.js";

/** Integers given as a number array or any typed array (including `BigInt64Array`). */
export type IntegerArrayLike = ArrayLike<number> | ArrayLike<bigint>;

/** Options of {@link packPaddedSequence}. */
export interface PackPaddedSequenceOptions {
  /** Input is `(B, T, *)` instead of `(T, B, *)`. Default `false`. */
  batchFirst?: boolean;
  /** Require `lengths` sorted in decreasing order (PyTorch keeps this for ONNX export). Default `true`. */
  enforceSorted?: boolean;
}

/** Options of {@link padPackedSequence}. */
export interface PadPackedSequenceOptions {
  /** Return `(B, T, *)` instead of `(T, B, *)`. Default `false`. */
  batchFirst?: boolean;
  /** Value written where a sequence has ended. Default `0`. */
  paddingValue?: number;
  /** Number of time steps of the result (at least the longest sequence). Default: the longest sequence. */
  totalLength?: number;
}

/** Options of {@link packSequence}. */
export interface PackSequenceOptions {
  /** Require sequences sorted by decreasing length. Default `true`. */
  enforceSorted?: boolean;
}

/** Options of {@link padSequence}. */
export interface PadSequenceOptions {
  /** Return `(B, T, *)` instead of `(T, B, *)`. Default `false`. */
  batchFirst?: boolean;
  /** Value written where a sequence has ended. Default `0`. */
  paddingValue?: number;
  /** `"right"` pads after each sequence, `"left"` before it (right-aligns). Default `"right"`. */
  paddingSide?: "right" | "left";
}

/** Options of {@link unpadSequence}. */
export interface UnpadSequenceOptions {
  /** Input is `(B, T, *)` instead of `(T, B, *)`. Default `false`. */
  batchFirst?: boolean;
}

/** The validated arrays of a PackedSequence made by its constructor; null for anything else (a forged instance). */
let fieldsOf: (sequence: object) => Omit<PackedSnapshot, "data"> | null;

/**
 * A batch of variable-length sequences packed time-major, as PyTorch's
 * `torch.nn.utils.rnn.PackedSequence`: the rows of every sequence at t = 0 (in
 * sorted order, longest first), then those still running at t = 1, and so on.
 * An RNN steps through it without ever computing on padding.
 *
 * Usually made by {@link packPaddedSequence} or {@link packSequence}. The
 * constructor validates everything, because the kernel indexes memory with
 * `batchSizes` and the permutations: unlike PyTorch, an inconsistent hand-built
 * instance is rejected here rather than failing later. The instance is frozen
 * and its index arrays are copied on every read, so editing what a read
 * returned cannot change the sequence.
 */
export class PackedSequence {
  /** `(sum(batchSizes), *)`: rows time-major, in sorted order within each step. Kept, not copied. */
  readonly data: Tensor;
  readonly #batchSizes: Int32Array;
  readonly #sortedIndices: Int32Array | null;
  readonly #unsortedIndices: Int32Array | null;

  static {
    fieldsOf = (sequence) =>
      #batchSizes in sequence
        ? {
            batchSizes: sequence.#batchSizes,
            sortedIndices: sequence.#sortedIndices,
            unsortedIndices: sequence.#unsortedIndices,
          }
        : null;
  }

  /**
   * @param data `(sum(batchSizes), *)` rows; kept, not copied.
   * @param batchSizes non-empty, positive, non-increasing integers summing to `data.shape[0]`; copied.
   * @param sortedIndices a permutation of `0 … batchSizes[0]-1`, or `null`/omitted; copied.
   * @param unsortedIndices its inverse; computed when only one of the two is given; copied.
   * @throws TypeError if `data` is not a Tensor or an index array is not an array of integers.
   * @throws RangeError if `data` is 0-D, `batchSizes` breaks a rule above, an index array is not a
   *   permutation of the batch, or the two index arrays are not inverses of each other.
   */
  constructor(
    data: Tensor,
    batchSizes: IntegerArrayLike,
    sortedIndices?: IntegerArrayLike | null,
    unsortedIndices?: IntegerArrayLike | null,
  ) {
    const snapshot = readTensor(data, "PackedSequence data", "PackedSequence data must be a Tensor");
    if (snapshot.shape.length === 0) {
      throw new RangeError("PackedSequence data must be at least 1-D (rows, *), got a 0-D tensor");
    }
    // Metadata is copied, then validated: the caller mutating its arrays later
    // must not be able to break the invariants the kernel relies on.
    const sizes = readBatchSizes(batchSizes, snapshot.shape[0]);
    checkBatchSizes(sizes, snapshot.shape);
    const [sorted, unsorted] = resolvePermutations(sortedIndices, unsortedIndices, sizes[0]);
    // A look-alike (a Tensor of another copy of the package) is wrapped over the same data.
    this.data = data instanceof Tensor ? data : new Tensor(snapshot.data, snapshot.shape.slice());
    this.#batchSizes = sizes;
    this.#sortedIndices = sorted;
    this.#unsortedIndices = unsorted;
    Object.freeze(this);
  }

  /** `batchSizes[t]` = number of sequences longer than t; positive, non-increasing. A copy on every read. */
  get batchSizes(): Int32Array {
    return this.#batchSizes.slice();
  }

  /** `sortedIndices[j]` = the caller's index of the j-th longest sequence; `null` when the input was already sorted. A copy. */
  get sortedIndices(): Int32Array | null {
    return this.#sortedIndices?.slice() ?? null;
  }

  /** Inverse of `sortedIndices`: `unsortedIndices[i]` = sorted position of the caller's sequence i; `null` with it. A copy. */
  get unsortedIndices(): Int32Array | null {
    return this.#unsortedIndices?.slice() ?? null;
  }

  get [Symbol.toStringTag](): string {
    return "PackedSequence";
  }
}

/**
 * A PackedSequence as read once at the boundary: a snapshot of its data, checked against its
 * arrays, which are the sequence's own (validated at construction, private): read them, never write.
 */
export interface PackedSnapshot {
  readonly data: TensorSnapshot;
  readonly batchSizes: Int32Array;
  readonly sortedIndices: Int32Array | null;
  readonly unsortedIndices: Int32Array | null;
}

/**
 * Reads a PackedSequence once at the boundary: its index arrays as validated by its constructor
 * (private, so nobody edited them since), and its data, whose tensor's shape may have been edited
 * since and is checked against them again.
 * @throws TypeError for an object that did not come from the constructor (a forged instance).
 * @throws RangeError if the data no longer has the rows `batchSizes` describe.
 */
export function readPackedSequence(sequence: PackedSequence, what = "input"): PackedSnapshot {
  const fields = typeof sequence === "object" && sequence !== null ? fieldsOf(sequence) : null;
  if (fields === null) {
    throw new TypeError(
      `${what} must be a PackedSequence made by its constructor, packPaddedSequence or packSequence, got ${describe(sequence)}`,
    );
  }
  const data = snapshotTensor(sequence.data, `${what}.data`);
  if (data.shape.length === 0) {
    throw new RangeError("PackedSequence data must be at least 1-D (rows, *), got a 0-D tensor");
  }
  checkBatchSizes(fields.batchSizes, data.shape);
  return { data, ...fields };
}

/** At most one batch size per row of data: each is at least 1. */
function readBatchSizes(batchSizes: unknown, rows: number): Int32Array {
  const tooMany = (n: number) => `batchSizes holds ${n} steps, more than the ${rows} rows of data it describes`;
  return Int32Array.from(
    readIntegers(batchSizes, "batchSizes", rows, tooMany).map((v, i) => {
      if (v > 0x7fffffff) throw new RangeError(`batchSizes[${i}] must be at most 2147483647, got ${v}`);
      return v;
    }),
  );
}

/**
 * Packs a padded batch of variable-length sequences, as
 * `torch.nn.utils.rnn.pack_padded_sequence`.
 *
 * With `enforceSorted: false` the batch is sorted by decreasing length with a
 * **stable** sort: sequences of equal length keep the caller's order (as
 * `torch.sort(stable=True)`). PyTorch's CPU sort is not stable, so for batches
 * of more than 16 its `sortedIndices` and the row order of `data` may differ
 * from ours among equal lengths. Unpacked outputs and an RNN's `h_n` never
 * depend on that order: both come back in the caller's order.
 *
 * Time steps past the longest length are dropped (padding); pass
 * `totalLength` to {@link padPackedSequence} to get them back.
 *
 * @param input `(T, B, *)`, or `(B, T, *)` with `batchFirst`; any number of trailing dims.
 * @param lengths the B sequence lengths, integers in `1 … T`, in the batch's order.
 * @param options `batchFirst` (default `false`), `enforceSorted` (default `true`).
 * @returns a PackedSequence with fresh data; `sortedIndices` is `null` when `enforceSorted`.
 * @throws TypeError for a non-Tensor input, non-array or non-integer lengths, or bad options.
 * @throws RangeError for input of fewer than 2 dims, an empty input ("Cannot pack empty tensors."),
 *   a lengths count other than B, a length ≤ 0 or longer than T, or unsorted lengths with `enforceSorted`.
 */
export function packPaddedSequence(
  input: Tensor,
  lengths: IntegerArrayLike,
  options?: PackPaddedSequenceOptions,
): PackedSequence {
  const caller = "packPaddedSequence";
  const opts = readOptions(options, ["batchFirst", "enforceSorted"], caller);
  const batchFirst = booleanOption(opts, "batchFirst", false, caller);
  const enforceSorted = booleanOption(opts, "enforceSorted", true, caller);
  const padded = readTensor(input, "input", `${caller}: input must be a Tensor`);
  const layout = layoutOf(padded, batchFirst, caller);
  if (padded.numel === 0) {
    throw new RangeError(`Cannot pack empty tensors. (input shape ${formatShape(padded.shape)})`);
  }
  const lens = readLengths(lengths, layout.batch);
  checkPositive(lens);
  checkFitsInput(lens, layout, padded.shape, batchFirst);
  if (enforceSorted) checkSortedDescending(lens);
  const order = enforceSorted ? identity(lens.length) : stableOrderByDecreasingLength(lens);
  const batchSizes = batchSizesOf(lens);
  const data = gatherPacked(padded.data, layout, order, batchSizes);
  const packed = new Tensor(data, [sumOf(batchSizes), ...layout.rowShape]);
  return new PackedSequence(packed, batchSizes, enforceSorted ? null : order);
}

/**
 * Unpacks a PackedSequence into a padded batch, as
 * `torch.nn.utils.rnn.pad_packed_sequence`. Sequences come back in the
 * caller's original order (the inverse of packing).
 *
 * @param sequence the packed batch.
 * @param options `batchFirst` (default `false`), `paddingValue` (default `0`),
 *   `totalLength` (default: the longest sequence) time steps in the result.
 * @returns `[padded, lengths]`: padded `(T, B, *)` or `(B, T, *)` with fresh data, and the B
 *   lengths in the caller's order.
 * @throws TypeError if `sequence` is not a PackedSequence or an option has the wrong type.
 * @throws RangeError if `totalLength` is shorter than the longest sequence.
 */
export function padPackedSequence(sequence: PackedSequence, options?: PadPackedSequenceOptions): [Tensor, Int32Array] {
  const caller = "padPackedSequence";
  checkPackedSequence(sequence, caller);
  const packed = readPackedSequence(sequence);
  const opts = readOptions(options, ["batchFirst", "paddingValue", "totalLength"], caller);
  const batchFirst = booleanOption(opts, "batchFirst", false, caller);
  const paddingValue = numberOption(opts, "paddingValue", 0, caller);
  const maxLength = packed.batchSizes.length;
  const steps = totalLengthOption(opts, maxLength, caller);
  const layout = paddedLayout(steps, packed.batchSizes[0], packed.data.shape.slice(1), batchFirst);
  const out = allocateFloats(steps * layout.batch * layout.rowSize, caller).fill(paddingValue);
  scatterPacked(packed, layout, out);
  return [new Tensor(out, paddedShape(layout, batchFirst)), lengthsInCallerOrder(packed)];
}

/**
 * Packs a list of variable-length sequences, as `torch.nn.utils.rnn.pack_sequence`
 * (= `packPaddedSequence(padSequence(sequences), lengths, { enforceSorted })`).
 * With `enforceSorted: false` ties keep the caller's order (see {@link packPaddedSequence}).
 *
 * @param sequences Tensors of shape `(length_i, *)` with the same trailing dims, or a stacked
 *   Tensor `(B, length, *)`; any iterable works.
 * @param options `enforceSorted` (default `true`): sequences must come longest first.
 * @throws TypeError / RangeError as {@link padSequence} and {@link packPaddedSequence}; a
 *   zero-length sequence gives PyTorch's "Length of all samples has to be greater than 0" error.
 */
export function packSequence(sequences: Iterable<Tensor> | Tensor, options?: PackSequenceOptions): PackedSequence {
  const caller = "packSequence";
  const opts = readOptions(options, ["enforceSorted"], caller);
  const enforceSorted = booleanOption(opts, "enforceSorted", true, caller);
  const list = readSequences(sequences, caller);
  const padded = padSequenceList(list, rowShapeOf(list, caller), false, 0, "right");
  return packPaddedSequence(
    padded,
    list.map((s) => s.shape[0]),
    { enforceSorted },
  );
}

/**
 * Pads a list of variable-length sequences into one batch, as
 * `torch.nn.utils.rnn.pad_sequence`. The batch keeps the list's order (no sorting).
 *
 * @param sequences Tensors of shape `(length_i, *)` with the same trailing dims (lengths may be 0),
 *   or a stacked Tensor `(B, length, *)`; any iterable works.
 * @param options `batchFirst` (default `false`), `paddingValue` (default `0`),
 *   `paddingSide` `"right"` (default) or `"left"` (right-aligns every sequence).
 * @returns `(maxLength, B, *)`, or `(B, maxLength, *)` with `batchFirst`, with fresh data.
 * @throws TypeError if `sequences` is not iterable, holds a non-Tensor, or an option has the wrong type.
 * @throws RangeError for an empty list, a 0-D sequence, trailing dims that differ from
 *   `sequences[0]`'s (PyTorch would broadcast size-1 dims silently), or an unknown `paddingSide`.
 */
export function padSequence(sequences: Iterable<Tensor> | Tensor, options?: PadSequenceOptions): Tensor {
  const caller = "padSequence";
  const opts = readOptions(options, ["batchFirst", "paddingValue", "paddingSide"], caller);
  const batchFirst = booleanOption(opts, "batchFirst", false, caller);
  const paddingValue = numberOption(opts, "paddingValue", 0, caller);
  const paddingSide = paddingSideOption(opts);
  const list = readSequences(sequences, caller);
  return padSequenceList(list, rowShapeOf(list, caller), batchFirst, paddingValue, paddingSide);
}

/**
 * Splits a PackedSequence into its sequences, as `torch.nn.utils.rnn.unpack_sequence`.
 *
 * @returns B Tensors of shape `(length_i, *)` in the caller's original order, each with fresh data.
 * @throws TypeError if `sequence` is not a PackedSequence.
 */
export function unpackSequence(sequence: PackedSequence): Tensor[] {
  checkPackedSequence(sequence, "unpackSequence");
  const { data, batchSizes, sortedIndices } = readPackedSequence(sequence);
  const rowShape = data.shape.slice(1);
  const rowSize = product(rowShape);
  const starts = rowStarts(batchSizes);
  const lengths = sortedLengthsOf(batchSizes);
  const result = new Array<Tensor>(lengths.length);
  lengths.forEach((length, j) => {
    const out = new Float32Array(length * rowSize);
    for (let t = 0; t < length; t++) {
      copyRow(data.data, (starts[t] + j) * rowSize, out, t * rowSize, rowSize);
    }
    result[sortedIndices === null ? j : sortedIndices[j]] = new Tensor(out, [length, ...rowShape]);
  });
  return result;
}

/**
 * Splits a padded batch into its sequences, as `torch.nn.utils.rnn.unpad_sequence`,
 * without mutating `padded` (PyTorch transposes it in place).
 *
 * @param padded `(T, B, *)`, or `(B, T, *)` with `batchFirst`.
 * @param lengths the B sequence lengths, integers in `0 … T`.
 * @param options `batchFirst` (default `false`).
 * @returns B Tensors of shape `(length_i, *)` in the batch's order, each with fresh data.
 * @throws TypeError for a non-Tensor, non-array or non-integer lengths, or bad options.
 * @throws RangeError for fewer than 2 dims, a lengths count other than B, or a length
 *   below 0 or above T (PyTorch slices silently).
 */
export function unpadSequence(padded: Tensor, lengths: IntegerArrayLike, options?: UnpadSequenceOptions): Tensor[] {
  const caller = "unpadSequence";
  const opts = readOptions(options, ["batchFirst"], caller);
  const batchFirst = booleanOption(opts, "batchFirst", false, caller);
  const input = readTensor(padded, "padded", `${caller}: input must be a Tensor`);
  const layout = layoutOf(input, batchFirst, caller);
  const lens = readLengths(lengths, layout.batch);
  checkNotNegative(lens);
  checkFitsInput(lens, layout, input.shape, batchFirst);
  return lens.map((length, b) => {
    const out = new Float32Array(length * layout.rowSize);
    for (let t = 0; t < length; t++) {
      const from = t * layout.timeStride + b * layout.batchStride;
      copyRow(input.data, from, out, t * layout.rowSize, layout.rowSize);
    }
    return new Tensor(out, [length, ...layout.rowShape]);
  });
}

// ---------------------------------------------------------------------------
// Padded layouts: where row (t, b) of a (T, B, *) or (B, T, *) tensor starts.

interface PaddedLayout {
  readonly steps: number;
  readonly batch: number;
  readonly rowShape: readonly number[];
  readonly rowSize: number;
  /** Floats between rows (t, b) and (t + 1, b). */
  readonly timeStride: number;
  /** Floats between rows (t, b) and (t, b + 1). */
  readonly batchStride: number;
}

function paddedLayout(steps: number, batch: number, rowShape: readonly number[], batchFirst: boolean): PaddedLayout {
  const rowSize = product(rowShape);
  return batchFirst
    ? { steps, batch, rowShape, rowSize, timeStride: rowSize, batchStride: steps * rowSize }
    : { steps, batch, rowShape, rowSize, timeStride: batch * rowSize, batchStride: rowSize };
}

function paddedShape(layout: PaddedLayout, batchFirst: boolean): number[] {
  const { steps, batch, rowShape } = layout;
  return batchFirst ? [batch, steps, ...rowShape] : [steps, batch, ...rowShape];
}

function layoutOf(input: TensorSnapshot, batchFirst: boolean, caller: string): PaddedLayout {
  if (input.shape.length < 2) {
    throw new RangeError(
      `${caller}: input must be at least 2-D, ${batchFirst ? "(B, T, *)" : "(T, B, *)"}, ` +
        `got ${input.shape.length}-D tensor of shape ${formatShape(input.shape)}`,
    );
  }
  const [first, second] = input.shape;
  const steps = batchFirst ? second : first;
  const batch = batchFirst ? first : second;
  return paddedLayout(steps, batch, input.shape.slice(2), batchFirst);
}

/**
 * A result array of `count` floats, refused up front past 4 GiB (no engine allocates it, and no
 * model could take it): sizes come from user lengths such as `totalLength`.
 */
function allocateFloats(count: number, caller: string): Float32Array {
  if (!(count * 4 <= MEMORY_LIMIT_BYTES)) {
    throw new RangeError(`${caller}: the result would hold ${count} elements (${count * 4} bytes), more than 4 GiB`);
  }
  return new Float32Array(count);
}

function copyRow(from: Float32Array, fromOffset: number, to: Float32Array, toOffset: number, rowSize: number): void {
  for (let k = 0; k < rowSize; k++) to[toOffset + k] = from[fromOffset + k];
}

// ---------------------------------------------------------------------------
// Packing arithmetic.

/** `batchSizes[t]` = number of lengths greater than t; length = the longest. */
function batchSizesOf(lengths: readonly number[]): Int32Array {
  const endingAt = new Int32Array(maxOf(lengths));
  for (const length of lengths) endingAt[length - 1]++;
  const sizes = new Int32Array(endingAt.length);
  let running = 0;
  for (let t = sizes.length - 1; t >= 0; t--) {
    running += endingAt[t];
    sizes[t] = running;
  }
  return sizes;
}

/** Lengths in sorted (packed) order: sequence j is still running at every t with batchSizes[t] > j. */
function sortedLengthsOf(batchSizes: Int32Array): Int32Array {
  const lengths = new Int32Array(batchSizes[0]);
  for (let t = 0; t < batchSizes.length; t++) {
    const stillRunning = t + 1 < batchSizes.length ? batchSizes[t + 1] : 0;
    lengths.fill(t + 1, stillRunning, batchSizes[t]);
  }
  return lengths;
}

/** Packed row index of (t, j = 0) for every step. */
function rowStarts(batchSizes: Int32Array): Int32Array {
  const starts = new Int32Array(batchSizes.length);
  for (let t = 1; t < batchSizes.length; t++) starts[t] = starts[t - 1] + batchSizes[t - 1];
  return starts;
}

/**
 * Caller indices by decreasing length. The index tie-break makes the order
 * stable by construction, whatever the engine's sort does.
 */
function stableOrderByDecreasingLength(lengths: readonly number[]): Int32Array {
  const order = lengths.map((_, i) => i);
  order.sort((a, b) => lengths[b] - lengths[a] || a - b);
  return Int32Array.from(order);
}

// Loops rather than Math.max(...values): spreading a large batch overflows the call stack.
// Only used on non-negative values, so 0 is the identity.
function maxOf(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  return max;
}

function sumOf(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum;
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function gatherPacked(
  source: Float32Array,
  layout: PaddedLayout,
  order: Int32Array,
  batchSizes: Int32Array,
): Float32Array {
  const { rowSize, timeStride, batchStride } = layout;
  const out = new Float32Array(sumOf(batchSizes) * rowSize);
  let row = 0;
  batchSizes.forEach((size, t) => {
    for (let j = 0; j < size; j++, row++) {
      copyRow(source, t * timeStride + order[j] * batchStride, out, row * rowSize, rowSize);
    }
  });
  return out;
}

function scatterPacked(sequence: PackedSnapshot, layout: PaddedLayout, out: Float32Array): void {
  const { data, batchSizes, sortedIndices } = sequence;
  const { rowSize, timeStride, batchStride } = layout;
  let row = 0;
  batchSizes.forEach((size, t) => {
    for (let j = 0; j < size; j++, row++) {
      const b = sortedIndices === null ? j : sortedIndices[j];
      copyRow(data.data, row * rowSize, out, t * timeStride + b * batchStride, rowSize);
    }
  });
}

function lengthsInCallerOrder(sequence: PackedSnapshot): Int32Array {
  const sorted = sortedLengthsOf(sequence.batchSizes);
  const indices = sequence.sortedIndices;
  if (indices === null) return sorted;
  const lengths = new Int32Array(sorted.length);
  sorted.forEach((length, j) => {
    lengths[indices[j]] = length;
  });
  return lengths;
}

// ---------------------------------------------------------------------------
// Sequence lists (padSequence, packSequence).

/** Each sequence read once into a validated snapshot: its shape is checked against its data. */
function readSequences(sequences: unknown, caller: string): TensorSnapshot[] {
  const iterable = typeof sequences === "object" && sequences !== null && Symbol.iterator in sequences;
  const list =
    iterable || typeof sequences !== "object" || sequences === null
      ? fromIterable(sequences, caller).map((sequence, i) =>
          readTensor(sequence, `sequences[${i}]`, `${caller}: sequences[${i}] must be a Tensor`),
        )
      : unstack(
          readTensor(sequences, "sequences", `${caller}: sequences must be a Tensor or an iterable of Tensors`),
          caller,
        );
  if (list.length === 0) throw new RangeError("received an empty list of sequences");
  list.forEach((sequence, i) => {
    if (sequence.shape.length === 0) {
      throw new RangeError(`${caller}: each sequence must be at least 1-D (length, *), but sequences[${i}] is 0-D`);
    }
  });
  return list;
}

function fromIterable(sequences: unknown, caller: string): unknown[] {
  const iterable = typeof sequences === "object" && sequences !== null && Symbol.iterator in sequences;
  if (!iterable) {
    throw new TypeError(
      `${caller}: Expected iterable for input sequences, but got arg of type: ${describe(sequences)}`,
    );
  }
  return Array.from(sequences as Iterable<unknown>);
}

/** A stacked `(B, length, *)` tensor, read as B sequences (as iterating a torch tensor does). */
function unstack(stacked: TensorSnapshot, caller: string): TensorSnapshot[] {
  if (stacked.shape.length === 0) {
    throw new TypeError(`${caller}: Expected iterable for input sequences, but got arg of type: 0-D Tensor`);
  }
  const [count, ...shape] = stacked.shape;
  const size = product(shape);
  return Array.from({ length: count }, (_, i) => ({
    data: stacked.data.subarray(i * size, (i + 1) * size),
    shape,
    numel: size,
  }));
}

function rowShapeOf(list: TensorSnapshot[], caller: string): readonly number[] {
  const rowShape = list[0].shape.slice(1);
  list.forEach((sequence, i) => {
    const trailing = sequence.shape.slice(1);
    if (trailing.length !== rowShape.length || trailing.some((size, d) => size !== rowShape[d])) {
      throw new RangeError(
        `${caller}: all sequences must have the trailing dims of sequences[0], ${formatShape(rowShape)}, ` +
          `but sequences[${i}] has shape ${formatShape(sequence.shape)}`,
      );
    }
  });
  return rowShape;
}

function padSequenceList(
  list: TensorSnapshot[],
  rowShape: readonly number[],
  batchFirst: boolean,
  paddingValue: number,
  paddingSide: "right" | "left",
): Tensor {
  const steps = maxOf(list.map((s) => s.shape[0]));
  const layout = paddedLayout(steps, list.length, rowShape, batchFirst);
  const { rowSize, timeStride, batchStride } = layout;
  const out = allocateFloats(steps * list.length * rowSize, "padSequence").fill(paddingValue);
  list.forEach((sequence, b) => {
    const length = sequence.shape[0];
    const shift = paddingSide === "left" ? steps - length : 0;
    for (let t = 0; t < length; t++) {
      copyRow(sequence.data, t * rowSize, out, (t + shift) * timeStride + b * batchStride, rowSize);
    }
  });
  return new Tensor(out, paddedShape(layout, batchFirst));
}

// ---------------------------------------------------------------------------
// Integer arrays: lengths, batch sizes, permutations.

/**
 * The integers of an array or typed array. Its length is read once and checked against what the
 * caller can need (`maxLength`) before any element is read, so a lying length costs nothing.
 */
function readIntegers(values: unknown, name: string, maxLength: number, tooMany: (length: number) => string): number[] {
  const length = typeof values === "object" && values !== null ? (values as { length?: unknown }).length : undefined;
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) {
    throw new TypeError(`${name} must be an array or typed array of integers, got ${describe(values)}`);
  }
  if (length > maxLength) throw new RangeError(tooMany(length));
  const source = values as ArrayLike<unknown>;
  return Array.from({ length }, (_, i) => readInteger(source[i], `${name}[${i}]`));
}

function readInteger(value: unknown, where: string): number {
  if (typeof value === "bigint") {
    // Refused rather than rounded, so the message can quote the value exactly.
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`${where} must be a safe integer (|value| <= 2^53 - 1), got ${value}`);
    }
    return Number(value);
  }
  if (typeof value !== "number") throw new TypeError(`${where} must be an integer, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${where} must be a finite integer, got ${value}`);
  // PyTorch truncates fractional lengths; a fraction here is almost always a bug upstream.
  if (!Number.isInteger(value)) throw new TypeError(`${where} must be an integer, got ${value}`);
  return value;
}

function readLengths(lengths: unknown, batch: number): number[] {
  const mismatch = (n: number) =>
    `Expected \`len(lengths)\` to be equal to batch_size, but got ${n} (batch_size=${batch})`;
  const values = readIntegers(lengths, "lengths", batch, mismatch);
  if (values.length !== batch) throw new RangeError(mismatch(values.length));
  return values;
}

function checkPositive(lengths: readonly number[]): void {
  const at = lengths.findIndex((length) => length <= 0);
  if (at >= 0) {
    throw new RangeError(
      "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0 " +
        `(lengths[${at}] = ${lengths[at]})`,
    );
  }
}

function checkNotNegative(lengths: readonly number[]): void {
  const at = lengths.findIndex((length) => length < 0);
  if (at >= 0) throw new RangeError(`lengths must not be negative, got lengths[${at}] = ${lengths[at]}`);
}

/** PyTorch accepts longer lengths and builds an inconsistent PackedSequence (or slices silently). */
function checkFitsInput(
  lengths: readonly number[],
  layout: PaddedLayout,
  shape: readonly number[],
  batchFirst: boolean,
): void {
  const at = lengths.findIndex((length) => length > layout.steps);
  if (at >= 0) {
    throw new RangeError(
      `lengths[${at}] = ${lengths[at]} is longer than the padded input, which has ${layout.steps} time steps ` +
        `(dim ${batchFirst ? 1 : 0} of shape ${formatShape(shape)})`,
    );
  }
}

function checkSortedDescending(lengths: readonly number[]): void {
  const at = lengths.findIndex((length, i) => i > 0 && length > lengths[i - 1]);
  if (at >= 0) {
    throw new RangeError(
      "`lengths` array must be sorted in decreasing order when `enforceSorted` is true. " +
        "You can pass `enforceSorted: false` to packPaddedSequence and/or packSequence to sidestep this " +
        "requirement if you do not need ONNX exportability. " +
        `Got lengths[${at}] = ${lengths[at]} after lengths[${at - 1}] = ${lengths[at - 1]}.`,
    );
  }
}

function checkBatchSizes(sizes: Int32Array, dataShape: readonly number[]): void {
  if (sizes.length === 0) throw new RangeError("batchSizes can not be empty");
  sizes.forEach((size, t) => {
    if (size <= 0) throw new RangeError(`batchSizes must be positive, got batchSizes[${t}] = ${size}`);
    if (t > 0 && size > sizes[t - 1]) {
      throw new RangeError(
        `batchSizes must be non-increasing, got batchSizes[${t}] = ${size} after batchSizes[${t - 1}] = ${sizes[t - 1]}`,
      );
    }
  });
  const rows = sumOf(sizes);
  if (rows !== dataShape[0]) {
    throw new RangeError(
      `batchSizes sum to ${rows} rows, but data has ${dataShape[0]} (data shape ${formatShape(dataShape)})`,
    );
  }
}

function resolvePermutations(
  sortedIndices: unknown,
  unsortedIndices: unknown,
  batch: number,
): [Int32Array | null, Int32Array | null] {
  const sorted = optionalPermutation(sortedIndices, "sortedIndices", batch);
  const unsorted = optionalPermutation(unsortedIndices, "unsortedIndices", batch);
  if (sorted === null) return [unsorted && invertPermutation(unsorted), unsorted];
  if (unsorted === null) return [sorted, invertPermutation(sorted)];
  const broken = sorted.findIndex((i, j) => unsorted[i] !== j);
  if (broken >= 0) {
    throw new RangeError(
      `unsortedIndices must be the inverse of sortedIndices, but sortedIndices[${broken}] = ${sorted[broken]} ` +
        `and unsortedIndices[${sorted[broken]}] = ${unsorted[sorted[broken]]}`,
    );
  }
  return [sorted, unsorted];
}

function optionalPermutation(values: unknown, name: string, batch: number): Int32Array | null {
  if (values === undefined || values === null) return null;
  const wrongCount = (n: number) => `${name} must hold batchSizes[0] = ${batch} indices, got ${n}`;
  const indices = readIntegers(values, name, batch, wrongCount);
  if (indices.length !== batch) throw new RangeError(wrongCount(indices.length));
  const seen = new Uint8Array(batch);
  indices.forEach((index, j) => {
    if (index < 0 || index >= batch || seen[index]) {
      throw new RangeError(
        `${name} must be a permutation of 0…${batch - 1}, but ${name}[${j}] = ${index} is ` +
          (index < 0 || index >= batch ? "out of range" : "repeated"),
      );
    }
    seen[index] = 1;
  });
  return Int32Array.from(indices);
}

function invertPermutation(permutation: Int32Array): Int32Array {
  const inverse = new Int32Array(permutation.length);
  permutation.forEach((index, j) => {
    inverse[index] = j;
  });
  return inverse;
}

function checkPackedSequence(sequence: unknown, caller: string): void {
  if (!(sequence instanceof PackedSequence)) {
    throw new TypeError(`${caller} expects a PackedSequence, got ${describe(sequence)}`);
  }
}

// ---------------------------------------------------------------------------
// Options objects.

function readOptions(options: unknown, allowed: readonly string[], caller: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${caller}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      // PyTorch users write snake_case; silently ignoring `batch_first` would be a nasty bug.
      const camel = key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
      const hint = allowed.includes(camel) ? ` (did you mean '${camel}'?)` : "";
      throw new TypeError(`${caller}: unknown option '${key}'${hint}; expected ${allowed.join(", ")}`);
    }
  }
  return options as Record<string, unknown>;
}

function booleanOption(options: Record<string, unknown>, name: string, fallback: boolean, caller: string): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`${caller}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

function numberOption(options: Record<string, unknown>, name: string, fallback: number, caller: string): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`${caller}: ${name} must be a number, got ${describe(value)}`);
  return value;
}

function totalLengthOption(options: Record<string, unknown>, maxLength: number, caller: string): number {
  const value = options.totalLength;
  if (value === undefined) return maxLength;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`${caller}: totalLength must be an integer, got ${describe(value)}`);
  }
  if (value > 0x7fffffff) {
    throw new RangeError(`${caller}: totalLength must be at most 2147483647 steps, got ${value}`);
  }
  if (value < maxLength) {
    throw new RangeError(
      "Expected totalLength to be at least the length of the longest sequence in input, " +
        `but got totalLength=${value} and max sequence length being ${maxLength}`,
    );
  }
  return value;
}

function paddingSideOption(options: Record<string, unknown>): "right" | "left" {
  const value = options.paddingSide;
  if (value === undefined) return "right";
  if (value !== "right" && value !== "left") {
    throw new RangeError(`Expected paddingSide to be one of left or right, but got ${describe(value)}.`);
  }
  return value;
}
