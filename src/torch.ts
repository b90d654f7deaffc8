// Files written by torch.save in the zip format (PyTorch >= 1.6): `<archive>/data.pkl` is a pickle
// of the saved object, whose tensors point through persistent ids at raw little-endian storages
// `<archive>/data/<key>`. A pickle is a program, and loading one with Python's pickle can run any
// code, so this reads it with a small stack machine that knows only the opcodes and the handful of
// globals a state dict needs, refusing everything else — what PyTorch's `weights_only=True` does.

import { unzipSync, type UnzipFileInfo } from "fflate";
import { Tensor } from "./tensor.js";
import { describe, formatShape } from "./describe.js";
import { asBytes, BYTES_PER_ELEMENT, decodeFloats, emptyRecord, type FloatDtype } from "./safetensors.js";

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
 *   strides, missing, truncated or duplicate zip entries and zip bombs.
 */
export function loadTorch(bytes: Uint8Array | ArrayBuffer): TorchFile {
  const file = asBytes(bytes, "loadTorch");
  checkSignature(file);
  const archive = new ZipArchive(file);
  const prefix = archivePrefix(archive);
  checkByteOrder(archive, prefix);
  const pickle = archive.read([`${prefix}/data.pkl`]).get(`${prefix}/data.pkl`)!;
  const found = collectTensors(new Unpickler(pickle).load());
  const storages = readStorages(archive, prefix, found);

  const budget = { elements: copyAllowance(storages) };
  const tensors = emptyRecord<Tensor>();
  for (const [name, ref] of found) tensors[name] = materialize(name, ref, storages.get(ref.storage.key)!, budget);
  return { tensors };
}

// ------------------------------------------------------------------------------------ the archive

const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04]; // "PK\3\4", a local file header
const PICKLE_PROTO = 0x80;

function checkSignature(file: Uint8Array): void {
  if (ZIP_SIGNATURE.every((byte, i) => file[i] === byte)) return;
  if (file[0] === PICKLE_PROTO) {
    // Before 1.6, torch.save wrote a bare pickle stream (it starts with a magic-number pickle).
    throw new Error(
      "torch: legacy torch.save format is not supported, re-save with " +
      "torch.save(..., _use_new_zipfile_serialization=True)");
  }
  const head = Array.from(file.subarray(0, 4), (b) => `0x${b.toString(16).padStart(2, "0")}`).join(" ");
  throw new Error(
    `torch: not a torch.save file: expected a zip archive starting with 50 4b 03 04 ('PK'), got ${head || "an empty file"}`);
}

/** The top-level folder of the archive: "archive" since PyTorch 2, the file's base name before. */
function archivePrefix(archive: ZipArchive): string {
  const pickles = [...archive.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new Error(
      `torch: expected exactly one '<archive>/data.pkl' in the zip, found ${pickles.length === 0 ? "none" : pickles.join(", ")}`);
  }
  return pickles[0].slice(0, -"/data.pkl".length);
}

/** PyTorch >= 2.1 records the byte order of the storages; older files are little-endian. */
function checkByteOrder(archive: ZipArchive, prefix: string): void {
  const name = `${prefix}/byteorder`;
  if (!archive.entries.has(name)) return;
  const order = new TextDecoder().decode(archive.read([name]).get(name)!).trim();
  if (order !== "little") {
    throw new Error(`torch: the storages are stored ${describe(order)}-endian; only little-endian files are supported`);
  }
}

// Typed arrays stop at 4 GiB in the engines that matter; a larger entry cannot be a usable storage.
const MAX_ENTRY_BYTES = 4 * 2 ** 30;
// Deflate emits at most 258 bytes per 2 bits of input: a larger claimed ratio is a lie.
const MAX_DEFLATE_RATIO = 1032;

/**
 * The entries of a zip file, read with fflate. Listing reads only the central directory; `read`
 * extracts the named entries and checks they came out as long as declared. Protection against zip
 * bombs: per-entry sizes are capped and must be consistent with their compression, and the entries
 * read from one file may not add up to more compressed bytes than the file has — so entries that
 * overlap in the file (the usual way to multiply a small file) cannot be read over and over.
 */
class ZipArchive {
  readonly entries = new Map<string, UnzipFileInfo>();
  private compressedBytesRead = 0;

  constructor(private readonly file: Uint8Array) {
    this.unzip((entry) => {
      // Also what stops a directory that claims millions of entries: fflate reads records past the
      // end of the file as zeros, and the second nameless one is a duplicate.
      if (this.entries.has(entry.name)) throw new Error(`torch: the zip holds two entries named '${entry.name}'`);
      this.entries.set(entry.name, checkEntrySizes(entry));
      return false;
    });
  }

