// Deno's side of the worker pool's seam (src/runtime/threads/pool.ts). Deno's
// Web Workers keep a process alive until they are terminated and cannot be
// unref'd; its node:worker_threads Workers can, so Deno starts those, as Node
// does (node-threads.ts), and a Deno program using threads exits by itself.
// The thread script is a data: URL holding runThread's own source: a worker
// from a file (or a module graph it imports) needs --allow-read, and the entry
// needs no permission flags.
import type { SpawnThread } from "../runtime/threads/pool.js";
import { runThread } from "../runtime/threads/thread.js";
import { spawnNodeThread } from "./node-threads.js";

let script: URL | null = null;

/** runThread uses only its arguments and globals, so its source runs on its own behind the worker's port. */
function threadScript(): URL {
  script ??= new URL(
    `data:text/javascript,${encodeURIComponent(
      'import { parentPort, workerData } from "node:worker_threads";\n' +
        `(${runThread.toString()})(workerData, (message) => parentPort.postMessage(message));\n`,
    )}`,
  );
  return script;
}

/** Starts one helper thread: Node's way, on the data: URL script. */
export const spawnDenoThread: SpawnThread = (start, listener) => spawnNodeThread(start, listener, threadScript());
