#!/usr/bin/env node
// wasm-rnn benchmark: every workload of workloads.json on wasm-rnn's three
// kernel builds and on every peer, in one process and one run, so the ratios
// compare implementations measured on the same machine at the same time.
//
//   node bench/run.mjs [--only S1,L,lstm,gru] [--quick] [--skip naive,torch] [--torch-threads N]
//
// Prerequisites: `npm run build` at the root (dist/ and build/*.wasm) and
// `npm ci` in bench/. Writes bench/results/{results.md,chart.svg,results.json}
// for a full run; a partial run (--only/--quick/--skip) writes to
// bench/results/partial/ so it never overwrites the published numbers.

import os from "node:os";
import {
  call,
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
  measure as measureWith,
  nowMs,
  parseArgs,
  peerVersion,
  saveResults,
  selectWorkloads,
  timingPolicy,
  unavailableReason,
} from "./harness.mjs";

// ---------------------------------------------------------------- arguments

const opts = {
  ...parseArgs(
    process.argv.slice(2),
    {
      quick: "flag",
      steps: { integer: 1, message: "--steps needs a positive integer" },
      only: "list",
      skip: "set",
      "torch-threads": { integer: 2, message: "--torch-threads needs an integer ≥ 2" },
    },
    [
      "usage: node bench/run.mjs [--only S1,L,lstm,gru] [--quick] [--steps N] [--skip scalar,simd,relaxed,ort,tfjs,naive,torch]",
      "                          [--torch-threads N]",
      "  --only           workloads by name (S1, LSTM-M, …) or by family (rnn, lstm, gru)",
      "  --quick          a smoke run: few calls, rough numbers",
      "  --steps          shorten every sequence to at most N steps (P's lengths in proportion): a smoke run",
      "  --torch-threads  also time PyTorch with N threads, beside the 1-thread column",
    ].join("\n"),
  ),
  python: process.env.BENCH_PYTHON || "/usr/bin/python3",
};

// ------------------------------------------------------------- preflight

const { lib, features, kernels } = await loadWasmRnn([
  "onnxruntime-web",
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-backend-wasm",
]);

const { Unsupported, seededStateDict, wasmRnn, onnxruntimeWeb, tfjsWasm, naiveJs, pytorch } = await import(
  "./peers.mjs"
);

// ------------------------------------------------------------- workloads

const workloads = selectWorkloads(loadWorkloads(), opts.only, opts.steps);

// ---------------------------------------------------------------- timing

const POLICY = timingPolicy(opts.quick);

const measure = (fn) => measureWith(fn, POLICY);

// ------------------------------------------------------------ cross-check

/** The last layer's output against wasm-rnn's: tolerance 1e-4 scaled by the output's magnitude. */
const compare = (ref, got, spec) =>
  compareRows(ref, got, spec, (spec.bidirectional ? 2 : 1) * (spec.proj || spec.hidden), 1e-4);

// --------------------------------------------------------- implementations

const VERSIONS = {
  ort: peerVersion("onnxruntime-web"),
  tfjs: peerVersion("@tensorflow/tfjs"),
  tfjsWasm: peerVersion("@tensorflow/tfjs-backend-wasm"),
};

const IMPLS = [
  { key: "scalar", label: "wasm-rnn scalar", ours: true },
  { key: "simd", label: "wasm-rnn simd", ours: true },
  { key: "relaxed", label: "wasm-rnn relaxed", ours: true },
  { key: "ort", label: `onnxruntime-web ${VERSIONS.ort}` },
  { key: "tfjs", label: `TF.js ${VERSIONS.tfjs} wasm` },
  { key: "naive", label: "naive JS" },
  { key: "torch", label: "PyTorch CPU" },
];
if (opts.torchThreads) IMPLS.push({ key: "torchmt", label: `PyTorch CPU, ${opts.torchThreads} threads` });
const notes = [];
const skipped = {}; // key → reason, for the whole run

for (const impl of IMPLS) if (opts.skip.has(impl.key)) skipped[impl.key] = "skipped with --skip";
for (const backend of ["simd", "relaxed"]) {
  const why = unavailableReason(backend, features);
  if (why && !(backend === "relaxed" && skipped.relaxed)) skipped[backend] = why;
}

let ort = null;
if (!skipped.ort) {
  ort = await import("onnxruntime-web");
  // One thread, in this thread: no proxy worker, no pthread pool.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
}

const torch = pytorch(opts.python);
const torchMt = opts.torchThreads ? pytorch(opts.python, opts.torchThreads) : null;
const tf = await loadPeers(torch, { skipped, versions: VERSIONS, notes });
if (VERSIONS.torch) {
  IMPLS.find((i) => i.key === "torch").label = `PyTorch ${VERSIONS.torch} CPU, 1 thread`;
  if (torchMt)
    IMPLS.find((i) => i.key === "torchmt").label = `PyTorch ${VERSIONS.torch} CPU, ${opts.torchThreads} threads`;
}
if (skipped.torch && torchMt) skipped.torchmt = skipped.torch;

