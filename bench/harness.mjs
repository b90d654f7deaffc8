// What the forward benchmark (run.mjs) and the training benchmark (train.mjs)
// share: arguments, the preflight that loads wasm-rnn and its kernel builds,
// the workloads and their inputs, the timing loop, and the description of
// the machine, the source and the peers' versions.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, "..");
const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";

// ---------------------------------------------------------------- arguments

/**
 * Parses `--name value` / `--name=value` options. `spec` maps each option
 * name (without "--") to "flag" (true when present), "list" (comma-separated,
 * null when absent), "set" (comma-separated, repeatable, a Set) or
 * `{ integer: min, message }` (null when absent). Keys of the result are
 * camelCased. `--help` prints `usage` and exits.
 */
export function parseArgs(argv, spec, usage) {
  const key = (name) => name.replace(/-(\w)/g, (_, c) => c.toUpperCase());
  const opts = {};
  for (const [name, kind] of Object.entries(spec))
    opts[key(name)] = kind === "flag" ? false : kind === "set" ? new Set() : null;
  const list = (text) =>
    text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      console.log(usage);
      process.exit(0);
    }
    const name = /^--([\w-]+)/.exec(a)?.[1];
    const kind = spec[name];
    if (!kind) throw new Error(`unknown argument ${a} (try --help)`);
    if (kind === "flag") {
      opts[key(name)] = true;
      continue;
    }
    const eq = a.indexOf("=");
    let value = eq >= 0 ? a.slice(eq + 1) : null;
    if (value === null) {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      value = argv[++i];
    }
    if (kind === "list") opts[key(name)] = list(value);
    else if (kind === "set") list(value).forEach((s) => opts[key(name)].add(s));
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < kind.integer) throw new Error(kind.message);
      opts[key(name)] = n;
    }
  }
  return opts;
}

// ------------------------------------------------------------- preflight

/**
 * Checks dist/, build/ and the peers in bench/node_modules, imports wasm-rnn,
 * re-runs the calling script with the relaxed-SIMD flag where Node needs it,
 * and compiles each kernel build once. Returns { lib, features, kernels }:
 * kernels[backend] = { sha256, bytes, module (null where the runtime cannot
 * validate the build) }.
 */
export async function loadWasmRnn(peers) {
  const distEntry = join(ROOT, "dist", "node.js");
  if (!existsSync(distEntry) || !existsSync(join(ROOT, "build", "rnn.simd.wasm"))) {
    console.error("bench: dist/ or build/ is missing: run `npm run build` at the repository root first.");
    process.exit(1);
  }
  for (const dep of peers) {
    if (!existsSync(join(HERE, "node_modules", dep, "package.json"))) {
      console.error(`bench: ${dep} is not installed: run \`npm ci\` in bench/ first.`);
      process.exit(1);
    }
  }

  const lib = await import(pathToFileURL(distEntry).href);

  // Node 20 (V8 11.3) validates relaxed SIMD only behind a V8 flag, which Node
  // refuses in NODE_OPTIONS. Re-run the script with the flag when the runtime
  // accepts it, so that the benchmark measures the relaxed build wherever it
  // can run; newer Node validates it without the flag.
  if (!lib.detectFeatures().relaxedSimd && !process.execArgv.includes(RELAXED_FLAG)) {
    const accepted = spawnSync(process.execPath, [RELAXED_FLAG, "-e", ""]).status === 0;
    if (accepted) {
      const r = spawnSync(process.execPath, [RELAXED_FLAG, ...process.execArgv, ...process.argv.slice(1)], {
        stdio: "inherit",
      });
      process.exit(r.status ?? 1);
    }
  }
  const features = lib.detectFeatures();

  // Compile each kernel build once, now: every model then uses this snapshot,
  // even if build/ is rewritten while the benchmark runs.
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
  return { lib, features, kernels };
}

/** Why a build cannot run here, or null. */
export function unavailableReason(backend, features) {
  if (backend === "simd" && !features.simd) return "this runtime does not validate WebAssembly SIMD";
  if (backend === "relaxed" && !features.relaxedSimd)
    return `this runtime does not validate relaxed SIMD (Node 20 needs ${RELAXED_FLAG})`;
  return null;
}

export const peerVersion = (name) =>
  JSON.parse(readFileSync(join(HERE, "node_modules", name, "package.json"), "utf8")).version;

/**
 * TF.js on its wasm backend, one thread: { tf, simd } or { error }.
 */
