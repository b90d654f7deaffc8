// loadTorch: torch.save zip files from PyTorch 1.13 (tests/fixtures/weights, written by generate.py)
// load bit for bit; strides, shared storages and checkpoints work; hostile archives and pickles
// get clear errors and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { zipSync, unzipSync } from "fflate";
import { loadTorch, RNN, init } from "wasm-rnn";
import { maxAbsError } from "../helpers/fixtures.mjs";
import { EXPECTED, assertBitExact, decode, read } from "../helpers/weights.mjs";

const FILES = Object.keys(EXPECTED).filter((name) => name.endsWith(".pt"));

// ---------------------------------------------------------------------------------------------
// Building archives and pickles by hand

/** Pickle opcodes, named as in Python's pickletools. */
const OP = {
  PROTO: 0x80,
  EMPTY_DICT: 0x7d,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  MARK: 0x28,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  BININT1: 0x4b,
  BININT: 0x4a,
  BINFLOAT: 0x47,
  NEWFALSE: 0x89,
  NONE: 0x4e,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  APPEND: 0x61,
  BINPUT: 0x71,
  BINGET: 0x68,
  GLOBAL: 0x63,
  STACK_GLOBAL: 0x93,
  REDUCE: 0x52,
  BINPERSID: 0x51,
  BUILD: 0x62,
  STOP: 0x2e,
};

/** Assembles a pickle from opcodes (numbers), strings (BINUNICODE) and raw byte arrays. */
function pickle(...parts) {
  const out = [];
  for (const part of parts) {
    if (typeof part === "number") out.push(part);
    else if (typeof part === "string") {
      const text = new TextEncoder().encode(part);
      out.push(0x58, ...u32(text.length), ...text);
    } else out.push(...part);
  }
  return new Uint8Array(out);
}
const u32 = (n) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const global = (module, name) => [OP.GLOBAL, ...new TextEncoder().encode(`${module}\n${name}\n`)];
const int = (n) => (n >= 0 && n < 256 ? [OP.BININT1, n] : [OP.BININT, ...u32(n)]);
const tuple = (...items) => [OP.MARK, ...items.flat(), OP.TUPLE];

/** `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` as torch.save writes it. */
function tensorOps({ key = "0", type = "FloatStorage", offset = 0, size = [4], stride = [1], numel = 4 } = {}) {
  return [
    ...global("torch._utils", "_rebuild_tensor_v2"),
    OP.MARK,
    ...tuple(pickle("storage"), global("torch", type), pickle(key), pickle("cpu"), int(numel)),
    OP.BINPERSID,
    ...int(offset),
    ...tuple(...size.map(int)),
    ...tuple(...stride.map(int)),
    OP.NEWFALSE,
    ...global("collections", "OrderedDict"),
    OP.EMPTY_TUPLE,
    OP.REDUCE,
    OP.TUPLE,
    OP.REDUCE,
  ];
}

/** A dict {key: value-ops} pickle. */
const statePickle = (entries) =>
  pickle(
    OP.PROTO,
    2,
    OP.EMPTY_DICT,
    OP.MARK,
    ...entries.flatMap(([key, ops]) => [...pickle(key), ...ops]),
    OP.SETITEMS,
    OP.STOP,
  );

const floats = (...values) => new Uint8Array(new Float32Array(values).buffer);

/** A torch.save-shaped zip: archive/data.pkl, archive/data/<key>, archive/version (stored). */
function archive(pkl, storages = { 0: floats(1, 2, 3, 4) }, { prefix = "archive", level = 0 } = {}) {
  const files = { [`${prefix}/data.pkl`]: pkl, [`${prefix}/version`]: new TextEncoder().encode("3\n") };
  for (const [key, data] of Object.entries(storages)) files[`${prefix}/data/${key}`] = data;
  return zipSync(files, { level });
}

/** The bytes of a file with its data.pkl replaced (the zip is rebuilt, so offsets stay valid). */
function withPickle(file, pkl) {
  const entries = unzipSync(file);
  const name = Object.keys(entries).find((n) => n.endsWith("/data.pkl"));
  entries[name] = pkl;
  return zipSync(entries, { level: 0 });
}

