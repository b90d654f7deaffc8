// The script of a Web Worker helper thread (dist/web-thread.js), in browsers
// and Bun: its start message is the first message posted to it, and its
// reports go back the same way.
import { runThread, type ThreadStart } from "../runtime/threads/thread.js";

/** A dedicated worker's global scope, as much of it as this script uses. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ThreadStart>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  scope.onmessage = null;
  void runThread(event.data, (message) => scope.postMessage(message));
};
