// A static file server on 127.0.0.1 for the Chromium pages. It sends
// application/wasm for .wasm, except under /wrong-mime/ (as many static hosts
// do, to exercise the non-streaming fallback), and the Content-Security-Policy
// that a page's `?csp=` asks for. Under /no-thread-script/ it serves the same
// files but has no web-thread.js (a host that lost the worker script). An `isolated` server sends every response with
// COOP same-origin and COEP require-corp, which makes its pages crossOriginIsolated
// (SharedArrayBuffer, so threads): on every response, because a dedicated worker's
// script must carry COEP too when its page does.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

const POLICIES = {
  strict: "script-src 'self' 'wasm-unsafe-eval'",
  "no-wasm": "script-src 'self'",
};

const ISOLATION = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};

/** Serves `root`, cross-origin isolated or not; resolves to `{ origin, close() }`. */
export function serve(root, { isolated = false } = {}) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://127.0.0.1");
    const prefix = ["/wrong-mime", "/no-thread-script"].find((p) => url.pathname.startsWith(`${p}/`)) ?? "";
    const wrongMime = prefix === "/wrong-mime";
    const path = normalize(join(root, decodeURIComponent(url.pathname.slice(prefix.length))));
    const headers = { "cache-control": "no-store", ...(isolated ? ISOLATION : {}) };
    const policy = POLICIES[url.searchParams.get("csp")];
    if (policy) headers["content-security-policy"] = policy;
    try {
      if (!path.startsWith(root + sep)) throw new Error("outside the root");
      if (prefix === "/no-thread-script" && path.endsWith("web-thread.js")) throw new Error("lost");
      const body = await readFile(path);
      headers["content-type"] = wrongMime
        ? "application/octet-stream"
        : (TYPES[extname(path)] ?? "application/octet-stream");
      response.writeHead(200, headers).end(body);
    } catch {
      response.writeHead(404, headers).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        origin: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`,
        close: () => new Promise((done) => server.close(done)),
      }),
    );
  });
}
