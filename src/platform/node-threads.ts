// Node's side of the worker pool's seam (src/runtime/threads/pool.ts): a
// helper thread is a worker_threads Worker running dist/node-thread.js,
// unref'd once it is ready (init() waits for that) so that a process using
// threads exits by itself.
import { Worker } from "node:worker_threads";
import type { ThreadHandle } from "../runtime/threads/pool.js";
import type { ThreadMessage, ThreadStart } from "../runtime/threads/thread.js";

/** Relative to dist/node.js, the bundle this file is inlined into. */
const THREAD_SCRIPT = new URL("./node-thread.js", import.meta.url);

/**
 * Starts one helper thread; its messages, load errors and early exits go to `listener`.
 * `script` replaces dist/node-thread.js (Deno's, deno-threads.ts, is a data: URL).
 */
export function spawnNodeThread(
  start: ThreadStart,
  listener: (message: ThreadMessage) => void,
  script: URL = THREAD_SCRIPT,
): ThreadHandle {
  // The parent's Node options are not the thread's business (`--input-type` even stops a worker
  // from loading); V8's flags, relaxed SIMD's included, are the process's and apply anyway.
  const worker = new Worker(script, { workerData: start, execArgv: [] });
  worker.on("message", (message: ThreadMessage) => {
    if (message.type === "ready") worker.unref();
    listener(message);
  });
  worker.on("error", (error) => listener({ type: "error", message: String(error) }));
  worker.on("exit", (code) => listener({ type: "error", message: `the worker exited (code ${code})` }));
  return { terminate: () => void worker.terminate() };
}
