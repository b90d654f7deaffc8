// init({ wasm }) in Node (and Bun, which loads the same entry) takes what the
// README promises: an http(s) URL is fetched, a file: URL (string or URL
// object) and a plain path are read from disk. The kernel is served from a
// local node:http server on 127.0.0.1 that counts the requests it gets.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { init, RNN, Tensor } from "wasm-rnn";

const KERNEL_URL = new URL(import.meta.resolve("wasm-rnn/rnn.scalar.wasm"));
const KERNEL = readFileSync(KERNEL_URL);
/** @type {string[]} */
const requests = [];
let origin = "";
const server = createServer((request, response) => {
  requests.push(request.url ?? "");
  if (request.url === "/rnn.wasm") response.writeHead(200, { "content-type": "application/wasm" }).end(KERNEL);
  else response.writeHead(404).end();
});

before(async () => {
  await new Promise((listening) => server.listen(0, "127.0.0.1", () => listening(undefined)));
  origin = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`;
});
after(() => server.close());

/** The kernel `init` loaded runs a forward: one step of a seeded RNN gives finite numbers. */
function assertKernelWorks() {
  const [output] = new RNN({ inputSize: 2, hiddenSize: 3, seed: 1 }).forward(Tensor.from([[0.5, -1]]));
  assert.equal(output.data.length, 3);
  assert.ok(output.data.every(Number.isFinite));
}

test("an http: URL string is fetched from the server, not opened as a path", async () => {
  requests.length = 0;
  const runtime = await init({ wasm: `${origin}/rnn.wasm` });
  assert.deepEqual(requests, ["/rnn.wasm"]);
  assert.equal(runtime.backend, "custom");
  assertKernelWorks();
});

test("an http: URL object is fetched from the server", async () => {
  requests.length = 0;
  await init({ wasm: new URL("/rnn.wasm", origin) });
  assert.deepEqual(requests, ["/rnn.wasm"]);
  assertKernelWorks();
});

test("a URL the server answers with 404 rejects with the HTTP status", async () => {
  await assert.rejects(init({ wasm: `${origin}/missing.wasm` }), /HTTP 404/);
});

test("a file: URL, as a string or a URL object, is read from disk", async () => {
  for (const wasm of [KERNEL_URL.href, KERNEL_URL]) {
    requests.length = 0;
    assert.equal((await init({ wasm })).backend, "custom");
    assert.deepEqual(requests, []);
    assertKernelWorks();
  }
});

test("a plain path is read from disk", async () => {
  requests.length = 0;
  assert.equal((await init({ wasm: fileURLToPath(KERNEL_URL) })).backend, "custom");
  assert.deepEqual(requests, []);
  assertKernelWorks();
});
