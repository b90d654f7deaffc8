// Runs the smoke suite (smoke.js) in Node, Deno, Bun, workerd and Chromium
// against the package as npm installs it, then the size budget; prints a line
// per runtime and a summary, and exits 1 if anything failed.
//
//   node tests/runtimes/run.mjs [--package DIR] [--keep] [node|deno|bun|workerd|chromium|size ...]
//
// --package tests another build of the package (a directory with its
// package.json, dist/ and build/), e.g. the broken one broken-kernel.mjs makes;
// --keep leaves the temporary project in place for a look.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeConsumer } from "./lib/consumer.mjs";
import { buildWorker, WORKERD } from "./lib/workerd.mjs";
import { launch, NO_SIMD, runPage } from "./lib/chromium.mjs";
import { serve } from "./lib/server.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name) => join(ROOT, "node_modules", ".bin", name);

/** Runs a harness process; resolves to the summaries it printed (`smoke: {…}` or `size: {…}` lines). */
function harness(command, args, cwd, env = {}, timeout = 300_000) {
  const { status, signal, stdout, stderr, error } = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout,
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  const output = `${stdout ?? ""}${stderr ?? ""}`;
  const summaries = [...output.matchAll(/(?:smoke|size): (\{.*\})/g)].map((m) => JSON.parse(m[1]));
  if (error || status !== 0 || summaries.length === 0) {
    throw Object.assign(
      new Error(`${command} ${args.join(" ")} ${error ? error.message : (signal ?? `exited ${status}`)}`),
      { output },
    );
  }
  return summaries;
}

/**
 * A program using threads must end by itself, without terminate(): run exit.js
 * with a minute to spare, the same way for every runtime.
 */
function exits(command, args, dir) {
  try {
    return harness(command, args, dir, {}, 60_000);
  } catch (error) {
    throw Object.assign(new Error(`a program using threads did not exit by itself: ${error.message}`), error);
  }
}

/**
 * The Chromium scenarios: [name, page and query (chromium/run.js reads it), browser flags,
 * served cross-origin isolated (COOP/COEP)].
 */
/** @type {string[]} */
const DEFAULT_FLAGS = [];
/** @type {[scenario: string, page: string, flags: string[], isolated: boolean][]} */
const CHROMIUM_PAGES = [
  ["plain page", "index.html?backend=relaxed", DEFAULT_FLAGS, false],
  ["CSP script-src 'self' 'wasm-unsafe-eval'", "csp.html?csp=strict&backend=relaxed", DEFAULT_FLAGS, false],
  ["CSP script-src 'self' (must refuse)", "csp.html?csp=no-wasm&expect=refused", DEFAULT_FLAGS, false],
  [
    "plain page, threads (not isolated: must fall back)",
    "index.html?fallback=crossOriginIsolated",
    DEFAULT_FLAGS,
    false,
  ],
  ["COOP/COEP page, threads", "index.html?threads=2,4", DEFAULT_FLAGS, true],
  [
    "COOP/COEP page, CSP script-src 'self' 'wasm-unsafe-eval', threads",
    "csp.html?csp=strict&threads=2",
    DEFAULT_FLAGS,
    true,
  ],
  [
    "COOP/COEP page, worker script missing (must fall back)",
    "no-thread-script.html?fallback=did not start",
    DEFAULT_FLAGS,
    true,
  ],
  ["no SIMD (--no-enable-sse4-1)", "index.html?backend=scalar", NO_SIMD, false],
];

