// Issue 15: no input, however large or hostile, writes outside its own memory.
// One test (or a few) per finding, named for the behaviour it pins. Requests
// that could crash, hang or corrupt the shared linear memory run each in its
// own process (tests/node/workers/boundary-case.mjs) under a timeout, so a
// crash fails that test and not the run; each checks two victim models'
// outputs before and after, and that a refusal came within a second without
// growing memory.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  init,
  RNN,
  RNNCell,
  Tensor,
  PackedSequence,
  padPackedSequence,
  packSequence,
  padSequence,
  unpackSequence,
  unpadSequence,
  loadSafetensors,
  saveSafetensors,
  loadTorch,
} from "wasm-rnn";
import * as api from "wasm-rnn";
import { zipSync } from "fflate";

const WORKER = fileURLToPath(new URL("./workers/boundary-case.mjs", import.meta.url));
const RECURRENT = ["RNN", "GRU", "LSTM"].filter((m) => typeof api[m] === "function");

// Messages that mean the library did not check its input itself.
const INTERNAL =
  /Cannot read propert|of undefined|of null|is not a function|is not iterable|unreachable|out of bounds|Invalid typed array length|Array buffer allocation failed|Maximum call stack|detached ArrayBuffer|Invalid array length/;

before(async () => {
  await init();
});

/**
 * Runs one case of the worker in a fresh Node process (heap capped so a runaway allocation
 * dies fast) and returns its report; a crash, a hang or a missing report fails here.
 */
function runCase(name, { timeout = 60_000, heapMB = 1024 } = {}) {
  const child = spawnSync(
    process.execPath,
    ["--experimental-wasm-relaxed-simd", `--max-old-space-size=${heapMB}`, WORKER, name],
    { encoding: "utf8", timeout, maxBuffer: 16 * 2 ** 20 },
  );
  const tail = `\nstatus ${child.status}, signal ${child.signal}\nstderr: ${(child.stderr ?? "").slice(-1500)}`;
  assert.equal(child.error?.code === "ETIMEDOUT" ? "timed out" : null, null, `${name} hung past ${timeout} ms${tail}`);
  const lines = (child.stdout ?? "").trim().split("\n");
  let report;
  try {
    report = JSON.parse(lines.at(-1));
  } catch {
    assert.fail(`${name}: the process died without a report${tail}`);
  }
  assert.equal(child.status, 0, `${name}: exit status${tail}`);
  return report;
}

/** The victims' outputs did not change, bit for bit (JSON of float32 values is exact). */
function assertVictimsUnchanged(r) {
  assert.equal(typeof r.before.victims, "object", `victims before: ${r.before.victims}`);
  assert.deepEqual(r.after.victims, r.before.victims, `${r.case}: another model's output changed`);
}

/** Refused with `kind` (an error class name), a message matching `message`, fast and without growing memory. */
function assertRefused(r, kind, message) {
  assert.ok(r.outcome.threw, `${r.case}: expected a ${kind}, but it ${r.outcome.problem ?? "returned"}`);
  assert.doesNotMatch(r.outcome.message, INTERNAL, `${r.case}: an engine error reached the user`);
  assert.equal(r.outcome.name, kind, `${r.case}: ${r.outcome.name}: ${r.outcome.message}`);
  assert.match(r.outcome.message, message);
  assert.ok(r.ms < 1000, `${r.case}: refused after ${r.ms.toFixed(0)} ms, expected within a second`);
  assert.equal(r.after.memory.wasm, r.before.memory.wasm, `${r.case}: WebAssembly memory grew`);
  assert.equal(r.after.memory.allocated, r.before.memory.allocated, `${r.case}: kernel allocations leaked`);
  assertVictimsUnchanged(r);
}

/**
 * Either the correct answer (the case's check passed) or a clear refusal (TypeError, RangeError, or
 * loadStateDict's "Error(s) in loading state_dict", PyTorch's RuntimeError); victims unchanged.
 */
