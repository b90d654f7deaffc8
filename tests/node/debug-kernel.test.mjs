// The debug kernel (build/rnn.debug.wasm): the kernel's preconditions compiled
// in as assertions, loaded through @assemblyscript/loader so that a violated
// contract surfaces as a readable Error naming the contract, file and line.
// The release builds must carry neither the assertions nor the loader's import.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import loader from "@assemblyscript/loader";
import { init, backend, RNN, Tensor } from "wasm-rnn";
import { loadFixture, maxAbsError, toleranceFor } from "../helpers/fixtures.mjs";
import { BACKENDS } from "./backends.mjs";

const buildFile = (name) => new URL(`../../build/${name}`, import.meta.url);
const forward = loadFixture("forward");
const tensor = (t) => new Tensor(t.data, t.shape);
const stateDictOf = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, tensor(v)]));

let debugModule;
let runtime;
before(async () => {
  debugModule = await WebAssembly.compile(await readFile(buildFile("rnn.debug.wasm")));
  // loader.instantiate(module, imports) resolves to { module, instance, exports }; it adds an
  // env.abort that throws Error(`abort: ${message} at ${file}:${line}:${column}`). The runtime
  // wants the raw instance (its exports are the kernel ABI).
  runtime = await init({
    module: debugModule,
    instantiate: (m) => loader.instantiate(m, {}).then((r) => r.instance),
  });
});

// ---------------------------------------------------------------------------
// (c) What distinguishes the builds

test("the debug build imports env.abort (the hook through which the loader reports a failed assertion)", () => {
  assert.deepEqual(WebAssembly.Module.imports(debugModule), [{ module: "env", name: "abort", kind: "function" }]);
});

for (const name of ["scalar", "simd", "relaxed"]) {
  test(`the ${name} release build imports nothing: no env.abort, no assertions, no loader needed`, {
    skip: BACKENDS.includes(name) ? false : `this runtime does not validate the ${name} build`,
  }, async () => {
    const module = await WebAssembly.compile(await readFile(buildFile(`rnn.${name}.wasm`)));
    assert.deepEqual(WebAssembly.Module.imports(module), []);
    const exported = WebAssembly.Module.exports(module)
      .map((e) => e.name)
      .sort();
    assert.deepEqual(
      exported,
      WebAssembly.Module.exports(debugModule)
        .map((e) => e.name)
        .sort(),
      "same ABI as the debug build",
    );
  });
}

// ---------------------------------------------------------------------------
// (a) The whole forward grid on the debug build: its assertions hold for real calls

test("init({ module, instantiate }) with the loader runs the debug kernel", () => {
  assert.equal(runtime.backend, "custom");
  assert.equal(backend(), "custom");
  assert.ok(runtime.kernel.memory instanceof WebAssembly.Memory);
  assert.equal(typeof runtime.kernel.rnn_layer, "function");
});

test("every forward.json case passes on the debug build (no kernel assertion fires on real calls)", () => {
  for (const c of forward.cases) {
    const rnn = new RNN({ ...c.config, seed: 0 });
    try {
      rnn.loadStateDict(stateDictOf(c.stateDict));
      const [output, hN] = c.h0 === null ? rnn.forward(tensor(c.input)) : rnn.forward(tensor(c.input), tensor(c.h0));
      for (const [what, ours, f32, f64] of [
        ["output", output, c.output, c.output64],
        ["hN", hN, c.hN, c.hN64],
      ]) {
        assert.deepEqual([...ours.shape], f64.shape, `${c.name} ${what} shape`);
        const error = maxAbsError(ours.data, f64.data);
        const tol = toleranceFor(f32.data, f64.data);
        assert.ok(error <= tol, `${c.name} ${what}: ${error} > ${tol}`);
      }
    } finally {
      rnn.dispose();
    }
  }
});

// ---------------------------------------------------------------------------
// (b) A violated contract, called directly through runtime.kernel

/** Calls `fn` and checks the loader's error: `abort: <message> at assembly/<file>:<line>:<col>`. */
function assertContract(fn, contract, file) {
  let thrown = null;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== null, `${contract}: the violated contract did not throw`);
  assert.ok(thrown instanceof Error, `${contract}: not an Error`);
  assert.ok(
    !(thrown instanceof WebAssembly.RuntimeError),
    `${contract}: a bare trap (${thrown.message}) instead of a readable error: is the debug build compiled with abort?`,
  );
  assert.match(thrown.message, /^abort: /, `${contract}: the loader's abort format`);
  assert.ok(thrown.message.includes(contract), `${contract}: message "${thrown.message}" names the contract`);
  const at = /at (assembly\/[\w/.-]+\.ts):(\d+):(\d+)$/.exec(thrown.message);
  assert.ok(at !== null, `${contract}: message "${thrown.message}" names a file and line`);
  assert.equal(at[1], file, `${contract}: reported at ${at[1]}:${at[2]}, not where the contract is checked (${file})`);
  return thrown.message;
}

