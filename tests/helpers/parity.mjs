// Shared pieces of the PyTorch parity suites: fixture tensors as wasm-rnn Tensors, the tolerance
// check of tests/helpers/fixtures.mjs with a per-build record of how much of it was used, and
// bit-exact state-dict comparison for the seeded-init fixtures.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tensor } from "wasm-rnn";
import { maxAbsError, toleranceFor, toleranceFromError } from "./fixtures.mjs";

/** A wasm-rnn Tensor over a decoded fixture tensor ({shape, data}). */
export const tensorOf = (t) => new Tensor(t.data, t.shape);

/** A fixture's decoded stateDict as { name: Tensor }, keys in PyTorch's order. */
export const stateDictOf = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, tensorOf(v)]));

/**
 * Per (suite, module, build): number of cases, the worst error/tolerance ratio, and the worst ratio
 * of our error to PyTorch float32's own error (both measured against the float64 reference).
 */
export class ParityTable {
  constructor(title) {
    this.title = title;
    this.rows = new Map();
  }

  /**
   * Asserts one result within toleranceFor(f32, f64) of the float64 reference, or within
   * toleranceFromError(torch32Error, f64) when the case records PyTorch float32's error over several
   * rounding orders (then the ratio column is against that error); shapes must be PyTorch's.
   */
  check(backend, module, where, ours, f32, f64, torch32Error) {
    assert.deepEqual([...ours.shape], f64.shape, `${where}: shape`);
    assert.deepEqual(f32.shape, f64.shape, `${where}: fixture shapes`);
    const error = maxAbsError(ours.data, f64.data);
    const singleRun = maxAbsError(f32.data, f64.data);
    const robust = torch32Error !== undefined;
    const torchError = robust ? torch32Error : singleRun;
    const tol = robust ? toleranceFromError(torch32Error, f64.data) : toleranceFor(f32.data, f64.data);
    assert.ok(
      error <= tol,
      `${where}: max |ours - float64| = ${error} > tolerance ${tol} (PyTorch float32 error ${singleRun}` +
        (robust ? `, over permuted runs ${torch32Error})` : ")"),
    );
    const key = `${module}\t${backend}`;
    const row = this.rows.get(key) ?? {
      module,
      backend,
      cases: new Set(),
      used: 0,
      usedAt: "-",
      ratio: 0,
      ratioAt: "-",
    };
    row.cases.add(where.split(" ")[0]);
    if (error / tol > row.used) Object.assign(row, { used: error / tol, usedAt: where });
    if (torchError > 0 && error / torchError > row.ratio)
      Object.assign(row, { ratio: error / torchError, ratioAt: where });
    this.rows.set(key, row);
  }

  /** The table as Markdown-ish text, one line per (module, build). */
  toString() {
    const lines = [`${this.title}: module | build | cases | worst error/tolerance | worst ours/PyTorch-f32 error`];
    for (const r of this.rows.values()) {
      lines.push(
        `  ${r.module.padEnd(9)} | ${r.backend.padEnd(7)} | ${String(r.cases.size).padStart(4)} | ` +
          `${r.used.toFixed(3)} (${r.usedAt}) | ${r.ratio.toFixed(2)} (${r.ratioAt})`,
      );
    }
    return lines.join("\n");
  }
}

/** Asserts a module's stateDict() has PyTorch's keys in PyTorch's order and the exact float32 bits. */
export function assertStateDictBits(actual, expected, label) {
  assert.deepEqual(Object.keys(actual), Object.keys(expected), `${label}: keys in PyTorch's order`);
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    assert.deepEqual([...got.shape], want.shape, `${label}: ${name} shape`);
    const a = new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length);
    const b = new Uint32Array(want.data.buffer, want.data.byteOffset, want.data.length);
    assert.equal(a.length, b.length, `${label}: ${name} length`);
    for (let i = 0; i < b.length; i++) {
      if (a[i] !== b[i]) {
        assert.fail(
          `${label}: ${name}[${i}] = ${got.data[i]} (0x${a[i].toString(16)}), PyTorch has ` +
            `${want.data[i]} (0x${b[i].toString(16)}): not bit-identical`,
        );
      }
    }
  }
}

/**
 * The packed-data rows of a padded (T, B, F) or (B, T, F) result: for each step t, the rows of the
 * first batchSizes[t] sequences in sorted order (PyTorch's PackedSequence.data layout).
 */
export function packedRows(padded, batchSizes, sortedIndices, batchFirst) {
  const [d0, d1, F] = padded.shape;
  const B = batchFirst ? d0 : d1;
  const T = batchFirst ? d1 : d0;
  const rows = batchSizes.reduce((a, b) => a + b, 0);
  const data = new padded.data.constructor(rows * F);
  let at = 0;
  for (let t = 0; t < batchSizes.length; t++) {
    for (let j = 0; j < batchSizes[t]; j++) {
      const b = sortedIndices === null ? j : sortedIndices[j];
      const from = (batchFirst ? b * T + t : t * B + b) * F;
      data.set(padded.data.subarray(from, from + F), at);
      at += F;
    }
  }
  return { shape: [rows, F], data };
}

/** A bitwise snapshot of a module for "a rejected call changes nothing": its stateDict and one forward. */
export function snapshotOf(module, forward) {
  const flat = (v) => (v instanceof Tensor ? [[...v.shape], Array.from(v.data)] : Array.isArray(v) ? v.map(flat) : v);
  const sd = module.stateDict();
  return {
    keys: Object.keys(sd),
    values: Object.values(sd).map(flat),
    forward: flat(forward()),
  };
}

/**
 * Registers one test per gated-init.json case whose module is in `classes` ({ name: class }):
 * `new Class({ ...config, seed })` must give PyTorch's stateDict bit for bit, and parameterSpecs()
 * must list the same names and shapes in the same order; once per config, toString() must be
 * PyTorch's repr.
 */
export function testSeededInit(cases, classes) {
  for (const c of cases.filter((x) => Object.hasOwn(classes, x.module))) {
    const options = Object.entries(c.config)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    test(`seed ${c.seed} ${c.module}(${options}): stateDict() is bit-identical to torch.manual_seed(${c.seed}); nn.${c.module}(...)`, () => {
      const module = new classes[c.module]({ ...c.config, seed: c.seed });
      try {
        assertStateDictBits(module.stateDict(), c.stateDict, `seed ${c.seed}`);
        const specs = module.parameterSpecs();
        assert.deepEqual(
          specs.map((s) => s.name),
          Object.keys(c.stateDict),
          "parameterSpecs() names in PyTorch's order",
        );
        assert.deepEqual(
          specs.map((s) => [...s.shape]),
          Object.values(c.stateDict).map((t) => t.shape),
          "parameterSpecs() shapes",
        );
      } finally {
        module.dispose();
      }
    });
    if (c.seed !== 0) continue;
    test(`${c.module}(${options}).toString() is PyTorch's repr: ${c.repr}`, () => {
      const module = new classes[c.module]({ ...c.config, seed: 0 });
      try {
        assert.equal(String(module), c.repr);
      } finally {
        module.dispose();
      }
    });
  }
}
