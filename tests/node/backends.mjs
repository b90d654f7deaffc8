// The kernel builds this runtime can validate, and a helper that registers a
// suite per build. Not a test file itself (node --test only picks *.test.mjs).
//
// `init({ backend })` switches the kernel for models created afterwards; each
// model keeps the kernel it was created on. node:test runs suites in order, so
// a suite's `before` hook switches to its build and every model its tests
// create runs on that build.
import { describe, before } from "node:test";
import assert from "node:assert/strict";
import { init, backend as activeBackend, detectFeatures } from "wasm-rnn";

const features = detectFeatures();

/** @type {readonly import("wasm-rnn").Backend[]} Every release build. */
const ALL_BACKENDS = ["scalar", "simd", "relaxed"];

/** Release builds this runtime validates: scalar always, simd with SIMD, relaxed with relaxed SIMD. */
export const BACKENDS = Object.freeze(
  ALL_BACKENDS.filter((b) => b === "scalar" || (features.simd && (b === "simd" || features.relaxedSimd))),
);

/** Builds this runtime cannot run (reported as skipped suites so a missing flag is visible). */
export const SKIPPED_BACKENDS = Object.freeze(ALL_BACKENDS.filter((b) => !BACKENDS.includes(b)));

/**
 * Registers `describe("<label>: <backend> build")` for every build in BACKENDS and
 * calls `fn(backend, context)` inside it; `context.runtime` is what
 * `init({ backend })` returned (`{ backend, features, kernel }`), set before the
 * suite's tests run.
 */
export function forEachBackend(fn, label = "") {
  const title = (name) => `${label ? `${label}: ` : ""}${name} build`;
  for (const name of BACKENDS) {
    describe(title(name), () => {
      const context = { backend: name, runtime: null };
      before(async () => {
        context.runtime = await init({ backend: name });
        assert.equal(context.runtime.backend, name);
        assert.equal(activeBackend(), name);
      });
      fn(name, context);
    });
  }
  for (const name of SKIPPED_BACKENDS) {
    describe(title(name), { skip: `this runtime does not validate the ${name} build` }, () => {});
  }
}
