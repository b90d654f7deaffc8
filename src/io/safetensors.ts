// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON describing every tensor, then
// the tensor bytes. Loading trusts nothing in the file: every length, offset and
// shape is checked against the bytes actually there before anything is read.

import { readTensor, Tensor } from "../core/tensor.js";
import type { TensorSnapshot } from "../core/snapshot.js";
import { describe, formatShape } from "../core/describe.js";

/** Floating-point element types that load into float32 tensors, by their safetensors names. */
export type FloatDtype = "F32" | "F16" | "BF16" | "F64";

/** What `loadSafetensors` returns. Both records have no prototype, so any key (even `__proto__`) is a plain own key. */
export interface SafetensorsFile {
  /** Tensors by name. */
  tensors: Record<string, Tensor>;
  /** The header's `__metadata__` (string → string), empty when absent. */
  metadata: Record<string, string>;
}

/** @internal Bytes per element of each float dtype. */
export const BYTES_PER_ELEMENT: Readonly<Record<FloatDtype, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

// The Rust implementation refuses headers above 100 MB; a larger one is an attack, not a model.
const MAX_HEADER_BYTES = 100_000_000;
// Real headers nest three levels deep; the limit keeps hostile nesting off the call stack.
const MAX_JSON_DEPTH = 32;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reads a `.safetensors` file.
 *
 * F32, F16, BF16 and F64 tensors become float32 `Tensor`s: F16 and BF16 widen exactly (subnormals,
 * infinities and NaN payloads included; a float16 NaN comes out quiet, as PyTorch's `.float()`
 * gives it), F64 rounds to nearest-even like `Math.fround` (NaN keeps its sign only, as in PyTorch).
 *
 * Zero-copy: an F32 tensor whose data starts at a multiple of 4 bytes in the underlying buffer is a
 * `Float32Array` view on the input, so it aliases `bytes` — writing to one changes the other; call
 * `tensor.clone()` for an independent copy. Every other tensor owns a fresh buffer.
 *
 * @param bytes the whole file.
 * @throws TypeError if `bytes` is not a Uint8Array or ArrayBuffer.
 * @throws Error naming what was expected and what the file holds, for anything malformed:
 *   truncation, a header length past the end or above 100 MB, invalid UTF-8 or JSON, duplicate keys,
 *   unknown dtypes, bad shapes, offsets that overlap, leave gaps or run past the data, or a byte
 *   length that does not match shape × dtype.
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer): SafetensorsFile {
  const file = asBytes(bytes, "loadSafetensors");
  const { header, dataStart } = readHeader(file);
  const metadata = readMetadata(header.__metadata__);
  const entries = Object.keys(header)
    .filter((name) => name !== "__metadata__")
    .map((name) => readTensorInfo(name, header[name]));
  checkCoverage(entries, file.length - dataStart);

  const tensors = emptyRecord<Tensor>();
  for (const entry of entries) {
    const data = file.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors[entry.name] = new Tensor(decodeFloats(data, entry.dtype), entry.shape);
  }
  return { tensors, metadata };
}

/**
 * Writes tensors as a `.safetensors` file (F32), laid out as the Rust implementation does: keys
 * sorted by name (byte order of their UTF-8), `__metadata__` first in the header (its keys sorted),
 * the header padded with spaces to a multiple of 8 bytes. Without metadata the bytes are those
 * `safetensors.torch.save_file` writes for the same float32 tensors, and it reads the result back.
 *
 * @param tensors tensors by name; own enumerable keys are used.
 * @param metadata optional string → string pairs stored as `__metadata__`.
 * @throws TypeError for a value that is not a Tensor, a metadata value that is not a string, or a tensor
 *   named `__metadata__`.
 * @throws RangeError for a tensor whose shape no longer describes its data (a file its loader would reject).
 */