async function loadTfjs() {
  const tf = await import("@tensorflow/tfjs");
  const tfWasm = await import("@tensorflow/tfjs-backend-wasm");
  // The non-threaded SIMD binary: Node has SharedArrayBuffer, so without these
  // the backend would pick the threaded build and start a pthread pool.
  tfWasm.setThreadsCount(1);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  if (!(await tf.setBackend("wasm"))) return { error: "tf.setBackend('wasm') failed" };
  await tf.ready();
  return { tf, simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") };
}

/**
 * Loads TF.js (unless skipped) and asks the PyTorch peer `torch` to describe
 * itself (unless skipped): fills `skipped` with why a peer cannot run,
 * `versions` with what ran, `notes` with what the report must say. Returns tf
 * (null when skipped).
 */
export async function loadPeers(torch, { skipped, versions, notes }) {
  let tf = null;
  if (!skipped.tfjs) {
    const loaded = await loadTfjs();
    if (loaded.error) skipped.tfjs = loaded.error;
    else {
      tf = loaded.tf;
      versions.tfjsSimd = loaded.simd;
    }
  }
  // Asked of a process with the jobs' environment, so it is the BLAS the timings used.
  if (!skipped.torch) {
    const probed = probeTorch(torch);
    if (probed.error) skipped.torch = probed.error;
    else {
      const { versions: own, note } = torchVersions(probed.info);
      Object.assign(versions, own);
      if (note) notes.push(note);
    }
  }
  return tf;
}

/** Asks a PyTorch peer (peers.mjs's `pytorch`) to describe itself: { info } or { error }, why it is skipped. */
function probeTorch(torch) {
  const why = torch.available();
  if (why) return { error: `PyTorch skipped: ${why}` };
  try {
    return { info: torch.info() };
  } catch (e) {
    return { error: `PyTorch skipped: ${e.message}` };
  }
}

/**
 * The versions entries of a PyTorch peer (from `pytorch(…).info()`), and a
 * note when its BLAS is not OpenBLAS.
 */
function torchVersions(info) {
  const versions = {
    torch: info.version,
    torchIsa: info.isa,
    torchBlas: info.blasInfo,
    torchBlasLib: blasName(info.blas),
    torchBlasFiles: info.blas,
    torchLdLibraryPath: info.ldLibraryPath,
  };
  const note = /^OpenBLAS/.test(versions.torchBlasLib)
    ? null
    : `PyTorch did not run on OpenBLAS but on ${versions.torchBlasLib}: install Debian's libopenblas0-pthread; its numbers understate native PyTorch.`;
  return { versions, note };
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

// ------------------------------------------------------------- workloads

export const FAMILIES = ["rnn", "lstm", "gru"];

/**
 * workloads.json: the project's shared RNN workloads verbatim, then LSTM and
 * GRU ones that take the shape of the workload named by `like` (keys starting
 * with "_" are comments). Returns [name, spec] pairs in the file's order.
 */
export function loadWorkloads() {
  const listed = Object.entries(JSON.parse(readFileSync(join(HERE, "workloads.json"), "utf8"))).filter(
    ([name]) => !name.startsWith("_"),
  );
  return listed.map(([name, entry]) => {
    if (!entry.like) return [name, { mode: "rnn", ...entry }];
    const { like, ...own } = entry;
    const { nonlinearity, ...shape } = Object.fromEntries(listed)[like];
    return [name, { ...shape, ...own }];
  });
}

/**
 * The workloads named by `only` (names or families rnn/lstm/gru; all when
 * null), each shortened to `steps` time steps when given. Exits with the
 * list of names on an unknown one.
 */
export function selectWorkloads(all, only, steps) {
  if (only) {
    const unknown = only.filter((n) => !FAMILIES.includes(n.toLowerCase()) && !all.some(([w]) => w === n));
    if (unknown.length) {
      console.error(
        `bench: unknown workload(s) ${unknown.join(", ")}; have ${all.map(([w]) => w).join(", ")} and the families ${FAMILIES.join(", ")}`,
      );
      process.exit(1);
    }
  }
  return all
    .filter(([name, spec]) => !only || only.includes(name) || only.some((n) => n.toLowerCase() === spec.mode))
    .map(([name, spec]) => [name, steps ? shorten(spec, steps) : spec]);
}

/** The workload with at most `steps` time steps; P's lengths scale with it and stay sorted. */
function shorten(spec, steps) {
  if (spec.seq <= steps) return spec;
  const lengths = spec.lengths?.map((n) => Math.max(1, Math.round((n * steps) / spec.seq)));
  return { ...spec, seq: steps, ...(lengths ? { lengths } : {}) };
}

const GATES = { rnn: 1, lstm: 4, gru: 3 };

/**
 * Effective FLOPs of a forward, per layer and direction: 2·steps·G·(in·H + H·R),
 * plus 2·steps·H·R for an LSTM's projection (R = projSize, else R = H and no
 * projection); G = 1 for RNN, 4 for LSTM, 3 for GRU; in = D·R above layer 0;
 * steps = real (batch, time) rows.
 */
export function flops(spec) {
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

/** `n` deterministic numbers in [-1, 1) from `seed` (mulberry32). */
export function uniform(n, seed) {
  let s = (seed * 0x9e3779b1) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (2 * ((t ^ (t >>> 14)) >>> 0)) / 4294967296 - 1;
  }
  return out;
}

/** A workload's deterministic input in [-1, 1), time-major, zero past each sequence's length. */
export function makeInput(spec) {
  const { seq: T, batch: B, input: I } = spec;
  const x = uniform(T * B * I, spec.seed);
  // Zero padding is what a padded batch holds, and what TF.js's Masking layer keys on.
  if (spec.lengths) {
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++) if (t >= spec.lengths[b]) x.fill(0, (t * B + b) * I, (t * B + b + 1) * I);
  }
  return x;
}

// ---------------------------------------------------------------- timing

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

export async function call(fn) {
  const r = fn();
  return r !== null && typeof r === "object" && typeof r.then === "function" ? await r : r;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The forward benchmarks' timing policy (for `measure`): a full run's, or a
 * smoke run's (`quick`: few calls, rough numbers). Warm-up runs until V8 has
 * tiered up: wasm starts in Liftoff and a function is swapped for its
 * TurboFan code only at its next call, so a workload must be called many
 * times, not merely run long; JS hot loops need OSR the same way. Calls of
 * several seconds (naive JS, PyTorch on L) are capped by time, then sampled
 * at least capMinRuns times.
 */
export function timingPolicy(quick) {
  return quick
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
}

/**
 * Times `fn`: warm-up calls until V8 has tiered up (wasm starts in Liftoff and
 * a function is swapped for its TurboFan code only at its next call, so a
 * workload must be called many times, not merely run long; JS hot loops need
 * OSR the same way), then sampled calls. `policy`: { warmSeconds, warmCalls,
 * warmCapSeconds, warmMinCalls, minRuns, minSeconds, capSeconds, capMinRuns };
 * calls of seconds are capped by time, then sampled at least capMinRuns times.
 */
export async function measure(fn, policy) {
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

export function fmtMs(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

// ------------------------------------------------------------ cross-check

/**
 * Max |ref − got| over the valid (t, b) rows of time-major [T, B, width]
 * arrays (t < length of b): padded rows differ by convention (zeros, or
 * TF.js's carried-over outputs) and are not part of the result. Tolerance
 * `rtol` scaled by the reference's magnitude.
 */
export function compareRows(ref, got, spec, width, rtol) {
  const { seq: T, batch: B } = spec;
  if (!got || got.length !== ref.length)
    return { maxAbs: Infinity, tol: 0, ok: false, why: `length ${got?.length} ≠ ${ref.length}` };
  let maxAbs = 0;
  let maxRef = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      if (spec.lengths && t >= spec.lengths[b]) continue;
      const o = (t * B + b) * width;
      for (let j = 0; j < width; j++) {
        const d = Math.abs(ref[o + j] - got[o + j]);
        // NaN must fail, and `d > maxAbs` is false for NaN.
        maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
        maxRef = Math.max(maxRef, Math.abs(ref[o + j]));
      }
    }
  }
  const tol = rtol * Math.max(1, maxRef);
  return { maxAbs, tol, ok: maxAbs <= tol };
}

// ------------------------------------------------------------- description

/** Which wasm-rnn was measured: the commit, whether the sources differ from it, the kernels' hashes. */
export function describeSource(kernels) {
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

export function describeMachine() {
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

// ------------------------------------------------------------------ output

/** How the script was run, for the report. */
export function commandLine() {
  return `node ${relative(process.cwd(), process.argv[1])} ${process.argv.slice(2).join(" ")}`.trim();
}

/**
 * Writes `files` ({ name: text }, or an object for JSON) to bench/results, or
 * to bench/results/partial for a partial run so it never overwrites the
 * published numbers. Returns the directory, relative to the repository.
 */
export function saveResults(partial, files) {
  const dir = join(HERE, "results", partial ? "partial" : "");
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const text =
      typeof content === "string"
        ? content
        : `${JSON.stringify(content, (_k, v) => (v === Infinity ? "Infinity" : v), 2)}\n`; // render.mjs reads "Infinity" back
    writeFileSync(join(dir, name), text);
  }
  return relative(ROOT, dir) || ".";
}