// ---------------------------------------------------------------------------------------------
// PyTorch's files

for (const file of FILES) {
  test(`${file}: every tensor equals PyTorch's bit for bit`, () => {
    const { tensors } = loadTorch(read(file));
    assert.equal(Object.getPrototypeOf(tensors), null);
    const expected = EXPECTED[file].tensors;
    assert.deepEqual(Object.keys(tensors), Object.keys(expected), "keys in state-dict order");
    for (const [key, want] of Object.entries(expected)) assertBitExact(tensors[key], want, `${file} ${key}`);
  });
}

test("views.pt: strides, offsets, shared and expanded storages", () => {
  const { tensors } = loadTorch(read("views.pt"));
  // torch.save kept one storage for both views, and so do we: contiguous views share memory.
  assert.equal(tensors.shared_a.data.buffer, tensors.shared_b.data.buffer);
  assert.deepEqual([...tensors.shared_a.data.subarray(2)], [...tensors.shared_b.data.subarray(0, 2)]);
  // Non-contiguous tensors are row-major copies.
  assert.deepEqual([...tensors.transposed.shape], [4, 3]);
  assert.deepEqual(tensors.expanded.toArray()[0], tensors.expanded.toArray()[1]);
  assert.deepEqual([...tensors.scalar.shape], []);
  assert.equal(tensors.scalar.data[0], 2.5);
  assert.deepEqual([...tensors.empty.shape], [0, 3]);
});

test("checkpoint.pt: nested dicts get dotted keys; epochs, floats, lists and big ints are left out", () => {
  const { tensors } = loadTorch(read("checkpoint.pt"));
  assert.deepEqual(Object.keys(tensors), Object.keys(EXPECTED["checkpoint.pt"].tensors));
  assert.ok(Object.keys(tensors).every((k) => k.startsWith("model.")));
});

test("the archive folder name does not matter (the file's stem in PyTorch < 2, 'archive' after)", () => {
  for (const prefix of ["archive", "my model", "__proto__"]) {
    const { tensors } = loadTorch(archive(statePickle([["w", tensorOps()]]), undefined, { prefix }));
    assert.deepEqual([...tensors.w.data], [1, 2, 3, 4]);
  }
});

test("deflated entries are refused before inflating: torch.save never compresses, so they can only be a re-zip or a bomb", () => {
  assert.throws(() => loadTorch(archive(statePickle([["w", tensorOps()]]), undefined, { level: 9 })), {
    name: "RangeError",
    message: /zip entry '.*' is compressed \(method 8 \(deflate\)\)/,
  });
});

test("an ArrayBuffer is accepted as well as a Uint8Array", () => {
  const bytes = read("model.pt");
  const { tensors } = loadTorch(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  assertBitExact(tensors["fc.bias"], EXPECTED["model.pt"].tensors["fc.bias"], "fc.bias");
});

test("protocol 4 opcodes (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) are understood", () => {
  const short = (s) => [0x8c, s.length, ...new TextEncoder().encode(s)];
  const pkl = pickle(
    OP.PROTO,
    4,
    0x95,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    OP.EMPTY_DICT,
    0x94,
    ...short("w"),
    ...short("torch._utils"),
    ...short("_rebuild_tensor_v2"),
    OP.STACK_GLOBAL,
    0x94,
    OP.MARK,
    ...tuple(pickle("storage"), global("torch", "FloatStorage"), pickle("0"), pickle("cpu"), int(4)),
    OP.BINPERSID,
    ...int(0),
    ...tuple(int(4)),
    ...tuple(int(1)),
    OP.NEWFALSE,
    OP.NONE,
    OP.TUPLE,
    OP.REDUCE,
    OP.SETITEM,
    OP.STOP,
  );
  assert.deepEqual([...loadTorch(archive(pkl)).tensors.w.data], [1, 2, 3, 4]);
});

// ---------------------------------------------------------------------------------------------
// Hostile files

const good = () => archive(statePickle([["w", tensorOps()]]));
const patch = (bytes, edit) => {
  const copy = bytes.slice();
  edit(copy, new DataView(copy.buffer));
  return copy;
};
/** Offset of the first central directory record ("PK\1\2"). */
const central = (bytes) => Buffer.from(bytes).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));

