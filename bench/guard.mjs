#!/usr/bin/env node
// What the kernel's write guard costs (issue 15): forward time with the guard
// (this checkout) against without it (a git ref before it, built once into a
// temporary directory), on the workloads where a per-call cost weighs most:
// one streaming step per call (batch 1, one time step), a one-row Linear, and
// RNN S1 / S2 and LSTM-M of bench/workloads.json at their full lengths.
//
//   node bench/guard.mjs [--base <git ref>] [--rounds N] [--backend simd|relaxed|scalar]
//
// Prerequisite: `npm run build` here. The base (default: the commit before the
// guard, abcbc1c) is built with its own scripts/build.mjs into
// $TMPDIR/wasm-rnn-guard-<sha>/ on first use. Each round times both variants,
// each in a fresh process, in alternating order (A B, B A, …), so drift of a
// shared machine falls on both; the report gives per workload the median of
// the rounds' per-call medians, their range, and the difference.

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

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4]);
else if (process.argv[2] === "--kernel-calls") await kernelCalls(process.argv[3], process.argv[4]);
else parent();

// ---------------------------------------------------------- kernel calls

/**
 * The guard's own cost per call, in one process: the smallest calls of three
 * exports on the base build against the guarded build (set_write_window, then
 * the export, as the host calls it), timed in alternating batches. Prints
 * { call: { base, guard } } in ns per call (medians of the batches).
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
  const n = 200_000;
  const result = {};
  for (const name of Object.keys(calls.base)) {
    const ns = { base: [], guard: [] };
    for (let b = 0; b < 21; b++) {
      for (const v of b % 2 === 0 ? ["base", "guard"] : ["guard", "base"]) {
        const run = calls[v][name];
        const start = process.hrtime.bigint();
        for (let i = 0; i < n; i++) run();
        ns[v].push(Number(process.hrtime.bigint() - start) / n);
      }
    }
    result[name] = { base: median(ns.base), guard: median(ns.guard) };
  }
  console.log(JSON.stringify(result));
}

// ------------------------------------------------------------------ child

/** Times every workload on the package at `dir`, prints { workload: µs per call }. */
async function child(dir, backend) {
  const lib = await import(pathToFileURL(join(dir, "dist", "node.js")).href);
  await lib.init({ backend });
  const sine = (shape, phase) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return new lib.Tensor(
      Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + phase)),
      shape,
    );
  };
  const recurrent = (Kind, options, shape) => {
    const model = new Kind({ ...options, seed: 1 });
    const x = sine(shape, 0.1);
    return () => model.forward(x);
  };
  const streaming = (Kind) => {
    const model = new Kind({ inputSize: 64, hiddenSize: 128, seed: 1 });
    const x = sine([1, 1, 64], 0.2);
    let state = null;
    return () => {
      const [, next] = state === null ? model.forward(x) : model.forward(x, state);
      state = next;
    };
  };
  const makers = {
    "step RNN 64→128": () => streaming(lib.RNN),
    "step LSTM 64→128": () => streaming(lib.LSTM),
    "Linear 64→64, 1 row": () => {
      const model = new lib.Linear({ inFeatures: 64, outFeatures: 64, seed: 1 });
      const x = sine([1, 64], 0.3);
      return () => model.forward(x);
    },
    "S1 RNN 64→128 ×256": () => recurrent(lib.RNN, { inputSize: 64, hiddenSize: 128 }, [256, 1, 64]),
    "S2 RNN 256→512 ×128": () => recurrent(lib.RNN, { inputSize: 256, hiddenSize: 512 }, [128, 1, 256]),
    "LSTM-M 256→256 L2 b8 ×128": () =>
      recurrent(lib.LSTM, { inputSize: 256, hiddenSize: 256, numLayers: 2 }, [128, 8, 256]),
  };
  const result = {};
  for (const [name, { calls, batches }] of Object.entries(WORKLOADS)) {
    const run = makers[name]();
    for (let i = 0; i < calls; i++) run();
    const perCall = [];
    for (let b = 0; b < batches; b++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) run();
      perCall.push(Number(process.hrtime.bigint() - start) / 1e3 / calls);
    }
    result[name] = median(perCall);
  }
  console.log(JSON.stringify(result));
}

// ----------------------------------------------------------------- parent

function parent() {
  const rounds = Number(argument("--rounds", "5"));
  const backend = argument("--backend", "simd");
  const ref = argument("--base", "abcbc1c");
  const base = buildBase(ref);
  const variants = { guard: ROOT, base };
  const times = { guard: [], base: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ["guard", "base"] : ["base", "guard"];
    for (const v of order) {
      const out = spawnSync(
        process.execPath,
        ["--experimental-wasm-relaxed-simd", fileURLToPath(import.meta.url), "--child", variants[v], backend],
        { encoding: "utf8" },
      );
      if (out.status !== 0) throw new Error(`${v} run failed: ${out.stderr}`);
      times[v].push(JSON.parse(out.stdout.trim().split("\n").at(-1)));
      process.stderr.write(`round ${r + 1}/${rounds} ${v} done\n`);
    }
  }
  const micro = spawnSync(
    process.execPath,
    ["--experimental-wasm-relaxed-simd", fileURLToPath(import.meta.url), "--kernel-calls", base, backend],
    { encoding: "utf8" },
  );
  if (micro.status !== 0) throw new Error(`kernel calls failed: ${micro.stderr}`);
  const perCall = JSON.parse(micro.stdout.trim().split("\n").at(-1));
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `write guard A/B, ${backend} build, ${rounds} rounds (alternating order), ${cpu}, Node ${process.version}`,
  );
  console.log(`base: ${ref}; guard: ${git(["rev-parse", "--short", "HEAD"], ROOT)}${dirty()}`);
  console.log("| workload | base µs/call (min–max) | guard µs/call (min–max) | guard − base |");
  console.log("|---|---|---|---|");
  for (const name of Object.keys(WORKLOADS)) {
    const b = times.base.map((t) => t[name]);
    const g = times.guard.map((t) => t[name]);
    const diff = (median(g) / median(b) - 1) * 100;
    console.log(
      `| ${name} | ${fmt(median(b))} (${fmt(Math.min(...b))}–${fmt(Math.max(...b))}) | ` +
        `${fmt(median(g))} (${fmt(Math.min(...g))}–${fmt(Math.max(...g))}) | ${diff >= 0 ? "+" : ""}${diff.toFixed(1)}% |`,
    );
  }
  console.log("");
  console.log("| smallest kernel call | base ns/call | guard ns/call (set_write_window + export) | guard − base |");
  console.log("|---|---|---|---|");
  for (const [name, { base: b, guard: g }] of Object.entries(perCall)) {
    console.log(`| ${name} | ${b.toFixed(1)} | ${g.toFixed(1)} | ${(g - b).toFixed(1)} ns |`);
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

function fmt(us) {
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}
