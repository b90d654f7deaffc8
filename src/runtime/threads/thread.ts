// What runs inside a helper thread, whatever the runtime: each platform's
// thread script (src/platform/*-thread.ts) receives a ThreadStart the way its
// workers receive messages and hands it here with its way to post back.

/** What a helper thread is started with (structured-cloned to it). */
export interface ThreadStart {
  /** The threaded kernel build, compiled once on the calling thread. */
  module: WebAssembly.Module;
  /** The kernel's shared memory. */
  memory: WebAssembly.Memory;
  /** This thread's index, 1..count−1 (the calling thread is 0). */
  thread: number;
  /** The pool's region in memory (threads_region_bytes). */
  region: number;
}

/** What a helper thread posts back. */
export type ThreadMessage =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "error"; message: string }
  | { type: "stopped" };

/** The helper thread's side of the kernel's protocol (assembly/threads.ts). */
interface ThreadExports {
  thread_start(thread: number, region: number): void;
  thread_loop(): void;
  thread_failed(): void;
}

/**
 * Instantiates the kernel on the shared memory, then runs its jobs until
 * threads_stop. A trap inside a job is reported through the kernel (the
 * calling thread's forward throws) and here (`failed`), and the thread takes
 * the next job. Startup errors are posted as `error`.
 */
export async function runThread(start: ThreadStart, post: (message: ThreadMessage) => void): Promise<void> {
  let kernel: ThreadExports;
  try {
    const instance = await WebAssembly.instantiate(start.module, { env: { memory: start.memory } });
    kernel = instance.exports as unknown as ThreadExports;
    kernel.thread_start(start.thread, start.region);
  } catch (error) {
    post({ type: "error", message: String(error) });
    return;
  }
  post({ type: "ready" });
  for (;;) {
    try {
      kernel.thread_loop();
      break;
    } catch (error) {
      kernel.thread_failed();
      post({ type: "failed", message: String(error) });
    }
  }
  post({ type: "stopped" });
}
