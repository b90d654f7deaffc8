// Builds the package: the four kernel builds (asc), one ESM bundle per runtime
// entry (esbuild, wasm kept external) and the TypeScript declarations (tsc).
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

const run = (cmd, args) => execFileSync(cmd, args, { stdio: "inherit" });

for (const target of ["scalar", "simd", "relaxed", "debug"]) {
  run("npx", ["asc", "assembly/index.ts", "--config", "asconfig.json", "--target", target]);
}

rmSync("dist", { recursive: true, force: true });
const entries = ["node", "browser", "deno", "workerd"].map((p) => `src/platform/${p}.ts`).filter((f) => {
  try { execFileSync("test", ["-f", f]); return true; } catch { return false; }
});
run("npx", [
  "esbuild", ...entries, "--bundle", "--format=esm", "--platform=neutral", "--target=es2022",
  "--outdir=dist", "--external:node:*", "--external:*.wasm", "--supported:import-source=true", "--minify", "--keep-names", "--log-level=warning",
]);
run("npx", ["tsc", "-p", "tsconfig.json"]);
