// Deno: the builds come in as source-phase imports, so the default `init()`
// needs no permission flags, with threads or without; `wasm` is fetched (a
// file: URL needs --allow-read, an http one --allow-net).
import type { InitOptions, Runtime } from "../runtime/runtime.js";
import { threadSupport } from "../runtime/threads/support.js";
import { compileSource, initWith } from "./common.js";
import * as KERNELS from "./deno-kernels.js";
import { spawnDenoThread } from "./deno-threads.js";

export * from "../api.js";

const THREADS = threadSupport({
  bundled: (backend) => KERNELS.THREADED[backend](),
  spawn: spawnDenoThread,
  cores: () => navigator.hardwareConcurrency,
});

/**
 * Instantiates the kernel; call once before creating models.
 * Picks the fastest build the runtime validates unless `backend` is given;
 * `wasm` (a URL or bytes) or `module` replace it. `threads` > 1 starts
 * node:worker_threads Workers (unref'd: the process still exits by itself).
 */
export function init(options?: InitOptions): Promise<Runtime> {
  return initWith(options, {
    bundled: (backend) => KERNELS[backend],
    custom: compileSource,
    threads: THREADS,
  });
}
