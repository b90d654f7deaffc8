// Builds the web demo into examples/char-rnn/dist/ the way an app using the
// package would be built: esbuild bundles web.js with the "browser" export
// condition (so "wasm-rnn" is the package's dist/browser.js) and leaves the
// kernels out of the bundle; they are copied from the package's own exports.
//
//   dist/index.html, dist/model.safetensors
//   dist/js/web.js                 the bundle
//   dist/build/rnn.*.wasm          where the bundle's `new URL("../build/rnn.*.wasm", import.meta.url)` points
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
export const DIST = here("./dist/");

export async function buildWeb() {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(here("./dist/build/"), { recursive: true });
  await esbuild.build({
    entryPoints: [here("./web.js")],
    outfile: here("./dist/js/web.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["browser"],
    external: ["*.wasm"],
    logLevel: "warning",
  });
  for (const backend of ["relaxed", "simd", "scalar"]) {
    // Resolved through the package's "exports", as a user's build script would.
    copyFileSync(
      fileURLToPath(import.meta.resolve(`wasm-rnn/rnn.${backend}.wasm`)),
      here(`./dist/build/rnn.${backend}.wasm`),
    );
  }
  copyFileSync(here("./index.html"), here("./dist/index.html"));
  copyFileSync(here("./model.safetensors"), here("./dist/model.safetensors"));
  return DIST;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildWeb()}`);
}