const HOSTILE = [
  [
    "legacy format",
    read("legacy.pt"),
    /legacy torch.save format is not supported, re-save with torch.save\(\.\.\., _use_new_zipfile_serialization=True\)/,
  ],
  [
    "empty file",
    new Uint8Array(0),
    /not a torch.save file: expected a zip archive starting with 50 4b 03 04 \('PK'\), got an empty file/,
  ],
  ["a safetensors file", read("model.safetensors"), /not a torch.save file: .* got 0x[0-9a-f]{2} 0x/],
  [
    "os.system through GLOBAL + REDUCE",
    read("malicious.pt"),
    /refusing to load global 'os.system': only state dicts of float tensors are supported/,
  ],
  [
    "builtins.eval",
    withPickle(
      read("model.pt"),
      pickle(OP.PROTO, 2, ...global("builtins", "eval"), ...tuple(pickle("1")), OP.REDUCE, OP.STOP),
    ),
    /refusing to load global 'builtins.eval'/,
  ],
  [
    "STACK_GLOBAL of posix.system",
    withPickle(
      read("model.pt"),
      pickle(
        OP.PROTO,
        4,
        0x8c,
        5,
        ...Buffer.from("posix"),
        0x8c,
        6,
        ...Buffer.from("system"),
        OP.STACK_GLOBAL,
        OP.STOP,
      ),
    ),
    /refusing to load global 'posix.system'/,
  ],
  [
    "torch.load itself",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, ...global("torch", "load"), OP.STOP)),
    /refusing to load global 'torch.load'/,
  ],
  [
    "calling a storage class",
    withPickle(
      read("model.pt"),
      pickle(OP.PROTO, 2, ...global("torch", "FloatStorage"), OP.EMPTY_TUPLE, OP.REDUCE, OP.STOP),
    ),
    /cannot call global 'torch.FloatStorage'/,
  ],
  [
    "calling a string",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, "os.system", OP.EMPTY_TUPLE, OP.REDUCE, OP.STOP)),
    /cannot call 'os.system'/,
  ],
  [
    "unknown opcode (NEWOBJ)",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.EMPTY_TUPLE, 0x81, OP.STOP)),
    /unsupported pickle opcode 0x81 \(data.pkl byte 3\)/,
  ],
  [
    "protocol-0 INST",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, 0x69, OP.STOP)),
    /unsupported pickle opcode 0x69 \('i'\)/,
  ],
  ["stack underflow", withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.REDUCE, OP.STOP)), /stack underflow/],
  [
    "underflow below a MARK",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.EMPTY_DICT, OP.MARK, OP.SETITEM, OP.STOP)),
    /stack underflow/,
  ],
  [
    "no MARK",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.TUPLE, OP.STOP)),
    /stack underflow: no MARK to pop to/,
  ],
  [
    "no STOP",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.EMPTY_DICT)),
    /the pickle is truncated: it ends before STOP \(data.pkl byte 3\)/,
  ],
  [
    "truncated string",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, 0x58, ...u32(1000), 0x41)),
    /the pickle is truncated: 1000 bytes needed, 1 left/,
  ],
  [
    "unknown memo entry",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.BINGET, 7, OP.STOP)),
    /memo entry 7 is read before it is written/,
  ],
  [
    "protocol 6",
    withPickle(read("model.pt"), pickle(OP.PROTO, 6, OP.EMPTY_DICT, OP.STOP)),
    /pickle protocol 6 is not supported/,
  ],
  [
    "not a dict",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.EMPTY_LIST, OP.STOP)),
    /expected a state dict \(a dict of tensors\) at the top level, got a list of length 0/,
  ],
  [
    "APPEND to a tuple",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.EMPTY_TUPLE, OP.NONE, OP.APPEND, OP.STOP)),
    /APPEND\(S\) expects a list, got a tuple/,
  ],
  [
    "SETITEM on a list",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.EMPTY_LIST, "k", OP.NONE, OP.SETITEM, OP.STOP)),
    /SETITEM\(S\) expects a dict, got a list/,
  ],
  [
    "BUILD on a list",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, OP.EMPTY_LIST, OP.EMPTY_DICT, OP.BUILD, OP.STOP)),
    /BUILD is only supported for a dict's attributes/,
  ],
  [
    "a dict containing itself",
    withPickle(
      read("model.pt"),
      pickle(OP.PROTO, 2, OP.EMPTY_DICT, OP.BINPUT, 0, "me", OP.BINGET, 0, OP.SETITEM, OP.STOP),
    ),
    /the dict at 'me\.' was reached twice; expected a tree of dicts/,
  ],
  [
    "a foreign persistent id",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, ...tuple(pickle("module"), pickle("x")), OP.BINPERSID, OP.STOP)),
    /expected a persistent id \('storage', type, key, location, numel\), got a tuple of length 2/,
  ],
  [
    "persistent id naming os.system as storage type",
    withPickle(read("model.pt"), pickle(OP.PROTO, 2, ...tuple(pickle("storage"), global("os", "system")), OP.STOP)),
    /refusing to load global 'os.system'/,
  ],
  [
    "integer tensor",
    archive(
      statePickle([["bn.num_batches_tracked", tensorOps({ type: "LongStorage", size: [], stride: [], numel: 1 })]]),
      { 0: new Uint8Array(8) },
    ),
    /tensor 'bn.num_batches_tracked' is stored as torch.LongStorage; only float32, float16, bfloat16 and float64 tensors are supported/,
  ],
  [
    "one storage, two dtypes",
    archive(
      statePickle([
        ["a", tensorOps()],
        ["b", tensorOps({ type: "HalfStorage" })],
      ]),
    ),
    /storage '0' is referenced both as torch.FloatStorage and as torch.HalfStorage/,
  ],
  [
    "negative offset",
    archive(statePickle([["w", tensorOps({ offset: -1 })]])),
    /a tensor's storage offset must be a non-negative integer, got -1/,
  ],
  [
    "stride past the storage",
    archive(statePickle([["w", tensorOps({ size: [2, 2], stride: [3, 1] })]])),
    /tensor 'w' \(size \[2, 2\], stride \[3, 1\], offset 0\) reads element 4 of storage '0', which holds 4/,
  ],
  [
    "offset past the storage",
    archive(statePickle([["w", tensorOps({ offset: 1 })]])),
    /reads element 4 of storage '0', which holds 4/,
  ],
  [
    "size and stride of different lengths",
    archive(statePickle([["w", tensorOps({ size: [2, 2], stride: [2] })]])),
    /a tensor's stride must be a tuple of 2 non-negative integers, got a tuple of length 1/,
  ],
  [
    "a float size",
    archive(
      statePickle([
        [
          "w",
          [
            ...global("torch._utils", "_rebuild_tensor_v2"),
            OP.MARK,
            ...tuple(pickle("storage"), global("torch", "FloatStorage"), pickle("0"), pickle("cpu"), int(4)),
            OP.BINPERSID,
            ...int(0),
            ...tuple([OP.BINFLOAT, 0x40, 0x04, 0, 0, 0, 0, 0, 0]),
            ...tuple(int(1)),
            OP.TUPLE,
            OP.REDUCE,
          ],
        ],
      ]),
    ),
    /a tensor's size must be a tuple of non-negative integers, got a tuple of length 1/,
  ],
  [
    "missing storage",
    archive(statePickle([["w", tensorOps({ key: "7" })]])),
    /storage '7' of tensor 'w' is missing: the zip has no entry 'archive\/data\/7'/,
  ],
  [
    "storage of a partial element",
    archive(statePickle([["w", tensorOps()]]), { 0: new Uint8Array(15) }),
    /storage '0' of tensor 'w' has 15 bytes, not a whole number of 4-byte elements \(torch.FloatStorage\)/,
  ],
  [
    "expanded bomb",
    archive(statePickle([["w", tensorOps({ size: [1 << 13, 1 << 13, 1 << 13], stride: [0, 0, 0] })]])),
    /repeats stored elements beyond the copy limit/,
  ],
  [
    "two data.pkl",
    zipSync({ "a/data.pkl": statePickle([]), "b/data.pkl": statePickle([]) }, { level: 0 }),
    /expected exactly one '<archive>\/data.pkl' in the zip, found a\/data.pkl, b\/data.pkl/,
  ],
  [
    "no data.pkl",
    zipSync({ "a/other": new Uint8Array(1) }, { level: 0 }),
    /expected exactly one '<archive>\/data.pkl' in the zip, found none/,
  ],
  [
    "big-endian storages",
    zipSync({ "a/data.pkl": statePickle([]), "a/byteorder": new TextEncoder().encode("big") }, { level: 0 }),
    /the storages are stored 'big'-endian; only little-endian files are supported/,
  ],
  ["truncated archive", good().subarray(0, 200), /cannot read the zip archive: invalid zip data/],
  [
    "entry past the end",
    patch(good(), (b, v) => v.setUint32(central(b) + 42, 0x7fff0000, true)),
    /zip entry 'archive\/data.pkl' declares \d+ bytes but 0 could be read: the file is truncated or corrupt/,
  ],
  [
    "stored sizes disagree",
    patch(good(), (b, v) => v.setUint32(central(b) + 24, 1000, true)),
    /stored zip entry 'archive\/data.pkl' declares \d+ bytes in the file but 1000 uncompressed/,
  ],
  [
    "a deflated entry claiming 100 MB",
    patch(archive(statePickle([]), {}, { level: 9 }), (b, v) => v.setUint32(central(b) + 24, 100_000_000, true)),
    /zip entry 'archive\/data.pkl' is compressed \(method 8 \(deflate\)\)/,
  ],
  [
    "unknown compression",
    patch(good(), (b, v) => v.setUint16(central(b) + 10, 12, true)),
    /zip entry 'archive\/data.pkl' is compressed \(method 12\)/,
  ],
  [
    "duplicate entry names",
    patch(zipSync({ "archive/data.pkl": statePickle([]), "archive/data.pkX": statePickle([]) }, { level: 0 }), (b) => {
      b[Buffer.from(b).indexOf("archive/data.pkX", central(b)) + 15] = 0x6c;
    }),
    /the zip holds two entries named 'archive\/data.pkl'/,
  ],
  ["overlapping entries (one storage listed 200 times)", overlappingBomb(), /entries overlap \(a zip bomb\?\)/],
  [
    "a directory claiming 65535 entries",
    patch(good(), (b, v) => {
      const eocd = Buffer.from(b).lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
      v.setUint16(eocd + 8, 0xffff, true);
      v.setUint16(eocd + 10, 0xffff, true);
    }),
    /invalid zip data: the central directory holds fewer than the 65535 entries it declares \(entry \d+ is missing\)/,
  ],
  [
    "a directory of records past the end",
    patch(good(), (b, v) => {
      const eocd = Buffer.from(b).lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
      v.setUint16(eocd + 10, 0xffff, true);
      v.setUint32(eocd + 16, b.length, true);
    }),
    /invalid zip data: the central directory \(\d+ bytes at byte \d+\) ends past the \d+-byte file/,
  ],
];

