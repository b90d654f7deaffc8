#!/usr/bin/env node
// The SIMD build against the relaxed-SIMD one on this machine (issue 13's
// backend choice), interleaved: both builds' models are prepared side by side
// and timed in alternating batches, so a change of load hits both alike; then
// what init()'s calibration chooses over several init() calls, and what it costs.
//
//   node bench/backends.mjs [--only S1,S2,M,LSTM-M] [--rounds N] [--inits N]
//
// Prints a Markdown table (stdout); progress on stderr. About 20 s a workload.

import * as harness from "./harness.mjs";
import { seededStateDict, wasmRnn } from "./peers.mjs";

const opts = harness.parseArgs(
  process.argv.slice(2),
  {
    only: "list",
    rounds: { integer: 3, message: "--rounds needs an integer ≥ 3" },
    inits: { integer: 1, message: "--inits needs a positive integer" },
  },
  [
    "usage: node bench/backends.mjs [--only S1,S2,M,LSTM-M] [--rounds N] [--inits N]",
    "  --only    workloads by name or family (default S1, S2, M, LSTM-M)",
    "  --rounds  alternating batches per build (default 15), each about 60 ms",
    "  --inits   init() calls whose calibration is reported (default 10)",
  ].join("\n"),
);
const ROUNDS = opts.rounds ?? 15;
const BATCH_MS = 60;
const BUILDS = ["simd", "relaxed"];

const { lib, features, kernels } = await harness.loadWasmRnn([]);
if (!features.relaxedSimd) {
  console.error(`bench: ${harness.unavailableReason("relaxed", features)}: nothing to compare`);
  process.exit(1);
}
const log = (...a) => console.error(...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const machine = harness.describeMachine();
log(`simd vs relaxed — ${machine.cpu}, ${machine.cores} logical cores, Node ${machine.node}`);

const rows = [];
for (const [name, spec] of harness.selectWorkloads(harness.loadWorkloads(), opts.only ?? ["S1", "S2", "M", "LSTM-M"])) {
  const D = spec.bidirectional ? 2 : 1;
  const dims = { T: spec.seq, B: spec.batch, I: spec.input, H: spec.hidden, D, L: spec.layers };
  const stateDict = await seededStateDict(lib, spec, { backend: "simd", module: kernels.simd.module });
  const ctx = { name, spec, x: harness.makeInput(spec), lengths: spec.lengths ?? null, stateDict, dims };
  // Each model keeps the kernel it was made on, so both builds' models live side by side.
  const prepared = {};
  for (const b of BUILDS) prepared[b] = await wasmRnn(lib, b, kernels[b].module).prepare(ctx);
  try {
    const calls = {};
    for (const b of BUILDS) {
      // Past V8's tier-up (harness.measure's warm-up), and a batch of about BATCH_MS.
      const m = await harness.measure(prepared[b].run, harness.timingPolicy(true));
      calls[b] = Math.max(1, Math.round(BATCH_MS / m.medianMs));
    }
    const perCall = { simd: [], relaxed: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const b of r % 2 ? [...BUILDS].reverse() : BUILDS) {
        const t = harness.nowMs();
        for (let i = 0; i < calls[b]; i++) prepared[b].run();
        perCall[b].push((harness.nowMs() - t) / calls[b]);
      }
    }
    const simd = median(perCall.simd);
    const relaxed = median(perCall.relaxed);
    const wins = perCall.relaxed.filter((ms, r) => ms < perCall.simd[r]).length;
    rows.push([
      `**${name}**`,
      harness.fmtMs(simd),
      harness.fmtMs(relaxed),
      (relaxed / simd).toFixed(3),
      `${wins}/${ROUNDS}`,
    ]);
    log(
      `  ${name}: simd ${harness.fmtMs(simd)} ms, relaxed ${harness.fmtMs(relaxed)} ms (relaxed faster in ${wins}/${ROUNDS} rounds)`,
    );
  } finally {
    for (const b of BUILDS) prepared[b].dispose();
  }
}

const inits = [];
for (let i = 0; i < (opts.inits ?? 10); i++) inits.push((await lib.init()).calibration);
const chose = (b) => inits.filter((c) => c.chosen === b).length;

const { table } = await import("./report.mjs");
console.log(
  [
    `# simd vs relaxed on ${machine.cpu}`,
    "",
    `${machine.cores} logical cores, Node ${machine.node} (V8 ${machine.v8}), load average ${machine.loadavgStart[0].toFixed(2)} at start; \`${harness.commandLine()}\`.`,
    "",
    `Median ms per forward over ${ROUNDS} alternating batches of about ${BATCH_MS} ms per build.`,
    "",
    table(["workload", "simd ms", "relaxed ms", "relaxed ÷ simd", "rounds relaxed won"], rows),
    "",
    `init()'s calibration over ${inits.length} calls in this process: simd ${chose("simd")}×, relaxed ${chose("relaxed")}×; ` +
      `probe round medians simd ${median(inits.map((c) => c.timings.simd)).toFixed(3)} ms, relaxed ${median(inits.map((c) => c.timings.relaxed)).toFixed(3)} ms; ` +
      `cost: first call ${inits[0].costMs.toFixed(1)} ms, then median ${median(inits.slice(1).map((c) => c.costMs)).toFixed(1)} ms.`,
    "",
  ].join("\n"),
);
