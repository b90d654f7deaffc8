// Browsers (and the `default` export condition): the kernel is fetched from next
// to this file. Each URL is a literal `new URL("…", import.meta.url)`, the form
// asset-aware bundlers (webpack 5, Vite, Parcel) look for; where a bundler does
// not copy the file (esbuild), `init({ wasm })` or `init({ module })` points
// to it instead.
import type { InitOptions, Runtime } from "../runtime/runtime.js";
import type { ThreadSupport } from "../runtime/threads/support.js";
import { compileSource, compileUrl, initWith } from "./common.js";
import { spawnWebThread } from "./web-threads.js";

export * from "../api.js";

const KERNEL_URLS = {
  relaxed: new URL("../build/rnn.relaxed.wasm", import.meta.url),
  simd: new URL("../build/rnn.simd.wasm", import.meta.url),
  scalar: new URL("../build/rnn.scalar.wasm", import.meta.url),
};

/** The threaded builds, fetched only when `init({ threads })` asks for more than one. */
const THREADED_KERNEL_URLS = {
  relaxed: new URL("../build/rnn.relaxed-threads.wasm", import.meta.url),
  simd: new URL("../build/rnn.simd-threads.wasm", import.meta.url),
  scalar: new URL("../build/rnn.scalar-threads.wasm", import.meta.url),
};

/**
 * Threads in this browser: the pool's code is imported only when `init({ threads })` asks for more
 * than one (a chunk of its own where the bundler splits), so a one-thread page loads none of it.
 */
function threads(): Promise<ThreadSupport | string> {
  if (typeof Worker !== "function") {
    return Promise.resolve("this runtime has no Web Workers (no Worker constructor) to run threads on");
  }
  return import("../runtime/threads/support.js").then(({ threadSupport }) =>
    threadSupport({
      bundled: (backend) => compileUrl(THREADED_KERNEL_URLS[backend]),
      spawn: spawnWebThread,
      cores: () => navigator.hardwareConcurrency,
    }),
  );
}

/**
 * Loads and instantiates the kernel; call once before creating models.
 * Picks the fastest build the browser validates unless `backend` is given;
 * `wasm` (a URL or bytes) or `module` replace the kernel next to this file,
 * e.g. when a bundler or CDN moved it. `threads` > 1 starts module Web Workers
 * (dist/web-thread.js), which needs a crossOriginIsolated page (COOP/COEP headers).
 */
export function init(options?: InitOptions): Promise<Runtime> {
  return initWith(options, {
    bundled: (backend) => compileUrl(KERNEL_URLS[backend]),
    custom: compileSource,
    threads,
  });
}
