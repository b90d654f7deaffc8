// The worker pool's lifecycle and init's thread options: a process using
// threads exits by itself, terminate() ends the pool and models keep working,
// a failure inside a worker reaches forward's caller as an Error and the next
// forward works, init() again with another count replaces the pool, and where
// memory cannot be shared init falls back to one thread and says why (or
// throws, with requireThreads).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { init, terminate, threads } from "wasm-rnn";
import { LARGE_CASES, assertSameBits, runLargeCase, threadExports } from "./threads-helpers.mjs";

after(() => terminate());

/** An LSTM layer large enough to run on every thread with the kernel's own thresholds. */
const LSTM_CASE = LARGE_CASES.find((c) => c.module === "LSTM" && c.config.projSize === undefined && !c.lengths);

test("threads() is 1 before init and for an init without threads", async () => {
  assert.equal(threads(), 1);
  const runtime = await init();
  assert.equal(runtime.threads, 1);
  assert.equal(runtime.threadsFallback, null);
  assert.equal(threads(), 1);
});

test("init refuses a thread count that is not a positive integer or 'auto', naming what came", async () => {
  await assert.rejects(init({ threads: 0 }), { name: "RangeError", message: /threads must be an integer .* got 0/ });
  await assert.rejects(init({ threads: 2.5 }), { name: "RangeError", message: /got 2\.5/ });
  await assert.rejects(init({ threads: 65 }), { name: "RangeError", message: /from 1 to 64/ });
  /** @type {any} */
  const word = "all";
  await assert.rejects(init({ threads: word }), { name: "TypeError", message: /threads must be a number or 'auto'/ });
  /** @type {any} */
  const one = 1;
  await assert.rejects(init({ requireThreads: one }), {
    name: "TypeError",
    message: /requireThreads must be a boolean/,
  });
});

test("threads: 'auto' takes the machine's cores, at most 8", async () => {
  const runtime = await init({ threads: "auto" });
  assert.equal(runtime.threads, Math.min(availableParallelism(), 8));
  assert.equal(threads(), runtime.threads);
});

test("a failure inside a worker surfaces as an Error from forward, and the next forward gives the right bits", async () => {
  await init({ backend: "simd" });
  const expected = runLargeCase(LSTM_CASE);
  const runtime = await init({ backend: "simd", threads: 2 });
  threadExports(runtime).thread_fail_next_job(1);
  assert.throws(() => runLargeCase(LSTM_CASE), { name: "Error", message: /a worker thread failed during lstm_layer/ });
  assertSameBits(runLargeCase(LSTM_CASE), expected, "forward after the failure");
  assert.equal(threads(), 2);
});

test("init() again with another count replaces the pool; models keep their kernel and their bits", async () => {
  await init({ backend: "simd" });
  const expected = runLargeCase(LSTM_CASE);
  const first = await init({ backend: "simd", threads: 2 });
  assertSameBits(runLargeCase(LSTM_CASE), expected, "2 threads");
  const second = await init({ backend: "simd", threads: 4 });
  assert.equal(first.threads, 2);
  assert.equal(second.threads, 4);
  assert.equal(threads(), 4);
  assertSameBits(runLargeCase(LSTM_CASE), expected, "4 threads");
});

test("terminate() ends the pool; models made before keep working on one thread", async () => {
  await init({ backend: "simd" });
  const expected = runLargeCase(LSTM_CASE);
  await init({ backend: "simd", threads: 2 });
  terminate();
  assert.equal(threads(), 1);
  assertSameBits(runLargeCase(LSTM_CASE), expected, "after terminate");
  terminate();
});

test("without SharedArrayBuffer init falls back to one thread and says why; requireThreads makes it throw", async () => {
  const shared = globalThis.SharedArrayBuffer;
  delete globalThis.SharedArrayBuffer;
  try {
    const runtime = await init({ threads: 2 });
    assert.equal(runtime.threads, 1);
    assert.match(runtime.threadsFallback, /SharedArrayBuffer is not available/);
    assert.equal(threads(), 1);
    await assert.rejects(init({ threads: 2, requireThreads: true }), {
      name: "Error",
      message: /init: 2 threads were requested, but SharedArrayBuffer is not available/,
    });
  } finally {
    globalThis.SharedArrayBuffer = shared;
  }
});

test("a single-thread kernel given as `module` runs on one thread, saying why", async () => {
  const { readFile } = await import("node:fs/promises");
  const module = await WebAssembly.compile(await readFile(new URL("../../build/rnn.simd.wasm", import.meta.url)));
  const runtime = await init({ module, threads: 2 });
  assert.equal(runtime.threads, 1);
  assert.match(runtime.threadsFallback, /single-thread build/);
});

test("a Node process that used threads exits by itself", () => {
  const script = `
    import { init, LSTM, Tensor } from "wasm-rnn";
    const runtime = await init({ threads: 2 });
    const lstm = new LSTM({ inputSize: 32, hiddenSize: 128, seed: 1 });
    lstm.forward(new Tensor(new Float32Array(8 * 4 * 32).fill(0.5), [8, 4, 32]));
    console.log("threads", runtime.threads);
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: new URL("../..", import.meta.url),
    encoding: "utf8",
    timeout: 30000,
  });
  assert.equal(child.error, undefined, "the child did not exit within 30 s");
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /threads 2/);
});
