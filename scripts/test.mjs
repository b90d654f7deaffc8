// `npm test`: builds, then runs every suite — lint and format (Biome), type
// checks (tests/ and scripts/ via checkJs, the kernel against AssemblyScript's
// declarations), Node (node:test, all three kernel builds), the kernel specs
// (as-pect, all three builds), the smoke suite in the other runtimes and the
// examples — and fails if any of them fails. `npm test -- lint types` runs
// only the suites named (after the build).
//
// The browser suites need Debian's `chromium`; when it is missing, this
// installs it where it may (root, with apt-get), as a fresh CI machine needs,
// and otherwise stops first with the command that installs it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** @type {[name: string, command: string, args: string[], needsChromium?: boolean][]} */
const STEPS = [
  ["build", "node", ["scripts/build.mjs"]],
  ["lint", "npx", ["biome", "ci"]],
  ["types", "npx", ["tsc", "-p", "tsconfig.tests.json"]],
  ["kernel types", "npx", ["tsc", "-p", "assembly"]],
  // The flag lets Node 20 run the relaxed-SIMD build; Node ≥ 22 ignores it.
  ["node", "node", ["--experimental-wasm-relaxed-simd", "--test", "--test-reporter=spec", "tests/node/"]],
  ["kernel specs", "node", ["tests/kernel/run.mjs"]],
  ["runtimes", "node", ["tests/runtimes/run.mjs"], true],
  ["examples", "node", ["examples/run-tests.mjs"], true],
];
const INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium";

const only = process.argv.slice(2);
const steps = STEPS.filter(([name, , args]) => {
  const target = args.at(-1) ?? "";
  return (
    (existsSync(target) || !target.includes("/")) && (only.length === 0 || name === "build" || only.includes(name))
  );
});
if (steps.some(([, , , needsChromium]) => needsChromium)) ensureChromium();

const failed = [];
let ran = 0;
for (const [name, cmd, args] of steps) {
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

/** Makes `chromium` available: installs Debian's as root with apt-get, else exits with the command to run. */
function ensureChromium() {
  const has = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
  if (has("chromium")) return;
  if (process.getuid?.() !== 0 || !has("apt-get")) {
    console.error(
      "npm test: the browser suites need Debian's `chromium`, which is not installed. Install it, then rerun:\n" +
        `  sudo sh -c '${INSTALL_CHROMIUM}'`,
    );
    process.exit(1);
  }
  console.log(`\n== chromium is missing: ${INSTALL_CHROMIUM}`);
  const aptGet = (...args) =>
    spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (aptGet("update").status !== 0 || aptGet("install", "-y", "chromium").status !== 0 || !has("chromium")) {
    console.error(`npm test: installing Chromium failed; install it with \`${INSTALL_CHROMIUM}\`, then rerun`);
    process.exit(1);
  }
}
