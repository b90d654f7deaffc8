// Cloudflare Workers (workerd): compiling WebAssembly from bytes is refused
// there, so each build is imported as a module, which wrangler and workerd
// hand over already compiled. The specifiers are relative to dist/workerd.js,
// the bundled file users import (esbuild keeps external paths verbatim).
import relaxed from "../build/rnn.relaxed.wasm";
import simd from "../build/rnn.simd.wasm";
import scalar from "../build/rnn.scalar.wasm";
import type { InitOptions, Runtime } from "../runtime/runtime.js";
import { describe } from "../core/describe.js";
import { initWith } from "./common.js";

export * from "../api.js";

const KERNELS = { relaxed, simd, scalar };

/**
 * Instantiates the kernel; call once before creating models.
 * Picks the fastest build the runtime validates unless `backend` is given;
 * `module` replaces it (an imported `.wasm`), `wasm` is refused. `threads`
 * falls back to one thread: a Worker has no threads to start.
 */
export function init(options?: InitOptions): Promise<Runtime> {
  return initWith(options, {
    bundled: (backend) => KERNELS[backend],
    custom: async (source) => {
      throw new TypeError(
        `init: Workers cannot compile WebAssembly from a URL or bytes (got ${describe(source)}); ` +
          "import the .wasm file instead and pass it as `module`, e.g. " +
          '`import kernel from "wasm-rnn/rnn.simd.wasm"; await init({ module: kernel })`',
      );
    },
    // workerd has SharedArrayBuffer and shared WebAssembly memory, but no Worker constructor.
    threads: "Cloudflare Workers run each request on one thread (there is no Worker constructor to start threads)",
  });
}
