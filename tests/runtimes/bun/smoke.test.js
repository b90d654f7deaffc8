// Bun (`bun test`): the package through its "node" export condition (Bun has
// no "bun" one here), which reads the kernel file next to the installed package.
import { test } from "bun:test";
import * as pkg from "wasm-rnn";
import { smoke } from "../smoke.js";
import fixture from "../fixture.json";

test(`smoke suite on Bun ${Bun.version}`, async () => {
  const summary = await smoke(pkg, fixture, { backend: "relaxed" });
  console.log(`smoke: ${JSON.stringify({ runtime: `Bun ${Bun.version}`, ...summary })}`);
});
