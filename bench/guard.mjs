#!/usr/bin/env node
// What the kernel's write guard costs (issue 15): forward time with the guard
// (this checkout) against without it (a git ref before it, built once into a
// temporary directory), on the workloads where a per-call cost weighs most:
// one streaming step per call (batch 1, one time step), a one-row Linear, and
// RNN S1 / S2 and LSTM-M of bench/workloads.json at their full lengths; then
// the smallest calls of three kernel exports on their own.
//
//   node bench/guard.mjs [--base <git ref>] [--rounds N] [--backend simd|relaxed|scalar]
//
// Prerequisite: `npm run build` here. The base (default: the commit before the
// guard, abcbc1c) is built with its own scripts/build.mjs into
// $TMPDIR/wasm-rnn-guard-<sha>/ on first use. Each round is a fresh process
// that loads both packages side by side and times them in alternating batches
// (A B, B A, …), so the drift of a shared machine falls on both alike; the
// report gives per workload the medians over rounds and the guard's paired
// difference (each round's guard median against the same round's base
// median): its median and its range over the rounds.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Calls per timed batch and batches per workload: a batch lasts tens of milliseconds. */
const WORKLOADS = {
  "step RNN 64→128": { calls: 4000, batches: 15 },
  "step LSTM 64→128": { calls: 2000, batches: 15 },
  "Linear 64→64, 1 row": { calls: 8000, batches: 15 },
  "S1 RNN 64→128 ×256": { calls: 40, batches: 15 },
  "S2 RNN 256→512 ×128": { calls: 8, batches: 15 },
  "LSTM-M 256→256 L2 b8 ×128": { calls: 2, batches: 11 },
};

function argument(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

if (process.argv[2] === "--round") await round(process.argv[3], process.argv[4]);
else parent();

// ------------------------------------------------------------------ round

/**
 * One round: both packages in this process, every workload timed in
 * alternating batches, then the kernel calls. Prints
 * { workloads: { name: { base, guard } } µs per call, calls: { name: { base, guard } } ns per call }.
 */
async function round(baseDir, backend) {
  const dirs = { base: baseDir, guard: ROOT };
  const runners = {};
  for (const [v, dir] of Object.entries(dirs)) {
    const lib = await import(pathToFileURL(join(dir, "dist", "node.js")).href);
    await lib.init({ backend });
    runners[v] = workloadsOf(lib);
  }
  const workloads = {};
  for (const [name, { calls, batches }] of Object.entries(WORKLOADS)) {
    const run = { base: runners.base[name](), guard: runners.guard[name]() };
    workloads[name] = alternate(run, calls, batches, 1e3);
  }
  console.log(JSON.stringify({ workloads, calls: await kernelCalls(baseDir, backend) }));
}

/**
 * Times `run.base` and `run.guard` in `batches` alternating batches of `calls`
 * calls each (after one warm-up batch); returns their median time per call in
 * ns / `unit`.
 */
function alternate(run, calls, batches, unit) {
  const times = { base: [], guard: [] };
  for (let b = -1; b < batches; b++) {
    for (const v of b % 2 === 0 ? ["base", "guard"] : ["guard", "base"]) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) run[v]();
      if (b >= 0) times[v].push(Number(process.hrtime.bigint() - start) / unit / calls);
    }
  }
  return { base: median(times.base), guard: median(times.guard) };
}

/** The workloads on one copy of the package: name → () => one call. */
function workloadsOf(lib) {
  const sine = (shape, phase) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return new lib.Tensor(
      Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + phase)),
      shape,
    );
  };
  const recurrent = (Kind, options, shape) => () => {
    const model = new Kind({ ...options, seed: 1 });
    const x = sine(shape, 0.1);
    return () => model.forward(x);
  };
  const streaming = (Kind) => () => {
    const model = new Kind({ inputSize: 64, hiddenSize: 128, seed: 1 });
    const x = sine([1, 1, 64], 0.2);
    let state = null;
    return () => {
      const [, next] = state === null ? model.forward(x) : model.forward(x, state);
      state = next;
    };
  };
  return {
    "step RNN 64→128": streaming(lib.RNN),
    "step LSTM 64→128": streaming(lib.LSTM),
    "Linear 64→64, 1 row": () => {
      const model = new lib.Linear({ inFeatures: 64, outFeatures: 64, seed: 1 });
      const x = sine([1, 64], 0.3);
      return () => model.forward(x);
    },
    "S1 RNN 64→128 ×256": recurrent(lib.RNN, { inputSize: 64, hiddenSize: 128 }, [256, 1, 64]),
    "S2 RNN 256→512 ×128": recurrent(lib.RNN, { inputSize: 256, hiddenSize: 512 }, [128, 1, 256]),
    "LSTM-M 256→256 L2 b8 ×128": recurrent(lib.LSTM, { inputSize: 256, hiddenSize: 256, numLayers: 2 }, [128, 8, 256]),
  };
}

