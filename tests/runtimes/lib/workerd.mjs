// Runs a Worker in workerd as it would be deployed with wrangler: bundled by
// esbuild with wrangler's conditions, each imported .wasm kept out of the
// bundle as its own module (named, like wrangler's, by content hash and file
// name), and a socket-free config for `workerd test`.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const WORKERD = fileURLToPath(new URL("../../../node_modules/.bin/workerd", import.meta.url));

/** Wrangler's rule for `**\/*.wasm`: resolve from the importer, upload as a compiled-module part. */
function wasmModules(collected) {
  return {
    name: "wasm-modules",
    setup(build) {
      build.onResolve({ filter: /\.wasm$/ }, (args) => {
        const path = resolve(args.resolveDir, args.path);
        const name = `${createHash("sha1").update(readFileSync(path)).digest("hex")}-${basename(path)}`;
        collected.set(name, path);
        return { path: `./${name}`, external: true };
      });
    },
  };
}

/** Bundles `entry` into `outdir` (worker.js plus its .wasm modules); returns the path of the config it writes there. */
export async function buildWorker(entry, outdir) {
  const collected = new Map();
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(outdir, "worker.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    plugins: [wasmModules(collected)],
    logLevel: "warning",
  });
  for (const [name, path] of collected) copyFileSync(path, join(outdir, name));
  const modules = [
    `(name = "worker.js", esModule = embed "worker.js")`,
    ...[...collected.keys()].map((name) => `(name = "${name}", wasm = embed "${name}")`),
  ];
  const config = join(outdir, "config.capnp");
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";

# No sockets: \`workerd test\` binds every socket a config declares.
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
);

const worker :Workerd.Worker = (
  modules = [
    ${modules.join(",\n    ")}
  ],
  compatibilityDate = "2026-11-01",
);
`,
  );
  return config;
}
