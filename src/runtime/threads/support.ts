// The thread support a runtime entry hands to init() (Loader.threads in
// src/platform/common.ts): it plans the threads an init() asks for and starts
// the pool. Only entries that start threads import it, so the one-thread path
// carries none of the pool.

import type { Backend } from "../features.js";
import type { KernelExports } from "../kernel.js";
import { ONE_THREAD, refuseThreads, type InitOptions, type StartedThreads, type ThreadPlan } from "../runtime.js";
import { isThreadedBuild, threadedImports } from "./build.js";
import {
  AUTO_THREADS_CAP,
  ThreadPool,
  joinedCall,
  sharedMemoryUnavailable,
  type SpawnThread,
  type ThreadExports,
} from "./pool.js";

/** What a runtime provides for threads. */
export interface ThreadPlatform {
  /** The package's threaded build of `backend` (rnn.<backend>-threads.wasm). */
  bundled(backend: Backend): WebAssembly.Module | Promise<WebAssembly.Module>;
  /** Starts one helper thread running the runtime's thread script (pool.ts). */
  spawn: SpawnThread;
  /** The runtime's core count, for `threads: "auto"`. */
  cores(): number;
}

/** What init() uses of a runtime's thread support. */
export interface ThreadSupport {
  bundled(backend: Backend): WebAssembly.Module | Promise<WebAssembly.Module>;
  /** The threads `o.threads` (not 1) asks for, or one thread with the reason it cannot have them. */
  plan(o: InitOptions): ThreadPlan;
}

/** The thread support of a runtime whose platform side is `platform`. */
export function threadSupport(platform: ThreadPlatform): ThreadSupport {
  return {
    bundled: platform.bundled,
    plan(o) {
      const count = o.threads === "auto" ? autoThreads(platform.cores()) : (o.threads ?? 1);
      if (count === 1) return ONE_THREAD;
      const unavailable = sharedMemoryUnavailable();
      if (unavailable !== null) return refuseThreads(o, unavailable);
      return {
        count,
        fallback: null,
        imports: threadedImports(),
        start: (exports, module) => startPool(exports, module, count, platform.spawn),
      };
    },
  };
}

/** `threads: "auto"`: the runtime's cores, at most AUTO_THREADS_CAP (2 where the runtime cannot tell). */
function autoThreads(cores: number): number {
  return Number.isInteger(cores) && cores >= 1 ? Math.min(cores, AUTO_THREADS_CAP) : 2;
}

/**
 * Starts the pool on a threaded kernel, and wraps its layer calls to report the threads' failures.
 * @throws Error saying why not: the kernel given is a single-thread build, or a thread did not start.
 */
async function startPool(
  exports: KernelExports,
  module: WebAssembly.Module,
  count: number,
  spawn: SpawnThread,
): Promise<StartedThreads> {
  if (!isThreadedBuild(module)) {
    throw new Error("the kernel given is a single-thread build (pass an rnn.<backend>-threads.wasm for threads)");
  }
  const raw = exports as KernelExports & ThreadExports;
  const pool = await ThreadPool.start(raw, module, count, spawn);
  return {
    pool,
    exports: Object.freeze({
      ...exports,
      rnn_layer: joinedCall(raw, raw.rnn_layer, "rnn_layer", pool),
      gru_layer: joinedCall(raw, raw.gru_layer, "gru_layer", pool),
      lstm_layer: joinedCall(raw, raw.lstm_layer, "lstm_layer", pool),
    }),
  };
}
