// Node and Bun: the kernel is the file next to the package, read from disk
// (Node 20's fetch cannot read file: URLs); `init({ wasm })` fetches http(s)
// URLs and reads paths and file: URLs.
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { InitOptions, Runtime } from "../runtime/runtime.js";
import { compileSource, initWith, type WasmSource } from "./common.js";
import { spawnNodeThread } from "./node-threads.js";

export * from "../api.js";

const KERNEL_URLS = {
  relaxed: new URL("../build/rnn.relaxed.wasm", import.meta.url),
  simd: new URL("../build/rnn.simd.wasm", import.meta.url),
  scalar: new URL("../build/rnn.scalar.wasm", import.meta.url),
};

/** The threaded builds, loaded only when `init({ threads })` asks for more than one. */
const THREADED_KERNEL_URLS = {
  relaxed: new URL("../build/rnn.relaxed-threads.wasm", import.meta.url),
  simd: new URL("../build/rnn.simd-threads.wasm", import.meta.url),
  scalar: new URL("../build/rnn.scalar-threads.wasm", import.meta.url),
};

/**
 * Loads and instantiates the kernel; call once before creating models.
 * Picks the fastest build the runtime validates unless `backend` is given;
 * `threads` > 1 starts worker_threads (see `terminate()`).
 */
export function init(options?: InitOptions): Promise<Runtime> {
  return initWith(options, {
    bundled: (backend) => compileFile(KERNEL_URLS[backend]),
    custom: (source) => {
      const file = localFile(source);
      return file === null ? compileSource(source) : compileFile(file);
    },
    threads: {
      bundled: (backend) => compileFile(THREADED_KERNEL_URLS[backend]),
      spawn: spawnNodeThread,
      cores: availableParallelism,
    },
  });
}

async function compileFile(path: string | URL): Promise<WebAssembly.Module> {
  return WebAssembly.compile(await readFile(path));
}

/**
 * The local file `source` names, or null when it is bytes or an http(s) URL to
 * fetch: a string that parses as an absolute http:/https: URL is fetched, a
 * file: URL (string or URL) is read, any other string is a path.
 */
function localFile(source: WasmSource): string | URL | null {
  if (source instanceof URL) return source.protocol === "file:" ? source : null;
  if (typeof source !== "string") return null;
  const url = URL.canParse(source) ? new URL(source) : null;
  if (url?.protocol === "http:" || url?.protocol === "https:") return null;
  return url?.protocol === "file:" ? url : source;
}