  /** The contents of the named entries (which must exist). */
  read(names: string[]): Map<string, Uint8Array> {
    const wanted = new Set(names);
    for (const name of wanted) this.compressedBytesRead += this.entries.get(name)!.size;
    if (this.compressedBytesRead > this.file.length) {
      throw new Error(
        `torch: the zip entries read add up to ${this.compressedBytesRead} bytes, more than the ${this.file.length}-byte ` +
        "file: entries overlap (a zip bomb?)");
    }
    const files = this.unzip((entry) => wanted.has(entry.name));
    const out = new Map<string, Uint8Array>();
    for (const name of wanted) {
      const data = Object.hasOwn(files, name) ? files[name] : new Uint8Array(0);
      const declared = this.entries.get(name)!.originalSize;
      if (data.length !== declared) {
        throw new Error(
          `torch: zip entry '${name}' declares ${declared} bytes but ${data.length} could be read: the file is truncated or corrupt`);
      }
      out.set(name, data);
    }
    return out;
  }

  /** fflate's unzipSync, with its errors (and those thrown by `filter`) as clear Errors. */
  private unzip(filter: (entry: UnzipFileInfo) => boolean): Record<string, Uint8Array> {
    let refusal: unknown;
    try {
      return unzipSync(this.file, {
        filter: (entry) => {
          try {
            return filter(entry);
          } catch (error) {
            refusal = error;
            throw error;
          }
        },
      });
    } catch (error) {
      if (refusal !== undefined) throw refusal;
      throw new Error(`torch: cannot read the zip archive: ${(error as Error).message}`, { cause: error });
    }
  }
}

function checkEntrySizes(entry: UnzipFileInfo): UnzipFileInfo {
  const { name, compression, size, originalSize } = entry;
  if (originalSize > MAX_ENTRY_BYTES) {
    throw new Error(`torch: zip entry '${name}' declares ${originalSize} bytes, above the ${MAX_ENTRY_BYTES}-byte limit`);
  }
  if (compression === 0 && size !== originalSize) {
    throw new Error(`torch: stored zip entry '${name}' declares ${size} bytes in the file but ${originalSize} uncompressed`);
  }
  if (compression === 8 && originalSize > size * MAX_DEFLATE_RATIO) {
    throw new Error(
      `torch: zip entry '${name}' claims ${originalSize} bytes from ${size} deflated ones, more than deflate can produce ` +
      "(a zip bomb?)");
  }
  if (compression !== 0 && compression !== 8) {
    throw new Error(`torch: zip entry '${name}' uses compression method ${compression}; expected 0 (stored) or 8 (deflate)`);
  }
  return entry;
}

// --------------------------------------------------------------------------------- the unpickler

/** The storage classes a state dict may name, and the dtype each loads as (null: not a float type). */
const STORAGE_TYPES: Readonly<Record<string, FloatDtype | null>> = {
  "torch.FloatStorage": "F32",
  "torch.HalfStorage": "F16",
  "torch.BFloat16Storage": "BF16",
  "torch.DoubleStorage": "F64",
  // Known so that an integer tensor (a BatchNorm's num_batches_tracked) gets an error naming it.
  "torch.LongStorage": null,
  "torch.IntStorage": null,
  "torch.ShortStorage": null,
  "torch.CharStorage": null,
  "torch.ByteStorage": null,
  "torch.BoolStorage": null,
};
const ORDERED_DICT = "collections.OrderedDict";
const REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
const REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
const CALLABLES = new Set([ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER]);

/** A pickled value. Lists are arrays; tuples are frozen arrays. */
type Value = null | boolean | number | bigint | string | Value[] | readonly Value[] | PickleDict | PickleGlobal | StorageRef | TensorRef;

/** A Python dict (or OrderedDict); keys are compared as JavaScript Map keys. */
class PickleDict {
  readonly items = new Map<Value, Value>();
}

/** An allow-listed global, named "module.name". */
class PickleGlobal {
  constructor(readonly name: string) {}
}

/** A persistent id `('storage', type, key, location, numel)`: the zip entry `data/<key>`. */
class StorageRef {
  constructor(readonly key: string, readonly typeName: string) {}

