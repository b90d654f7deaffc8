#!/usr/bin/env node
// What one recurrent step's barrier costs (issue 13). An Elman layer whose
// step is nearly free (hidden 32 at batch 1: two blocks of 16 units) runs on
// one thread, then split over 2 threads with the kernel's thresholds at
// zero (threads_tune(0, 0, 0)), so that every step is split and meets its
// threads at a barrier. A split step does a share of negligible work plus one
// barrier, so its time per step, less one thread's, is the barrier's cost.
//
//   node bench/barrier.mjs [--steps 20000] [--rounds 9] [--backend simd|relaxed]
//
// Prerequisite: `npm run build` at the root.

import { parseArgs, nowMs } from "./harness.mjs";

const opts = parseArgs(
  process.argv.slice(2),
  {
    steps: { integer: 1, message: "--steps needs a positive integer" },
    rounds: { integer: 1, message: "--rounds needs a positive integer" },
    backend: "list",
  },
  "usage: node bench/barrier.mjs [--steps 20000] [--rounds 9] [--backend simd|relaxed]",
);
const STEPS = opts.steps ?? 20_000;
const ROUNDS = opts.rounds ?? 9;

const { init, terminate, RNN, Tensor } = await import("../dist/node.js");
const input = new Tensor(
  Float32Array.from({ length: STEPS }, (_, i) => Math.sin(i)),
  [STEPS, 1, 1],
);

/** Median ns per step of an eval forward over the input, on `threads` threads. */
async function nsPerStep(threads, backend) {
  const runtime = await init({ threads, backend, requireThreads: threads > 1 });
  if (threads > 1) /** @type {any} */ (runtime.kernel).threads_tune(0, 0, 0);
  const rnn = new RNN({ inputSize: 1, hiddenSize: 32, seed: 1 });
  rnn.eval();
  rnn.forward(input);
  const times = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = nowMs();
    rnn.forward(input);
    times.push(nowMs() - start);
  }
  rnn.dispose();
  times.sort((a, b) => a - b);
  return { backend: runtime.backend, ns: (times[times.length >> 1] * 1e6) / STEPS };
}

const backend = opts.backend?.[0];
const one = await nsPerStep(1, backend);
console.log(`RNN 1→32, batch 1, ${STEPS} steps, ${one.backend} build, median of ${ROUNDS}`);
console.log(`  1 thread : ${one.ns.toFixed(0)} ns per step`);
const split = await nsPerStep(2, one.backend);
console.log(
  `  2 threads: ${split.ns.toFixed(0)} ns per step, every step split: the barrier costs about ` +
    `${(split.ns - one.ns / 2).toFixed(0)} ns`,
);
terminate();
