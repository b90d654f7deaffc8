// Threads give the same bits as one thread: every case of forward.json,
// gated.json and packed.json (eval forward; train forward, its backward and
// gradients), and larger seeded cases, on 1, 2, 3 and 4 threads, in
// every threaded build (scalar, simd, relaxed). On the fixtures' small sizes the kernel would keep
// every call on one thread, so those runs lower its split thresholds to zero
// (threads_tune, after the larger cases, which run with the kernel's own
// thresholds): every step, projection and direction pair that can be split is.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, terminate, threads } from "wasm-rnn";
import { loadFixture } from "../helpers/fixtures.mjs";
import { BACKENDS } from "./backends.mjs";
import {
  LARGE_CASES,
  THREADED_BACKENDS,
  assertSameBits,
  runFixtureCase,
  runLargeCase,
  threadExports,
} from "./threads-helpers.mjs";

const FIXTURES = ["forward", "gated", "packed"].map((name) => ({ name, cases: loadFixture(name).cases }));
const caseName = (c) => c.name ?? `${c.module} ${JSON.stringify(c.config)} ${c.shape}`;

after(() => terminate());

for (const backend of THREADED_BACKENDS) {
  describe(`${backend} build`, { skip: !BACKENDS.includes(backend) && `this runtime has no ${backend} build` }, () => {
    const reference = new Map();
    before(async () => {
      await init({ backend });
      for (const { name, cases } of FIXTURES) reference.set(name, cases.map(runFixtureCase));
      reference.set("large", LARGE_CASES.map(runLargeCase));
    });

    for (const count of [2, 3, 4]) {
      describe(`${count} threads`, () => {
        let runtime;
        before(async () => {
          runtime = await init({ backend, threads: count, requireThreads: true });
        });

        test(`init starts ${count} threads`, () => {
          assert.equal(runtime.threads, count);
          assert.equal(runtime.threadsFallback, null);
          assert.equal(threads(), count);
        });

        test("larger layers, split by the kernel's own thresholds, give one thread's bits", () => {
          LARGE_CASES.forEach((c, i) => assertSameBits(runLargeCase(c), reference.get("large")[i], caseName(c)));
        });

        for (const { name, cases } of FIXTURES) {
          test(`${name}.json: every case, split wherever it can be, gives one thread's bits`, () => {
            threadExports(runtime).threads_tune(0, 0, 0);
            cases.forEach((c, i) => assertSameBits(runFixtureCase(c), reference.get(name)[i], caseName(c)));
          });
        }
      });
    }
  });
}
