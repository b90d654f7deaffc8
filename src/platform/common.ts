// What every runtime entry's `init()` shares. An entry only says how it gets
// the package's own build of a backend (`bundled`) and how it turns the
// user's `init({ wasm })` into a module (`custom`).
import {
  ONE_THREAD,
  checkInitOptions,
  chooseBackend,
  initFromModule,
  initTicket,
  refuseThreads,
  type InitOptions,
  type Runtime,
} from "../runtime/runtime.js";
import type { Backend } from "../runtime/features.js";
import { calibrate } from "../runtime/calibrate.js";
import type { ThreadSupport } from "../runtime/threads/support.js";
import { describe } from "../core/describe.js";

export type WasmSource = NonNullable<InitOptions["wasm"]>;

export interface Loader {
  /** The package's own build of `backend`. */
  bundled(backend: Backend): WebAssembly.Module | Promise<WebAssembly.Module>;
  /** Compiles what the user passed as `init({ wasm })`. */
  custom(source: WasmSource): Promise<WebAssembly.Module>;
  /**
   * How this runtime runs threads (threadSupport(), src/runtime/threads/support.ts), or why it
   * cannot (the reason init() gives in `threadsFallback`); none: this entry does not start threads.
   * A function is called only when threads are asked for: the browser entry loads the pool then.
   */
  threads?: ThreadSupport | string | (() => Promise<ThreadSupport | string>);
}

/** `init()` for a runtime whose loading is `loader`. */
export async function initWith(options: unknown, loader: Loader): Promise<Runtime> {
  const ticket = initTicket();
  const o = checkInitOptions(options);
  const requested = chooseBackend(o);
  const userModule = o.module !== undefined || o.wasm !== undefined;
  let plan = ONE_THREAD;
  let threaded: ThreadSupport | null = null;
  if (o.threads !== undefined && o.threads !== 1) {
    const given = loader.threads ?? "this runtime's entry of wasm-rnn does not start worker threads";
    const support = typeof given === "function" ? await given() : given;
    plan = typeof support === "string" ? refuseThreads(o, support) : support.plan(o);
    if (plan.count > 1 && typeof support !== "string") threaded = support;
  }
  // Both SIMD builds validate and none was named: which is faster here is timed, not assumed.
  const { calibration, module: calibrated } =
    requested === "relaxed" && o.backend === undefined && !userModule
      ? await calibrate(loader.bundled)
      : { calibration: null, module: undefined };
  const backend = calibration?.chosen ?? requested;
  // On threads, the threaded build of the calibration's choice (the single-thread builds were timed).
  const module =
    o.module ??
    (o.wasm !== undefined
      ? await loader.custom(o.wasm)
      : threaded !== null
        ? await threaded.bundled(backend)
        : (calibrated ?? (await loader.bundled(backend))));
  return initFromModule(
    module,
    o.backend === undefined && userModule ? "custom" : backend,
    o,
    ticket,
    plan,
    calibration,
  );
}

/** Compiles bytes, or what a URL serves: the `custom` loader of every runtime that has `fetch`. */
export async function compileSource(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    return WebAssembly.compile(source as BufferSource);
  }
  if (typeof source === "string" || source instanceof URL) return compileUrl(source);
  throw new TypeError(`init: wasm must be a URL or the bytes of the kernel, got ${describe(source)}`);
}

/**
 * Fetches and compiles a kernel. Compiles while downloading when the server says
 * `application/wasm`; `compileStreaming` rejects any other type, and plenty of
 * static hosts (and `file:` fetches) send one, so then it buffers the bytes.
 */
export async function compileUrl(url: string | URL): Promise<WebAssembly.Module> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`init: fetching the kernel from ${url} failed: HTTP ${response.status} ${response.statusText}`);
  }
  const type = response.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
  if (type === "application/wasm" && typeof WebAssembly.compileStreaming === "function") {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}
