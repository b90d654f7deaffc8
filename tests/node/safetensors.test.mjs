// loadSafetensors / saveSafetensors: bit-exact against PyTorch (tests/fixtures/weights, written by
// generate.py), round trips, zero-copy aliasing, hostile headers and prototype safety.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadSafetensors, saveSafetensors, Tensor, RNN, init } from "wasm-rnn";
import { maxAbsError } from "../helpers/fixtures.mjs";
import { EXPECTED, assertBitExact, bytesOf, decode, read } from "../helpers/weights.mjs";

const FILES = Object.keys(EXPECTED).filter((name) => name.endsWith(".safetensors"));

/** A safetensors file from a header object and a data section, exactly as given. */
function craft(header, data = new Uint8Array(0), { pad = true } = {}) {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  if (pad) json += " ".repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// PyTorch's files

for (const file of FILES) {
  test(`${file}: every tensor equals PyTorch's bit for bit`, () => {
    const { tensors } = loadSafetensors(read(file));
    const expected = EXPECTED[file].tensors;
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected).sort());
    for (const [key, want] of Object.entries(expected)) assertBitExact(tensors[key], want, `${file} ${key}`);
  });
}

test("metadata comes back as a prototype-less record of strings", () => {
  const { metadata } = loadSafetensors(read("model.safetensors"));
  assert.equal(Object.getPrototypeOf(metadata), null);
  assert.deepEqual({ ...metadata }, { format: "pt", source: "tests/fixtures/weights/generate.py" });
  assert.deepEqual({ ...loadSafetensors(read("bi2.safetensors")).metadata }, {});
});

test("an ArrayBuffer is accepted as well as a Uint8Array", () => {
  const bytes = read("model.safetensors");
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const { tensors } = loadSafetensors(copy);
  assertBitExact(tensors["rnn.weight_ih_l0"], EXPECTED["model.safetensors"].tensors["rnn.weight_ih_l0"], "weight");
});

test("aligned F32 tensors are views on the input; unaligned ones are copies", () => {
  const bytes = read("model.safetensors");
  const aligned = new Uint8Array(new ArrayBuffer(bytes.length + 8), 0, bytes.length);
  aligned.set(bytes);
  const shifted = new Uint8Array(new ArrayBuffer(bytes.length + 8), 1, bytes.length);
  shifted.set(bytes);
  // The header of this file is a multiple of 8 bytes, so every F32 tensor starts 4-aligned.
  for (const tensor of Object.values(loadSafetensors(aligned).tensors))
    assert.equal(tensor.data.buffer, aligned.buffer);
  for (const tensor of Object.values(loadSafetensors(shifted).tensors))
    assert.notEqual(tensor.data.buffer, shifted.buffer);
  assert.deepEqual(loadSafetensors(shifted).tensors["fc.bias"].data, loadSafetensors(aligned).tensors["fc.bias"].data);
});

test("converted dtypes own their data", () => {
  const bytes = read("model.f16.safetensors");
  for (const tensor of Object.values(loadSafetensors(bytes).tensors)) assert.notEqual(tensor.data.buffer, bytes.buffer);
});

// ---------------------------------------------------------------------------------------------
// Saving

test("save → load round-trips shapes, bits (NaN payloads included) and metadata", () => {
  const nanBits = new Float32Array(new Uint32Array([0x7fa00001, 0xffc00000, 0x7f800000, 0x00000001]).buffer);
  const tensors = {
    b: Tensor.from([
      [1, 2, 3],
      [4, 5, 6],
    ]),
    a: new Tensor(nanBits, [4]),
    scalar: new Tensor(new Float32Array([2.5]), []),
    empty: Tensor.zeros([0, 3]),
  };
  const bytes = saveSafetensors(tensors, { format: "pt", 名前: "値" });
  const loaded = loadSafetensors(bytes);
  assert.deepEqual(Object.keys(loaded.tensors).sort(), ["a", "b", "empty", "scalar"]);
  for (const [name, tensor] of Object.entries(tensors)) {
    assert.deepEqual([...loaded.tensors[name].shape], [...tensor.shape], name);
    assert.deepEqual(bytesOf(loaded.tensors[name].data), bytesOf(tensor.data), name);
  }
  assert.deepEqual({ ...loaded.metadata }, { format: "pt", 名前: "値" });
});

