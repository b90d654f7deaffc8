// A throwaway project that has the package installed the way users get it:
// `npm pack` (so only what "files" ships), unpacked into its node_modules.
// Next to it go the in-runtime harness files and the fixture bundle, so every
// runtime resolves "wasm-rnn" through its own export condition.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFixtureBundle } from "./fixture.mjs";

const HARNESS = fileURLToPath(new URL("..", import.meta.url));
const IN_RUNTIME = ["smoke.js", "exit.js", "node", "deno", "bun", "workerd", "chromium"];

/** Creates the project for the package at `packageDir`; returns its directory. */
export function makeConsumer(packageDir) {
  const dir = mkdtempSync(join(tmpdir(), "wasm-rnn-runtimes-"));
  try {
    const [{ filename }] = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
        cwd: packageDir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, PATH: userPath() },
      }),
    );
    const installed = join(dir, "node_modules", "wasm-rnn");
    mkdirSync(installed, { recursive: true });
    execFileSync("tar", ["-xzf", join(dir, filename), "-C", installed, "--strip-components=1"]);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    for (const name of IN_RUNTIME) cpSync(join(HARNESS, name), join(dir, name), { recursive: true });
    writeFixtureBundle(join(dir, "fixture.json"));
    return dir;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * PATH without node_modules/.bin folders, which `npm test` puts first: there,
 * as-pect's dependencies install npm 6, whose `npm pack` lacks --pack-destination.
 */
function userPath() {
  return process.env.PATH.split(delimiter)
    .filter((p) => !p.endsWith(`${sep}node_modules${sep}.bin`))
    .join(delimiter);
}
