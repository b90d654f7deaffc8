// The threads where V8 made them fail. Node 20's V8 (11.3) Liftoff code lost
// the registers caching a function's locals across an inline
// memory.atomic.wait32 (assembly/thread.ts, waitOn): a thread that had slept
// at a barrier then read its barrier at address 0 and went on alone, and a
// helper thread that had slept between jobs ran a job twice. It showed as a
// hang or as wrong bits in about one run in ten, when a thread slept in code
// V8 had not yet optimized, so these run the threads suites with the baseline
// compiler only, where every sleep is in Liftoff code, and many processes at
// once, where threads sleep often. Each runs in child processes, so a hang
// fails its test instead of the run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

const ROOT = new URL("../..", import.meta.url);
const RELAXED = ["--experimental-wasm-relaxed-simd"];
/** The environment without node --test's marker, which would make the nested run report to this one. */
const { NODE_TEST_CONTEXT: _, ...ENV } = process.env;

test("the threads suites pass with V8's baseline compiler only (--liftoff-only)", () => {
  const child = spawnSync(
    process.execPath,
    [...RELAXED, "--liftoff-only", "--test", "tests/node/threads.test.mjs", "tests/node/threads-lifecycle.test.mjs"],
    { cwd: ROOT, env: ENV, encoding: "utf8", timeout: 240_000 },
  );
  assert.equal(child.error, undefined, "the suites did not finish within 240 s");
  assert.equal(
    child.status,
    0,
    child.stdout
      .split("\n")
      .filter((line) => /^\s*not ok|error/.test(line))
      .join("\n"),
  );
  assert.match(child.stdout, /^# pass [1-9]\d*$/m, "the nested run reported its tests");
});

/** A child that runs an LSTM layer on one thread, then on two, and prints whether the bits agree. */
const CHILD = `
  import { init, LSTM, Tensor } from "wasm-rnn";
  const input = new Tensor(Float32Array.from({ length: 16 * 4 * 32 }, (_, i) => Math.sin(i)), [16, 4, 32]);
  const run = () => {
    const lstm = new LSTM({ inputSize: 32, hiddenSize: 128, seed: 1 });
    const [output] = lstm.forward(input);
    return new Uint32Array(Float32Array.from(output.data).buffer);
  };
  await init({ backend: "simd" });
  const one = run();
  const runtime = await init({ backend: "simd", threads: 2 });
  const two = run();
  console.log("threads", runtime.threads, "same bits", one.every((bits, i) => bits === two[i]));
`;

/** Runs CHILD in a process of its own; resolves to its exit status and output, or a timeout. */
function runChild() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], { cwd: ROOT, env: ENV });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout });
    });
  });
}

test("16 processes, 2 threads each and more threads than cores, all finish with one thread's bits", async () => {
  const batch = Math.max(8, 4 * availableParallelism());
  const results = [];
  while (results.length < 16) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(batch, 16 - results.length) }, runChild))));
  }
  for (const [i, { code, signal, stdout }] of results.entries()) {
    assert.equal(signal, null, `process ${i} hung and was killed`);
    assert.equal(code, 0, `process ${i} exited with ${code}`);
    assert.match(stdout, /threads 2 same bits true/, `process ${i}`);
  }
});
