// Runs the examples' tests against the built package (run `npm run build` first):
// the Node demo, the web demo in headless Chromium, the Worker in workerd, and
// the training demo in Node and in Chromium.
// Exits 1 if any of them fails.
//
//   node examples/run-tests.mjs [node] [web] [worker] [train-node] [train-web]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const SUITES = {
  // The flag lets Node 20 run the relaxed-SIMD kernel too; newer Nodes ignore it.
  node: ["--experimental-wasm-relaxed-simd", "--test", here("./char-rnn/node.test.mjs")],
  web: ["--test", here("./char-rnn/web.test.mjs")],
  worker: [here("./worker/test.mjs")],
  "train-node": ["--experimental-wasm-relaxed-simd", "--test", here("./char-train/node.test.mjs")],
  "train-web": ["--test", here("./char-train/web.test.mjs")],
};

if (!existsSync(here("../dist/node.js"))) {
  console.error("examples: the package is not built; run `npm run build` first");
  process.exit(1);
}
const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(SUITES);
const failed = [];
for (const name of wanted) {
  if (!(name in SUITES)) throw new Error(`unknown suite '${name}'; the suites are ${Object.keys(SUITES).join(", ")}`);
  console.log(`\n== examples: ${name}`);
  const { status } = spawnSync(process.execPath, SUITES[name], { stdio: "inherit" });
  if (status !== 0) failed.push(name);
}
console.log(
  `\nexamples: ${wanted.length - failed.length} passed, ${failed.length} failed` +
    (failed.length > 0 ? ` (${failed.join(", ")})` : ""),
);
process.exit(failed.length > 0 ? 1 : 0);
