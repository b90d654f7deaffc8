// Deno: the builds come in as source-phase imports, so the default `init()`
// needs no permission flags; `wasm` is fetched (a file: URL needs --allow-read,
// an http one --allow-net).
import type { InitOptions, Runtime } from "../runtime/runtime.js";
import { compileSource, initWith } from "./common.js";
import * as KERNELS from "./deno-kernels.js";

export * from "../api.js";

/**
 * Instantiates the kernel; call once before creating models.
 * Picks the fastest build the runtime validates unless `backend` is given;
 * `wasm` (a URL or bytes) or `module` replace it.
 */
export function init(options?: InitOptions): Promise<Runtime> {
  return initWith(options, {
    bundled: (backend) => KERNELS[backend],
    custom: compileSource,
  });
}
