// Deno (`deno test` with no permission flags): the package through its "deno"
// export condition, which gets its kernels from source-phase imports.
import * as pkg from "wasm-rnn";
import { smoke, threadsSmoke } from "../smoke.js";
import fixture from "../fixture.json" with { type: "json" };

Deno.test(`smoke suite on Deno ${Deno.version.deno}`, async () => {
  // What this harness proves is that the default init() needs no permissions.
  if ((await Deno.permissions.query({ name: "read" })).state === "granted") {
    throw new Error("run this without --allow-read");
  }
  const summary = await smoke(pkg, fixture, { backend: "relaxed" });
  console.log(`smoke: ${JSON.stringify({ runtime: `Deno ${Deno.version.deno}`, ...summary })}`);
});

Deno.test(`threads 2 and 4 compute every case bit for bit as one thread, on Deno ${Deno.version.deno}`, async () => {
  const summary = await threadsSmoke(pkg, fixture, { counts: [2, 4] });
  console.log(`smoke: ${JSON.stringify({ runtime: `Deno ${Deno.version.deno}`, ...summary })}`);
});
