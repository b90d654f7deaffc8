// A pickle is a program, and loading one with Python's pickle can run any code, so this reads it
// with a small stack machine that knows only the opcodes and the handful of globals a state dict
// needs, refusing everything else — what PyTorch's `weights_only=True` does.

import { describe } from "../../core/describe.js";
import type { FloatDtype } from "../safetensors.js";

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
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Value[]
  | readonly Value[]
  | PickleDict
  | PickleGlobal
  | StorageRef
  | TensorRef;

/** A Python dict (or OrderedDict); keys are compared as JavaScript Map keys. */
export class PickleDict {
  readonly items = new Map<Value, Value>();
}

/** An allow-listed global, named "module.name". */
class PickleGlobal {
  constructor(readonly name: string) {}
}

/** A persistent id `('storage', type, key, location, numel)`: the zip entry `data/<key>`. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly typeName: string,
  ) {}

  get dtype(): FloatDtype | null {
    return STORAGE_TYPES[this.typeName];
  }
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: a strided view on a storage. */
export class TensorRef {
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
// Python's pickler batches SETITEMS/APPENDS by 1000, so real state dicts keep a few thousand values
// on the stack at most; a pickle that stacks more is building a nesting no model needs.
const MAX_STACK_DEPTH = 65536;

export class Unpickler {
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
      case 0x95:
        /* FRAME: a size hint for buffered readers */ this.take(8);
        return;
      case 0x7d:
        /* } EMPTY_DICT */ this.push(new PickleDict());
        return;
      case 0x5d:
        /* ] EMPTY_LIST */ this.push([]);
        return;
      case 0x29:
        /* ) EMPTY_TUPLE */ this.push(Object.freeze([]));
        return;
      case 0x28:
        /* ( MARK */ this.checkDepth(this.marks.length);
        this.marks.push(this.stack.length);
        return;
      case 0x74:
        /* t TUPLE */ this.push(Object.freeze(this.popMark()));
        return;
      case 0x85:
        /* TUPLE1 */ this.push(Object.freeze(this.popCount(1)));
        return;
      case 0x86:
        /* TUPLE2 */ this.push(Object.freeze(this.popCount(2)));
        return;
      case 0x87:
        /* TUPLE3 */ this.push(Object.freeze(this.popCount(3)));
        return;
      case 0x58:
        /* X BINUNICODE */ this.push(this.text(this.u32()));
        return;
      case 0x8c:
        /* SHORT_BINUNICODE */ this.push(this.text(this.u8()));
        return;
      case 0x4a:
        /* J BININT */ this.push(this.u32() | 0);
        return;
      case 0x4b:
        /* K BININT1 */ this.push(this.u8());
        return;
      case 0x4d:
        /* M BININT2 */ this.push(this.u8() | (this.u8() << 8));
        return;
      case 0x8a:
        /* LONG1 */ this.push(this.long(this.u8()));
        return;
      case 0x47:
        /* G BINFLOAT */ this.push(this.float64BigEndian());
        return;
      case 0x88:
        /* NEWTRUE */ this.push(true);
        return;
      case 0x89:
        /* NEWFALSE */ this.push(false);
        return;
      case 0x4e:
        /* N NONE */ this.push(null);
        return;
      case 0x73: /* s SETITEM */ {
        const value = this.pop();
        const key = this.pop();
        this.setItems([key, value]);
        return;
      }
      case 0x75:
        /* u SETITEMS */ this.setItems(this.popMark());
        return;
      case 0x61:
        /* a APPEND */ this.append([this.pop()]);
        return;
      case 0x65:
        /* e APPENDS */ this.append(this.popMark());
        return;
      case 0x71:
        /* q BINPUT */ this.memo.set(this.u8(), this.top());
        return;
      case 0x72:
        /* r LONG_BINPUT */ this.memo.set(this.u32(), this.top());
        return;
      case 0x94:
        /* MEMOIZE */ this.memo.set(this.memo.size, this.top());
        return;
      case 0x68:
        /* h BINGET */ this.push(this.memoGet(this.u8()));
        return;
      case 0x6a:
        /* j LONG_BINGET */ this.push(this.memoGet(this.u32()));
        return;
      case 0x63: /* c GLOBAL */ {
        const module = this.line();
        this.push(this.global(module, this.line()));
        return;
      }
      case 0x93: /* STACK_GLOBAL */ {
        const name = this.pop();
        this.push(this.global(this.pop(), name));
        return;
      }
      case 0x52: /* R REDUCE */ {
        const args = this.pop();
        this.push(this.call(this.pop(), args));
        return;
      }
      case 0x51:
        /* Q BINPERSID */ this.push(this.persistentLoad(this.pop()));
        return;
      case 0x62:
        /* b BUILD */ this.build(this.pop());
        return;
      default:
        this.fail(
          `unsupported pickle opcode 0x${opcode.toString(16).padStart(2, "0")}` +
            (opcode >= 0x20 && opcode < 0x7f ? ` ('${String.fromCharCode(opcode)}')` : ""),
        );
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
    if (!Array.isArray(args) || !Object.isFrozen(args))
      this.fail(`${callable.name} expects a tuple of arguments, got ${describeValue(args)}`);
    switch (callable.name) {
      case ORDERED_DICT:
        if (args.length !== 0) this.fail(`${ORDERED_DICT} expects no arguments, got ${args.length}`);
        return new PickleDict();
      case REBUILD_PARAMETER:
        if (!(args[0] instanceof TensorRef))
          this.fail(`${REBUILD_PARAMETER} expects a tensor, got ${describeValue(args[0])}`);
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
    if (!isIndex(offset))
      this.fail(`a tensor's storage offset must be a non-negative integer, got ${describeValue(offset)}`);
    if (!isIndexTuple(shape))
      this.fail(`a tensor's size must be a tuple of non-negative integers, got ${describeValue(shape)}`);
    if (!isIndexTuple(stride) || stride.length !== shape.length) {
      this.fail(
        `a tensor's stride must be a tuple of ${shape.length} non-negative integers, got ${describeValue(stride)}`,
      );
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
      this.fail(
        `BUILD is only supported for a dict's attributes, got ${describeValue(state)} for ${describeValue(target)}`,
      );
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
    if (!Array.isArray(list) || Object.isFrozen(list))
      this.fail(`APPEND(S) expects a list, got ${describeValue(list)}`);
    for (const item of items) list.push(item);
  }

  private memoGet(index: number): Value {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} is read before it is written`);
    return this.memo.get(index)!;
  }

  // ---- the stack; a MARK hides what is below it until the matching pop

  private push(value: Value): void {
    this.checkDepth(this.stack.length);
    this.stack.push(value);
  }

  private checkDepth(height: number): void {
    if (height >= MAX_STACK_DEPTH) {
      throw new RangeError(
        `torch: the pickle nests more than ${MAX_STACK_DEPTH} values deep on its stack (data.pkl byte ${this.opcodeAt}); ` +
          "a state dict needs a few thousand at most",
      );
    }
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
export function describeValue(value: Value | undefined): string {
  if (value instanceof PickleDict) return "a dict";
  if (value instanceof PickleGlobal) return `global '${value.name}'`;
  if (value instanceof StorageRef) return `storage '${value.key}'`;
  if (value instanceof TensorRef) return "a tensor";
  if (Array.isArray(value)) return `a ${Object.isFrozen(value) ? "tuple" : "list"} of length ${value.length}`;
  return describe(value);
}