/**
 * A zip whose central directory lists one 4 KiB storage under 200 names, all pointing at the same
 * bytes, and a pickle using every one: reading them would need 200 times the file.
 */
function overlappingBomb() {
  const count = 200;
  const pkl = statePickle(
    Array.from({ length: count }, (_, i) => [`w${i}`, tensorOps({ key: String(i), size: [1024], numel: 1024 })]),
  );
  const base = zipSync({ "archive/data.pkl": pkl, "archive/data/0": new Uint8Array(4096) }, { level: 0 });
  const bytes = Buffer.from(base);
  const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const centralStart = bytes.readUInt32LE(eocd + 16);
  const records = bytes.subarray(centralStart, eocd);
  const storageRecord = records.subarray(records.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), 1));
  const copies = [records.subarray(0, records.length - storageRecord.length)];
  for (let i = 0; i < count; i++) {
    const name = Buffer.from(`archive/data/${i}`);
    const record = Buffer.concat([storageRecord.subarray(0, 46), name]);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt16LE(0, 30); // no extra field
    record.writeUInt16LE(0, 32); // no comment
    copies.push(record);
  }
  const directory = Buffer.concat(copies);
  const end = Buffer.from(bytes.subarray(eocd, eocd + 22));
  end.writeUInt16LE(count + 1, 8);
  end.writeUInt16LE(count + 1, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(centralStart, 16);
  return new Uint8Array(Buffer.concat([bytes.subarray(0, centralStart), directory, end]));
}

