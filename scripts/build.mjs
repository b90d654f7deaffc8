// Builds the package: the kernel builds (asc: three single-thread ones, their
// threaded twins, the debug one), the JavaScript (esbuild) and the TypeScript
// declarations (tsc).
//
// The JavaScript ships as unbundled, unminified ES modules, so that a user's
// bundler keeps only the modules a program uses (package.json says
// `"sideEffects": false`: an app that never calls loadTorch does not get the
// unpickler) and an uncaught error shows readable source:
//   dist/<runtime>.js  one per runtime entry package.json exports, built from
//                      src/platform/<runtime>.ts with the rest of src/platform/
//                      inlined (the .wasm specifiers there are relative to dist/)
//   dist/<name>-thread.js  the script of a runtime's helper threads, from
//                      src/platform/<name>-thread.ts, built the same way
//   dist/lib/…         every other module the entries reach, one file each, in
//                      the repository's layout (dist/lib/src/…, dist/lib/assembly/abi.js)
// The package has no dependencies and imports no bare names (plain pages and
// Deno need no import map, no npm install).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import * as esbuild from "esbuild";

const run = (cmd, args) => execFileSync(cmd, args, { stdio: "inherit" });

for (const target of ["scalar", "simd", "relaxed", "debug"]) {
  run("npx", ["asc", "assembly/index.ts", "--config", "asconfig.json", "--target", target]);
}
// The threaded builds export the thread protocol too (assembly/index-threads.ts).
for (const target of ["scalar-threads", "simd-threads", "relaxed-threads"]) {
  run("npx", ["asc", "assembly/index-threads.ts", "--config", "asconfig.json", "--target", target]);
}

const ROOT = resolve(".");
const PLATFORM = resolve("src", "platform");
const DIST = resolve("dist");
const LIB = join(DIST, "lib");
/** @type {import("esbuild").BuildOptions} */
const COMMON = {
  format: "esm",
  platform: "neutral",
  target: "es2022",
  logLevel: "warning",
  supported: { "import-source": true },
};

const inPlatform = (file) => file.startsWith(PLATFORM + sep);
/** Where a module of the repository (`src/…`, `assembly/abi.ts`) lands: dist/lib/ mirrors the repository. */
const outputOf = (file) => join(LIB, relative(ROOT, file).replace(/\.ts$/, ".js"));
/** A relative specifier from the output file `from` to the output file `to`. */
const specifier = (from, to) => {
  const path = relative(dirname(from), to).split(sep).join("/");
  return path.startsWith(".") ? path : `./${path}`;
};

rmSync(DIST, { recursive: true, force: true });

// The entries are what package.json exports: dist/<runtime>.js from src/platform/<runtime>.ts.
const { exports } = JSON.parse(readFileSync("package.json", "utf8"));
const entries = [...new Set(Object.values(exports["."]).filter((p) => /^\.\/dist\/[^/]+\.js$/.test(p)))].map((p) =>
  join(PLATFORM, p.slice("./dist/".length).replace(/\.js$/, ".ts")),
);
// The helper threads' scripts, which the entries start by URL.
entries.push(
  ...readdirSync(PLATFORM)
    .filter((f) => f.endsWith("-thread.ts"))
    .map((f) => join(PLATFORM, f)),
);

// The modules the entries reach, outside src/platform/ and the dependencies.
const graph = await esbuild.build({
  ...COMMON,
  entryPoints: entries,
  outdir: DIST,
  bundle: true,
  write: false,
  metafile: true,
  packages: "external",
  external: ["*.wasm"],
});
const modules = Object.keys(graph.metafile.inputs)
  .map((path) => resolve(path))
  .filter((file) => !inPlatform(file) && !file.includes(`${sep}node_modules${sep}`));

// dist/lib: each module transpiled on its own (bundling would rename classes
// that refer to themselves: `var Tensor = class _Tensor`), so relative imports
// keep their specifiers.
const library = await esbuild.build({ ...COMMON, entryPoints: modules, outbase: ROOT, outdir: LIB, write: false });
for (const { path, text } of library.outputFiles) {
  for (const [, name] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)"([^"]+)"/g)) {
    if (!name.startsWith(".") && !name.startsWith("node:")) {
      throw new Error(`build: ${relative(DIST, path)} imports '${name}'; the package ships no dependencies`);
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

// dist/<runtime>.js: src/platform/ inlined, every other module imported from dist/lib.
await esbuild.build({
  ...COMMON,
  entryPoints: entries,
  outdir: DIST,
  bundle: true,
  plugins: [
    {
      name: "inline-only-platform",
      setup(build) {
        build.onResolve({ filter: /^node:|\.wasm$/ }, (args) => ({ path: args.path, external: true }));
        build.onResolve({ filter: /^\./ }, (args) => {
          const target = resolve(dirname(args.importer), args.path);
          if (inPlatform(target)) return undefined;
          return { path: specifier(join(DIST, "entry.js"), outputOf(target)), external: true };
        });
      },
    },
  ],
});

run("npx", ["tsc", "-p", "tsconfig.json"]);
