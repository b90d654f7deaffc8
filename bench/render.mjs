#!/usr/bin/env node
// Re-renders results.md and chart.svg from a results.json written by run.mjs
// (after a change to report.mjs, without re-running the benchmark).
//   node bench/render.mjs [path/to/results.json]   (default: bench/results/results.json)

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderMarkdown, renderSvg } from "./report.mjs";

const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "results", "results.json");
// run.mjs writes Infinity (a failed check) as the string "Infinity".
const report = JSON.parse(readFileSync(file, "utf8"), (_k, v) => (v === "Infinity" ? Infinity : v));
const markdown = renderMarkdown(report);
writeFileSync(join(dirname(file), "results.md"), markdown);
writeFileSync(join(dirname(file), "chart.svg"), renderSvg(report));
console.log(markdown);
