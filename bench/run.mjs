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

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    only: null,
    skip: new Set(),
    quick: false,
    steps: null,
    torchThreads: null,
    python: process.env.BENCH_PYTHON || "/usr/bin/python3",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf("=");
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--quick") opts.quick = true;
    else if (a.startsWith("--steps")) {
      opts.steps = Number(value());
      if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new Error("--steps needs a positive integer");
    } else if (a.startsWith("--only"))
      opts.only = value()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a.startsWith("--skip"))
      value()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .forEach((s) => opts.skip.add(s));
    else if (a.startsWith("--torch-threads")) {
      opts.torchThreads = Number(value());
      if (!Number.isInteger(opts.torchThreads) || opts.torchThreads < 2)
        throw new Error("--torch-threads needs an integer ≥ 2");
    } else if (a === "--help" || a === "-h") {
      console.log(
        [
          "usage: node bench/run.mjs [--only S1,L,lstm,gru] [--quick] [--steps N] [--skip scalar,simd,relaxed,ort,tfjs,naive,torch]",
          "                          [--torch-threads N]",
          "  --only           workloads by name (S1, LSTM-M, …) or by family (rnn, lstm, gru)",
          "  --quick          a smoke run: few calls, rough numbers",
          "  --steps          shorten every sequence to at most N steps (P's lengths in proportion): a smoke run",
          "  --torch-threads  also time PyTorch with N threads, beside the 1-thread column",
        ].join("\n"),
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// ------------------------------------------------------------- preflight

const distEntry = join(ROOT, "dist", "node.js");
if (!existsSync(distEntry) || !existsSync(join(ROOT, "build", "rnn.simd.wasm"))) {
  console.error("bench: dist/ or build/ is missing: run `npm run build` at the repository root first.");
  process.exit(1);
}
for (const dep of ["onnxruntime-web", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"]) {
  if (!existsSync(join(HERE, "node_modules", dep, "package.json"))) {
    console.error(`bench: ${dep} is not installed: run \`npm ci\` in bench/ first.`);
    process.exit(1);
  }
}

const lib = await import(pathToFileURL(distEntry).href);

// Node 20 (V8 11.3) validates relaxed SIMD only behind a V8 flag, which Node
// refuses in NODE_OPTIONS. Re-run this script with the flag when the runtime
// accepts it, so that `node bench/run.mjs` measures the relaxed build wherever
// it can run; newer Node validates it without the flag.
if (!lib.detectFeatures().relaxedSimd && !process.execArgv.includes(RELAXED_FLAG)) {
  const accepted = spawnSync(process.execPath, [RELAXED_FLAG, "-e", ""]).status === 0;
  if (accepted) {
    const r = spawnSync(
      process.execPath,
      [RELAXED_FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
      { stdio: "inherit" },
    );
    process.exit(r.status ?? 1);
  }
}
const features = lib.detectFeatures();

// Compile each kernel build once, now: every model and the GEMM peak then use
// this snapshot, even if build/ is rewritten while the benchmark runs.
const { createHash } = await import("node:crypto");
const kernels = {};
for (const backend of ["scalar", "simd", "relaxed"]) {
  const bytes = readFileSync(join(ROOT, "build", `rnn.${backend}.wasm`));
  kernels[backend] = {
    sha256: createHash("sha256").update(bytes).digest("hex").slice(0, 12),
    bytes: bytes.length,
    module:
      (backend === "simd" && !features.simd) || (backend === "relaxed" && !features.relaxedSimd)
        ? null
        : await WebAssembly.compile(bytes),
  };
}

const { Unsupported, moduleClass, moduleOptions, wasmRnn, onnxruntimeWeb, tfjsWasm, naiveJs, pytorch } = await import(
  "./peers.mjs"
);

// ------------------------------------------------------------- workloads

// workloads.json: the project's shared RNN workloads verbatim, then LSTM and
// GRU ones that take the shape of the workload named by `like` (keys starting
// with "_" are comments).
const listed = Object.entries(JSON.parse(readFileSync(join(HERE, "workloads.json"), "utf8"))).filter(
  ([name]) => !name.startsWith("_"),
);
const allWorkloads = listed.map(([name, entry]) => {
  if (!entry.like) return [name, { mode: "rnn", ...entry }];
  const { like, ...own } = entry;
  const { nonlinearity, ...shape } = Object.fromEntries(listed)[like];
  return [name, { ...shape, ...own }];
});
const FAMILIES = ["rnn", "lstm", "gru"];
if (opts.only) {
  const unknown = opts.only.filter((n) => !FAMILIES.includes(n.toLowerCase()) && !allWorkloads.some(([w]) => w === n));
  if (unknown.length) {
    console.error(
      `bench: unknown workload(s) ${unknown.join(", ")}; have ${allWorkloads.map(([w]) => w).join(", ")} and the families ${FAMILIES.join(", ")}`,
    );
    process.exit(1);
  }
}
const workloads = allWorkloads
  .filter(
    ([name, spec]) => !opts.only || opts.only.includes(name) || opts.only.some((n) => n.toLowerCase() === spec.mode),
  )
  .map(([name, spec]) => [name, opts.steps ? shorten(spec, opts.steps) : spec]);

/** The workload with at most `steps` time steps; P's lengths scale with it and stay sorted. */
function shorten(spec, steps) {
  if (spec.seq <= steps) return spec;
  const lengths = spec.lengths?.map((n) => Math.max(1, Math.round((n * steps) / spec.seq)));
  return { ...spec, seq: steps, ...(lengths ? { lengths } : {}) };
}

const GATES = { rnn: 1, lstm: 4, gru: 3 };

/**
 * Effective FLOPs per layer and direction: 2·steps·G·(in·H + H·R), plus
 * 2·steps·H·R for an LSTM's projection (R = projSize, else R = H and no
 * projection); G = 1 for RNN, 4 for LSTM, 3 for GRU; in = D·R above layer 0;
 * steps = real (batch, time) rows.
 */
function flops(spec) {
  const D = spec.bidirectional ? 2 : 1;
  const G = GATES[spec.mode];
  const H = spec.hidden;
  const R = spec.proj || H;
  const steps = spec.lengths ? spec.lengths.reduce((a, b) => a + b, 0) : spec.seq * spec.batch;
  let total = 0;
  for (let l = 0; l < spec.layers; l++) {
    const inputs = l === 0 ? spec.input : D * R;
    total += D * 2 * steps * (G * (inputs * H + H * R) + (spec.proj ? H * R : 0));
  }
  return total;
}

/** Deterministic input in [-1, 1) (mulberry32), zero past each sequence's length. */
function makeInput(spec) {
  let s = (spec.seed * 0x9e3779b1) >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const { seq: T, batch: B, input: I } = spec;
  const x = new Float32Array(T * B * I);
  for (let i = 0; i < x.length; i++) x[i] = 2 * rand() - 1;
  // Zero padding is what a padded batch holds, and what TF.js's Masking layer keys on.
  if (spec.lengths) {
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++) if (t >= spec.lengths[b]) x.fill(0, (t * B + b) * I, (t * B + b + 1) * I);
  }
  return x;
}

// ---------------------------------------------------------------- timing

// Warm-up runs until V8 has tiered up: wasm starts in Liftoff and a function
// is swapped for its TurboFan code only at its next call, so a workload must be
// called many times, not merely run long; JS hot loops need OSR the same way.
// Calls of several seconds (naive JS, PyTorch on L) are capped by time, then
// sampled at least capMinRuns times.
const POLICY = opts.quick
  ? {
      warmSeconds: 0.2,
      warmCalls: 3,
      warmCapSeconds: 1,
      warmMinCalls: 1,
      minRuns: 3,
      minSeconds: 0.2,
      capSeconds: 2,
      capMinRuns: 2,
    }
  : {
      warmSeconds: 2,
      warmCalls: 50,
      warmCapSeconds: 10,
      warmMinCalls: 2,
      minRuns: 15,
      minSeconds: 3,
      capSeconds: 20,
      capMinRuns: 5,
    };

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function call(fn) {
  const r = fn();
  return r !== null && typeof r === "object" && typeof r.then === "function" ? await r : r;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function measure(fn, policy = POLICY) {
  let start = nowMs();
  let calls = 0;
  let firstMs = 0;
  for (;;) {
    const t = nowMs();
    await call(fn);
    if (calls === 0) firstMs = nowMs() - t;
    calls++;
    const elapsed = (nowMs() - start) / 1e3;
    if (
      (elapsed >= policy.warmSeconds && calls >= policy.warmCalls) ||
      (elapsed >= policy.warmCapSeconds && calls >= policy.warmMinCalls)
    )
      break;
  }
  const warmupMs = nowMs() - start;
  const wall = [];
  const cpu = [];
  start = nowMs();
  for (;;) {
    const c = process.cpuUsage();
    const t = nowMs();
    await call(fn);
    wall.push(nowMs() - t);
    const dc = process.cpuUsage(c); // whole process, all threads: a helper thread would show as CPU > wall
    cpu.push((dc.user + dc.system) / 1e3);
    const elapsed = (nowMs() - start) / 1e3;
    if (
      (wall.length >= policy.minRuns && elapsed >= policy.minSeconds) ||
      (elapsed >= policy.capSeconds && wall.length >= policy.capMinRuns)
    )
      break;
  }
  const sorted = [...wall].sort((a, b) => a - b);
  return {
    medianMs: median(wall),
    cpuMs: median(cpu),
    minMs: sorted[0],
    minCpuMs: Math.min(...cpu),
    p25Ms: sorted[sorted.length >> 2],
    p75Ms: sorted[(3 * sorted.length) >> 2],
    runs: wall.length,
    warmupCalls: calls,
    warmupMs,
    firstMs,
  };
}

// ------------------------------------------------------------ cross-check

/**
 * Max |ref − got| over the valid (t, b) rows (t < length of b): padded rows
 * differ by convention (zeros, or TF.js's carried-over outputs) and are not
 * part of the result. Tolerance 1e-4 scaled by the output's magnitude.
 */
function compare(ref, got, spec) {
  const D = spec.bidirectional ? 2 : 1;
  const F = D * (spec.proj || spec.hidden);
  const { seq: T, batch: B } = spec;
  if (!got || got.length !== ref.length)
    return { maxAbs: Infinity, tol: 0, ok: false, why: `length ${got?.length} ≠ ${ref.length}` };
  let maxAbs = 0;
  let maxRef = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      if (spec.lengths && t >= spec.lengths[b]) continue;
      const o = (t * B + b) * F;
      for (let j = 0; j < F; j++) {
        const d = Math.abs(ref[o + j] - got[o + j]);
        // NaN must fail, and `d > maxAbs` is false for NaN.
        maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
        maxRef = Math.max(maxRef, Math.abs(ref[o + j]));
      }
    }
  }
  const tol = 1e-4 * Math.max(1, maxRef);
  return { maxAbs, tol, ok: maxAbs <= tol };
}

// --------------------------------------------------------- implementations

const pkgVersion = (name) => JSON.parse(readFileSync(join(HERE, "node_modules", name, "package.json"), "utf8")).version;
const VERSIONS = {
  ort: pkgVersion("onnxruntime-web"),
  tfjs: pkgVersion("@tensorflow/tfjs"),
  tfjsWasm: pkgVersion("@tensorflow/tfjs-backend-wasm"),
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
if (!features.simd) skipped.simd = "this runtime does not validate WebAssembly SIMD";
if (!features.relaxedSimd && !skipped.relaxed) {
  skipped.relaxed = `this runtime does not validate relaxed SIMD (Node 20 needs ${RELAXED_FLAG})`;
}

let ort = null;
if (!skipped.ort) {
  ort = await import("onnxruntime-web");
  // One thread, in this thread: no proxy worker, no pthread pool.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
}

let tf = null;
if (!skipped.tfjs) {
  tf = await import("@tensorflow/tfjs");
  const tfWasm = await import("@tensorflow/tfjs-backend-wasm");
  // The non-threaded SIMD binary: Node has SharedArrayBuffer, so without these
  // the backend would pick the threaded build and start a pthread pool.
  tfWasm.setThreadsCount(1);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  if (!(await tf.setBackend("wasm"))) {
    skipped.tfjs = "tf.setBackend('wasm') failed";
  } else {
    await tf.ready();
    VERSIONS.tfjsSimd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  }
}

const torch = pytorch(opts.python);
const torchMt = opts.torchThreads ? pytorch(opts.python, opts.torchThreads) : null;
if (!skipped.torch) {
  const why = torch.available();
  if (why) skipped.torch = `PyTorch skipped: ${why}`;
}
// Asked of a process with the jobs' environment, so it is the BLAS the timings used.
let info = null;
if (!skipped.torch) {
  try {
    info = torch.info();
  } catch (e) {
    skipped.torch = `PyTorch skipped: ${e.message}`;
  }
}
if (skipped.torch && torchMt) skipped.torchmt = skipped.torch;
if (info) {
  VERSIONS.torch = info.version;
  VERSIONS.torchIsa = info.isa;
  VERSIONS.torchBlas = info.blasInfo;
  VERSIONS.torchBlasLib = blasName(info.blas);
  VERSIONS.torchBlasFiles = info.blas;
  VERSIONS.torchLdLibraryPath = info.ldLibraryPath;
  IMPLS.find((i) => i.key === "torch").label = `PyTorch ${VERSIONS.torch} CPU, 1 thread`;
  if (torchMt)
    IMPLS.find((i) => i.key === "torchmt").label = `PyTorch ${VERSIONS.torch} CPU, ${opts.torchThreads} threads`;
  if (!/^OpenBLAS/.test(VERSIONS.torchBlasLib)) {
    notes.push(
      `PyTorch did not run on OpenBLAS but on ${VERSIONS.torchBlasLib}: install Debian's libopenblas0-pthread; its numbers understate native PyTorch.`,
    );
  }
}

/** Names the BLAS a PyTorch process mapped (a reference BLAS makes PyTorch's GEMMs several times slower). */
function blasName(files) {
  const all = files.join(" ");
  const kind = /openblas/i.test(all)
    ? "OpenBLAS"
    : /mkl/i.test(all)
      ? "MKL"
      : /blis/i.test(all)
        ? "BLIS"
        : /atlas/i.test(all)
          ? "ATLAS"
          : /\/blas\/libblas/.test(all)
            ? "reference BLAS, netlib libblas3"
            : files.length
              ? "unknown BLAS"
              : "no BLAS library mapped";
  const main = files.find((f) => /openblas[^/]*\.so|libblas/i.test(f.split("/").pop())) ?? files[0];
  return main ? `${kind} (${main})` : kind;
}

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
  // The weights every implementation uses: wasm-rnn's seeded init, in PyTorch layout.
  const sourceBackend = features.simd ? "simd" : "scalar";
  await lib.init({ backend: sourceBackend, module: kernels[sourceBackend].module });
  const entry = { name, spec, flops: flops(spec), impls: {}, loadavg: os.loadavg()[0] };
  results.push(entry);
  log(
    `\n${name} (${spec.desc}): ${entry.flops / 1e9 < 0.1 ? `${(entry.flops / 1e6).toFixed(1)} MFLOP` : `${(entry.flops / 1e9).toFixed(2)} GFLOP`} per forward`,
  );
  let stateDict;
  try {
    const source = new (moduleClass(lib, spec))(moduleOptions(spec));
    stateDict = source.stateDict();
    source.dispose();
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
  source: describeSource(),
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
  command: `node ${relative(process.cwd(), fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(" ")}`.trim(),
};
const markdown = renderMarkdown(report);
console.log(markdown);

const partial = opts.quick || opts.only || opts.steps || opts.skip.size > 0;
const outDir = join(HERE, "results", partial ? "partial" : "");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "results.md"), markdown);
writeFileSync(join(outDir, "chart.svg"), renderSvg(report));
writeFileSync(
  join(outDir, "results.json"),
  `${JSON.stringify(report, (_k, v) => (v === Infinity ? "Infinity" : v), 2)}\n`,
);
log(
  `\nwrote ${relative(ROOT, outDir) || "."}/{results.md,chart.svg,results.json} — ${totalSeconds.toFixed(0)} s in total`,
);

function fmtMs(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** Which wasm-rnn was measured: the commit, whether the sources differ from it, the kernels' hashes. */
function describeSource() {
  const git = (...args) => spawnSync("git", ["-C", ROOT, ...args], { encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD").stdout?.trim() || null;
  const dirty = head
    ? git("status", "--porcelain", "--", "src", "assembly", "asconfig.json").stdout.trim().split("\n").filter(Boolean)
        .length
    : null;
  return {
    commit: head,
    uncommittedFiles: dirty,
    kernels: Object.fromEntries(Object.entries(kernels).map(([b, k]) => [b, { sha256: k.sha256, bytes: k.bytes }])),
  };
}

function describeMachine() {
  let cpu = os.cpus()[0]?.model ?? "unknown";
  let flags = "";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    cpu = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? cpu;
    const f = /^flags\s*:\s*(.*)$/m.exec(info)?.[1]?.split(" ") ?? [];
    const family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
    const model = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
    flags = ["avx2", "fma", "avx512f"].filter((x) => f.includes(x)).join(" ");
    if (family) cpu += ` (family ${family} model ${model})`;
  } catch {
    /* not Linux */
  }
  return {
    cpu,
    flags,
    cores: os.cpus().length,
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    loadavgStart: os.loadavg(),
  };
}
