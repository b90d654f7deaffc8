// Node's side of the worker pool's seam (src/runtime/threads/pool.ts): a
// helper thread is a worker_threads Worker running dist/node-thread.js,
// unref'd once it is ready (init() waits for that) so that a process using
// threads exits by itself.
import { Worker } from "node:worker_threads";
import type { ThreadHandle } from "../runtime/threads/pool.js";
import type { ThreadMessage, ThreadStart } from "../runtime/threads/thread.js";

/** Relative to dist/node.js, the bundle this file is inlined into. */
const THREAD_SCRIPT = new URL("./node-thread.js", import.meta.url);

/** Starts one helper thread; its messages, load errors and early exits go to `listener`. */
export function spawnNodeThread(start: ThreadStart, listener: (message: ThreadMessage) => void): ThreadHandle {
  const worker = new Worker(THREAD_SCRIPT, { workerData: start });
  worker.on("message", (message: ThreadMessage) => {
    if (message.type === "ready") worker.unref();
    listener(message);
  });
  worker.on("error", (error) => listener({ type: "error", message: String(error) }));
  worker.on("exit", (code) => listener({ type: "error", message: `the worker exited (code ${code})` }));
  return { terminate: () => void worker.terminate() };
}
