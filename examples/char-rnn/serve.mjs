// Builds the web demo and serves it on 127.0.0.1 (only this machine can reach it),
// twice: cross-origin isolated (COOP/COEP headers, so the page can share memory with
// workers and runs on threads) on --port, and the same files without those headers
// (one thread, the page says why) on a free port.
//
//   node examples/char-rnn/serve.mjs [--port N]     (default 8080; 0 picks a free port)
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildWeb } from "./build-web.mjs";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  // application/wasm lets the browser compile the kernel while it downloads.
  ".wasm": "application/wasm",
  ".safetensors": "application/octet-stream",
  ".txt": "text/plain; charset=utf-8",
};

// Cross-origin isolation: without it a page has no SharedArrayBuffer (so no threads),
// and browsers round performance.now() to 100 µs, coarser than one step; with it, to 5 µs.
// On every response: a worker's script must carry COEP too when its page does.
const ISOLATION = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};

/**
 * Serves the directory `root` on 127.0.0.1:`port`, cross-origin isolated unless
 * `isolated` is false; resolves to `{ url, root, close() }`.
 */
export function serveStatic(root, port = 0, { isolated = true } = {}) {
  const server = createServer(async (request, response) => {
    const { pathname } = new URL(request.url, "http://127.0.0.1");
    const path = normalize(join(root, decodeURIComponent(pathname.endsWith("/") ? `${pathname}index.html` : pathname)));
    try {
      if (!path.startsWith(root.endsWith(sep) ? root : root + sep)) throw new Error("outside the root");
      const body = await readFile(path);
      response
        .writeHead(200, {
          "content-type": TYPES[extname(path)] ?? "application/octet-stream",
          "cache-control": "no-store", // a rebuilt demo shows up on reload
          ...(isolated ? ISOLATION : {}),
        })
        .end(body);
    } catch {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        root,
        close: () => new Promise((done) => server.close(done)),
      }),
    );
  });
}

/** Builds the demo, then serves it (`options` as serveStatic's). */
export async function startDemo(port = 0, options = {}) {
  return serveStatic(await buildWeb(), port, options);
}

/**
 * The scripts' entry: serves what `start(port)` builds on --port (or $PORT, or
 * `defaultPort`), on any free port if that one is taken, and prints the address.
 */
export async function serveFromCommandLine(start, label, defaultPort) {
  const { values } = parseArgs({ options: { port: { type: "string", default: process.env.PORT ?? defaultPort } } });
  let server;
  try {
    server = await start(Number(values.port));
  } catch (error) {
    if (error.code !== "EADDRINUSE") throw error;
    server = await start(0); // the usual port is taken: any free one will do
  }
  console.log(`${label}: ${server.url}  (Ctrl+C to stop)`);
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const isolated = await serveFromCommandLine(startDemo, "char-RNN web demo, threads (COOP/COEP)", "8080");
  const plain = await serveStatic(isolated.root, 0, { isolated: false });
  console.log(`the same page without COOP/COEP, one thread: ${plain.url}`);
}
