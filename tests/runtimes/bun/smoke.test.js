// Bun (`bun test`): the package through its "node" export condition (Bun has
// no "bun" one here), which reads the kernel file next to the installed package.
import { test } from "bun:test";
import * as pkg from "wasm-rnn";
import { smoke, threadsSmoke } from "../smoke.js";
import fixture from "../fixture.json";

test(`smoke suite on Bun ${Bun.version}`, async () => {
  const summary = await smoke(pkg, fixture, { backend: "relaxed" });
  console.log(`smoke: ${JSON.stringify({ runtime: `Bun ${Bun.version}`, ...summary })}`);
});

test(`threads 2 and 4 compute every case bit for bit as one thread, on Bun ${Bun.version}`, async () => {
  const summary = await threadsSmoke(pkg, fixture, { counts: [2, 4] });
  console.log(`smoke: ${JSON.stringify({ runtime: `Bun ${Bun.version}`, ...summary })}`);
});
