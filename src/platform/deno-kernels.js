// Deno gets each build as a compiled module from a source-phase import, which
// needs no permission (fetching or reading the file would need --allow-read).
// Plain JavaScript because TypeScript cannot parse `import source` yet (types:
// deno-kernels.d.ts); esbuild passes it through with --supported:import-source=true.
// The specifiers are relative to dist/deno.js, the bundled file users import.
import source relaxed from "../build/rnn.relaxed.wasm";
import source simd from "../build/rnn.simd.wasm";
import source scalar from "../build/rnn.scalar.wasm";

export { relaxed, simd, scalar };
