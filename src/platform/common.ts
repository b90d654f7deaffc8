// What every runtime entry's `init()` shares. An entry only says how it gets
// the package's own build of a backend (`bundled`) and how it turns the
// user's `init({ wasm })` into a module (`custom`).
import {
  checkInitOptions,
  chooseBackend,
  initFromModule,
  initTicket,
  type InitOptions,
  type Runtime,
  type ThreadPlan,
} from "../runtime/runtime.js";
import type { Backend } from "../runtime/features.js";
import { calibrate } from "../runtime/calibrate.js";
import {
  AUTO_THREADS_CAP,
  isThreadedBuild,
  sharedMemoryUnavailable,
  type SpawnThread,
} from "../runtime/threads/pool.js";
import { describe } from "../core/describe.js";

export type WasmSource = NonNullable<InitOptions["wasm"]>;

/** What a runtime entry needs to run the kernel on threads. */
export interface ThreadSupport {
  /** The package's threaded build of `backend` (rnn.<backend>-threads.wasm). */
  bundled(backend: Backend): WebAssembly.Module | Promise<WebAssembly.Module>;
  /** Starts one helper thread (the runtime's worker script); see SpawnThread. */
  spawn: SpawnThread;
  /** The runtime's core count, for `threads: "auto"`. */
  cores(): number;
}

export interface Loader {
  /** The package's own build of `backend`. */
  bundled(backend: Backend): WebAssembly.Module | Promise<WebAssembly.Module>;
  /** Compiles what the user passed as `init({ wasm })`. */
  custom(source: WasmSource): Promise<WebAssembly.Module>;
  /** How this runtime runs threads, or why it cannot (a reason for `threadsFallback`); none: it cannot. */
  threads?: ThreadSupport | string;
}

/** `init()` for a runtime whose loading is `loader`. */
export async function initWith(options: unknown, loader: Loader): Promise<Runtime> {
  const ticket = initTicket();
  const o = checkInitOptions(options);
  const requested = chooseBackend(o);
  const userModule = o.module !== undefined || o.wasm !== undefined;
  // Both SIMD builds validate and none was named: which is faster here is timed, not assumed.
  const { calibration, module: calibrated } =
    requested === "relaxed" && o.backend === undefined && !userModule
      ? await calibrate(loader.bundled)
      : { calibration: null, module: undefined };
  const backend = calibration?.chosen ?? requested;
  const support = loader.threads ?? "this runtime's entry of wasm-rnn does not start worker threads";
  let plan = planThreads(o, support);
  const threaded = plan.count > 1 && typeof support !== "string" ? support : null;
  // On threads, the threaded build of the calibration's choice (the single-thread builds were timed).
  const module =
    o.module ??
    (o.wasm !== undefined
      ? await loader.custom(o.wasm)
      : threaded !== null
        ? await threaded.bundled(backend)
        : (calibrated ?? (await loader.bundled(backend))));
  if (plan.count > 1 && !isThreadedBuild(module)) {
    plan = refuseThreads(
      plan.count,
      o,
      `the kernel given is a single-thread build (pass rnn.${backend}-threads.wasm for threads)`,
    );
  }
  return initFromModule(
    module,
    o.backend === undefined && userModule ? "custom" : backend,
    o,
    ticket,
    plan,
    calibration,
  );
}

/** The threads init() asks for, or one thread with the reason it cannot have them. */
function planThreads(o: InitOptions, support: ThreadSupport | string): ThreadPlan {
  const require = o.requireThreads === true;
  if (o.threads === undefined || o.threads === 1) return { count: 1, spawn: null, fallback: null, require };
  const count = o.threads === "auto" ? autoThreads(support) : o.threads;
  if (count === 1) return { count: 1, spawn: null, fallback: null, require };
  if (typeof support === "string") return refuseThreads(count, o, support);
  const unavailable = sharedMemoryUnavailable();
  if (unavailable !== null) return refuseThreads(count, o, unavailable);
  return { count, spawn: support.spawn, fallback: null, require };
}

/** `threads: "auto"`: the runtime's cores, at most AUTO_THREADS_CAP (2 where the runtime cannot tell). */
function autoThreads(support: ThreadSupport | string): number {
  if (typeof support === "string") return 2;
  const cores = support.cores();
  return Number.isInteger(cores) && cores >= 1 ? Math.min(cores, AUTO_THREADS_CAP) : 2;
}

/** One thread with `reason`, or the Error `requireThreads` asks for. */
function refuseThreads(count: number, o: InitOptions, reason: string): ThreadPlan {
  if (o.requireThreads === true) throw new Error(`init: ${count} threads were requested, but ${reason}`);
  return { count: 1, spawn: null, fallback: reason, require: false };
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