function factory(key) {
  switch (key) {
    case "scalar":
    case "simd":
    case "relaxed":
      return wasmRnn(lib, key, kernels[key].module);
    case "ort":
      return onnxruntimeWeb(ort);
    case "tfjs":
      return tfjsWasm(tf);
    case "naive":
      return naiveJs();
    case "torch":
      return torch;
    case "torchmt":
      return torchMt;
    default:
      throw new Error(key);
  }
}

// ---------------------------------------------------------------- GEMM peak

/**
 * The kernel's own GEMM (the routine behind the input projection and the
 * batched steps) on an n×n×n problem: the practical peak of this machine for
 * this code. Checks a sample of results against a float64 dot product.
 */
async function gemmPeak(backend, n) {
  const rt = await lib.init({ backend, module: kernels[backend].module });
  const k = rt.kernel;
  const alloc = (floats) => {
    const p = k.alloc(floats * 4) >>> 0;
    if (p === 0) throw new RangeError(`gemm peak: cannot allocate ${floats * 4} bytes`);
    return p;
  };
  const a = alloc(n * n);
  const w = alloc(n * n); // the right operand transposed: cols × depth, as PyTorch weights are
  // pack_panels' layout: rows rounded up to the panel width (8, assembly/abi.ts), times depth.
  const panels = alloc(Math.ceil(n / 8) * 8 * n);
  const init = alloc(Math.ceil(n / 8) * 8);
  const y = alloc(n * n);
  let mem = new Float32Array(k.memory.buffer);
  let s = 12345;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296 - 0.5;
  };
  for (let i = 0; i < n * n; i++) mem[(a >>> 2) + i] = rand();
  for (let i = 0; i < n * n; i++) mem[(w >>> 2) + i] = rand();
  mem.fill(0, init >>> 2, (init >>> 2) + Math.ceil(n / 8) * 8);
  // Each export writes only inside the block named by set_write_window (the kernel's write guard).
  k.set_write_window(panels);
  k.pack_panels(panels, w, n, n);
  k.set_write_window(y);
  const run = () => k.gemm(y, n, a, n, panels, init, 0, n, n, n, 0);
  run();
  mem = new Float32Array(k.memory.buffer);
  let maxErr = 0;
  for (let probe = 0; probe < 64; probe++) {
    const r = (probe * 977) % n;
    const c = (probe * 613 + 7) % n;
    let dot = 0;
    for (let i = 0; i < n; i++) dot += mem[(a >>> 2) + r * n + i] * mem[(w >>> 2) + c * n + i];
    maxErr = Math.max(maxErr, Math.abs(dot - mem[(y >>> 2) + r * n + c]));
  }
  if (!(maxErr < 1e-3)) throw new Error(`gemm peak ${backend} ${n}³: wrong result (max error ${maxErr})`);
  const m = await measure(run);
  for (const p of [a, w, panels, init, y]) k.free(p);
  return { backend, n, ...m, gflops: (2 * n ** 3) / (m.medianMs * 1e6), maxErr };
}

// -------------------------------------------------------------------- run

const machine = describeMachine();
const startedAt = Date.now();
const log = (...a) => console.error(...a); // progress on stderr; the table goes to stdout

log(
  `wasm-rnn bench — ${machine.cpu}, ${machine.cores} logical cores, Node ${process.versions.node} (V8 ${process.versions.v8})`,
);
log(`policy: ${opts.quick ? "quick" : "full"} ${JSON.stringify(POLICY)}`);
for (const [key, why] of Object.entries(skipped)) log(`  ${key}: ${why}`);

const peaks = [];
for (const backend of ["simd", "relaxed", "scalar"]) {
  if (skipped[backend]) continue;
  for (const n of [1024, 256]) {
    log(`GEMM peak ${backend} ${n}³ …`);
    try {
      const p = await gemmPeak(backend, n);
      peaks.push(p);
      log(
        `  ${p.gflops.toFixed(1)} GFLOP/s (${p.medianMs.toFixed(2)} ms, ${p.runs} runs, first call ${p.firstMs.toFixed(1)} ms)`,
      );
    } catch (e) {
      notes.push(`GEMM peak ${backend} ${n}³ failed: ${e.message}`);
      log(`  failed: ${e.message}`);
    }
  }
}