  get dtype(): FloatDtype | null {
    return STORAGE_TYPES[this.typeName];
  }
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: a strided view on a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/**
 * Runs a pickle (protocols 2 to 5, the opcodes torch.save and Python's pickler emit for dicts,
 * tuples, lists, numbers, strings and tensors). Tuples are frozen arrays, lists plain arrays.
 */
class Unpickler {
  private at = 0;
  private opcodeAt = 0;
  private readonly stack: Value[] = [];
  /** Stack heights at each MARK: items above the top one belong to the next TUPLE/SETITEMS/APPENDS. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Value>();
  private readonly storages = new Map<string, StorageRef>();
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(private readonly bytes: Uint8Array) {}

  /** The unpickled object. */
  load(): Value {
    for (;;) {
      this.opcodeAt = this.at;
      const opcode = this.u8();
      if (opcode === 0x2e /* . STOP */) return this.pop();
      this.execute(opcode);
    }
  }

  private execute(opcode: number): void {
    switch (opcode) {
      case 0x80: /* PROTO */ {
        const protocol = this.u8();
        if (protocol > 5) this.fail(`pickle protocol ${protocol} is not supported (expected 2 to 5)`);
        return;
      }
      case 0x95: /* FRAME: a size hint for buffered readers */ this.take(8); return;
      case 0x7d: /* } EMPTY_DICT */ this.push(new PickleDict()); return;
      case 0x5d: /* ] EMPTY_LIST */ this.push([]); return;
      case 0x29: /* ) EMPTY_TUPLE */ this.push(Object.freeze([])); return;
      case 0x28: /* ( MARK */ this.marks.push(this.stack.length); return;
      case 0x74: /* t TUPLE */ this.push(Object.freeze(this.popMark())); return;
      case 0x85: /* TUPLE1 */ this.push(Object.freeze(this.popCount(1))); return;
      case 0x86: /* TUPLE2 */ this.push(Object.freeze(this.popCount(2))); return;
      case 0x87: /* TUPLE3 */ this.push(Object.freeze(this.popCount(3))); return;
      case 0x58: /* X BINUNICODE */ this.push(this.text(this.u32())); return;
      case 0x8c: /* SHORT_BINUNICODE */ this.push(this.text(this.u8())); return;
      case 0x4a: /* J BININT */ this.push(this.u32() | 0); return;
      case 0x4b: /* K BININT1 */ this.push(this.u8()); return;
      case 0x4d: /* M BININT2 */ this.push(this.u8() | (this.u8() << 8)); return;
      case 0x8a: /* LONG1 */ this.push(this.long(this.u8())); return;
      case 0x47: /* G BINFLOAT */ this.push(this.float64BigEndian()); return;
      case 0x88: /* NEWTRUE */ this.push(true); return;
      case 0x89: /* NEWFALSE */ this.push(false); return;
      case 0x4e: /* N NONE */ this.push(null); return;
      case 0x73: /* s SETITEM */ { const value = this.pop(); const key = this.pop(); this.setItems([key, value]); return; }
      case 0x75: /* u SETITEMS */ this.setItems(this.popMark()); return;
      case 0x61: /* a APPEND */ this.append([this.pop()]); return;
      case 0x65: /* e APPENDS */ this.append(this.popMark()); return;
      case 0x71: /* q BINPUT */ this.memo.set(this.u8(), this.top()); return;
      case 0x72: /* r LONG_BINPUT */ this.memo.set(this.u32(), this.top()); return;
      case 0x94: /* MEMOIZE */ this.memo.set(this.memo.size, this.top()); return;
      case 0x68: /* h BINGET */ this.push(this.memoGet(this.u8())); return;
      case 0x6a: /* j LONG_BINGET */ this.push(this.memoGet(this.u32())); return;
      case 0x63: /* c GLOBAL */ { const module = this.line(); this.push(this.global(module, this.line())); return; }
      case 0x93: /* STACK_GLOBAL */ { const name = this.pop(); this.push(this.global(this.pop(), name)); return; }
      case 0x52: /* R REDUCE */ { const args = this.pop(); this.push(this.call(this.pop(), args)); return; }
      case 0x51: /* Q BINPERSID */ this.push(this.persistentLoad(this.pop())); return;
      case 0x62: /* b BUILD */ this.build(this.pop()); return;
      default:
        this.fail(`unsupported pickle opcode 0x${opcode.toString(16).padStart(2, "0")}` +
          (opcode >= 0x20 && opcode < 0x7f ? ` ('${String.fromCharCode(opcode)}')` : ""));
    }
  }

  // ---- operations