test("save lays files out like the Rust implementation: padded header, keys in UTF-8 byte order", () => {
  const t = (v) => new Tensor(new Float32Array([v]), [1]);
  // "\uffff" sorts before "😀" in UTF-8 (and code points) but after it in UTF-16 code units.
  const bytes = saveSafetensors({ "😀": t(3), "\uffff": t(2), b: t(1), a: t(0) });
  const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(length % 8, 0);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + length));
  assert.match(header, / *$/);
  const parsed = JSON.parse(header);
  assert.deepEqual(Object.keys(parsed), ["a", "b", "\uffff", "😀"]);
  assert.deepEqual(parsed.a, { dtype: "F32", shape: [1], data_offsets: [0, 4] });
  assert.deepEqual(parsed["😀"].data_offsets, [12, 16]);
  assert.equal(bytes.length, 8 + length + 16);
});

test("saving PyTorch's model again gives the same bytes as the Python writer (no metadata)", () => {
  const original = read("bi2.safetensors");
  const again = saveSafetensors(loadSafetensors(original).tensors);
  assert.deepEqual(Buffer.from(again), Buffer.from(original));
});

test("save validates its arguments", () => {
  const t = Tensor.from([1]);
  assert.throws(() => saveSafetensors(null), { name: "TypeError", message: /object of tensors/ });
  assert.throws(() => saveSafetensors(t), { name: "TypeError", message: /object of tensors/ });
  assert.throws(() => saveSafetensors({ w: [1, 2] }), {
    name: "TypeError",
    message: /'w' must be a Tensor, got an array/,
  });
  assert.throws(() => saveSafetensors({ __metadata__: t }), { name: "TypeError", message: /reserved/ });
  assert.throws(() => saveSafetensors({ w: t }, { n: 1 }), {
    name: "TypeError",
    message: /metadata value for 'n' must be a string/,
  });
  assert.throws(() => saveSafetensors({ w: t }, "x"), { name: "TypeError", message: /metadata must be an object/ });
});

// ---------------------------------------------------------------------------------------------
// Hostile files

