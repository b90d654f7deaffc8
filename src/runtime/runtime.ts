// The core every platform entry shares: it takes a compiled WebAssembly.Module
// (each runtime only differs in how it obtains one) and instantiates it.

import { BACKENDS, bestBackend, detectFeatures, type Backend, type Features } from "./features.js";
import { Kernel, type KernelExports } from "./kernel.js";
import type { Calibration } from "./calibrate.js";
import { describe } from "../core/describe.js";
import { Build } from "../../assembly/abi.js";

/** Options of `init()`, shared by every runtime entry. */
export interface InitOptions {
  /** Force a kernel build; by default the fastest one the runtime validates. */
  backend?: Backend;
  /** A compiled kernel (for bundlers, CDNs and Workers). Its build must match `backend`, if given. */
  module?: WebAssembly.Module;
  /** Where to load the kernel from instead of the file next to the package: a URL, path, or the bytes. */
  wasm?: string | URL | ArrayBuffer | ArrayBufferView;
  /**
   * Instantiates the module in place of `WebAssembly.instantiate` (for instrumented
   * builds such as the debug kernel, loaded in tests through @assemblyscript/loader).
   */
  instantiate?: (module: WebAssembly.Module) => Promise<WebAssembly.Instance | { exports: object }>;
  /**
   * Threads one forward uses (1 by default): a number, or "auto" for the runtime's
   * core count (at most 8). Where memory cannot be shared, init falls back to one
   * thread and says why (`threadsFallback`).
   */
  threads?: number | "auto";
  /** Throw instead of falling back to one thread when `threads` cannot be had. */
  requireThreads?: boolean;
}

/** What `init()` resolves to. */
export interface Runtime {
  /** The kernel build in use. */
  readonly backend: string;
  /** The WebAssembly features the runtime validated. */
  readonly features: Features;
  /** The raw kernel ABI (assembly/index.ts); for tools and tests, not needed for normal use. */
  readonly kernel: KernelExports;
  /** Threads one forward uses (1 when not threaded). */
  readonly threads: number;
  /** Why fewer threads are used than were asked for, or null. */
  readonly threadsFallback: string | null;
  /** How init() chose between the SIMD builds by timing both; null when it had nothing to choose or was told. */
  readonly calibration: Calibration | null;
}

/** How init() runs the kernel: on `count` threads that `start` starts, or on one (with the `fallback` reason). */
export interface ThreadPlan {
  count: number;
  fallback: string | null;
  /** The threaded builds' imports (their shared memory); none for one thread. */
  imports: WebAssembly.Imports;
  /**
   * Starts the helper threads on the instantiated kernel (threads/support.ts); throws an Error
   * saying why it cannot (e.g. the kernel given is a single-thread build).
   */
  start: ((exports: KernelExports, module: WebAssembly.Module) => Promise<StartedThreads>) | null;
}

/** A running worker pool, as init() and terminate() see it (threads/pool.ts). */
export interface Pool {
  readonly count: number;
  readonly terminated: boolean;
  terminate(): void;
}

/** A started pool, and the kernel's exports wrapped to report its threads' failures. */
export interface StartedThreads {
  pool: Pool;
  exports: KernelExports;
}

export const ONE_THREAD: ThreadPlan = { count: 1, fallback: null, imports: {}, start: null };

/** The most threads init() starts: more than any machine the kernel's partition gains on. */
const MAX_THREADS = 64;

/** One thread with `reason`, or the Error `requireThreads` asks for instead. */
export function refuseThreads(o: InitOptions, reason: string): ThreadPlan {
  if (o.requireThreads === true) {
    const asked = o.threads === "auto" ? "threads were" : `${o.threads} threads were`;
    throw new Error(`init: ${asked} requested, but ${reason}`);
  }
  return { ...ONE_THREAD, fallback: reason };
}

/** Every function of the ABI the modules call. */
const KERNEL_FUNCTIONS = [
  "alloc",
  "free",
  "allocated_bytes",
  "set_write_window",
  "pack_panels",
  "pack_gate_panels",
  "pack_gate_bias",
  "gemm",
  "rnn_layer",
  "gru_layer",
  "lstm_layer",
  "kernel_build",
] as const;

let current: { runtime: Runtime; kernel: Kernel; pool: Pool | null } | null = null;
/** init() calls are numbered when made; the latest call to finish loading wins only if no later call already did. */
let lastTicket = 0;
let appliedTicket = 0;

/** Numbers an init() call at the moment it is made, before any loading. */
export function initTicket(): number {
  return ++lastTicket;
}

/** Picks the backend from options and probes; throws for a name that is not a build. */
export function chooseBackend(options: InitOptions | undefined): Backend {
  const features = detectFeatures();
  const requested = options?.backend;
  if (requested === undefined) return bestBackend(features);
  if (!BACKENDS.includes(requested)) {
    throw new RangeError(
      `init: backend must be one of ${BACKENDS.map((b) => `'${b}'`).join(", ")}, got ${describe(requested)}`,
    );
  }
  if (requested === "relaxed" && !features.relaxedSimd) {
    throw new Error("init: backend 'relaxed' needs WebAssembly relaxed SIMD, which this runtime does not validate");
  }
  if (requested !== "scalar" && !features.simd) {
    throw new Error(`init: backend '${requested}' needs WebAssembly SIMD, which this runtime does not validate`);
  }
  return requested;
}

