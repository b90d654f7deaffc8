// Bundles the Worker as wrangler does and runs its test() handler in workerd.
//
//   node examples/worker/test.mjs
//
// esbuild gets wrangler's export conditions (so "wasm-rnn" is the package's
// Worker build); like wrangler's module rules, a small plugin takes every
// imported .wasm and .safetensors file out of the bundle and puts it next to
// it as its own module, which config.capnp lists.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const DIST = here("./dist/");
const WORKERD = here("../../node_modules/.bin/workerd");

const modulesBesideBundle = {
  name: "modules-beside-bundle",
  setup(build) {
    build.onResolve({ filter: /\.(wasm|safetensors)$/ }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      copyFileSync(path, resolve(DIST, basename(path)));
      return { path: `./${basename(path)}`, external: true };
    });
  },
};

export async function buildWorker() {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  await esbuild.build({
    entryPoints: [here("./src/index.js")],
    outfile: resolve(DIST, "worker.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    plugins: [modulesBesideBundle],
    logLevel: "warning",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildWorker();
  const { status } = spawnSync(WORKERD, ["test", here("./config.capnp")], { stdio: "inherit" });
  process.exit(status ?? 1);
}