function assertSafe(r) {
  if (r.outcome.threw) {
    assert.doesNotMatch(r.outcome.message, INTERNAL, `${r.case}: an engine error reached the user`);
    const clear =
      ["TypeError", "RangeError"].includes(r.outcome.name) ||
      (r.outcome.name === "Error" && /^Error\(s\) in loading state_dict/.test(r.outcome.message));
    assert.ok(clear, `${r.case}: ${r.outcome.name}: ${r.outcome.message}`);
    assert.equal(r.after.memory.allocated, r.before.memory.allocated, `${r.case}: kernel allocations leaked`);
  } else {
    assert.equal(r.outcome.problem, null, `${r.case}: wrong answer`);
  }
  assertVictimsUnchanged(r);
}

// ---------------------------------------------------------------------------------------------
// 1. Sizes past 2^32 elements

for (const m of RECURRENT) {
  test(`${m}: an output of 2^32 floats (whose size wraps to 0 in 32 bits) is refused up front with a RangeError`, () => {
    assertRefused(runCase(`output-of-2^32-floats:${m}`), "RangeError", /4 GiB|bytes|memory/);
  });
  test(`${m}: a hidden state of 2^32 floats (batch 2^30) is refused up front with a RangeError`, () => {
    assertRefused(runCase(`batch-of-2^30:${m}`), "RangeError", /4 GiB|bytes|memory/);
  });
}
test("RNN: the issue's reproducer (hiddenSize 16384, 262144 steps: 16 GiB of output) is refused within a second", () => {
  assertRefused(runCase("issue-reproducer-16384"), "RangeError", /4 GiB|bytes|memory/);
});

// ---------------------------------------------------------------------------------------------
// 2. Lying lengths and reads that change

for (const m of RECURRENT) {
  test(`${m}: a Float32Array with a lying own length cannot overwrite another model through forward`, () => {
    assertSafe(runCase(`own-length-forward:${m}`));
  });
  test(`${m}: a data getter that grows between reads cannot overwrite another model through forward`, () => {
    assertSafe(runCase(`getter-data-forward:${m}`));
  });
  test(`${m}: a Proxy whose data changes between reads cannot overwrite another model through forward`, () => {
    assertSafe(runCase(`proxy-data-forward:${m}`));
  });
  test(`${m}: a Float32Array with a lying own length cannot overwrite another model through loadStateDict`, () => {
    assertSafe(runCase(`own-length-loadStateDict:${m}`));
  });
  test(`${m}: a data getter that grows between reads cannot overwrite another model through loadStateDict`, () => {
    assertSafe(runCase(`getter-data-loadStateDict:${m}`));
  });
}
test("RNN: an h0 with a lying own length cannot overwrite another model", () => {
  assertSafe(runCase("own-length-h0"));
});

// ---------------------------------------------------------------------------------------------
// 3. and 4. Models that cannot fit are refused before any work or allocation

for (const m of RECURRENT) {
  test(`${m}: numLayers 1e9 is refused with a RangeError within a second, before building any layer`, () => {
    assertRefused(runCase(`numLayers-1e9:${m}`, { heapMB: 256, timeout: 30_000 }), "RangeError", /4 GiB|bytes|memory/);
  });
  test(`${m}: hiddenSize 25000 (weights fit, weights + scratch do not) is refused within a second without growing memory`, () => {
    assertRefused(runCase(`hiddenSize-25000:${m}`), "RangeError", /4 GiB|bytes|memory/);
  });
}
test("RNN: a bidirectional hiddenSize 16384, which fits in 4 GiB, is built and runs", () => {
  assertSafe(runCase("bidirectional-16384-fits:RNN", { timeout: 120_000 }));
});

// ---------------------------------------------------------------------------------------------
// 5. Cycles

