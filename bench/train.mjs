#!/usr/bin/env node
// wasm-rnn training benchmark (issue 14): what a training step (forward and
// backward) costs against the forward, on the batched workloads M, BI and L of
// each family, for wasm-rnn and, on the same model in the same run, PyTorch on
// one thread and TF.js (wasm backend) training.
//
//   node bench/train.mjs [--only M,BI,L,lstm,gru] [--skip tfjs,torch] [--quick] [--steps N] [--builds simd,relaxed]
//                        [--optimizer adam|sgd]
//
// Prerequisites as for run.mjs: `npm run build` at the root and `npm ci` in
// bench/. Writes bench/results/{train.md,train.json} for a full run; a
// partial run (--only/--quick/--skip/--steps/--builds) writes to
// bench/results/partial/ so it never overwrites the published numbers.

import os from "node:os";
import {
  commandLine,
  compareRows,
  describeMachine,
  describeSource,
  flops,
  fmtMs,
  loadPeers,
  loadWasmRnn,
  loadWorkloads,
  makeInput,
  measure,
  nowMs,
  parseArgs,
  peerVersion,
  saveResults,
  selectWorkloads,
  uniform,
  unavailableReason,
} from "./harness.mjs";
import { OPTIMIZERS, pytorch, seededStateDict, tfjsWasm, Unsupported, wasmRnn } from "./peers.mjs";
import { transposeFreeMatMul } from "./tfjs_matmul.mjs";

const BUILDS = ["scalar", "simd", "relaxed"];
const PEERS = ["torch", "tfjs"];
/** The workloads issue 14's speed goal names: M, BI and L of RNN, LSTM and GRU. */
const TRAINING_WORKLOADS = ["M", "BI", "L", "LSTM-M", "LSTM-BI", "LSTM-L", "GRU-M", "GRU-BI", "GRU-L"];

const opts = {
  ...parseArgs(
    process.argv.slice(2),
    {
      quick: "flag",
      steps: { integer: 1, message: "--steps needs a positive integer" },
      only: "list",
      skip: "set",
      builds: "list",
      optimizer: "list",
    },
    [
      "usage: node bench/train.mjs [--only M,BI,L,lstm,gru] [--skip tfjs,torch] [--quick] [--steps N] [--builds simd,relaxed]",
      "                            [--optimizer adam|sgd]",
      `  --only    workloads by name (default ${TRAINING_WORKLOADS.join(", ")}) or by family (rnn, lstm, gru: its M, BI, L)`,
      "  --skip    leave out peers: torch, tfjs",
      "  --quick   a smoke run: a call or two each, rough numbers",
      "  --steps   shorten every sequence to at most N steps: a smoke run",
      "  --builds  the wasm-rnn kernel builds to time (default: the fastest this runtime validates)",
      `  --optimizer ${Object.keys(OPTIMIZERS).join("|")}  also time a step that includes this optimizer's update (lr 1e-3)`,
    ].join("\n"),
  ),
  python: process.env.BENCH_PYTHON || "/usr/bin/python3",
};
const fail = (message) => {
  console.error(`bench: ${message} (try --help)`);
  process.exit(1);
};
if (opts.optimizer && (opts.optimizer.length !== 1 || !OPTIMIZERS[opts.optimizer[0]]))
  fail(`--optimizer: expected one of ${Object.keys(OPTIMIZERS).join(", ")}, got ${opts.optimizer.join(",")}`);
opts.optimizer = opts.optimizer?.[0] ?? null;
for (const key of opts.skip) if (!PEERS.includes(key)) fail(`--skip: unknown peer ${key}; have ${PEERS.join(", ")}`);
for (const b of opts.builds ?? [])
  if (!BUILDS.includes(b)) fail(`--builds: unknown build ${b}; have ${BUILDS.join(", ")}`);

const { lib, features, kernels } = await loadWasmRnn(["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"]);

// ------------------------------------------------------------- workloads

// Families select among the training workloads; any other unpacked workload can be named.
const all = loadWorkloads();
const pool = all.filter(([name]) => TRAINING_WORKLOADS.includes(name) || opts.only?.includes(name));
const workloads = selectWorkloads(pool, opts.only, opts.steps);
const packed = workloads.filter(([, spec]) => spec.lengths).map(([name]) => name);
if (packed.length) {
  console.error(`bench: ${packed.join(", ")}: packed workloads are not part of the training benchmark`);
  process.exit(1);
}

// ---------------------------------------------------------------- timing

// A training step costs about three forwards and TF.js's several times that,
// so the policy is shorter than run.mjs's: warm-up ≥ 1 s and ≥ 10 calls, then
// the median of ≥ 10 runs and ≥ 2 s; calls of a second or more are capped at
// 3 s of warm-up (≥ 2 calls) and 8 s of runs (≥ 5 runs). About 8–12 minutes
// for the nine workloads on one quiet core.
const POLICY = opts.quick
  ? {
      warmSeconds: 0,
      warmCalls: 1,
      warmCapSeconds: 0,
      warmMinCalls: 1,
      minRuns: 2,
      minSeconds: 0,
      capSeconds: 0,
      capMinRuns: 2,
    }
  : {
      warmSeconds: 1,
      warmCalls: 10,
      warmCapSeconds: 3,
      warmMinCalls: 2,
      minRuns: 10,
      minSeconds: 2,
      capSeconds: 8,
      capMinRuns: 5,
    };

