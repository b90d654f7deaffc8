// Fuzzing loadSafetensors and loadTorch with mutations of PyTorch's own files (fixed seeds, fixed
// counts, a few seconds in all). Every case must either load into well-formed tensors or throw an
// Error with a message — never another kind of throw, a crash, a hang or a polluted prototype.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { unzipSync, zipSync } from "fflate";
import { loadSafetensors, loadTorch, Tensor } from "wasm-rnn";
import { makeRandom } from "../helpers/random.mjs";

const WEIGHTS = new URL("../fixtures/weights/", import.meta.url);
const read = (name) => new Uint8Array(readFileSync(new URL(name, WEIGHTS)));

const CASES_PER_LOADER = 3000;
// A load of these small files takes well under a millisecond; a case this slow is a hang (the
// margin is for busy CI machines).
const SLOW_CASE_MS = 2000;

/** The mutations both loaders get, on raw file bytes. */
function byteMutations(random) {
  const below = (n) => Math.floor(random() * n);
  return {
    flipBytes(bytes) {
      const out = bytes.slice();
      for (let i = 1 + below(8); i > 0; i--) out[below(out.length)] = below(256);
      return out;
    },
    flipBit(bytes) {
      const out = bytes.slice();
      out[below(out.length)] ^= 1 << below(8);
      return out;
    },
    truncate: (bytes) => bytes.slice(0, below(bytes.length)),
    insert(bytes) {
      const at = below(bytes.length + 1);
      const extra = Uint8Array.from({ length: 1 + below(16) }, () => below(256));
      return concat(bytes.subarray(0, at), extra, bytes.subarray(at));
    },
    remove(bytes) {
      const at = below(bytes.length);
      return concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + below(16))));
    },
    interestingInteger(bytes) {
      // Lengths and offsets are where parsers break: write boundary values over a 4-byte field.
      const out = bytes.slice();
      const values = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, out.length, out.length + 1];
      const at = below(Math.max(1, out.length - 3));
      new DataView(out.buffer).setUint32(at, values[below(values.length)], true);
      return out;
    },
  };
}

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** Safetensors-specific: edits of the JSON header that keep the length field right. */
function headerMutations(random) {
  const below = (n) => Math.floor(random() * n);
  const NUMBERS = ["0", "-1", "1.5", "1e30", "9007199254740993", "4294967296", "[]", "null", '"4"', "{}"];
  const DTYPES = ['"F32"', '"F16"', '"BF16"', '"F64"', '"I64"', '"U8"', '"BOOL"', '"f32"', '""', "32"];
  const rewrite = (bytes, edit) => {
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + length));
    const text = new TextEncoder().encode(edit(header));
    const out = new Uint8Array(8 + text.length + bytes.length - 8 - length);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    out.set(bytes.subarray(8 + length), 8 + text.length);
    return out;
  };
  const replaceNth = (text, pattern, replacement) => {
    const matches = [...text.matchAll(pattern)];
    if (matches.length === 0) return text;
    const match = matches[below(matches.length)];
    return text.slice(0, match.index) + replacement + text.slice(match.index + match[0].length);
  };
  return {
    number: (bytes) => rewrite(bytes, (h) => replaceNth(h, /-?\d+/g, NUMBERS[below(NUMBERS.length)])),
    dtype: (bytes) => rewrite(bytes, (h) => replaceNth(h, /"(F32|F16|BF16|F64)"/g, DTYPES[below(DTYPES.length)])),
    duplicateKey: (bytes) =>
      rewrite(bytes, (h) => {
        const keys = [...h.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
        return keys.length < 2 ? h : replaceNth(h, new RegExp(`"${keys[below(keys.length)]}":`, "g"), `"${keys[0]}":`);
      }),
    deleteChar: (bytes) =>
      rewrite(bytes, (h) => {
        const at = below(h.length);
        return h.slice(0, at) + h.slice(at + 1);
      }),
    protoKey: (bytes) => rewrite(bytes, (h) => replaceNth(h, /"[^"]+":\{"dtype"/g, '"__proto__":{"dtype"')),
    headerLength(bytes) {
      const out = bytes.slice();
      new DataView(out.buffer).setBigUint64(
        0,
        BigInt.asUintN(64, BigInt(Math.floor(random() * 2 ** 32)) << BigInt(below(33))),
        true,
      );
      return out;
    },
  };
}

/** torch-specific: mutate data.pkl and re-zip, so that mutations reach the unpickler. */
function pickleMutations(random) {
  const below = (n) => Math.floor(random() * n);
  const bytes = byteMutations(random);
  // Opcodes the unpickler knows, and some it refuses: splicing them in makes well-formed-looking programs.
  const OPCODES = [
    0x28, 0x29, 0x2e, 0x4a, 0x4b, 0x4d, 0x4e, 0x51, 0x52, 0x58, 0x5d, 0x61, 0x62, 0x63, 0x65, 0x68, 0x6a, 0x71, 0x72,
    0x73, 0x74, 0x75, 0x7d, 0x80, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x93, 0x94, 0x95, 0x81, 0x69,
  ];
  const rezip = (file, edit) => {
    const entries = unzipSync(file);
    const name = Object.keys(entries).find((n) => n.endsWith("/data.pkl"));
    entries[name] = edit(entries[name]);
    return zipSync(entries, { level: below(16) === 0 ? 6 : 0 }); // mostly stored, like torch.save
  };
  return {
    pickleBytes: (file) => rezip(file, bytes.flipBytes),
    pickleTruncate: (file) => rezip(file, bytes.truncate),
    pickleInteger: (file) => rezip(file, bytes.interestingInteger),
    pickleOpcode: (file) =>
      rezip(file, (pkl) => {
        const out = pkl.slice();
        out[below(out.length)] = OPCODES[below(OPCODES.length)];
        return out;
      }),
    pickleSplice: (file) =>
      rezip(file, (pkl) => {
        const at = below(pkl.length);
        return concat(
          pkl.subarray(0, at),
          Uint8Array.from({ length: 1 + below(4) }, () => OPCODES[below(OPCODES.length)]),
          pkl.subarray(at),
        );
      }),
    storageTruncate: (file) => {
      const entries = unzipSync(file);
      const names = Object.keys(entries).filter((n) => n.includes("/data/"));
      const name = names[below(names.length)];
      entries[name] = entries[name].subarray(0, below(entries[name].length));
      return zipSync(entries, { level: 0 });
    },
  };
}

/**
 * Runs `count` mutated loads; returns how many loaded and how many threw, by first words of message.
 * Asserts that every throw is an Error with a message and every result holds real tensors.
 */
function fuzz({ load, files, mutations, seed, count }) {
  const random = makeRandom(seed);
  const below = (n) => Math.floor(random() * n);
  const names = Object.keys(mutations);
  const outcome = { loaded: 0, errors: 0, kinds: new Map(), slowest: 0, loadMs: 0 };
  for (let i = 0; i < count; i++) {
    const file = files[below(files.length)];
    const mutation = names[below(names.length)];
    const bytes = mutations[mutation](file.bytes);
    const where = `case ${i} (seed ${seed}, ${file.name}, ${mutation})`;
    const start = performance.now();
    let result;
    try {
      result = load(bytes);
    } catch (error) {
      assert.ok(error instanceof Error, `${where}: threw a non-Error: ${String(error)}`);
      assert.ok(typeof error.message === "string" && error.message.length > 0, `${where}: empty message`);
      outcome.errors++;
      const kind = error.message
        .replace(/['"([].*$/, "")
        .replace(/\d+/g, "N")
        .slice(0, 60)
        .trim();
      outcome.kinds.set(kind, (outcome.kinds.get(kind) ?? 0) + 1);
    }
    const elapsed = performance.now() - start;
    outcome.slowest = Math.max(outcome.slowest, elapsed);
    outcome.loadMs += elapsed;
    assert.ok(elapsed < SLOW_CASE_MS, `${where}: took ${elapsed.toFixed(0)} ms`);
    if (result !== undefined) {
      outcome.loaded++;
      assert.equal(Object.getPrototypeOf(result.tensors), null, `${where}: tensors has a prototype`);
      for (const tensor of Object.values(result.tensors)) {
        assert.ok(tensor instanceof Tensor, `${where}: a value is not a Tensor`);
        assert.equal(
          tensor.data.length,
          tensor.shape.reduce((a, b) => a * b, 1),
          `${where}: data and shape disagree`,
        );
      }
    }
  }
  assert.equal(Object.getPrototypeOf({}), Object.prototype, "Object.prototype is untouched");
  assert.deepEqual(Object.keys(Object.prototype), [], "Object.prototype has no new keys");
  return outcome;
}

function report(t, name, outcome) {
  const kinds = [...outcome.kinds]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, n]) => `${n}× ${k}`);
  t.diagnostic(
    `${name}: ${outcome.loaded} loaded, ${outcome.errors} clear errors; loading took ${outcome.loadMs.toFixed(0)} ms in all, ${outcome.slowest.toFixed(1)} ms at most`,
  );
  for (const line of kinds) t.diagnostic(`  ${line}`);
}

