// Deno (`deno test` with no permission flags): the package through its "deno"
// export condition, which gets its kernels from source-phase imports.
import * as pkg from "wasm-rnn";
import { smoke } from "../smoke.js";
import fixture from "../fixture.json" with { type: "json" };

Deno.test(`smoke suite on Deno ${Deno.version.deno}`, async () => {
  // What this harness proves is that the default init() needs no permissions.
  if ((await Deno.permissions.query({ name: "read" })).state === "granted") {
    throw new Error("run this without --allow-read");
  }
  const summary = await smoke(pkg, fixture, { backend: "relaxed" });
  console.log(`smoke: ${JSON.stringify({ runtime: `Deno ${Deno.version.deno}`, ...summary })}`);
});
