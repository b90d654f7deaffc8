#!/usr/bin/env node
// Runs the as-pect kernel specs (tests/kernel/*.spec.ts) against each kernel
// build in turn: scalar, simd, relaxed (compiler flags in asconfig.<build>.json).
//
//   node tests/kernel/run.mjs [scalar|simd|relaxed ...] [--exhaustive-tanh | --exhaustive-sigmoid]
//
// Exits 1 if any build fails. --exhaustive-tanh runs only tanh.spec.ts, over
// every float in 1e-5 <= |x| <= 9.2 (332 M inputs: ~30 s a build on an idle
// 2-core machine, minutes on a busy one), to quote its error bound;
// --exhaustive-sigmoid likewise runs only sigmoid.spec.ts, over every float in
// 2^-26 <= |x|, -103.97 <= x <= 17.5 (526 M inputs: ~2-4 min a build).
// ASPECT_ENTRIES=<glob> (read by as-pect.config.js) narrows the spec files.

import { spawn } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "node_modules/@as-pect/cli/lib/test.js");
const all = ["scalar", "simd", "relaxed"];
const args = process.argv.slice(2);
// Each exhaustive sweep is a compile-time switch of one spec file.
const sweeps = {
  "--exhaustive-tanh": { spec: "tests/kernel/tanh.spec.ts", define: "TANH_EXHAUSTIVE=1" },
  "--exhaustive-sigmoid": { spec: "tests/kernel/sigmoid.spec.ts", define: "SIGMOID_EXHAUSTIVE=1" },
};
const options = args.filter((a) => a.startsWith("-"));
const exhaustive = options.length === 1 ? sweeps[options[0]] : undefined;
const builds = args.filter((a) => !a.startsWith("-"));
for (const b of [...options.filter((o) => !sweeps[o]), ...builds.filter((b) => !all.includes(b))]) {
  console.error(
    `run.mjs: unknown argument ${b} (builds: ${all.join(", ")}; options: ${Object.keys(sweeps).join(", ")})`,
  );
  process.exit(2);
}
if (options.length > 1) {
  console.error("run.mjs: one exhaustive sweep at a time");
  process.exit(2);
}

// f32x4.relaxed_madd in a one-function module. Node 20 accepts it only behind
// a V8 flag, which NODE_OPTIONS does not pass: give it to the child directly.
// biome-ignore format: laid out one wasm section a line
const relaxedProbe = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type (v128 ×3) → v128
  0x03, 0x02, 0x01, 0x00,                                     // one function
  0x0a, 0x0d, 0x01, 0x0b, 0x00,                               // code, no locals
  0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // relaxed_madd, end
]);
const relaxedFlags = WebAssembly.validate(relaxedProbe) ? [] : ["--experimental-wasm-relaxed-simd"];

let scratch = null;
function asconfigFor(build) {
  const config = join(root, `tests/kernel/asconfig.${build}.json`);
  if (!exhaustive) return config;
  scratch ??= mkdtempSync(join(tmpdir(), "kernel-specs-"));
  const file = join(scratch, `asconfig.${build}.json`);
  writeFileSync(file, JSON.stringify({ extends: config, options: { use: [exhaustive.define] } }));
  return file;
}

/** Runs as-pect for one build; resolves to { build, ok, tests, seconds }. */
function run(build) {
  const started = performance.now();
  const flags = build === "relaxed" ? relaxedFlags : [];
  const env = { ...process.env };
  if (exhaustive) env.ASPECT_ENTRIES = exhaustive.spec;
  const child = spawn(
    process.execPath,
    [...flags, cli, "--config", "as-pect.config.js", "--as-config", asconfigFor(build), "--summary"],
    { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  let inBanner = true;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    output += chunk;
    // Drop as-pect's ASCII-art banner, which comes before its version line.
    if (inBanner) {
      const at = output.indexOf("Test suite runner");
      if (at < 0) return;
      inBanner = false;
      chunk = output.slice(output.lastIndexOf("\n", at) + 1);
    }
    process.stdout.write(chunk);
  });
  process.stdout.write(`\n=== kernel specs: ${build} build ===\n`);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI colour codes (ESC [ … m) of as-pect's output.
      const counts = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(output.replace(/\x1b\[[0-9;]*m/g, ""));
      resolve({
        build,
        ok: code === 0,
        tests: counts ? `${counts[1]}/${counts[2]}` : "?",
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}

const results = [];
for (const build of builds.length ? builds : all) results.push(await run(build));
if (scratch) rmSync(scratch, { recursive: true, force: true });

const failed = results.filter((r) => !r.ok);
const parts = results.map((r) => `${r.build} ${r.ok ? "pass" : "FAIL"} ${r.tests} (${r.seconds.toFixed(1)} s)`);
console.log(`\nkernel specs: ${failed.length ? "FAILED" : "passed"} — ${parts.join(", ")}`);
process.exit(failed.length ? 1 : 0);
