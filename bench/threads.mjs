#!/usr/bin/env node
// Issue 13's benchmark: wasm-rnn's forward on 1, 2 and 4 threads
// (`init({ threads })`), against native PyTorch on one thread and
// onnxruntime-web on two (`ort.env.wasm.numThreads = 2`), every workload of
// workloads.json, in one process and one run.
//
//   node bench/threads.mjs [--threads 1,2,4] [--backend simd|relaxed] [--only S1,rnn] [--skip ort,torch]
//                          [--quick] [--steps N]
//
// Prerequisites as for run.mjs: `npm run build` at the root and `npm ci` in
// bench/. A full run writes bench/results/{threads.md,threads.svg,threads.json};
// a partial one (any option) writes them to bench/results/partial/.

import os from "node:os";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import * as harness from "./harness.mjs";

const USAGE = [
  "usage: node bench/threads.mjs [--threads 1,2,4] [--backend simd|relaxed] [--only S1,L,lstm,gru] [--skip ort,torch]",
  "                              [--quick] [--steps N]",
  "  --threads  wasm-rnn's thread counts, each a column (default 1,2,4; 1 is the baseline of the speed-ups)",
  "  --backend  the kernel build (default: the one init() picks here, by its calibration)",
  "  --only     workloads by name (S1, LSTM-M, …) or by family (rnn, lstm, gru)",
  "  --skip     leave out peers: ort (onnxruntime-web, 2 threads), torch (PyTorch, 1 thread)",
  "  --quick    a smoke run: few calls, rough numbers",
  "  --steps    shorten every sequence to at most N steps: a smoke run",
].join("\n");

const opts = {
  ...harness.parseArgs(
    process.argv.slice(2),
    {
      threads: "list",
      backend: "list",
      only: "list",
      skip: "set",
      quick: "flag",
      steps: { integer: 1, message: "--steps needs a positive integer" },
    },
    USAGE,
  ),
  python: process.env.BENCH_PYTHON || "/usr/bin/python3",
};
const THREADS = (opts.threads ?? ["1", "2", "4"]).map(Number);
if (!THREADS.every((n) => Number.isInteger(n) && n >= 1) || !THREADS.includes(1)) {
  throw new Error(`--threads needs positive integers including 1 (the baseline), got ${opts.threads}`);
}
/** onnxruntime-web's thread count: one per process (its pool starts with the first session). */
const ORT_THREADS = 2;

const { lib, features, kernels } = await harness.loadWasmRnn(["onnxruntime-web"]);
const { Unsupported, seededStateDict, wasmRnn, onnxruntimeWeb, pytorch } = await import("./peers.mjs");

// What init() chooses here on its own: the calibration issue 13 asks to report, and the default build.
const calibrated = await lib.init();
const calibration = calibrated.calibration ?? null;
const backend = opts.backend?.[0] ?? calibrated.backend;
if (!["simd", "relaxed", "scalar"].includes(backend)) throw new Error(`--backend: no build '${backend}'`);

const POLICY = harness.timingPolicy(opts.quick);

const VERSIONS = { ort: harness.peerVersion("onnxruntime-web") };
const IMPLS = [
  ...THREADS.map((n) => ({
    key: `t${n}`,
    threads: n,
    label: `wasm-rnn ${backend}, ${n} thread${n > 1 ? "s" : ""}`,
    ours: true,
  })),
  { key: "ort", label: `onnxruntime-web ${VERSIONS.ort}, ${ORT_THREADS} threads` },
  { key: "torch", label: "PyTorch CPU, 1 thread" },
];
const skipped = {};
const notes = [];
for (const key of opts.skip) {
  if (!["ort", "torch"].includes(key)) throw new Error(`--skip: only ort and torch can be skipped, got ${key}`);
  skipped[key] = "skipped with --skip";
}

let ort = null;
if (!skipped.ort) {
  ort = await import("onnxruntime-web");
  // Its pthread pool in this process (Node has SharedArrayBuffer and worker_threads); no proxy worker.
  ort.env.wasm.numThreads = ORT_THREADS;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
}
const torch = pytorch(opts.python);
skipped.tfjs = "not in this benchmark";
await harness.loadPeers(torch, { skipped, versions: VERSIONS, notes });
delete skipped.tfjs;
if (VERSIONS.torch) IMPLS.find((i) => i.key === "torch").label = `PyTorch ${VERSIONS.torch} CPU, 1 thread`;

function factory(impl) {
  if (impl.ours) {
    // One thread is init()'s default, so that column runs exactly today's single-thread build;
    // more must really run on threads (requireThreads), or the column is an error, not a silent fallback.
    const options = impl.threads === 1 ? {} : { threads: impl.threads, requireThreads: true };
    return wasmRnn(lib, backend, null, options);
  }
  return impl.key === "ort" ? onnxruntimeWeb(ort) : torch;
}

