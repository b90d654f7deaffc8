// `npm test`: builds, then runs every suite — Node (node:test, all three
// kernel builds), the kernel specs (as-pect, all three builds) and the smoke
// suite in the other runtimes — and fails if any of them fails.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const steps = [
  ["build", "node", ["scripts/build.mjs"]],
  // The flag lets Node 20 run the relaxed-SIMD build; Node ≥ 22 ignores it.
  ["node", "node", ["--experimental-wasm-relaxed-simd", "--test", "--test-reporter=spec", "tests/node/"]],
  ["kernel specs", "node", ["tests/kernel/run.mjs"]],
  ["runtimes", "node", ["tests/runtimes/run.mjs"]],
  ["examples", "node", ["examples/run-tests.mjs"]],
].filter(([, , args]) => existsSync(args.at(-1)) || args.at(-1).endsWith("/"));

const only = process.argv.slice(2);
const failed = [];
let ran = 0;
for (const [name, cmd, args] of steps) {
  if (only.length > 0 && name !== "build" && !only.includes(name)) continue;
  ran++;
  console.log(`\n== ${name}: ${cmd} ${args.join(" ")}`);
  const { status } = spawnSync(cmd, args, { stdio: "inherit" });
  if (status !== 0) {
    failed.push(name);
    if (name === "build") break;
  }
}
if (failed.length > 0) console.log(`\nfailed suites: ${failed.join(", ")}`);
console.log(`\nsuites: ${ran - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