for (const [name, bytes, message] of HOSTILE) {
  test(`hostile torch file: ${name}`, () => {
    assert.throws(
      () => loadTorch(bytes),
      (error) => {
        assert.ok(error instanceof Error, `an Error, got ${error}`);
        assert.match(error.message, /^torch: /);
        assert.match(error.message, message);
        return true;
      },
    );
  });
}

test("non-bytes arguments are a TypeError", () => {
  for (const value of [undefined, null, "model.pt", [0x50, 0x4b], new Float32Array(4)]) {
    assert.throws(() => loadTorch(value), {
      name: "TypeError",
      message: /loadTorch expects the file as a Uint8Array or an ArrayBuffer/,
    });
  }
});

test("keys like __proto__ are plain own keys and never touch Object.prototype", () => {
  const { tensors } = loadTorch(read("proto.pt"));
  assert.equal(Object.getPrototypeOf(tensors), null);
  assert.deepEqual(Object.keys(tensors), ["__proto__", "constructor", "toString"]);
  assertBitExact(
    Object.getOwnPropertyDescriptor(tensors, "__proto__").value,
    EXPECTED["proto.pt"].tensors.__proto__,
    "__proto__",
  );
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  assert.equal({}.constructor, Object);
  assert.equal(typeof {}.toString, "function");

  // A checkpoint whose nested dict is called __proto__ as well.
  const nested = pickle(
    OP.PROTO,
    2,
    OP.EMPTY_DICT,
    "__proto__",
    OP.EMPTY_DICT,
    "polluted",
    ...tensorOps(),
    OP.SETITEM,
    OP.SETITEM,
    OP.STOP,
  );
  const loaded = loadTorch(archive(nested));
  assert.deepEqual(Object.keys(loaded.tensors), ["__proto__.polluted"]);
  assert.equal({}.polluted, undefined);
});

