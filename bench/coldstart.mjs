// Cold start per runtime: in a fresh process (a fresh browser context for
// Chromium), the time to import the package, `init()`, and build a model and
// run its first forward. A benchmark that reports numbers, not a test.
//
//   npm run build && node bench/coldstart.mjs [--runs 7]
//
// The package is installed as npm would (tests/runtimes/lib/consumer.mjs).
// Workers freeze their clocks during computation, so workerd is timed from
// outside: the wall time of `workerd test` minus that of an empty Worker.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeConsumer } from "../tests/runtimes/lib/consumer.mjs";
import { buildWorker, WORKERD } from "../tests/runtimes/lib/workerd.mjs";
import { launch, runPage } from "../tests/runtimes/lib/chromium.mjs";
import { serve } from "../tests/runtimes/lib/server.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const bin = (name) => join(ROOT, "node_modules", ".bin", name);

// The model: 1 layer, 32 inputs, 64 hidden, 50 steps of batch 1 (a typical small streaming RNN).
const MODEL = "new pkg.RNN({ inputSize: 32, hiddenSize: 64, seed: 0 })";
const INPUT = "pkg.Tensor.zeros([50, 1, 32])";

// `settle` runs before each clock read: Workers may hold their clocks still
// during computation until the next I/O event, and a timer is one.
const PROBE = `// Written by bench/coldstart.mjs.
export async function probe(load, settle = async () => {}) {
  const now = async () => (await settle(), performance.now());
  const t0 = await now();
  const pkg = await load();
  const t1 = await now();
  await pkg.init();
  const t2 = await now();
  const rnn = ${MODEL};
  const t3 = await now();
  rnn.forward(${INPUT});
  const t4 = await now();
  return { backend: pkg.backend(), import: t1 - t0, init: t2 - t1, model: t3 - t2, forward: t4 - t3, total: t4 - t1 };
}
`;

const FILES = {
  "probe.js": PROBE,
  "main.js": `import { probe } from "./probe.js";\nconsole.log(JSON.stringify(await probe(() => import("wasm-rnn"))));\n`,
  "page.html": `<!doctype html><link rel="icon" href="data:,"><script type="module">
  import { probe } from "./probe.js";
  window.result = probe(() => import("/node_modules/wasm-rnn/dist/browser.js"));
</script>\n`,
  "worker.js": `import * as pkg from "wasm-rnn";
import { probe } from "./probe.js";
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
export default { async test() { console.log(JSON.stringify(await probe(async () => pkg, tick))); } };
`,
  "empty-worker.js": "export default { async test() {} };\n",
};

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const COLUMNS = ["import", "init", "model", "forward", "total"];
const cell = (x) => `${x}`.padStart(9);

/** Runs a process; returns its wall time and the JSON line it printed, if any. */
function timeProcess(command, args, cwd) {
  const started = performance.now();
  const { status, stdout, stderr } = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${status}\n${stdout}${stderr}`);
  const json = `${stdout}${stderr}`.match(/^\{.*\}$/m);
  return { wall: performance.now() - started, result: json && JSON.parse(json[0]) };
}

const dir = makeConsumer(ROOT);
const bench = join(dir, "coldstart");
mkdirSync(bench);
for (const [name, text] of Object.entries(FILES)) writeFileSync(join(bench, name), text);

const rows = [];
function report(runtime, samples) {
  const pick = (key) => (samples[0][key] === null ? "—" : median(samples.map((s) => s[key])).toFixed(1));
  rows.push(`${runtime.padEnd(26)} ${samples[0].backend.padEnd(8)}${COLUMNS.map((c) => cell(pick(c))).join("")}`);
}

try {
  for (const [runtime, command, args] of [
    [`Node ${process.version}`, process.execPath, ["main.js"]],
    ["Deno (no permissions)", bin("deno"), ["run", "--no-lock", "main.js"]],
    ["Bun", bin("bun"), ["main.js"]],
  ]) {
    report(
      runtime,
      Array.from({ length: runs }, () => timeProcess(command, args, bench).result),
    );
  }

  const server = await serve(dir);
  const browser = await launch();
  try {
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await runPage(browser, `${server.origin}/coldstart/page.html`));
    report(`Chromium ${browser.version()}`, samples);
  } finally {
    await browser.close();
    await server.close();
  }

  // The module load (compiling the three kernel builds included) happens before any handler
  // runs, so it is timed from outside: the fastest `workerd test` of this Worker minus the
  // fastest of an empty one, the two interleaved so that machine load hits both alike.
  const config = await buildWorker(join(bench, "worker.js"), join(bench, "worker"));
  const empty = await buildWorker(join(bench, "empty-worker.js"), join(bench, "empty-worker"));
  const samples = [];
  let full = Infinity;
  let base = Infinity;
  for (let i = 0; i < runs; i++) {
    base = Math.min(base, timeProcess(WORKERD, ["test", empty], bench).wall);
    const { wall, result } = timeProcess(WORKERD, ["test", config], bench);
    full = Math.min(full, wall);
    samples.push({ ...result, import: null }); // the handler gets the package already imported
  }
  report("workerd", samples);
  const startup = full - base;

  console.log(
    `coldstart: median of ${runs} fresh runs in ms; model = ${MODEL}, forward(${INPUT}); ` +
      "total = init() to the end of the first forward",
  );
  console.log(`${"runtime".padEnd(26)} ${"backend".padEnd(8)}${COLUMNS.map(cell).join("")}`);
  for (const row of rows) console.log(row);
  console.log(
    `workerd: the Worker starts ${startup.toFixed(1)} ms slower than an empty one ` +
      "(its import: loading the bundle and compiling the kernel builds), plus the total above",
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
