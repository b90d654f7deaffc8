// A Worker written as a user writes one, importing the package by name.
// lib/workerd.mjs bundles it the way wrangler does; `workerd test` calls test().
import * as pkg from "wasm-rnn";
import { smoke, threadsFallbackSmoke } from "../smoke.js";
import fixture from "../fixture.json";

export default {
  async test() {
    const summary = await smoke(pkg, fixture, { backend: "relaxed" });
    console.log(`smoke: ${JSON.stringify({ runtime: "workerd", ...summary })}`);
    // Workers run each request on one thread: no Worker constructor to start more.
    const fallback = await threadsFallbackSmoke(pkg, fixture, { reason: "Cloudflare Workers" });
    console.log(`smoke: ${JSON.stringify({ runtime: "workerd", ...fallback })}`);
  },
};