export function saveSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const snapshots = readTensorsToSave(tensors);
  const names = [...snapshots.keys()];
  const headerFields: string[] = [];
  if (metadata !== undefined) headerFields.push(`"__metadata__":${metadataJson(metadata)}`);
  let offset = 0;
  for (const name of names) {
    const { shape, data } = snapshots.get(name)!;
    const info = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    headerFields.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(`{${headerFields.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const name of names) {
    const { data } = snapshots.get(name)!;
    writeFloat32LE(out, at, data);
    at += data.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------- loading

interface TensorInfo {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** @internal A Uint8Array over the caller's bytes, or a TypeError naming `caller`. */
export function asBytes(bytes: unknown, caller: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new TypeError(`${caller} expects the file as a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
}

function readHeader(file: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (file.length < 8) {
    throw new Error(`safetensors: the file is ${file.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(file.buffer, file.byteOffset, 8);
  const headerLength = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new Error(`safetensors: header length ${headerLength} is above the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (headerLength > file.length - 8) {
    throw new Error(
      `safetensors: header length ${headerLength} runs past the end of the file ` +
        `(${file.length - 8} bytes follow the length field)`,
    );
  }
  const text = decodeUtf8(file.subarray(8, 8 + headerLength));
  if (!text.startsWith("{")) {
    throw new Error(
      `safetensors: the header must be a JSON object starting with '{', got ${describe(text.slice(0, 20))}`,
    );
  }
  const header = parseJson(text);
  if (!isRecord(header)) throw new Error(`safetensors: the header must be a JSON object, got ${describe(header)}`);
  return { header, dataStart: 8 + headerLength };
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("safetensors: the header is not valid UTF-8");
  }
}

function readMetadata(value: unknown): Record<string, string> {
  const metadata = emptyRecord<string>();
  if (value === undefined) return metadata;
  if (!isRecord(value))
    throw new Error(`safetensors: __metadata__ must be an object of strings, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    const entry = value[key];
    if (typeof entry !== "string") {
      throw new Error(`safetensors: __metadata__ value for '${key}' must be a string, got ${describe(entry)}`);
    }
    metadata[key] = entry;
  }
  return metadata;
}

function readTensorInfo(name: string, value: unknown): TensorInfo {
  const where = `safetensors: tensor '${name}'`;
  if (!isRecord(value)) {
    throw new Error(`${where} must be described by {dtype, shape, data_offsets}, got ${describe(value)}`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string" || !Object.hasOwn(BYTES_PER_ELEMENT, dtype)) {
    throw new Error(`${where} has dtype ${describe(dtype)}; supported dtypes are F32, F16, BF16 and F64`);
  }
  if (!Array.isArray(shape) || !shape.every(isSize)) {
    throw new Error(`${where} has shape ${preview(shape)}; expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize) || offsets[0] > offsets[1]) {
    throw new Error(`${where} has data_offsets ${preview(offsets)}; expected [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as number[];
  const needed = elementCount(shape) * BYTES_PER_ELEMENT[dtype as FloatDtype];
  if (needed !== end - begin) {
    throw new Error(
      `${where} has data_offsets [${begin}, ${end}] (${end - begin} bytes) ` +
        `but shape ${formatShape(shape)} of ${dtype} needs ${needed} bytes`,
    );
  }
  return { name, dtype: dtype as FloatDtype, shape, begin, end };
}

/** The spec asks the tensors to tile the data section exactly: no overlap, no gap, nothing after. */
function checkCoverage(entries: TensorInfo[], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = "the start of the data";
  for (const entry of sorted) {
    if (entry.begin !== covered) {
      const relation = entry.begin < covered ? "overlaps" : "leaves a gap after";
      throw new Error(
        `safetensors: tensor '${entry.name}' starts at byte ${entry.begin} and ${relation} ${previous}, ` +
          `which ends at byte ${covered}`,
      );
    }
    covered = entry.end;
    previous = `tensor '${entry.name}'`;
  }
  if (covered !== dataLength) {
    const problem = covered > dataLength ? "the file is truncated" : "the file has trailing bytes";
    throw new Error(
      `safetensors: the tensors cover ${covered} bytes of data but the file holds ${dataLength}: ${problem}`,
    );
  }
}

/** A value as JSON, cut short: hostile headers can hold arrays of millions of entries. */
function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 60)}…` : json;
}

/** A non-negative safe integer, as sizes and offsets must be. */
function isSize(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Number of elements of a shape, refusing products that are not exact in a double. */
function elementCount(shape: number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  if (!Number.isSafeInteger(count)) throw new Error(`safetensors: shape ${formatShape(shape)} has too many elements`);
  return count;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * @internal A record without a prototype. Assigning any key to it, `__proto__` included, creates a
 * plain own property: there is no inherited `__proto__` setter to follow, nothing to pollute.
 */
export function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

// ---------------------------------------------------------------------------------- dtype decoding

/**
 * @internal Little-endian `dtype` elements → float32, bit-exact where the value fits.
 * F32 bytes at a 4-aligned address come back as a view on the same memory (little-endian hosts).
 */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  const count = bytes.length / BYTES_PER_ELEMENT[dtype];
  if (dtype === "F32" && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  }
  const out = new Float32Array(count);
  // Bits go through a Uint32Array: a NaN passing through a JS number may lose its payload.
  const bits = new Uint32Array(out.buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32":
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
      else for (let i = 0; i < count; i++) bits[i] = view.getUint32(4 * i, true);
      break;
    case "F16":
      for (let i = 0; i < count; i++) bits[i] = halfToFloatBits(view.getUint16(2 * i, true));
      break;
    case "BF16":
      // bfloat16 is the top half of a float32.
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    case "F64":
      for (let i = 0; i < count; i++) {
        const value = view.getFloat64(8 * i, true);
        if (!Number.isNaN(value))
          out[i] = value; // rounds to nearest-even
        else bits[i] = (view.getUint32(8 * i + 4, true) & 0x8000_0000) | 0x7fc0_0000;
      }
      break;
  }
  return out;
}

/** IEEE binary16 bits → binary32 bits; every half value is exactly representable. */
function halfToFloatBits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) {
    // Infinity keeps a zero mantissa; NaN gets the quiet bit, as x86's F16C conversion PyTorch uses does.
    return sign | 0x7f80_0000 | (mantissa === 0 ? 0 : 0x40_0000 | (mantissa << 13));
  }
  if (exponent !== 0) return sign | ((exponent + 112) << 23) | (mantissa << 13);
  if (mantissa === 0) return sign;
  // A half subnormal is a float32 normal: shift the leading 1 into the implicit bit.
  let shifted = mantissa;
  let floatExponent = 113;
  while ((shifted & 0x400) === 0) {
    shifted <<= 1;
    floatExponent--;
  }
  return sign | (floatExponent << 23) | ((shifted & 0x3ff) << 13);
}

// ---------------------------------------------------------------------------------------- saving

/** Each tensor read once into a validated snapshot (its shape checked against its data), in file order. */
function readTensorsToSave(tensors: Record<string, Tensor>): Map<string, TensorSnapshot> {
  if (tensors === null || typeof tensors !== "object" || tensors instanceof Tensor) {
    throw new TypeError(`saveSafetensors expects an object of tensors keyed by name, got ${describe(tensors)}`);
  }
  const snapshots = new Map<string, TensorSnapshot>();
  for (const name of Object.keys(tensors).sort(compareUtf8)) {
    if (name === "__metadata__")
      throw new TypeError("saveSafetensors: '__metadata__' is reserved and cannot name a tensor");
    snapshots.set(
      name,
      readTensor(tensors[name], `saveSafetensors: '${name}'`, `saveSafetensors: '${name}' must be a Tensor`),
    );
  }
  return snapshots;
}

function metadataJson(metadata: Record<string, string>): string {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new TypeError(`saveSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  const fields = Object.keys(metadata)
    .sort(compareUtf8)
    .map((key) => {
      const value = metadata[key];
      if (typeof value !== "string") {
        throw new TypeError(`saveSafetensors: metadata value for '${key}' must be a string, got ${describe(value)}`);
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
  return `{${fields.join(",")}}`;
}

/** Orders strings as Rust orders them: by code point, which is the byte order of their UTF-8. */
function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function writeFloat32LE(out: Uint8Array, at: number, data: Float32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    return;
  }
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const view = new DataView(out.buffer, out.byteOffset + at, data.byteLength);
  for (let i = 0; i < bits.length; i++) view.setUint32(4 * i, bits[i], true);
}

// ------------------------------------------------------------------------------------------- JSON

/**
 * A strict JSON parser for the header. `JSON.parse` would quietly keep the last of two equal keys;
 * a header that names a tensor twice is ambiguous, so duplicates are an error here. Objects have no
 * prototype, so keys such as `__proto__` stay plain data.
 */
function parseJson(text: string): unknown {
  const parser = new JsonParser(text);
  const value = parser.value(0);
  parser.end();
  return value;
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const JSON_LITERALS: readonly [string, unknown][] = [
  ["true", true],
  ["false", false],
  ["null", null],
];

// A class rather than closures: V8 keeps type feedback per function object, so methods shared by
// every parse get optimized, where closures made afresh for each file would not.
class JsonParser {
  private at = 0;

  constructor(private readonly text: string) {}

  value(depth: number): unknown {
    if (depth > MAX_JSON_DEPTH) this.fail(`at most ${MAX_JSON_DEPTH} levels of nesting`);
    this.skipSpace();
    const char = this.text[this.at];
    if (char === "{") return this.object(depth);
    if (char === "[") return this.array(depth);
    if (char === '"') return this.string();
    if (char === "t" || char === "f" || char === "n") return this.literal();
    JSON_NUMBER.lastIndex = this.at;
    const match = JSON_NUMBER.exec(this.text);
    if (match === null) return this.fail("a JSON value");
    this.at += match[0].length;
    return Number(match[0]);
  }

  private literal(): unknown {
    for (const [word, value] of JSON_LITERALS) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    return this.fail("a JSON value");
  }

  /** Only spaces (the padding) may follow the value. */
  end(): void {
    this.skipSpace();
    if (this.at !== this.text.length) this.fail("the end of the header (only spaces may pad it)");
  }

  private object(depth: number): Record<string, unknown> {
    const object = emptyRecord<unknown>();
    this.at++;
    if (this.isEmpty("}")) return object;
    for (;;) {
      this.skipSpace();
      const keyAt = this.at;
      const key = this.string();
      if (Object.hasOwn(object, key)) {
        this.at = keyAt;
        this.fail(`a new key, not a second ${describe(key)}`);
      }
      this.skipSpace();
      if (this.text[this.at] !== ":") this.fail("':'");
      this.at++;
      object[key] = this.value(depth + 1);
      if (this.closes("}")) return object;
    }
  }

  private array(depth: number): unknown[] {
    const array: unknown[] = [];
    this.at++;
    if (this.isEmpty("]")) return array;
    for (;;) {
      array.push(this.value(depth + 1));
      if (this.closes("]")) return array;
    }
  }

  /** Right after the opening bracket: true (and consumed) if the closing one follows. */
  private isEmpty(bracket: string): boolean {
    this.skipSpace();
    if (this.text[this.at] !== bracket) return false;
    this.at++;
    return true;
  }

  /** After an element: true at the closing bracket (consumed), false after a comma (consumed). */
  private closes(bracket: string): boolean {
    this.skipSpace();
    const char = this.text[this.at];
    this.at++;
    if (char === bracket) return true;
    if (char !== ",") {
      this.at--;
      this.fail(`',' or '${bracket}'`);
    }
    return false;
  }

  private string(): string {
    const { text } = this;
    const start = this.at;
    if (text[start] !== '"') this.fail("a string");
    let escaped = false;
    let at = start + 1;
    for (; at < text.length && text[at] !== '"'; at++) {
      if (text.charCodeAt(at) < 0x20) {
        this.at = at;
        this.fail("no control characters inside a string");
      }
      if (text[at] === "\\") {
        escaped = true;
        at++;
      }
    }
    this.at = at;
    if (at >= text.length) this.fail("the closing '\"' of a string");
    this.at = at + 1;
    if (!escaped) return text.slice(start + 1, at);
    try {
      return JSON.parse(text.slice(start, at + 1)) as string;
    } catch {
      this.at = start;
      return this.fail("a valid JSON string");
    }
  }

  private skipSpace(): void {
    const { text } = this;
    let at = this.at;
    for (let c = text.charCodeAt(at); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++at));
    this.at = at;
  }

  private fail(expected: string): never {
    const found =
      this.at < this.text.length ? describe(this.text.slice(this.at, this.at + 12)) : "the end of the header";
    throw new Error(`safetensors: invalid JSON header at character ${this.at}: expected ${expected}, got ${found}`);
  }
}
