// The PyTorch-written weight files of tests/fixtures/weights (generate.py) and
// their expected values, shared by the loader tests.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { Tensor } from "wasm-rnn";

const WEIGHTS = new URL("../fixtures/weights/", import.meta.url);

/** expected.json's `files`: per file, its tensors ({shape, b64} or {shape, sha256}) and forward case. */
export const EXPECTED = JSON.parse(readFileSync(new URL("expected.json", WEIGHTS), "utf8")).files;

/** The bytes of a fixture file. */
export const read = (name) => new Uint8Array(readFileSync(new URL(name, WEIGHTS)));

/** The little-endian bytes of a float32 array (every CI runner is little-endian). */
export const bytesOf = (data) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** Asserts a loaded tensor has the shape and the exact bits PyTorch's `.float()` gave. */
export function assertBitExact(tensor, expected, where) {
  assert.ok(tensor instanceof Tensor, `${where} is a Tensor`);
  assert.deepEqual([...tensor.shape], expected.shape, `${where} shape`);
  if (expected.sha256 !== undefined) {
    assert.equal(createHash("sha256").update(bytesOf(tensor.data)).digest("hex"), expected.sha256, `${where} bits`);
  } else {
    assert.equal(bytesOf(tensor.data).toString("base64"), expected.b64, `${where} bits`);
  }
}

/** A tensor from expected.json's {shape, b64}. */
export function decode({ shape, b64 }) {
  const bytes = Buffer.from(b64, "base64");
  const data = new Float32Array(bytes.length / 4);
  new Uint8Array(data.buffer).set(bytes);
  return new Tensor(data, shape);
}
