// Node (node:test): the package through its "node" export condition, which
// reads the kernel file next to the installed package.
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import * as pkg from "wasm-rnn";
import { smoke, threadsSmoke } from "../smoke.js";

// V8 shipped relaxed SIMD in 11.4 (Node 21); Node 20 (V8 11.3) validates plain SIMD only.
const [major, minor] = process.versions.v8.split(".").map(Number);
const backend = major > 11 || (major === 11 && minor >= 4) ? "relaxed" : "simd";

test(`smoke suite on Node ${process.version}`, async () => {
  const fixture = JSON.parse(await readFile(new URL("../fixture.json", import.meta.url), "utf8"));
  const summary = await smoke(pkg, fixture, { backend });
  console.log(`smoke: ${JSON.stringify({ runtime: `Node ${process.version}`, ...summary })}`);
});

test(`threads 2 and 4 compute every case bit for bit as one thread, on Node ${process.version}`, async () => {
  const fixture = JSON.parse(await readFile(new URL("../fixture.json", import.meta.url), "utf8"));
  const summary = await threadsSmoke(pkg, fixture, { counts: [2, 4] });
  console.log(`smoke: ${JSON.stringify({ runtime: `Node ${process.version}`, ...summary })}`);
});