const named = (names) => names.map((name) => ({ name, bytes: read(name) }));

test(`fuzz loadSafetensors: ${CASES_PER_LOADER} mutations of PyTorch's files`, (t) => {
  const outcome = fuzz({
    load: loadSafetensors,
    files: named([
      "model.safetensors",
      "bi2.safetensors",
      "model.f16.safetensors",
      "model.bf16.safetensors",
      "model.f64.safetensors",
      "proto.safetensors",
    ]),
    mutations: { ...byteMutations(makeRandom(11)), ...headerMutations(makeRandom(12)) },
    seed: 1,
    count: CASES_PER_LOADER,
  });
  report(t, "loadSafetensors", outcome);
  // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
  assert.ok(outcome.loaded > 0 && outcome.errors > CASES_PER_LOADER / 2);
});

test(`fuzz loadTorch: ${CASES_PER_LOADER} mutations of PyTorch's files`, (t) => {
  const outcome = fuzz({
    load: loadTorch,
    files: named(["model.pt", "bi2.pt", "views.pt", "checkpoint.pt", "model.f16.pt", "proto.pt"]),
    mutations: { ...byteMutations(makeRandom(21)), ...pickleMutations(makeRandom(22)) },
    seed: 2,
    count: CASES_PER_LOADER,
  });
  report(t, "loadTorch", outcome);
  assert.ok(outcome.loaded > 0 && outcome.errors > CASES_PER_LOADER / 2);
});
