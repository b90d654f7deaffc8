// The worker pool of a threaded kernel, whatever the runtime. A platform
// supplies one function, SpawnThread: start a helper thread that runs its
// thread script (which hands its start message to runThread, thread.ts) and
// deliver that thread's messages. Node's is worker_threads (src/platform/
// node.ts); Web Workers (Deno, Bun, browsers) fit the same seam.
//
// The pool only wires the kernel's protocol (assembly/threads.ts): it takes a
// region of the kernel's memory, starts threads 1..count−1 on it, and once
// all are ready tells the kernel (threads_configure) that jobs may use them.
// Jobs, barriers and failures are the kernel's and the layer calls' business.

import { SplitMacs } from "../../../assembly/abi.js";
import type { ThreadMessage, ThreadStart } from "./thread.js";

/** One helper thread a platform started. */
export interface ThreadHandle {
  /** Ends the thread at once (it is idle: threads_stop ran first). */
  terminate(): void;
}

/**
 * The platform seam: starts a helper thread running the platform's thread
 * script with `start`, and calls `listener` with every message it posts — and
 * with an `error` message if it fails to load or dies. The thread must not
 * keep the process alive (Node: unref).
 */
export type SpawnThread = (start: ThreadStart, listener: (message: ThreadMessage) => void) => ThreadHandle;

/** The exports of a threaded kernel build the pool and the layer calls use. */
export interface ThreadExports {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  threads_region_bytes(count: number): number;
  /** mayWait: 1 if the calling thread may block (Atomics.wait), 0 if it must only spin. */
  threads_configure(count: number, region: number, mayWait: number): void;
  threads_stop(): void;
  thread_failed(): void;
  threads_status(): number;
  /** Sets the sizes (multiply-adds) from which the kernel splits a step, a projection, the directions. */
  threads_tune(stepMacs: number, projectMacs: number, directionsMacs: number): void;
  /** Test hook: helper thread `thread` traps as it takes its next job. */
  thread_fail_next_job(thread: number): void;
}

/** The most threads `threads: "auto"` takes. */
export const AUTO_THREADS_CAP = 8;

/** threads_status's bit for a helper thread's failure (bit 1 is the calling thread's own trap). */
const HELPER_FAILED = 1;

/**
 * Why memory cannot be shared here, or null: checked before any thread is
 * started, in every runtime.
 */
export function sharedMemoryUnavailable(): string | null {
  if (typeof SharedArrayBuffer === "undefined") {
    return (
      "SharedArrayBuffer is not available (a page must be crossOriginIsolated: served with the headers " +
      "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)"
    );
  }
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return (
      "the page is not crossOriginIsolated (serve it with the headers Cross-Origin-Opener-Policy: same-origin " +
      "and Cross-Origin-Embedder-Policy: require-corp)"
    );
  }
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return "this runtime's WebAssembly has no shared memory (the threads feature)";
  }
  return null;
}

/**
 * Whether this thread may block in Atomics.wait: everywhere but a browser's
 * main thread (a window has a `document`), which only spins.
 */
function callerMayWait(): boolean {
  return typeof (globalThis as { document?: unknown }).document === "undefined";
}

/** A running pool: threads 1..count−1 of one kernel instance. */
export class ThreadPool {
  /** The message of the latest failure a helper thread reported (it may arrive after the call that failed). */
  lastFailure: string | null = null;
  private handles: ThreadHandle[] = [];
  private stopped = false;

  private constructor(
    private readonly kernel: ThreadExports,
    readonly count: number,
  ) {}

  /**
   * Starts count − 1 helper threads on `kernel`'s memory and waits until each
   * has instantiated the module; then jobs use them.
   * @throws Error when a thread fails to start (the others are ended).
   */
  static async start(
    kernel: ThreadExports,
    module: WebAssembly.Module,
    count: number,
    spawn: SpawnThread,
  ): Promise<ThreadPool> {
    const pool = new ThreadPool(kernel, count);
    const bytes = kernel.threads_region_bytes(count);
    const region = kernel.alloc(bytes) >>> 0;
    if (region === 0) throw new RangeError(`wasm-rnn: cannot allocate ${bytes} bytes for ${count} threads`);
    new Uint8Array(kernel.memory.buffer, region, bytes).fill(0);
    const ready: Promise<void>[] = [];
    for (let thread = 1; thread < count; thread++) {
      ready.push(
        new Promise((resolve, reject) => {
          const start: ThreadStart = { module, memory: kernel.memory, thread, region };
          pool.handles.push(
            spawn(start, (message) => {
              if (message.type === "ready") resolve();
              else if (message.type === "error") {
                reject(new Error(`worker thread ${thread} did not start (${message.message})`));
              } else if (message.type === "failed") pool.lastFailure = `thread ${thread}: ${message.message}`;
            }),
          );
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      pool.terminate();
      throw error;
    }
    const mayWait = callerMayWait();
    kernel.threads_configure(count, region, mayWait ? 1 : 0);
    // A spinning main thread pays a helper's wake-up at every step: measured in Chromium, one LSTM step of
    // 123 K multiply-adds (hidden 160, batch 1) took 30–40 µs on one thread and 190–435 µs on two, while
    // batches of millions gained. So there a step splits only from SplitMacs.SpinningStep.
    if (!mayWait) kernel.threads_tune(SplitMacs.SpinningStep, SplitMacs.Projection, SplitMacs.Directions);
    return pool;
  }

  /**
   * Ends the helper threads; the kernel runs every later call on the calling
   * thread (models made before keep working). The region stays allocated: a
   * helper thread may still be reading its control words as it leaves.
   */
  terminate(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.kernel.threads_stop();
    for (const handle of this.handles) handle.terminate();
  }

  /** Whether this pool was terminated. */
  get terminated(): boolean {
    return this.stopped;
  }
}

/**
 * A layer export of a threaded kernel wrapped so that a failure in any thread
 * reaches the caller as an Error, with the pool ready for the next call: the
 * calling thread's own trap first releases the helper threads (thread_failed),
 * then threads_status waits for them to leave the job.
 */
export function joinedCall<A extends unknown[]>(
  kernel: ThreadExports,
  call: (...args: A) => void,
  name: string,
  pool: ThreadPool,
): (...args: A) => void {
  const failure = (): Error =>
    new Error(
      `wasm-rnn: a worker thread failed during ${name} (${pool.lastFailure ?? "a trap in the kernel"}); ` +
        "nothing was returned, and the model and the threads stay usable",
    );
  return (...args: A): void => {
    try {
      call(...args);
    } catch (error) {
      kernel.thread_failed();
      if ((kernel.threads_status() & HELPER_FAILED) !== 0) throw failure();
      throw error;
    }
    if ((kernel.threads_status() & HELPER_FAILED) !== 0) throw failure();
  };
}
