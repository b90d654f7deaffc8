// Files written by torch.save in the zip format (PyTorch >= 1.6): `<archive>/data.pkl` is a pickle
// of the saved object, whose tensors point through persistent ids at raw little-endian storages
// `<archive>/data/<key>`. The zip is read by zip.ts, the pickle by the restricted unpickler.ts;
// this file turns what they found into tensors.

import { Tensor } from "../../core/tensor.js";
import { formatShape } from "../../core/describe.js";
import { asBytes, BYTES_PER_ELEMENT, decodeFloats, emptyRecord } from "../safetensors.js";
import { archivePrefix, checkByteOrder, checkSignature, ZipArchive } from "./zip.js";
import { describeValue, PickleDict, TensorRef, Unpickler, type Value } from "./unpickler.js";
/** What `loadTorch` returns. `tensors` has no prototype, so any key (even `__proto__`) is a plain own key. */
export interface TorchFile {
  /** Tensors by state-dict key; nested dicts are flattened with dots ("model.rnn.weight_ih_l0"). */
  tensors: Record<string, Tensor>;
}

/**
 * Reads a file written by `torch.save(obj, f)` (the zip format, PyTorch >= 1.6), where `obj` is a
 * state dict or a dict holding state dicts (a checkpoint). Tensors of nested dicts get dotted keys;
 * values that are neither tensors nor dicts (epochs, learning rates, lists) are left out.
 *
 * float32, float16, bfloat16 and float64 tensors become float32 `Tensor`s (exact widening, float64
 * rounds to nearest-even). Strides and storage offsets are honoured. Contiguous tensors are views on
 * their storage, so tensors that shared a storage in PyTorch share memory here too (as after
 * `torch.load`); non-contiguous ones are copied into row-major order.
 *
 * Nothing in the file is executed or imported: the pickle may only name `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and torch storage classes.
 *
 * @param bytes the whole file.
 * @throws TypeError if `bytes` is not a Uint8Array or ArrayBuffer.
 * @throws Error saying what was expected and what was found, for the legacy (non-zip) format, any
 *   other global, unknown opcodes, malformed pickles, tensors that are not float, out-of-range
 *   strides, missing, truncated or duplicate zip entries.
 * @throws RangeError for compressed entries (torch.save never compresses: a zip bomb is refused
 *   before inflating), more than 65536 entries, a data.pkl above 64 MiB, a pickle stacking more
 *   than 65536 values or dicts nested more than 64 deep.
 */
export function loadTorch(bytes: Uint8Array | ArrayBuffer): TorchFile {
  const file = asBytes(bytes, "loadTorch");
  checkSignature(file);
  const archive = new ZipArchive(file);
  const prefix = archivePrefix(archive);
  checkByteOrder(archive, prefix);
  const pickleName = `${prefix}/data.pkl`;
  const pickleBytes = archive.entries.get(pickleName)!.originalSize;
  if (pickleBytes > MAX_PICKLE_BYTES) {
    throw new RangeError(
      `torch: ${pickleName} is ${pickleBytes} bytes, above the ${MAX_PICKLE_BYTES}-byte limit for a state dict's pickle`,
    );
  }
  const pickle = archive.read([pickleName]).get(pickleName)!;
  const found = collectTensors(new Unpickler(pickle).load());
  const storages = readStorages(archive, prefix, found);

  const budget = { elements: copyAllowance(storages) };
  const tensors = emptyRecord<Tensor>();
  for (const [name, ref] of found) tensors[name] = materialize(name, ref, storages.get(ref.storage.key)!, budget);
  return { tensors };
}

// ------------------------------------------------------------------------------------ the tensors

// A state dict's pickle takes ~100 bytes per tensor (the data is in other entries): 64 MiB is far
// above any model, and the cap keeps a forged program from running for seconds.
const MAX_PICKLE_BYTES = 64 * 2 ** 20;

// A state dict nests a level per container; checkpoints add one or two. Deeper is not a model.
const MAX_DICT_DEPTH = 64;

/** The tensors of a dict tree, with dotted names. Each dict may be reached once: a state dict is a tree. */
function collectTensors(root: Value): [string, TensorRef][] {
  if (!(root instanceof PickleDict)) {
    throw new Error(`torch: expected a state dict (a dict of tensors) at the top level, got ${describeValue(root)}`);
  }
  const found: [string, TensorRef][] = [];
  const names = new Set<string>();
  const visited = new Set<PickleDict>();
  const walk = (dict: PickleDict, prefix: string, depth: number): void => {
    if (visited.has(dict))
      throw new Error(`torch: the dict at '${prefix}' was reached twice; expected a tree of dicts`);
    if (depth > MAX_DICT_DEPTH) throw new RangeError(`torch: dicts are nested more than ${MAX_DICT_DEPTH} levels deep`);
    visited.add(dict);
    for (const [key, value] of dict.items) {
      if (!(value instanceof TensorRef || value instanceof PickleDict)) continue; // epochs, learning rates, notes
      if (typeof key !== "string" && !Number.isSafeInteger(key)) {
        throw new Error(
          `torch: a dict key under '${prefix}' is ${describeValue(key)}; expected a string or an integer`,
        );
      }
      const name = `${prefix}${String(key)}`;
      if (value instanceof PickleDict) {
        walk(value, `${name}.`, depth + 1);
      } else {
        if (names.has(name)) throw new Error(`torch: two tensors are named '${name}' once nested keys are joined`);
        names.add(name);
        found.push([name, value]);
      }
    }
  };
  walk(root, "", 0);
  return found;
}

