// Deno gets each build as a compiled module from a source-phase import, which
// needs no permission (fetching or reading the file would need --allow-read).
// Plain JavaScript because TypeScript cannot parse `import source` yet (types:
// deno-kernels.d.ts); esbuild passes it through with --supported:import-source=true.
// The specifiers are relative to dist/deno.js, the bundled file users import.
import source relaxed from "../build/rnn.relaxed.wasm";
import source simd from "../build/rnn.simd.wasm";
import source scalar from "../build/rnn.scalar.wasm";

export { relaxed, simd, scalar };

/** The threaded builds, by backend: a dynamic source import each, so they load only when threads are asked for. */
export const THREADED = {
  relaxed: () => import.source("../build/rnn.relaxed-threads.wasm"),
  simd: () => import.source("../build/rnn.simd-threads.wasm"),
  scalar: () => import.source("../build/rnn.scalar-threads.wasm"),
};