// ---------------------------------------------------------------------------------------------
// A model loaded from each file gives PyTorch's outputs

const MODEL_FILES = FILES.filter((name) => EXPECTED[name].forward !== undefined);
await init();
for (const file of MODEL_FILES) {
  test(`${file}: an RNN loaded from it gives PyTorch's output and hN`, () => {
    const { prefix, options, input, h0, output, hN } = EXPECTED[file].forward;
    const loaded = loadTorch(read(file));
    const rnn = new RNN(options);
    rnn.loadStateDict(loaded.tensors, { prefix, strict: true });
    const [out, h] = rnn.eval().forward(decode(input), decode(h0));
    assert.deepEqual([...out.shape], output.shape);
    assert.deepEqual([...h.shape], hN.shape);
    assert.ok(maxAbsError(out.data, decode(output).data) <= 1e-5, "output within 1e-5 of PyTorch");
    assert.ok(maxAbsError(h.data, decode(hN).data) <= 1e-5, "hN within 1e-5 of PyTorch");
  });
}

test("checkpoint.pt: the nested state dict loads with prefix 'model.rnn.'", () => {
  const rnn = new RNN({ inputSize: 2, hiddenSize: 3 });
  rnn.loadStateDict(loadTorch(read("checkpoint.pt")), { prefix: "model.rnn." });
  const expected = EXPECTED["checkpoint.pt"].tensors["model.rnn.weight_hh_l0"];
  assertBitExact(rnn.stateDict().weight_hh_l0, expected, "weight_hh_l0");
});