test("Tensor.from of a self-containing array raises a RangeError instead of looping (PyTorch: ValueError)", () => {
  assertRefused(runCase("cyclic-array", { heapMB: 256, timeout: 30_000 }), "RangeError", /dimensions|nest|cycl/);
});
test("Tensor.from of an array that contains itself two levels down raises a RangeError", () => {
  assertRefused(
    runCase("cyclic-array-two-levels", { heapMB: 256, timeout: 30_000 }),
    "RangeError",
    /dimensions|nest|cycl/,
  );
});
test("Tensor.from accepts 128 levels of nesting and refuses 129, as PyTorch", () => {
  const nested = (n) => {
    let v = 1;
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  assert.equal(Tensor.from(nested(128)).ndim, 128);
  assert.throws(
    () => Tensor.from(nested(129)),
    (e) => e.constructor === RangeError && /dimensions/.test(e.message),
  );
});

// ---------------------------------------------------------------------------------------------
// 6. loadTorch: compression, entry count, pickle size and depth

test("loadTorch refuses a zip bomb (256 MiB of zeros deflated to 256 KB) within a second without allocating it", () => {
  const r = runCase("zip-bomb", { timeout: 60_000 });
  assertRefused(r, "RangeError", /compress|deflate/);
  assert.ok(r.after.rss - r.before.rss < 64 * 2 ** 20, `resident memory grew by ${r.after.rss - r.before.rss} bytes`);
});

const enc = (s) => new TextEncoder().encode(s);
/** A torch.save-shaped archive of `pkl` and one 4-float storage; level 0 stores, as torch.save does. */
const torchArchive = (pkl, level = 0) =>
  zipSync(
    {
      "archive/data.pkl": pkl,
      "archive/version": enc("3\n"),
      "archive/data/0": new Uint8Array(16),
    },
    { level },
  );

test("loadTorch refuses a torch.save file whose entries are deflated: torch.save never compresses", () => {
  const pkl = new Uint8Array([0x80, 2, 0x7d, 0x2e]);
  assert.deepEqual(Object.keys(loadTorch(torchArchive(pkl, 0)).tensors), []);
  const deflated = torchArchive(pkl, 9);
  assert.throws(
    () => loadTorch(deflated),
    (e) => e.constructor === RangeError && /compress|deflate/.test(e.message) && !INTERNAL.test(e.message),
  );
});

test("loadTorch refuses an archive of more than 65536 entries with a RangeError naming the limit", () => {
  const entries = { "archive/data.pkl": new Uint8Array([0x80, 2, 0x7d, 0x2e]), "archive/version": enc("3\n") };
  for (let i = 0; i < 70000; i++) entries[`archive/extra/${i}`] = new Uint8Array(0);
  const file = withZip64Count(zipSync(entries, { level: 0 }), 70002);
  assert.throws(
    () => loadTorch(file),
    (e) => e.constructor === RangeError && /more than 65536 entries/.test(e.message),
  );
});

/**
 * The zip with a zip64 end record carrying the true entry count: a plain end record has 16 bits
 * for it (fflate writes 70002 as 4466), so archives past 65535 entries need one, as torch.save's do.
 */
function withZip64Count(zip, count) {
  const end = zip.length - 22;
  const view = new DataView(zip.buffer, zip.byteOffset);
  const record = new DataView(new ArrayBuffer(56 + 20));
  record.setUint32(0, 0x06064b50, true);
  record.setBigUint64(4, 44n, true);
  record.setBigUint64(24, BigInt(count), true);
  record.setBigUint64(32, BigInt(count), true);
  record.setBigUint64(40, BigInt(view.getUint32(end + 12, true)), true);
  record.setBigUint64(48, BigInt(view.getUint32(end + 16, true)), true);
  record.setUint32(56, 0x07064b50, true);
  record.setBigUint64(64, BigInt(end), true);
  record.setUint32(72, 1, true);
  const out = new Uint8Array(zip.length + 76);
  out.set(zip.subarray(0, end));
  out.set(new Uint8Array(record.buffer), end);
  out.set(zip.subarray(end), end + 76);
  new DataView(out.buffer).setUint16(end + 76 + 8, 0xffff, true);
  new DataView(out.buffer).setUint16(end + 76 + 10, 0xffff, true);
  return out;
}

test("loadTorch refuses a pickle nested 100000 levels deep with a RangeError, not a stack overflow", () => {
  const depth = 100000;
  const ops = [0x80, 2];
  for (let i = 0; i < depth; i++) ops.push(0x5d); // EMPTY_LIST × depth
  for (let i = 0; i < depth - 1; i++) ops.push(0x61); // APPEND: each list into the one below
  ops.push(0x2e);
  assert.throws(
    () => loadTorch(torchArchive(new Uint8Array(ops))),
    (e) => e.constructor === RangeError && /deep|depth|nest/.test(e.message) && !INTERNAL.test(e.message),
  );
  const marks = [0x80, 2, ...new Array(depth).fill(0x28), 0x2e]; // MARK × depth
  assert.throws(
    () => loadTorch(torchArchive(new Uint8Array(marks))),
    (e) => e.constructor === RangeError && !INTERNAL.test(e.message),
  );
});

test("loadTorch refuses a data.pkl larger than its cap with a RangeError before unpickling it", () => {
  const big = new Uint8Array(65 * 2 ** 20 + 8);
  big.set([0x80, 2, 0x7d]);
  big.fill(0x30, 3); // POP × n: a well-formed but enormous program
  big[big.length - 1] = 0x2e;
  const started = performance.now();
  assert.throws(
    () => loadTorch(torchArchive(big)),
    (e) => e.constructor === RangeError && /data\.pkl|pickle/.test(e.message),
  );
  assert.ok(performance.now() - started < 1000);
});

// ---------------------------------------------------------------------------------------------
// 7. PackedSequence: every consumer validates what it uses

/** Packed batch of three sequences of lengths 2, 1, 3 (unsorted), input size 2. */
const makePacked = () =>
  packSequence(
    [
      Tensor.from([
        [1, 2],
        [3, 4],
      ]),
      Tensor.from([[5, 6]]),
      Tensor.from([
        [7, 8],
        [9, 10],
        [11, 12],
      ]),
    ],
    { enforceSorted: false },
  );

/** Mutates `p` with `edit` (a frozen field may refuse: that is fine), then `use(p)` must equal `use` of a clean copy or throw clearly. */
function assertEditHarmless(edit, use, what) {
  const expected = JSON.stringify(use(makePacked()));
  const p = makePacked();
  try {
    edit(p);
  } catch (error) {
    assert.ok(error instanceof TypeError, `${what}: the edit threw ${error}`);
  }
  let got;
  try {
    got = JSON.stringify(use(p));
  } catch (error) {
    assert.ok(error instanceof RangeError || error instanceof TypeError, `${what}: ${error}`);
    assert.doesNotMatch(error.message, INTERNAL, what);
    return;
  }
  assert.equal(got, expected, `${what}: a silently wrong answer`);
}

const padded = (p) => {
  const [t, lengths] = padPackedSequence(p);
  return [[...t.shape], [...t.data], [...lengths]];
};
const unpacked = (p) => unpackSequence(p).map((t) => [[...t.shape], [...t.data]]);

test("padPackedSequence after batchSizes[0] = 100 refuses or answers as before (no [3, 100, 2] of zeros)", () => {
  assertEditHarmless(
    (p) => {
      p.batchSizes[0] = 100;
    },
    padded,
    "batchSizes[0] = 100",
  );
});
test("unpackSequence after batchSizes[0] = 100 refuses or answers as before", () => {
  assertEditHarmless(
    (p) => {
      p.batchSizes[0] = 100;
    },
    unpacked,
    "batchSizes[0] = 100",
  );
});
test("unpackSequence after sortedIndices[0] = 1e9 refuses or answers as before (no sparse array of 1e9 slots)", () => {
  assertSafe(runCase("packed-sortedIndices-1e9"));
});
test("padPackedSequence after sortedIndices and unsortedIndices are swapped for other permutations refuses or answers as before", () => {
  assertEditHarmless(
    (p) => {
      p.unsortedIndices.set([0, 1, 2]);
    },
    padded,
    "unsortedIndices edited",
  );
  assertEditHarmless(
    (p) => {
      p.sortedIndices.set([0, 1, 2]);
    },
    unpacked,
    "sortedIndices edited",
  );
});
test("padPackedSequence and unpackSequence after data is replaced by a tensor of another row count refuse or answer as before", () => {
  const swap = (p) => Object.defineProperty(p, "data", { value: Tensor.zeros([2, 2]) });
  assertEditHarmless(swap, padded, "data with 2 rows");
  assertEditHarmless(swap, unpacked, "data with 2 rows");
  const grow = (p) => {
    p.data.shape[0] = 60;
  };
  assertEditHarmless(grow, padded, "data.shape[0] = 60");
  assertEditHarmless(grow, unpacked, "data.shape[0] = 60");
});
for (const m of RECURRENT) {
  test(`${m}: forward(p, h0) after sortedIndices = null (unsortedIndices kept) refuses or gives the same hN`, () => {
    const model = new api[m]({ inputSize: 2, hiddenSize: 3, seed: 4 });
    const h0 = Tensor.from([
      [
        [0.1, 0.2, 0.3],
        [0.4, 0.5, 0.6],
        [-0.1, -0.2, -0.3],
      ],
    ]);
    const state = m === "LSTM" ? [h0, h0] : h0;
    const hN = (p) => {
      const [out, h] = model.forward(p, state);
      return [[...out.data.data], ...(Array.isArray(h) ? h : [h]).map((t) => [...t.data])];
    };
    assertEditHarmless(
      (p) => {
        p.sortedIndices = null;
      },
      hN,
      "sortedIndices = null",
    );
    assertEditHarmless(
      (p) => {
        p.batchSizes[1] = 3;
      },
      hN,
      "batchSizes[1] = 3",
    );
    model.dispose();
  });
}
test("padSequence, packSequence and unpadSequence refuse a tensor whose shape no longer matches its data", () => {
  const lying = () => {
    const t = Tensor.from([
      [1, 2],
      [3, 4],
    ]);
    t.shape[0] = 1000;
    return t;
  };
  const clear = (e) => e instanceof RangeError && !INTERNAL.test(e.message);
  assert.throws(() => padSequence([lying(), Tensor.from([[5, 6]])]), clear);
  assert.throws(() => packSequence([lying(), Tensor.from([[5, 6]])]), clear);
  const lyingPadded = Tensor.zeros([2, 2, 1]);
  lyingPadded.shape[0] = 1000;
  assert.throws(() => unpadSequence(lyingPadded, [2, 1]), clear);
});
test("a PackedSequence's arrays cannot be changed under it: writes are refused or do not reach the sequence", () => {
  const p = makePacked();
  const before = padded(p);
  for (const key of ["batchSizes", "sortedIndices", "unsortedIndices"]) {
    try {
      p[key][0] = 7;
    } catch (error) {
      assert.ok(error instanceof TypeError, `${key}: ${error}`);
    }
  }
  assert.deepEqual(padded(p), before);
});

// ---------------------------------------------------------------------------------------------
// 8. Re-entrancy

for (const m of RECURRENT) {
  test(`${m}: forward called again from user code inside forward is refused ("forward is already running on this module") or leaves the outer result unchanged`, () => {
    assertSafe(runCase(`reentrant-forward:${m}`));
  });
  test(`${m}: dispose() called from user code inside forward is refused or leaves the outer result unchanged`, () => {
    assertSafe(runCase(`dispose-inside-forward:${m}`));
  });
}

// ---------------------------------------------------------------------------------------------
// 9. Smaller findings

test("saveSafetensors refuses a tensor whose shape no longer matches its data (it wrote files its own loader rejects)", () => {
  const t = Tensor.from([
    [1, 2],
    [3, 4],
  ]);
  t.shape[0] = 3;
  assert.throws(
    () => saveSafetensors({ w: t }),
    (e) => e instanceof RangeError && /shape/.test(e.message),
  );
  const ok = saveSafetensors({
    w: Tensor.from([
      [1, 2],
      [3, 4],
    ]),
  });
  assert.deepEqual([...loadSafetensors(ok).tensors.w.data], [1, 2, 3, 4]);
});

test("a Tensor from a second copy of the package is treated alike by forward and loadStateDict", async () => {
  // A real second copy: the package's modules copied elsewhere, so every class is loaded twice
  // (a query string on the entry would reuse the first copy's cached modules).
  const copy = mkdtempSync(join(tmpdir(), "wasm-rnn-copy-"));
  cpSync(fileURLToPath(new URL("../../dist", import.meta.url)), join(copy, "dist"), { recursive: true });
  const other = await import(pathToFileURL(join(copy, "dist", "node.js")).href);
  rmSync(copy, { recursive: true, force: true }); // the modules are loaded; the files are no longer read
  assert.notEqual(other.Tensor, Tensor, "the second import is a separate copy");
  const model = new RNN({ inputSize: 2, hiddenSize: 2, seed: 9 });
  const sd = model.stateDict();
  const foreignSd = Object.fromEntries(
    Object.entries(sd).map(([k, t]) => [k, new other.Tensor(t.data.slice(), [...t.shape])]),
  );
  const x = [[[1, 2]], [[3, 4]]];
  const outcome = (f) => {
    try {
      return { ok: f() };
    } catch (error) {
      return { error };
    }
  };
  const forward = outcome(() => [...model.forward(new other.Tensor(new Float32Array(x.flat(2)), [2, 1, 2]))[0].data]);
  const load = outcome(() => model.loadStateDict(foreignSd));
  assert.equal(
    "ok" in forward,
    "ok" in load,
    `forward ${forward.error ?? "accepts"}, loadStateDict ${load.error ?? "accepts"}: one rule for both`,
  );
  if ("ok" in forward) {
    assert.deepEqual(forward.ok, [...model.forward(Tensor.from(x))[0].data]);
  } else {
    for (const { error } of [forward, load]) {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /copy|package|instance|realm/, "the message says why a Tensor is refused");
    }
  }
  model.dispose();
});