  /** GLOBAL: only allow-listed names resolve; anything else would import code in Python. */
  private global(module: Value, name: Value): PickleGlobal {
    if (typeof module !== "string" || typeof name !== "string") this.fail("a global's module and name must be strings");
    const qualified = `${module}.${name}`;
    if (!CALLABLES.has(qualified) && !Object.hasOwn(STORAGE_TYPES, qualified)) {
      this.fail(`refusing to load global '${qualified}': only state dicts of float tensors are supported`);
    }
    return new PickleGlobal(qualified);
  }

  /** REDUCE: calls an allow-listed global. */
  private call(callable: Value, args: Value): Value {
    if (!(callable instanceof PickleGlobal) || !CALLABLES.has(callable.name)) {
      this.fail(`cannot call ${describeValue(callable)}`);
    }
    if (!Array.isArray(args) || !Object.isFrozen(args)) this.fail(`${callable.name} expects a tuple of arguments, got ${describeValue(args)}`);
    switch (callable.name) {
      case ORDERED_DICT:
        if (args.length !== 0) this.fail(`${ORDERED_DICT} expects no arguments, got ${args.length}`);
        return new PickleDict();
      case REBUILD_PARAMETER:
        if (!(args[0] instanceof TensorRef)) this.fail(`${REBUILD_PARAMETER} expects a tensor, got ${describeValue(args[0])}`);
        return args[0];
      default:
        return this.rebuildTensor(args);
    }
  }

  /** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
  private rebuildTensor(args: Value[]): TensorRef {
    const [storage, offset, shape, stride] = args;
    if (args.length < 4 || !(storage instanceof StorageRef)) {
      this.fail(`${REBUILD_TENSOR} expects (storage, offset, size, stride, ...), got ${args.length} arguments`);
    }
    if (!isIndex(offset)) this.fail(`a tensor's storage offset must be a non-negative integer, got ${describeValue(offset)}`);
    if (!isIndexTuple(shape)) this.fail(`a tensor's size must be a tuple of non-negative integers, got ${describeValue(shape)}`);
    if (!isIndexTuple(stride) || stride.length !== shape.length) {
      this.fail(`a tensor's stride must be a tuple of ${shape.length} non-negative integers, got ${describeValue(stride)}`);
    }
    return new TensorRef(storage, offset, [...shape], [...stride]);
  }

  /** BINPERSID: torch.save's reference to a storage, `('storage', type, key, location, numel)`. */
  private persistentLoad(pid: Value): StorageRef {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== "storage") {
      this.fail(`expected a persistent id ('storage', type, key, location, numel), got ${describeValue(pid)}`);
    }
    const [, type, key] = pid;
    if (!(type instanceof PickleGlobal) || !Object.hasOwn(STORAGE_TYPES, type.name)) {
      this.fail(`a storage's type must be a torch storage class, got ${describeValue(type)}`);
    }
    if (typeof key !== "string") this.fail(`a storage key must be a string, got ${describeValue(key)}`);
    const known = this.storages.get(key);
    if (known !== undefined && known.typeName !== type.name) {
      this.fail(`storage '${key}' is referenced both as ${known.typeName} and as ${type.name}`);
    }
    const ref = known ?? new StorageRef(key, type.name);
    this.storages.set(key, ref);
    return ref;
  }

  /**
   * BUILD sets an object's state. PyTorch pickles a state dict's `_metadata` (module versions) this
   * way; it holds no tensors, so the state of a dict is accepted and dropped.
   */
  private build(state: Value): void {
    const target = this.top();
    if (!(target instanceof PickleDict) || !(state === null || state instanceof PickleDict)) {
      this.fail(`BUILD is only supported for a dict's attributes, got ${describeValue(state)} for ${describeValue(target)}`);
    }
  }

  private setItems(items: Value[]): void {
    const dict = this.top();
    if (!(dict instanceof PickleDict)) this.fail(`SETITEM(S) expects a dict, got ${describeValue(dict)}`);
    if (items.length % 2 !== 0) this.fail(`SETITEMS expects key-value pairs, got ${items.length} items`);
    for (let i = 0; i < items.length; i += 2) dict.items.set(items[i], items[i + 1]);
  }

  private append(items: Value[]): void {
    const list = this.top();
    if (!Array.isArray(list) || Object.isFrozen(list)) this.fail(`APPEND(S) expects a list, got ${describeValue(list)}`);
    for (const item of items) list.push(item);
  }

