// Builds the web demo into examples/char-rnn/dist/ the way an app using the
// package would be built: esbuild bundles web.js with the "browser" export
// condition (so "wasm-rnn" is the package's dist/browser.js) and leaves the
// kernels out of the bundle; they are copied from the package's own exports.
//
//   dist/index.html, dist/model.safetensors
//   dist/js/web.js                 the bundle
//   dist/js/web-thread.js          the package's Web Worker script, bundled on its own: where the
//                                  bundle's `new URL("./web-thread.js", import.meta.url)` points
//   dist/build/rnn.*.wasm          where the bundle's `new URL("../build/rnn.*.wasm", import.meta.url)` points
//                                  (the threaded builds rnn.*-threads.wasm too)
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const DIST = fileURLToPath(new URL("./dist/", import.meta.url));

/**
 * Bundles `dir`/web.js into `dir`/dist/js/web.js and copies the kernels and `files`
 * (paths relative to `dir`, kept flat in dist/) next to it; returns the dist directory.
 * The char-train demo builds its page with this too.
 */
export async function bundleDemo(dir, files) {
  const at = (path) => fileURLToPath(new URL(path, dir));
  const dist = at("./dist/");
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(at("./dist/build/"), { recursive: true });
  // esbuild leaves `new Worker(new URL(…))` alone, so the worker script is an entry of its own.
  const workerScript = fileURLToPath(new URL("dist/web-thread.js", import.meta.resolve("wasm-rnn/package.json")));
  await esbuild.build({
    entryPoints: { web: at("./web.js"), "web-thread": workerScript },
    outdir: at("./dist/js/"),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["browser"],
    external: ["*.wasm"],
    logLevel: "warning",
  });
  for (const backend of ["relaxed", "simd", "scalar", "relaxed-threads", "simd-threads", "scalar-threads"]) {
    // Resolved through the package's "exports", as a user's build script would.
    copyFileSync(
      fileURLToPath(import.meta.resolve(`wasm-rnn/rnn.${backend}.wasm`)),
      at(`./dist/build/rnn.${backend}.wasm`),
    );
  }
  for (const file of files) copyFileSync(at(file), at(`./dist/${basename(file)}`));
  return dist;
}

export function buildWeb() {
  return bundleDemo(new URL("./", import.meta.url), ["./index.html", "./model.safetensors"]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildWeb()}`);
}