test("an uncaught error from the library prints a short report, not the minified bundle (< 8 KB of stderr)", () => {
  const child = spawnSync(
    process.execPath,
    ["--input-type=module", "-e", "import { Tensor } from 'wasm-rnn'; new Tensor(new Float32Array(3), [2, 2]);"],
    { encoding: "utf8", timeout: 30_000, cwd: fileURLToPath(new URL("../..", import.meta.url)) },
  );
  assert.notEqual(child.status, 0);
  assert.match(child.stderr, /RangeError/);
  assert.ok(child.stderr.length < 8192, `${child.stderr.length} bytes of stderr`);
});

test("RNNCell refuses a 1-D input with a 2-D hx and a 2-D input with a 1-D hx, as PyTorch", () => {
  const cell = new RNNCell({ inputSize: 3, hiddenSize: 4, seed: 1 });
  const clear = (e) => (e instanceof RangeError || e instanceof TypeError) && !INTERNAL.test(e.message);
  assert.throws(() => cell.forward(Tensor.zeros([3]), Tensor.zeros([1, 4])), clear);
  assert.throws(() => cell.forward(Tensor.zeros([1, 3]), Tensor.zeros([4])), clear);
  assert.equal(cell.forward(Tensor.zeros([3]), Tensor.zeros([4])).ndim, 1);
  assert.deepEqual([...cell.forward(Tensor.zeros([1, 3]), Tensor.zeros([1, 4])).shape], [1, 4]);
  cell.dispose();
});

test("init({ backend: 'simd', wasm: <the scalar build> }) refuses the mismatch or reports 'scalar'", () => {
  const r = runCase("init-simd-with-scalar-build");
  if (r.outcome.threw) {
    assert.doesNotMatch(r.outcome.message, INTERNAL);
    assert.match(r.outcome.message, /scalar/);
    assert.match(r.outcome.message, /simd/);
  } else {
    assert.equal(r.outcome.problem, null);
  }
});

test("a PackedSequence built from a lying Float32Array keeps the validated rows only", () => {
  const data = new Float32Array(1000).fill(3);
  Object.defineProperty(data, "length", { value: 4 });
  let refused = false;
  let p;
  try {
    p = new PackedSequence(new Tensor(data, [2, 2]), [1, 1]);
  } catch (error) {
    assert.ok(error instanceof RangeError || error instanceof TypeError);
    refused = true;
  }
  if (!refused) assert.deepEqual(padded(p), [[2, 1, 2], [3, 3, 3, 3], [2]]);
});
