// Builds the training page and serves it on 127.0.0.1 (only this machine can reach it).
//
//   node examples/char-train/serve.mjs [--port N]     (default 8081; 0 picks a free port)
import { fileURLToPath } from "node:url";
import { serveFromCommandLine, serveStatic } from "../char-rnn/serve.mjs";
import { buildWeb } from "./build-web.mjs";

/** Builds the page, then serves it; resolves to `{ url, close() }`. */
export async function startDemo(port = 0) {
  return serveStatic(await buildWeb(), port);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serveFromCommandLine(startDemo, "char-RNN training page", "8081");
}
