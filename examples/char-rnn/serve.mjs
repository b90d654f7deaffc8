// Builds the web demo and serves it on 127.0.0.1 (only this machine can reach it).
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

/** Serves the directory `root` on 127.0.0.1:`port`; resolves to `{ url, close() }`. */
export function serveStatic(root, port = 0) {
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
          // Cross-origin isolation: without it browsers round performance.now() to
          // 100 µs, coarser than one step; with it, to 5 µs.
          "cross-origin-opener-policy": "same-origin",
          "cross-origin-embedder-policy": "require-corp",
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
        close: () => new Promise((done) => server.close(done)),
      }),
    );
  });
}

/** Builds the demo, then serves it. */
export async function startDemo(port = 0) {
  return serveStatic(await buildWeb(), port);
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
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serveFromCommandLine(startDemo, "char-RNN web demo", "8080");
}