  private memoGet(index: number): Value {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} is read before it is written`);
    return this.memo.get(index)!;
  }

  // ---- the stack; a MARK hides what is below it until the matching pop

  private push(value: Value): void {
    this.stack.push(value);
  }

  private pop(): Value {
    this.checkAvailable(1);
    return this.stack.pop()!;
  }

  private top(): Value {
    this.checkAvailable(1);
    return this.stack[this.stack.length - 1];
  }

  private popCount(count: number): Value[] {
    this.checkAvailable(count);
    return this.stack.splice(this.stack.length - count);
  }

  private popMark(): Value[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail("stack underflow: no MARK to pop to");
    return this.stack.splice(mark);
  }

  private checkAvailable(count: number): void {
    if (this.stack.length - (this.marks.at(-1) ?? 0) < count) this.fail("stack underflow");
  }

  // ---- reading operands

  private take(length: number): Uint8Array {
    if (length > this.bytes.length - this.at) {
      this.fail(`the pickle is truncated: ${length} bytes needed, ${this.bytes.length - this.at} left`);
    }
    this.at += length;
    return this.bytes.subarray(this.at - length, this.at);
  }

  private u8(): number {
    if (this.at >= this.bytes.length) this.fail("the pickle is truncated: it ends before STOP");
    return this.bytes[this.at++];
  }

  private u32(): number {
    const bytes = this.take(4);
    return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
  }

  private float64BigEndian(): number {
    const bytes = this.take(8);
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, false);
  }

  /** LONG1's operand: little-endian two's complement; a number when exact, else a bigint. */
  private long(length: number): number | bigint {
    const bytes = this.take(length);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
    if (length > 0 && bytes[length - 1] >= 0x80) value -= 1n << BigInt(8 * length);
    const small = Number(value);
    return Number.isSafeInteger(small) ? small : value;
  }

  private text(length: number): string {
    const bytes = this.take(length);
    try {
      return this.decoder.decode(bytes);
    } catch {
      return this.fail("a string is not valid UTF-8");
    }
  }

  /** GLOBAL's operands: newline-terminated. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.at);
    if (end < 0) this.fail("the pickle is truncated inside a GLOBAL");
    return this.text(end - this.at + 1).slice(0, -1);
  }

  private fail(message: string): never {
    throw new Error(`torch: ${message} (data.pkl byte ${this.opcodeAt})`);
  }
}

function isIndex(value: Value | undefined): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isIndexTuple(value: Value | undefined): value is number[] {
  return Array.isArray(value) && value.every(isIndex);
}

/** A pickle value in Python's words, for messages. */
function describeValue(value: Value | undefined): string {
  if (value instanceof PickleDict) return "a dict";
  if (value instanceof PickleGlobal) return `global '${value.name}'`;
  if (value instanceof StorageRef) return `storage '${value.key}'`;
  if (value instanceof TensorRef) return "a tensor";
  if (Array.isArray(value)) return `a ${Object.isFrozen(value) ? "tuple" : "list"} of length ${value.length}`;
  return describe(value);
}

// ------------------------------------------------------------------------------------ the tensors

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
    if (visited.has(dict)) throw new Error(`torch: the dict at '${prefix}' was reached twice; expected a tree of dicts`);
    if (depth > MAX_DICT_DEPTH) throw new Error(`torch: dicts are nested more than ${MAX_DICT_DEPTH} levels deep`);
    visited.add(dict);
    for (const [key, value] of dict.items) {
      if (!(value instanceof TensorRef || value instanceof PickleDict)) continue; // epochs, learning rates, notes
      if (typeof key !== "string" && !Number.isSafeInteger(key)) {
        throw new Error(`torch: a dict key under '${prefix}' is ${describeValue(key)}; expected a string or an integer`);
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
        "tensors are supported");
    }
    const entry = `${prefix}/data/${storage.key}`;
    if (!archive.entries.has(entry)) {
      throw new Error(`torch: storage '${storage.key}' of tensor '${name}' is missing: the zip has no entry '${entry}'`);
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
        `${BYTES_PER_ELEMENT[dtype]}-byte elements (${storage.typeName})`);
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
      `element ${last} of storage '${ref.storage.key}', which holds ${storage.length}`);
  }
  if (isRowMajor(shape, stride)) return new Tensor(storage.subarray(offset, offset + count), shape);
  budget.elements -= count;
  if (budget.elements < 0) {
    throw new Error(
      `torch: tensor '${name}' (size ${formatShape(shape)}, stride ${formatShape(stride)}) repeats stored elements ` +
      "beyond the copy limit: non-contiguous tensors may copy twice the stored elements plus 16 Mi");
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