const F32x4 = new Uint8Array(16);
const w = (info) => ({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16], ...info } });
const HOSTILE = [
  ["empty file", new Uint8Array(0), /file is 0 bytes, too short for the 8-byte header length/],
  ["7 bytes", new Uint8Array(7), /file is 7 bytes/],
  [
    "header length past the end",
    (() => {
      const b = craft(w(), F32x4);
      b[0] += 100;
      return b;
    })(),
    /header length \d+ runs past the end of the file \(\d+ bytes follow the length field\)/,
  ],
  [
    "header length 2^64 - 1",
    (() => {
      const b = craft(w(), F32x4);
      b.fill(0xff, 0, 8);
      return b;
    })(),
    /header length 18446744073709552000 is above the limit of 100000000 bytes/,
  ],
  [
    "header length 100 MB + 1",
    (() => {
      const b = craft(w(), F32x4);
      new DataView(b.buffer).setUint32(0, 100_000_001, true);
      return b;
    })(),
    /above the limit of 100000000 bytes/,
  ],
  ["header not an object", craft("[1, 2]"), /must be a JSON object starting with '\{'/],
  ["leading space", craft(" {}"), /must be a JSON object starting with '\{'/],
  [
    "invalid JSON",
    craft('{"w": {"dtype": "F32",}}'),
    /invalid JSON header at character \d+: expected a string, got '\}/,
  ],
  [
    "unterminated JSON",
    craft('{"w": ', new Uint8Array(0), { pad: false }),
    /invalid JSON header at character 6: expected a JSON value, got the end/,
  ],
  ["trailing garbage", craft("{} x"), /expected the end of the header \(only spaces may pad it\)/],
  ["padding with NUL", craft("{}\0\0\0\0\0\0", new Uint8Array(0), { pad: false }), /expected the end of the header/],
  [
    "invalid UTF-8",
    (() => {
      const b = craft('{"w\u00e9":1}');
      b[12] = 0xff;
      return b;
    })(),
    /header is not valid UTF-8/,
  ],
  [
    "duplicate key",
    craft(
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      new Uint8Array(8),
    ),
    /expected a new key, not a second 'w'/,
  ],
  ["deep nesting", craft(`{"w":${"[".repeat(1000)}${"]".repeat(1000)}}`), /at most 32 levels of nesting/],
  [
    "unknown dtype",
    craft(w({ dtype: "F128" }), F32x4),
    /tensor 'w' has dtype 'F128'; supported dtypes are F32, F16, BF16 and F64/,
  ],
  ["integer dtype", craft(w({ dtype: "I64", shape: [2] }), F32x4), /tensor 'w' has dtype 'I64'/],
  ["missing dtype", craft({ w: { shape: [4], data_offsets: [0, 16] } }, F32x4), /has dtype undefined/],
  [
    "tensor info not an object",
    craft({ w: 5 }),
    /tensor 'w' must be described by \{dtype, shape, data_offsets\}, got 5/,
  ],
  [
    "negative shape",
    craft(w({ shape: [-2, -2] }), F32x4),
    /has shape \[-2,-2\]; expected an array of non-negative integers/,
  ],
  ["fractional shape", craft(w({ shape: [2.5, 2] }), F32x4), /has shape \[2.5,2\]/],
  ["string shape", craft(w({ shape: "2x2" }), F32x4), /has shape "2x2"/],
  [
    "huge shape",
    craft(w({ shape: [2 ** 40, 2 ** 40] }), F32x4),
    /shape \[1099511627776, 1099511627776\] has too many elements/,
  ],
  [
    "shape × dtype ≠ bytes",
    craft(w({ data_offsets: [0, 12] }), new Uint8Array(12)),
    /tensor 'w' has data_offsets \[0, 12\] \(12 bytes\) but shape \[2, 2\] of F32 needs 16 bytes/,
  ],
  ["F16 size mismatch", craft(w({ dtype: "F16" }), F32x4), /shape \[2, 2\] of F16 needs 8 bytes/],
  [
    "reversed offsets",
    craft(w({ data_offsets: [16, 0] }), F32x4),
    /data_offsets \[16,0\]; expected \[begin, end\] with 0 <= begin <= end/,
  ],
  ["negative offsets", craft(w({ data_offsets: [-16, 0] }), F32x4), /data_offsets \[-16,0\]/],
  ["fractional offsets", craft(w({ data_offsets: [0.5, 16.5] }), F32x4), /data_offsets \[0.5,16.5\]/],
  ["three offsets", craft(w({ data_offsets: [0, 8, 16] }), F32x4), /data_offsets \[0,8,16\]/],
  [
    "offsets past the data",
    craft(w({ data_offsets: [16, 32] }), F32x4),
    /tensor 'w' starts at byte 16 and leaves a gap after the start of the data, which ends at byte 0/,
  ],
  [
    "overlapping tensors",
    craft(
      {
        a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
        b: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
      },
      F32x4,
    ),
    /tensor 'b' starts at byte 8 and overlaps tensor 'a', which ends at byte 16/,
  ],
  [
    "gap between tensors",
    craft(
      { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } },
      new Uint8Array(12),
    ),
    /tensor 'b' starts at byte 8 and leaves a gap after tensor 'a', which ends at byte 4/,
  ],
  [
    "truncated data",
    craft(w(), new Uint8Array(15)),
    /the tensors cover 16 bytes of data but the file holds 15: the file is truncated/,
  ],
  [
    "trailing bytes",
    craft(w(), new Uint8Array(20)),
    /the tensors cover 16 bytes of data but the file holds 20: the file has trailing bytes/,
  ],
  [
    "metadata not strings",
    craft({ __metadata__: { epoch: 3 } }),
    /__metadata__ value for 'epoch' must be a string, got 3/,
  ],
  ["metadata not an object", craft({ __metadata__: "x" }), /__metadata__ must be an object of strings, got 'x'/],
];

