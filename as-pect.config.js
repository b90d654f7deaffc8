// as-pect configuration for the kernel specs in tests/kernel/.
//
// The compiler options live in tests/kernel/asconfig.{scalar,simd,relaxed}.json,
// one per kernel build, chosen with `--as-config`; tests/kernel/run.mjs runs all
// three. A plain `npx asp` uses ./as-pect.asconfig.json (the simd build).
// ASPECT_ENTRIES (a glob) narrows the run to some spec files, e.g.
// ASPECT_ENTRIES=tests/kernel/tanh.spec.ts node tests/kernel/run.mjs
export default {
  entries: [process.env.ASPECT_ENTRIES || "tests/kernel/*.spec.ts"],
  include: [],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    // The spec modules define and export their own memory; `memory` is unused.
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