/**
 * A few 16-byte-aligned scratch buffers carved from one block of the kernel's
 * allocator, named as the write window (every buffer a call writes must lie in
 * it, or the write guard traps before the contract is checked); freed at the end.
 */
function withBuffers(count, floats, fn) {
  const k = runtime.kernel;
  const block = k.alloc(count * floats * 4);
  assert.ok(block !== 0 && block % 16 === 0);
  try {
    new Float32Array(k.memory.buffer, block, count * floats).fill(0.5);
    k.set_write_window(block);
    fn(...Array.from({ length: count }, (_, i) => block + i * floats * 4));
  } finally {
    k.free(block);
  }
}

// A written span outside the window, increasing batch sizes and a bad layer
// size trap in the write guard before any of these assertions, in this build
// as in the release builds: tests/node/kernel-guard.test.mjs.
const CONTRACTS = [
  [
    "gemm: w must be 16-byte aligned",
    "assembly/gemm.ts",
    (k, y, a, w, init) => k.gemm(y, 8, a, 8, w + 4, init, 0, 2, 8, 8, 0),
  ],
  [
    "gemm: a row stride is shorter than its row",
    "assembly/gemm.ts",
    (k, y, a, w, init) => k.gemm(y, 4, a, 8, w, init, 0, 2, 8, 8, 0),
  ],
  [
    "gemm: unknown activation code",
    "assembly/gemm.ts",
    (k, y, a, w, init) => k.gemm(y, 8, a, 8, w, init, 0, 2, 8, 8, 7),
  ],
  [
    "gemm: a out of bounds",
    "assembly/gemm.ts",
    (k, y, _a, w, init) => k.gemm(y, 8, k.memory.buffer.byteLength - 32, 8, w, init, 0, 2, 8, 8, 0),
  ],
  [
    "pack_panels: w out of bounds",
    "assembly/pack.ts",
    (k, _y, _a, w) => k.pack_panels(w, k.memory.buffer.byteLength - 32, 8, 8),
  ],
  ["pack_panels: panels must be 16-byte aligned", "assembly/pack.ts", (k, _y, a, w) => k.pack_panels(w + 4, a, 8, 8)],
  [
    "rnn_layer: p must be 16-byte aligned",
    "assembly/rnn.ts",
    (k, y, a, w, init, bs) => {
      new Int32Array(k.memory.buffer, bs, 3).set([2, 2, 1]);
      k.rnn_layer(y, a, 4, 4, init + 4, w, init, w, a, bs, 3, 4, 1, 1);
    },
  ],
  [
    "rnn_layer: act must be tanh or relu",
    "assembly/rnn.ts",
    (k, y, a, w, init, bs) => {
      new Int32Array(k.memory.buffer, bs, 3).set([2, 2, 1]);
      k.rnn_layer(y, a, 4, 4, init, w, init, w, a, bs, 3, 4, 1, 0);
    },
  ],
  ["free: pointer not from alloc", "assembly/memory.ts", (k, y) => k.free(y + 4)],
];

for (const [contract, file, call] of CONTRACTS) {
  test(`a violated kernel contract surfaces as an Error naming it and its file/line: "${contract}" (${file})`, () => {
    const before = runtime.kernel.allocated_bytes();
    withBuffers(6, 256, (y, a, w, init, bs, spare) => {
      assertContract(() => call(runtime.kernel, y, a, w, init, bs, spare), contract, file);
    });
    assert.equal(runtime.kernel.allocated_bytes(), before, "the allocator state survived the abort");
  });
}

test("the debug kernel instance stays usable after contract violations", () => {
  const k = runtime.kernel;
  withBuffers(2, 64, (w, a) => {
    assert.throws(() => k.pack_panels(w + 4, a, 8, 8));
  });
  const c = forward.cases.find((x) => x.name.startsWith("tanh-bias-bf0-bi1-L2-h0-batched"));
  const rnn = new RNN({ ...c.config, seed: 0 });
  try {
    rnn.loadStateDict(stateDictOf(c.stateDict));
    const [output] = rnn.forward(tensor(c.input), tensor(c.h0));
    assert.ok(maxAbsError(output.data, c.output64.data) <= toleranceFor(c.output.data, c.output64.data));
  } finally {
    rnn.dispose();
  }
});