/**
 * The guard's own cost per call: the smallest calls of three exports on the
 * two builds' own instances (the guarded one preceded by set_write_window, as
 * the host calls it), in ns per call.
 */
async function kernelCalls(baseDir, backend) {
  const load = async (dir) => {
    const bytes = readFileSync(join(dir, "build", `rnn.${backend}.wasm`));
    return (await WebAssembly.instantiate(bytes, {})).instance.exports;
  };
  const variants = { base: await load(baseDir), guard: await load(ROOT) };
  const calls = {};
  for (const [v, k] of Object.entries(variants)) {
    const block = k.alloc(64 * 1024);
    new Float32Array(k.memory.buffer, block, 16 * 1024).fill(0.25);
    // Every operand in its own 4 KiB of the one block the calls may write.
    const [y, c, x, p, wIh, bias, wHh, h0, c0, bs] = [0, 7, 1, 2, 3, 4, 5, 6, 8, 15].map((i) => block + i * 4096);
    new Int32Array(k.memory.buffer, bs, 1).set([1]);
    const open = v === "guard" ? () => k.set_write_window(block) : () => {};
    calls[v] = {
      "gemm 1×8×8": () => {
        open();
        k.gemm(y, 8, x, 8, wIh, 0, 0, 1, 8, 8, 0);
      },
      "rnn_layer 1 step, 8→8": () => {
        open();
        k.rnn_layer(y, x, 8, 8, p, wIh, bias, wHh, h0, bs, 1, 8, 1, 1);
      },
      "lstm_layer 1 step, 8→8": () => {
        open();
        k.lstm_layer(y, c, x, 8, 8, p, wIh, bias, wHh, 0, 0, h0, c0, bs, 1, 8, 0, 1);
      },
    };
  }
  const result = {};
  for (const name of Object.keys(calls.base)) {
    result[name] = alternate({ base: calls.base[name], guard: calls.guard[name] }, 100_000, 21, 1);
  }
  return result;
}

// ----------------------------------------------------------------- parent

function parent() {
  const rounds = Number(argument("--rounds", "5"));
  const backend = argument("--backend", "simd");
  const ref = argument("--base", "abcbc1c");
  const base = buildBase(ref);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const out = spawnSync(
      process.execPath,
      ["--experimental-wasm-relaxed-simd", fileURLToPath(import.meta.url), "--round", base, backend],
      { encoding: "utf8" },
    );
    if (out.status !== 0) throw new Error(`round ${r + 1} failed: ${out.stderr}`);
    results.push(JSON.parse(out.stdout.trim().split("\n").at(-1)));
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `write guard A/B, ${backend} build, ${rounds} rounds, ${cpu}, Node ${process.version}, load ${loadAverage()}`,
  );
  console.log(`base: ${ref}; guard: ${git(["rev-parse", "--short", "HEAD"], ROOT)}${dirty()}`);
  table(results, "workloads", "forward", "µs/call", (r) => r.guard / r.base - 1, percent);
  table(
    results,
    "calls",
    "smallest kernel call",
    "ns/call",
    (r) => r.guard - r.base,
    (ns) => `${ns.toFixed(1)} ns`,
  );
}

/**
 * One table: per row the base and guard medians over rounds, and the guard's
 * difference paired within each round (`pair`), its median and range.
 */
function table(results, key, title, unit, pair, format) {
  console.log("");
  console.log(`| ${title} | base ${unit} | guard ${unit} | guard − base: median (range over rounds) |`);
  console.log("|---|---|---|---|");
  for (const name of Object.keys(results[0][key])) {
    const rows = results.map((r) => r[key][name]);
    const paired = rows.map(pair);
    console.log(
      `| ${name} | ${fmt(median(rows.map((r) => r.base)))} | ${fmt(median(rows.map((r) => r.guard)))} | ` +
        `${format(median(paired))} (${format(Math.min(...paired))} … ${format(Math.max(...paired))}) |`,
    );
  }
}

/** The package at `ref`, built once into a temporary directory; returns its root. */
function buildBase(ref) {
  const sha = git(["rev-parse", "--short", ref], ROOT);
  const dir = join(os.tmpdir(), `wasm-rnn-guard-${sha}`);
  if (existsSync(join(dir, "dist", "node.js"))) return dir;
  mkdirSync(dir, { recursive: true });
  execFileSync("sh", ["-c", `git -C "${ROOT}" archive ${sha} | tar -x -C "${dir}"`], { stdio: "inherit" });
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: dir, stdio: "inherit" });
  return dir;
}

function git(args, cwd) {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

function dirty() {
  return git(["status", "--porcelain", "--untracked-files=no"], ROOT) === "" ? "" : " (with uncommitted changes)";
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percent(x) {
  return `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`;
}

function loadAverage() {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
}

function fmt(us) {
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}
