// Node and Bun: the kernel is the file next to the package, read from disk.
import { readFile } from "node:fs/promises";
import { checkInitOptions, chooseBackend, initFromModule, type InitOptions, type Runtime } from "../runtime.js";
import { describe } from "../describe.js";

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
export async function init(options?: InitOptions): Promise<Runtime> {
  const o = checkInitOptions(options);
  const backend = chooseBackend(o);
  const module = o.module ?? await WebAssembly.compile(await kernelBytes(o.wasm ?? KERNEL_URLS[backend]));
  return initFromModule(module, o.backend === undefined && o.module !== undefined ? "custom" : backend, o);
}

async function kernelBytes(source: NonNullable<InitOptions["wasm"]>): Promise<BufferSource> {
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source as BufferSource;
  if (source instanceof URL && source.protocol !== "file:") return (await fetch(source)).arrayBuffer();
  if (typeof source === "string" || source instanceof URL) return readFile(source);
  throw new TypeError(`init: wasm must be a URL, a path or bytes, got ${describe(source)}`);
}
