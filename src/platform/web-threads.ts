// Browsers' and Bun's side of the worker pool's seam (src/runtime/threads/pool.ts):
// a helper thread is a module Web Worker running dist/web-thread.js, the file
// next to the entry (like the .wasm files), so a strict Content-Security-Policy
// (script-src 'self') allows it where a blob: or data: worker would be refused.
// Bun's Web Workers can be unref'd, so a Bun process using threads exits by
// itself; browsers have nothing to unref.
import type { ThreadHandle } from "../runtime/threads/pool.js";
import type { ThreadMessage, ThreadStart } from "../runtime/threads/thread.js";

/** Starts one helper thread; its messages, and a script that fails to load, go to `listener`. */
export function spawnWebThread(start: ThreadStart, listener: (message: ThreadMessage) => void): ThreadHandle {
  // Literally `new Worker(new URL("…", import.meta.url), { type: "module" })`: the form webpack 5,
  // Vite and Parcel recognise and bundle. Relative to dist/browser.js (and dist/node.js), which inline this file.
  const worker = new Worker(new URL("./web-thread.js", import.meta.url), { type: "module" });
  worker.onmessage = (event: MessageEvent<ThreadMessage>) => {
    if (event.data.type === "ready") (worker as Worker & { unref?(): void }).unref?.();
    listener(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    // A script that does not load gives a plain Event: no message to pass on.
    const reason = event.message || "its script did not load";
    listener({
      type: "error",
      message:
        `the Web Worker failed: ${reason} (${new URL("./web-thread.js", import.meta.url)}; a cross-origin ` +
        "isolated page must serve it with Cross-Origin-Embedder-Policy too)",
    });
  };
  worker.postMessage(start);
  return { terminate: () => worker.terminate() };
}