const results = []; // one per workload
for (const [name, spec0] of workloads) {
  const spec = { ...spec0 };
  const D = spec.bidirectional ? 2 : 1;
  const dims = { T: spec.seq, B: spec.batch, I: spec.input, H: spec.hidden, D, L: spec.layers };
  const x = makeInput(spec);
  const lengths = spec.lengths ?? null;
  const sourceBackend = features.simd ? "simd" : "scalar";
  const entry = { name, spec, flops: flops(spec), impls: {}, loadavg: os.loadavg()[0] };
  results.push(entry);
  log(
    `\n${name} (${spec.desc}): ${entry.flops / 1e9 < 0.1 ? `${(entry.flops / 1e6).toFixed(1)} MFLOP` : `${(entry.flops / 1e9).toFixed(2)} GFLOP`} per forward`,
  );
  let stateDict;
  try {
    stateDict = await seededStateDict(lib, spec, { backend: sourceBackend, module: kernels[sourceBackend].module });
  } catch (e) {
    entry.error = e.message.split("\n")[0];
    notes.push(`${name} not run: ${entry.error}`);
    log(`  not run: ${entry.error}`);
    continue;
  }
  const ctx = { name, spec, x, lengths, stateDict, dims };

  let reference = null; // wasm-rnn simd's output (scalar's when SIMD is missing)
  const outputs = {};
  for (const impl of IMPLS) {
    if (skipped[impl.key]) continue;
    const r = { key: impl.key };
    entry.impls[impl.key] = r;
    let prepared = null;
    try {
      if (impl.key === "torch" || impl.key === "torchmt") {
        const { measured, output } = await factory(impl.key).prepare(ctx, POLICY);
        Object.assign(r, measured);
        outputs[impl.key] = output;
      } else {
        prepared = await factory(impl.key).prepare(ctx);
        r.note = prepared.note;
        // The very first call (cold: Liftoff code, first-touch memory) gives the
        // output to check; its time is kept to show what the warm-up removes.
        const t = nowMs();
        const first = await call(prepared.run);
        const firstMs = nowMs() - t;
        outputs[impl.key] = prepared.toOutput(first);
        Object.assign(r, await measure(prepared.run), { firstMs });
      }
      r.gflops = entry.flops / (r.medianMs * 1e6);
      log(
        `  ${impl.label.padEnd(32)} ${fmtMs(r.medianMs).padStart(9)} ms  ${r.gflops.toFixed(2).padStart(7)} GFLOP/s  cpu ${fmtMs(r.cpuMs)} ms  (${r.runs} runs after ${r.warmupCalls} warm-up calls; first call ${fmtMs(r.firstMs)} ms)`,
      );
    } catch (e) {
      if (e instanceof Unsupported) {
        r.unsupported = e.message;
        log(`  ${impl.label.padEnd(32)} cannot run this workload: ${r.unsupported}`);
      } else {
        r.error = e.message.split("\n")[0];
        log(`  ${impl.label.padEnd(32)} error: ${r.error}`);
      }
    } finally {
      try {
        prepared?.dispose();
      } catch {
        /* already gone */
      }
    }
    if (impl.key === "simd" || (impl.key === "scalar" && skipped.simd)) reference = outputs[impl.key];
  }
  for (const [key, out] of Object.entries(outputs)) {
    if (!reference) break;
    entry.impls[key].check = compare(reference, out, spec);
    const c = entry.impls[key].check;
    if (!c.ok) log(`  ✗ ${key}: output differs from wasm-rnn's by ${c.maxAbs} (tolerance ${c.tol})`);
  }

  // Issue 3's question: what packing saves. The same batch as a padded tensor
  // (every sequence run for all T steps) against the packed one.
  if (lengths) {
    entry.packedVsPadded = [];
    for (const backend of ["scalar", "simd", "relaxed"]) {
      if (skipped[backend]) continue;
      const packedRun = entry.impls[backend];
      if (!packedRun || packedRun.error) continue;
      const p = await wasmRnn(lib, backend, kernels[backend].module).prepare({ ...ctx, lengths: null });
      try {
        const m = await measure(p.run);
        entry.packedVsPadded.push({
          backend,
          packedMs: packedRun.medianMs,
          paddedMs: m.medianMs,
          paddedCpuMs: m.cpuMs,
        });
        log(`  padded ${backend}: ${fmtMs(m.medianMs)} ms (packed ${fmtMs(packedRun.medianMs)} ms)`);
      } finally {
        p.dispose();
      }
    }
  }
}

const totalSeconds = (Date.now() - startedAt) / 1e3;
machine.loadavgEnd = os.loadavg();

// ------------------------------------------------------------------ report

const { renderMarkdown, renderSvg } = await import("./report.mjs");
const report = {
  machine,
  versions: VERSIONS,
  source: describeSource(kernels),
  features,
  policy: POLICY,
  quick: opts.quick,
  steps: opts.steps,
  peaks,
  results,
  skipped,
  notes,
  impls: IMPLS,
  totalSeconds,
  command: commandLine(),
};
const markdown = renderMarkdown(report);
console.log(markdown);

const partial = opts.quick || opts.only || opts.steps || opts.skip.size > 0;
const outDir = saveResults(partial, {
  "results.md": markdown,
  "chart.svg": renderSvg(report),
  "results.json": report,
});
log(`\nwrote ${outDir}/{results.md,chart.svg,results.json} — ${totalSeconds.toFixed(0)} s in total`);