/** Checks the options object's shape before any loading starts. */
export function checkInitOptions(options: unknown): InitOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`init: options must be an object, got ${describe(options)}`);
  }
  const known = new Set(["backend", "module", "wasm", "instantiate", "threads", "requireThreads"]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`init: unknown option '${key}'`);
  }
  const o = options as InitOptions;
  if (o.module !== undefined && !(o.module instanceof WebAssembly.Module)) {
    throw new TypeError(`init: module must be a WebAssembly.Module, got ${describe(o.module)}`);
  }
  if (o.instantiate !== undefined && typeof o.instantiate !== "function") {
    throw new TypeError(`init: instantiate must be a function, got ${describe(o.instantiate)}`);
  }
  checkThreadsOption(o.threads);
  if (o.requireThreads !== undefined && typeof o.requireThreads !== "boolean") {
    throw new TypeError(`init: requireThreads must be a boolean, got ${describe(o.requireThreads)}`);
  }
  return o;
}

function checkThreadsOption(threads: unknown): void {
  if (threads === undefined || threads === "auto") return;
  if (typeof threads !== "number") {
    throw new TypeError(`init: threads must be a number or 'auto', got ${describe(threads)}`);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`init: threads must be an integer from 1 to ${MAX_THREADS} or 'auto', got ${threads}`);
  }
}

/**
 * Instantiates a compiled kernel and makes it the one new models use — unless
 * an init() call made later (`ticket`) has already finished, so the call made
 * last decides, whichever load completes first.
 */
export async function initFromModule(
  module: WebAssembly.Module,
  backend: string,
  options: InitOptions = {},
  ticket = initTicket(),
  plan: ThreadPlan = ONE_THREAD,
  calibration: Calibration | null = null,
): Promise<Runtime> {
  const instance = options.instantiate
    ? await options.instantiate(module)
    : await WebAssembly.instantiate(module, plan.imports);
  let exports = instance.exports as unknown as KernelExports;
  if (!(exports.memory instanceof WebAssembly.Memory) || typeof exports.rnn_layer !== "function") {
    throw new TypeError("init: the WebAssembly module is not a wasm-rnn kernel (no memory or rnn_layer export)");
  }
  const missing = KERNEL_FUNCTIONS.filter((name) => typeof exports[name] !== "function");
  if (missing.length > 0) {
    throw new TypeError(
      `init: the WebAssembly module is another version of the wasm-rnn kernel (no ${missing.join(", ")} export)`,
    );
  }
  if (options.backend !== undefined && (options.module !== undefined || options.wasm !== undefined)) {
    checkBuildMatches(exports, options.backend);
  }
  let pool: Pool | null = null;
  let fallback = plan.fallback;
  if (plan.start !== null) {
    try {
      ({ pool, exports } = await plan.start(exports, module));
    } catch (error) {
      fallback = (error as Error).message;
      refuseThreads(options, fallback);
    }
  }
  const kernel = new Kernel(exports);
  const runtime: Runtime = Object.freeze({
    backend,
    features: detectFeatures(),
    kernel: exports,
    threads: pool?.count ?? 1,
    threadsFallback: fallback,
    calibration,
  });
  if (ticket > appliedTicket) {
    appliedTicket = ticket;
    current?.pool?.terminate();
    current = { runtime, kernel, pool };
  } else {
    pool?.terminate();
  }
  return runtime;
}

/** What the kernel's `kernel_build()` export returns, by build (assembly/index.ts). */
const BUILD_CODES: Readonly<Record<number, Backend>> = {
  [Build.Scalar]: "scalar",
  [Build.Simd]: "simd",
  [Build.Relaxed]: "relaxed",
};

/**
 * A kernel the user supplied must be the build the user named: the name is what `backend()` and the
 * runtime report, and what code choosing a build by feature relies on. The kernel says which build
 * it is (its compile-time features), since the exports and imports of every build are the same.
 * @throws Error naming both builds, or saying the kernel cannot tell.
 */
function checkBuildMatches(exports: KernelExports, requested: Backend): void {
  const built = BUILD_CODES[exports.kernel_build()];
  if (built !== requested) {
    throw new Error(
      `init: backend '${requested}' was requested, but the kernel given is the '${built}' build: ` +
        `pass the ${requested} build (rnn.${requested}.wasm), or leave backend out`,
    );
  }
}

/** The kernel new models are created on. */
export function activeKernel(): Kernel {
  if (current === null) {
    throw new Error("wasm-rnn is not initialised: call `await init()` before creating a model");
  }
  return current.kernel;
}

/** The backend in use, or null before `init()`. */
export function backend(): string | null {
  return current?.runtime.backend ?? null;
}

/** Threads one forward uses with the active kernel: 1 before `init()`, without threads, or after `terminate()`. */
export function threads(): number {
  const pool = current?.pool;
  return pool && !pool.terminated ? pool.count : 1;
}

/**
 * Ends the active kernel's worker threads; models keep working on the calling
 * thread, and `init()` starts a new pool. Nothing to do without threads.
 */
export function terminate(): void {
  current?.pool?.terminate();
}