/** Extracts and decodes every storage the tensors use, each once, as float32. */
function readStorages(archive: ZipArchive, prefix: string, found: [string, TensorRef][]): Map<string, Float32Array> {
  const entryNames = new Map<string, string>(); // storage key → zip entry
  for (const [name, { storage }] of found) {
    if (storage.dtype === null) {
      throw new Error(
        `torch: tensor '${name}' is stored as ${storage.typeName}; only float32, float16, bfloat16 and float64 ` +
          "tensors are supported",
      );
    }
    const entry = `${prefix}/data/${storage.key}`;
    if (!archive.entries.has(entry)) {
      throw new Error(
        `torch: storage '${storage.key}' of tensor '${name}' is missing: the zip has no entry '${entry}'`,
      );
    }
    entryNames.set(storage.key, entry);
  }
  const contents = archive.read([...entryNames.values()]);
  const storages = new Map<string, Float32Array>();
  for (const [name, { storage }] of found) {
    if (storages.has(storage.key)) continue;
    const bytes = contents.get(entryNames.get(storage.key)!)!;
    const dtype = storage.dtype!;
    if (bytes.length % BYTES_PER_ELEMENT[dtype] !== 0) {
      throw new Error(
        `torch: storage '${storage.key}' of tensor '${name}' has ${bytes.length} bytes, not a whole number of ` +
          `${BYTES_PER_ELEMENT[dtype]}-byte elements (${storage.typeName})`,
      );
    }
    storages.set(storage.key, decodeFloats(bytes, dtype));
  }
  return storages;
}

// Copies of strided views may add up to twice the stored elements (a weight and its transpose)
// plus this much for expanded tensors, whose stride 0 repeats one element many times.
const COPY_SLACK_ELEMENTS = 2 ** 24;

/**
 * How many elements non-contiguous tensors may copy in total. Without a bound, a few bytes of
 * pickle could ask for an expanded view of billions of elements: a bomb like an overlapping zip.
 */
function copyAllowance(storages: Map<string, Float32Array>): number {
  let stored = 0;
  for (const storage of storages.values()) stored += storage.length;
  return 2 * stored + COPY_SLACK_ELEMENTS;
}

/** The tensor a strided view selects: a view when row-major contiguous, else a row-major copy. */
function materialize(name: string, ref: TensorRef, storage: Float32Array, budget: { elements: number }): Tensor {
  const { offset, shape, stride } = ref;
  let count = 1;
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    count *= shape[d];
    last += (shape[d] - 1) * stride[d];
  }
  if (count === 0) return new Tensor(new Float32Array(0), shape);
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(last) || last >= storage.length) {
    throw new Error(
      `torch: tensor '${name}' (size ${formatShape(shape)}, stride ${formatShape(stride)}, offset ${offset}) reads ` +
        `element ${last} of storage '${ref.storage.key}', which holds ${storage.length}`,
    );
  }
  if (isRowMajor(shape, stride)) return new Tensor(storage.subarray(offset, offset + count), shape);
  budget.elements -= count;
  if (budget.elements < 0) {
    throw new Error(
      `torch: tensor '${name}' (size ${formatShape(shape)}, stride ${formatShape(stride)}) repeats stored elements ` +
        "beyond the copy limit: non-contiguous tensors may copy twice the stored elements plus 16 Mi",
    );
  }
  return new Tensor(gather(storage, offset, shape, stride, count), shape);
}

/** Whether the strides are row-major (sizes of 1 may have any stride, as in PyTorch). */
function isRowMajor(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Copies a strided view into row-major order, as bits so that NaN payloads survive. */
function gather(storage: Float32Array, offset: number, shape: number[], stride: number[], count: number): Float32Array {
  const source = new Uint32Array(storage.buffer, storage.byteOffset, storage.length);
  const out = new Float32Array(count);
  const target = new Uint32Array(out.buffer);
  const index = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let i = 0; i < count; i++) {
    target[i] = source[at];
    // Advance the multi-index like an odometer, last dimension fastest.
    for (let d = shape.length - 1; d >= 0; d--) {
      at += stride[d];
      if (++index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