// --------------------------------------------------------- implementations

const VERSIONS = { tfjs: peerVersion("@tensorflow/tfjs"), tfjsWasm: peerVersion("@tensorflow/tfjs-backend-wasm") };
const notes = [];
const skipped = {};
for (const key of opts.skip) skipped[key] = "skipped with --skip";

const builds = opts.builds ?? [["relaxed", "simd", "scalar"].find((b) => !unavailableReason(b, features))];
for (const b of builds) {
  const why = unavailableReason(b, features);
  if (why) skipped[b] = why;
}

const torch = pytorch(opts.python);
const tf = await loadPeers(torch, { skipped, versions: VERSIONS, notes });
if (tf) transposeFreeMatMul(tf);

// `label` names the implementation in full; `short`, in the tables' headers (the Machine section has the versions).
const IMPLS = [
  ...builds.map((b) => ({ key: b, label: `wasm-rnn ${b}`, short: `wasm-rnn ${b}`, ours: true })),
  {
    key: "torch",
    label: VERSIONS.torch ? `PyTorch ${VERSIONS.torch} CPU, 1 thread` : "PyTorch CPU, 1 thread",
    short: "PyTorch",
  },
  { key: "tfjs", label: `TF.js ${VERSIONS.tfjs} wasm`, short: "TF.js" },
];

// ------------------------------------------------------------ cross-check

/** Tolerances: the forward as run.mjs checks it; gradients sum over every step and batch row, so looser. */
const OUTPUT_RTOL = 1e-4;
const GRAD_RTOL = 1e-3;

/** Max |Δ| of every parameter's gradient (by stateDict name) against the reference's. */
function compareGradients(ref, got) {
  let maxAbs = 0;
  let maxRef = 0;
  for (const [name, r] of Object.entries(ref)) {
    const g = got[name];
    if (!g || g.length !== r.length) return { maxAbs: Infinity, tol: 0, ok: false, why: `${name} missing` };
    for (let i = 0; i < r.length; i++) {
      const d = Math.abs(r[i] - g[i]);
      maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
      maxRef = Math.max(maxRef, Math.abs(r[i]));
    }
  }
  const tol = GRAD_RTOL * Math.max(1, maxRef);
  return { maxAbs, tol, ok: maxAbs <= tol };
}

// -------------------------------------------------------------------- run

const machine = describeMachine();
const startedAt = Date.now();
const log = (...a) => console.error(...a); // progress on stderr; the table goes to stdout
log(
  `wasm-rnn training bench — ${machine.cpu}, ${machine.cores} logical cores, Node ${process.versions.node} (V8 ${process.versions.v8})`,
);
log(`policy: ${opts.quick ? "quick" : "full"} ${JSON.stringify(POLICY)}`);
for (const [key, why] of Object.entries(skipped)) log(`  ${key}: ${why}`);

/**
 * Times a prepared peer's training step (with `optimizer`'s update when given):
 * the first step, unmeasured, fills `check` when given. Null when the peer cannot train.
 */
async function timeSteps(prepared, r, optimizer, check) {
  const { step, dispose } = prepared.trainer(optimizer);
  try {
    const t = nowMs();
    step(check);
    const firstMs = nowMs() - t;
    // After the first step, which makes an optimizer's state: a step that leaks TF.js
    // tensors would slow down as the run goes on, so say so.
    const tensors = tf?.memory().numTensors;
    const measured = { ...(await measure(step, POLICY)), firstMs };
    if (r.key === "tfjs" && tf.memory().numTensors !== tensors)
      r.note = `${tf.memory().numTensors - tensors} TF.js tensors left over after the timed steps`;
    return measured;
  } finally {
    dispose();
  }
}

/** Times a prepared peer's forward (`run`), then its training step; fills r and returns what to check. */
async function timeInProcess(prepared, r) {
  const t = nowMs();
  const first = await prepared.run();
  const firstMs = nowMs() - t;
  r.forward = { ...(await measure(prepared.run, POLICY)), firstMs };
  const seen = { output: prepared.toOutput(first) };
  try {
    r.train = await timeSteps(prepared, r, null, seen);
    if (opts.optimizer) r.trainOptimizer = await timeSteps(prepared, r, opts.optimizer);
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    r.trainUnsupported = e.message;
  }
  return seen;
}

