// Node and Bun: the kernel is the file next to the package, read from disk
// (Node 20's fetch cannot read file: URLs).
import { readFile } from "node:fs/promises";
import type { InitOptions, Runtime } from "../runtime/runtime.js";
import { compileSource, initWith, type WasmSource } from "./common.js";

export * from "../api.js";

const KERNEL_URLS = {
  relaxed: new URL("../build/rnn.relaxed.wasm", import.meta.url),
  simd: new URL("../build/rnn.simd.wasm", import.meta.url),
  scalar: new URL("../build/rnn.scalar.wasm", import.meta.url),
};

/**
 * Loads and instantiates the kernel; call once before creating models.
 * Picks the fastest build the runtime validates unless `backend` is given.
 */
export function init(options?: InitOptions): Promise<Runtime> {
  return initWith(options, {
    bundled: (backend) => compileFile(KERNEL_URLS[backend]),
    custom: (source) => (isLocal(source) ? compileFile(source) : compileSource(source)),
  });
}

async function compileFile(path: string | URL): Promise<WebAssembly.Module> {
  return WebAssembly.compile(await readFile(path));
}

/** A path or file: URL, as opposed to bytes or a URL to fetch. */
function isLocal(source: WasmSource): source is string | URL {
  return typeof source === "string" || (source instanceof URL && source.protocol === "file:");
}