const workloads = harness.selectWorkloads(harness.loadWorkloads(), opts.only, opts.steps);
const machine = harness.describeMachine();
const startedAt = Date.now();
const log = (...a) => console.error(...a);
log(`wasm-rnn threads bench — ${machine.cpu}, ${machine.cores} logical cores, Node ${process.versions.node}`);
log(`build ${backend}; threads ${THREADS.join(", ")}; calibration ${JSON.stringify(calibration)}`);
for (const [key, why] of Object.entries(skipped)) log(`  ${key}: ${why}`);

const sameBits = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/**
 * One implementation on one workload: { r, output }, r its measurement (or
 * why it has none). PyTorch times itself in its own process; the others run
 * here, the first call's output kept for the check, then timed.
 */
async function timeImpl(impl, ctx) {
  if (impl.key === "torch") {
    const { measured, output } = await torch.prepare(ctx, POLICY);
    return { r: measured, output };
  }
  const prepared = await factory(impl).prepare(ctx);
  try {
    const r = {};
    if (prepared.runtime) {
      r.threadsInUse = prepared.runtime.threads ?? 1;
      r.threadsFallback = prepared.runtime.threadsFallback ?? null;
    }
    const t = harness.nowMs();
    const output = prepared.toOutput(await harness.call(prepared.run));
    Object.assign(r, await harness.measure(prepared.run, POLICY), { firstMs: harness.nowMs() - t });
    return { r, output };
  } finally {
    prepared.dispose();
  }
}

const results = [];
for (const [name, spec] of workloads) {
  const D = spec.bidirectional ? 2 : 1;
  const dims = { T: spec.seq, B: spec.batch, I: spec.input, H: spec.hidden, D, L: spec.layers };
  const entry = { name, spec, flops: harness.flops(spec), impls: {}, loadavg: os.loadavg()[0] };
  results.push(entry);
  log(`\n${name} (${spec.desc})`);
  const source = features.simd ? "simd" : "scalar";
  const stateDict = await seededStateDict(lib, spec, { backend: source, module: kernels[source].module });
  const ctx = { name, spec, x: harness.makeInput(spec), lengths: spec.lengths ?? null, stateDict, dims };
  const outputs = {};
  for (const impl of IMPLS.filter((i) => !skipped[i.key])) {
    let line;
    try {
      const { r, output } = await timeImpl(impl, ctx);
      entry.impls[impl.key] = { key: impl.key, ...r, gflops: entry.flops / (r.medianMs * 1e6) };
      outputs[impl.key] = output;
      line = `${harness.fmtMs(r.medianMs).padStart(9)} ms  cpu ${harness.fmtMs(r.cpuMs).padStart(9)} ms  (${r.runs} runs)`;
    } catch (e) {
      const unsupported = e instanceof Unsupported;
      const why = unsupported ? e.message : e.message.split("\n")[0];
      entry.impls[impl.key] = { key: impl.key, [unsupported ? "unsupported" : "error"]: why };
      line = `${unsupported ? "cannot run this workload" : "error"}: ${why}`;
    }
    log(`  ${impl.label.padEnd(36)} ${line}`);
  }
  // Threads must not change a bit of the output (issue 13); the peers within the usual tolerance.
  const reference = outputs.t1;
  for (const [key, out] of Object.entries(outputs)) {
    if (!reference || key === "t1") continue;
    const r = entry.impls[key];
    if (IMPLS.find((i) => i.key === key).ours) r.identical = sameBits(reference, out);
    else r.check = harness.compareRows(reference, out, spec, D * (spec.proj || spec.hidden), 1e-4);
    if (r.identical === false || r.check?.ok === false) log(`  ✗ ${key}: output differs from 1 thread's`);
  }
}
lib.terminate?.();

machine.loadavgEnd = os.loadavg();
const threadedBuilds = Object.fromEntries(
  ["scalar", "simd", "relaxed"]
    .map((b) => [b, join(harness.ROOT, "build", `rnn.${b}-threads.wasm`)])
    .filter(([, file]) => existsSync(file))
    .map(([b, file]) => [b, statSync(file).size]),
);
const { renderThreadsMarkdown, renderThreadsSvg } = await import("./threads_report.mjs");
const report = {
  kind: "threads",
  machine,
  versions: VERSIONS,
  source: harness.describeSource(kernels),
  threadedBuilds,
  features,
  backend,
  calibration,
  threads: THREADS,
  ortThreads: ORT_THREADS,
  policy: POLICY,
  quick: opts.quick,
  steps: opts.steps,
  results,
  skipped,
  notes,
  impls: IMPLS,
  totalSeconds: (Date.now() - startedAt) / 1e3,
  command: harness.commandLine(),
};
const markdown = renderThreadsMarkdown(report);
console.log(markdown);
const partial = Boolean(opts.quick || opts.only || opts.steps || opts.skip.size || opts.threads || opts.backend);
const outDir = harness.saveResults(partial, {
  "threads.md": markdown,
  "threads.svg": renderThreadsSvg(report),
  "threads.json": report,
});
log(`\nwrote ${outDir}/{threads.md,threads.svg,threads.json} — ${report.totalSeconds.toFixed(0)} s in total`);
