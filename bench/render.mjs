#!/usr/bin/env node
// Re-renders the Markdown and the chart from a results.json written by run.mjs
// (results.md, chart.svg) or a threads.json written by threads.mjs (threads.md,
// threads.svg), after a change to the report code, without re-running the benchmark.
//   node bench/render.mjs [path/to/results.json]   (default: bench/results/results.json)

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderMarkdown, renderSvg } from "./report.mjs";
import { renderThreadsMarkdown, renderThreadsSvg } from "./threads_report.mjs";

const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "results", "results.json");
// The benchmarks write Infinity (a failed check) as the string "Infinity".
const report = JSON.parse(readFileSync(file, "utf8"), (_k, v) => (v === "Infinity" ? Infinity : v));
const [markdownFile, chartFile, renderMd, renderChart] =
  report.kind === "threads"
    ? ["threads.md", "threads.svg", renderThreadsMarkdown, renderThreadsSvg]
    : ["results.md", "chart.svg", renderMarkdown, renderSvg];
const markdown = renderMd(report);
writeFileSync(join(dirname(file), markdownFile), markdown);
writeFileSync(join(dirname(file), chartFile), renderChart(report));
console.log(markdown);