const results = [];
for (const [name, spec] of workloads) {
  const D = spec.bidirectional ? 2 : 1;
  const dims = { T: spec.seq, B: spec.batch, I: spec.input, H: spec.hidden, D, L: spec.layers };
  const x = makeInput(spec);
  // A fixed gradient of the output, as if from a loss: the same for every implementation.
  const gradOutput = uniform(spec.seq * spec.batch * D * (spec.proj || spec.hidden), 1_000_000 + spec.seed);
  const entry = { name, spec, flops: flops(spec), impls: {}, loadavg: os.loadavg()[0] };
  results.push(entry);
  log(`\n${name} (${spec.desc}): ${(entry.flops / 1e9).toFixed(2)} GFLOP per forward`);

  const sourceBackend = features.simd ? "simd" : "scalar";
  let stateDict;
  try {
    stateDict = await seededStateDict(lib, spec, { backend: sourceBackend, module: kernels[sourceBackend].module });
  } catch (e) {
    entry.error = e.message.split("\n")[0];
    notes.push(`${name} not run: ${entry.error}`);
    log(`  not run: ${entry.error}`);
    continue;
  }
  const ctx = { name, spec, x, lengths: null, stateDict, dims, gradOutput, optimizer: opts.optimizer };

  const seen = {}; // key → { output, gradInput, gradients }
  for (const impl of IMPLS) {
    if (skipped[impl.key]) continue;
    const r = { key: impl.key };
    entry.impls[impl.key] = r;
    let prepared = null;
    try {
      if (impl.key === "torch") {
        const job = await torch.prepare(ctx, POLICY);
        Object.assign(r, job.measured);
        seen.torch = job;
      } else {
        prepared = await (impl.ours ? wasmRnn(lib, impl.key, kernels[impl.key].module) : tfjsWasm(tf)).prepare(ctx);
        seen[impl.key] = await timeInProcess(prepared, r);
      }
      const ratio = r.train ? `  step ÷ forward ${(r.train.medianMs / r.forward.medianMs).toFixed(2)}×` : "";
      const withUpdate = r.trainOptimizer ? `  with ${opts.optimizer} ${fmtMs(r.trainOptimizer.medianMs)} ms` : "";
      log(
        `  ${impl.label.padEnd(32)} forward ${fmtMs(r.forward.medianMs).padStart(8)} ms  step ${r.train ? fmtMs(r.train.medianMs).padStart(8) : "       –"} ms${ratio}${withUpdate}  (${r.forward.runs} + ${r.train?.runs ?? 0} runs)`,
      );
      if (r.trainUnsupported) log(`    no training step: ${r.trainUnsupported}`);
      if (r.note) log(`    ${r.note}`);
    } catch (e) {
      r.error = e.message.split("\n")[0];
      log(`  ${impl.label.padEnd(32)} error: ${r.error}`);
    } finally {
      try {
        prepared?.dispose();
      } catch {
        /* already gone */
      }
    }
  }

  // The reference: wasm-rnn's first build, or PyTorch's gradients while wasm-rnn has no backward.
  const ours = IMPLS.find((i) => i.ours && seen[i.key])?.key;
  const outputRef = ours ?? "torch";
  const gradRef = ours && seen[ours].gradInput ? ours : "torch";
  entry.reference = { output: outputRef, gradients: gradRef };
  const width = D * (spec.proj || spec.hidden);
  for (const [key, got] of Object.entries(seen)) {
    const r = entry.impls[key];
    r.check = {};
    if (key !== outputRef && seen[outputRef])
      r.check.output = compareRows(seen[outputRef].output, got.output, spec, width, OUTPUT_RTOL);
    if (key !== gradRef && seen[gradRef]?.gradInput && got.gradInput) {
      r.check.gradInput = compareRows(seen[gradRef].gradInput, got.gradInput, spec, spec.input, GRAD_RTOL);
      // Only PyTorch and wasm-rnn keep PyTorch's parameter layout (TF.js's kernels are transposed, its biases merged).
      if (got.gradients && seen[gradRef].gradients)
        r.check.gradients = compareGradients(seen[gradRef].gradients, got.gradients);
    }
    for (const [what, c] of Object.entries(r.check))
      if (!c.ok)
        log(
          `  ✗ ${key}: ${what} differs from ${entry.reference[what === "output" ? "output" : "gradients"]}'s by ${c.maxAbs} (tolerance ${c.tol})`,
        );
  }
}

const totalSeconds = (Date.now() - startedAt) / 1e3;
machine.loadavgEnd = os.loadavg();

// ------------------------------------------------------------------ report

const { renderTrainMarkdown } = await import("./train_report.mjs");
const report = {
  machine,
  versions: VERSIONS,
  source: describeSource(kernels),
  features,
  policy: POLICY,
  quick: opts.quick,
  steps: opts.steps,
  builds,
  optimizer: opts.optimizer,
  results,
  skipped,
  notes,
  impls: IMPLS,
  totalSeconds,
  command: commandLine(),
};
const markdown = renderTrainMarkdown(report);
console.log(markdown);

const partial = opts.quick || opts.only || opts.steps || opts.skip.size > 0 || opts.builds;
const outDir = saveResults(partial, { "train.md": markdown, "train.json": report });
log(`\nwrote ${outDir}/{train.md,train.json} — ${totalSeconds.toFixed(0)} s in total`);
