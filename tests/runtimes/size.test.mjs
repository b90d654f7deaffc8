// Size budget (issue 4 §5): gzip sizes of each runtime's entry (a bundle, so
// the core is inside) plus the kernel builds it loads, and a test that fails
// when the browser entry with the SIMD build exceeds the budget. Tighten
// BUDGET as the package shrinks: staying far below the megabyte-sized
// alternatives is the point.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET = 30 * 1024;
// The package measured: this repository, or the one run.mjs --package tests.
const PACKAGE = process.env.WASM_RNN_PACKAGE ?? fileURLToPath(new URL("../..", import.meta.url));
const gzipped = (path) => gzipSync(readFileSync(join(PACKAGE, path)), { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

const builds = Object.fromEntries(["scalar", "simd", "relaxed"].map((b) => [b, gzipped(`build/rnn.${b}.wasm`)]));
const entry = (name) => gzipped(`dist/${name}.js`);

test("gzip sizes per runtime (entry + the kernel builds it loads)", () => {
  const one = `${Object.entries(builds).map(([b, n]) => `${b} ${kb(n)}`).join(" | ")}`;
  const all = Object.values(builds).reduce((a, b) => a + b, 0);
  const lines = [
    // Node, Bun and browsers compile only the build init() picks.
    ...["browser", "node"].map((name) => `${name}: entry ${kb(entry(name))} + one build (${one})`),
    // Deno and Workers import all three builds as modules up front.
    ...["deno", "workerd"].map((name) => `${name}: entry ${kb(entry(name))} + all three builds ${kb(all)} = ${kb(entry(name) + all)}`),
  ];
  for (const text of lines) console.log(`size: ${JSON.stringify({ text })}`);
});

test(`browser entry + SIMD build stay within ${kb(BUDGET)} gzip`, () => {
  const total = entry("browser") + builds.simd;
  console.log(`size: ${JSON.stringify({ text: `budget: browser entry + simd build = ${kb(total)} of ${kb(BUDGET)} gzip` })}`);
  assert.ok(total <= BUDGET, `browser entry + simd build is ${kb(total)} gzip, over the ${kb(BUDGET)} budget`);
});