/** How each step runs: each resolves to one summary per scenario. */
const STEPS = {
  node: (dir) => [...harness(process.execPath, ["--test", "node/"], dir), ...exits(process.execPath, ["exit.js"], dir)],
  // --no-check: the harness is JavaScript, and type-checking the graph costs Deno 10 s and 140 MB.
  // No permission flags: threads need none either.
  deno: (dir) => [
    ...harness(bin("deno"), ["test", "--no-lock", "--no-check", "deno/"], dir),
    ...exits(bin("deno"), ["run", "--no-lock", "--no-check", "exit.js"], dir),
  ],
  bun: (dir) => [...harness(bin("bun"), ["test", "./bun/"], dir), ...exits(bin("bun"), ["exit.js"], dir)],
  workerd: async (dir) => {
    const config = await buildWorker(join(dir, "workerd", "worker.js"), join(dir, "workerd", "out"));
    return harness(WORKERD, ["test", config], dir);
  },
  chromium: async (dir) => {
    const servers = { plain: await serve(dir), isolated: await serve(dir, { isolated: true }) };
    const summaries = [];
    /** @type {(import("playwright-core").Browser & { flags: string[] }) | null} */
    let browser = null;
    try {
      for (const [scenario, page, flags, isolated] of CHROMIUM_PAGES) {
        if (browser?.flags !== flags) {
          // consecutive scenarios with the same flags share a browser
          await browser?.close();
          browser = Object.assign(await launch(flags), { flags });
        }
        const { origin } = isolated ? servers.isolated : servers.plain;
        const result = await runPage(browser, `${origin}/chromium/${page}`);
        summaries.push({ runtime: `Chromium ${browser.version()}`, scenario, ...result });
      }
    } finally {
      await browser?.close();
      await servers.plain.close();
      await servers.isolated.close();
    }
    return summaries;
  },
  size: (_dir, packageDir) =>
    harness(process.execPath, ["--test", join(ROOT, "tests", "runtimes", "size.test.mjs")], ROOT, {
      WASM_RNN_PACKAGE: packageDir,
    }),
};

/** How init()'s calibration chose, for a summary line; empty where it had nothing to choose. */
function calibrationText(c) {
  if (!c) return "";
  const ms = (x) => x.toFixed(3);
  return ` by calibration (probe round: simd ${ms(c.timings.simd)} ms, relaxed ${ms(c.timings.relaxed)} ms; cost ${c.costMs.toFixed(1)} ms)`;
}

function describeSummary(s) {
  const where = s.scenario ? `${s.runtime}, ${s.scenario}` : s.runtime;
  if (s.refused) return `${where}: init() refused: ${s.refused.slice(0, 100)}`;
  if (s.exited) return `${where}: a program on ${s.threads} threads exited by itself`;
  if (s.fallback) {
    return (
      `${where}: init({ threads: 2 }) ran on 1 thread ("${s.fallback}"), ${s.cases} cases match PyTorch; ` +
      "requireThreads throws"
    );
  }
  if (s.threads) {
    return (
      `${where}: threads ${s.threads.join(", ")} bit-identical to 1 thread on ${s.cases} PyTorch cases + ` +
      `${s.large} larger ones; terminate() works`
    );
  }
  if (s.text) return s.text;
  const hatches = s.escapeHatches ? `; init({ ${s.escapeHatches.join(" }), init({ ")} }) work` : "";
  return (
    `${where}: init() chose ${s.backend}${calibrationText(s.calibration)}; builds ${s.builds.join(", ")} match PyTorch on ` +
    `${s.cases} cases (worst error ${(s.worst * 100).toFixed(0)}% of tolerance)${hatches}`
  );
}

const { values, positionals } = parseArgs({
  options: { package: { type: "string" }, keep: { type: "boolean" } },
  allowPositionals: true,
});
const selected = positionals.length > 0 ? positionals : Object.keys(STEPS);
for (const name of selected) if (!(name in STEPS)) throw new Error(`unknown step '${name}'`);

const packageDir = resolve(values.package ?? ROOT);
for (const file of ["dist/browser.js", "build/rnn.scalar.wasm"]) {
  if (!existsSync(join(packageDir, file)))
    throw new Error(`${join(packageDir, file)} is missing: run \`npm run build\``);
}
const { name, version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const dir = makeConsumer(packageDir);
console.log(`runtimes: ${name}@${version} from ${packageDir}, installed in ${dir}`);

const failed = [];
for (const step of selected) {
  const started = performance.now();
  const took = () => `${((performance.now() - started) / 1000).toFixed(1)} s`.padStart(7);
  try {
    const summaries = await STEPS[step](dir, packageDir);
    console.log(`  PASS ${step.padEnd(8)} ${took()}  ${summaries.map(describeSummary).join(`\n${" ".repeat(25)}`)}`);
  } catch (error) {
    failed.push(step);
    console.log(`  FAIL ${step.padEnd(8)} ${took()}  ${error.message}`);
    if (error.output) console.log(error.output.trimEnd().replace(/^/gm, "       | "));
  }
}
if (values.keep) console.log(`runtimes: kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
console.log(
  `runtimes: ${selected.length - failed.length} passed, ${failed.length} failed` +
    (failed.length > 0 ? ` (${failed.join(", ")})` : ` (${selected.join(", ")})`),
);
process.exitCode = failed.length > 0 ? 1 : 0;