for (const [name, bytes, message] of HOSTILE) {
  test(`hostile safetensors: ${name}`, () => {
    assert.throws(
      () => loadSafetensors(bytes),
      (error) => {
        assert.ok(error instanceof Error, `an Error, got ${error}`);
        assert.match(error.message, /^safetensors: /);
        assert.match(error.message, message);
        return true;
      },
    );
  });
}

test("non-bytes arguments are a TypeError", () => {
  for (const value of [
    undefined,
    null,
    "file.safetensors",
    [1, 2],
    new Float32Array(4),
    new DataView(new ArrayBuffer(8)),
  ]) {
    assert.throws(() => loadSafetensors(value), {
      name: "TypeError",
      message: /loadSafetensors expects the file as a Uint8Array or an ArrayBuffer/,
    });
  }
});

test("keys like __proto__ are plain own keys and never touch Object.prototype", () => {
  const { tensors } = loadSafetensors(read("proto.safetensors"));
  assert.equal(Object.getPrototypeOf(tensors), null);
  assert.deepEqual(Object.keys(tensors).sort(), ["__proto__", "constructor", "toString"]);
  assert.ok(Object.getOwnPropertyDescriptor(tensors, "__proto__").value instanceof Tensor);
  assertBitExact(tensors.__proto__, EXPECTED["proto.safetensors"].tensors.__proto__, "__proto__");
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  assert.equal({}.constructor, Object);
  assert.equal(typeof {}.toString, "function");

  // A hand-made header trying the same through __metadata__ and a nested object.
  const bytes = craft(
    '{"__metadata__":{"__proto__":"polluted"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"__proto__":{"polluted":1}}}',
    new Uint8Array(4),
  );
  const loaded = loadSafetensors(bytes);
  assert.equal(Object.getOwnPropertyDescriptor(loaded.metadata, "__proto__").value, "polluted");
  assert.equal({}.polluted, undefined);
  assert.equal(Object.prototype.polluted, undefined);
  // A round trip keeps the key.
  const again = loadSafetensors(saveSafetensors(loaded.tensors, loaded.metadata));
  assert.deepEqual(Object.keys(again.tensors), ["__proto__"]);
});

// ---------------------------------------------------------------------------------------------
// A model loaded from each file gives PyTorch's outputs

const MODEL_FILES = FILES.filter((name) => EXPECTED[name].forward !== undefined);
await init();
for (const file of MODEL_FILES) {
  test(`${file}: an RNN loaded from it gives PyTorch's output and hN`, () => {
    const { prefix, options, input, h0, output, hN } = EXPECTED[file].forward;
    const loaded = loadSafetensors(read(file));
    const rnn = new RNN(options);
    rnn.loadStateDict(loaded, { prefix, strict: true });
    const [out, h] = rnn.eval().forward(decode(input), decode(h0));
    assert.deepEqual([...out.shape], output.shape);
    assert.deepEqual([...h.shape], hN.shape);
    assert.ok(maxAbsError(out.data, decode(output).data) <= 1e-5, `output within 1e-5 of PyTorch`);
    assert.ok(maxAbsError(h.data, decode(hN).data) <= 1e-5, `hN within 1e-5 of PyTorch`);
  });
}
