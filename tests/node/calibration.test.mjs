// init()'s calibration (issue 13): where both SIMD builds validate and no
// backend was named, init() times both and keeps the faster, reports the
// timings, and that build is the one in use. Run with
// --experimental-wasm-relaxed-simd (npm test does) so Node 20 validates both.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { init, backend, detectFeatures, terminate, threads, RNN, Tensor } from "wasm-rnn";
// The test seam is internal to the package: imported by URL, so the type check does not follow it into the
// emitted JavaScript, and typed here instead.
/** @type {{ setCalibrationTimer(timer: ((backend: string, round: () => void) => number) | null): void }} */
const { setCalibrationTimer } = await import(new URL("../../dist/lib/src/runtime/calibrate.js", import.meta.url).href);

const BOTH = detectFeatures().relaxedSimd && detectFeatures().simd;
const needsBoth = BOTH ? {} : { skip: "this runtime does not validate relaxed SIMD" };
/** kernel_build() codes (assembly/abi.ts). */
const BUILD = { simd: 1, relaxed: 2 };

afterEach(() => setCalibrationTimer(null));

/** A timer that runs each round (so the probe still executes) but reports `ms[backend]`. */
const fakeTimer = (ms) => (backendName, round) => {
  round();
  return ms[backendName];
};

test("init() without a backend times both SIMD builds and reports the choice", needsBoth, async () => {
  const runtime = await init();
  const { calibration } = runtime;
  assert.ok(calibration !== null, "expected a calibration");
  assert.ok(["simd", "relaxed"].includes(calibration.chosen), `chosen: ${calibration.chosen}`);
  for (const name of ["simd", "relaxed"]) {
    const ms = calibration.timings[name];
    assert.ok(Number.isFinite(ms) && ms >= 0, `timings.${name} = ${ms}`);
  }
  assert.ok(calibration.costMs >= calibration.timings.simd + calibration.timings.relaxed, "cost covers the rounds");
  assert.ok(calibration.costMs < 1000, `calibration took ${calibration.costMs} ms`);
  assert.equal(runtime.backend, calibration.chosen);
  assert.equal(backend(), calibration.chosen);
  assert.equal(runtime.kernel.kernel_build(), BUILD[calibration.chosen]);
});

test("the faster build by the timer is chosen, and is the one in use", needsBoth, async () => {
  for (const [ms, winner] of [
    [{ simd: 2, relaxed: 1 }, "relaxed"],
    [{ simd: 1, relaxed: 2 }, "simd"],
  ]) {
    setCalibrationTimer(fakeTimer(ms));
    const runtime = await init();
    assert.equal(runtime.calibration.chosen, winner);
    assert.deepEqual({ ...runtime.calibration.timings }, ms);
    assert.equal(backend(), winner);
    assert.equal(runtime.kernel.kernel_build(), BUILD[winner]);
    // Models made now run on that build.
    const rnn = new RNN({ inputSize: 3, hiddenSize: 5, seed: 1 });
    const [y] = rnn.forward(new Tensor(new Float32Array(6).fill(0.5), [2, 1, 3]));
    assert.deepEqual(y.shape, [2, 1, 5]);
    rnn.dispose();
  }
});

test("on threads, init() runs the threaded build of the calibration's choice", needsBoth, async (t) => {
  t.after(() => terminate());
  for (const [ms, winner] of [
    [{ simd: 2, relaxed: 1 }, "relaxed"],
    [{ simd: 1, relaxed: 2 }, "simd"],
  ]) {
    setCalibrationTimer(fakeTimer(ms));
    const runtime = await init({ threads: 2, requireThreads: true });
    assert.equal(runtime.calibration.chosen, winner);
    assert.equal(runtime.threads, 2);
    assert.equal(threads(), 2);
    assert.equal(backend(), winner);
    assert.equal(runtime.kernel.kernel_build(), BUILD[winner]);
  }
});

test("a tie within the margin goes to the SIMD build", needsBoth, async () => {
  setCalibrationTimer(fakeTimer({ simd: 1, relaxed: 0.96 }));
  assert.equal((await init()).calibration.chosen, "simd");
  setCalibrationTimer(fakeTimer({ simd: 1, relaxed: 1 }));
  assert.equal((await init()).calibration.chosen, "simd");
  assert.equal(backend(), "simd");
});

test("each build's best timed round is reported", needsBoth, async () => {
  const timed = [1.5, 1.2, 1.4, 1.3, 1.6];
  const seen = { simd: 0, relaxed: 0 };
  setCalibrationTimer((name, round) => {
    round();
    return timed[seen[name]++] + (name === "simd" ? 0 : 1);
  });
  const { calibration } = await init();
  assert.deepEqual(seen, { simd: 5, relaxed: 5 });
  assert.deepEqual({ ...calibration.timings }, { simd: 1.2, relaxed: 2.2 });
  assert.equal(calibration.chosen, "simd");
});

test("a named backend, or a kernel given by the user, skips the calibration", async () => {
  let calls = 0;
  setCalibrationTimer((_name, round) => {
    calls++;
    round();
    return 1;
  });
  const simd = await init({ backend: "simd" });
  assert.equal(simd.calibration, null);
  assert.equal(backend(), "simd");
  if (BOTH) {
    const relaxed = await init({ backend: "relaxed" });
    assert.equal(relaxed.calibration, null);
    assert.equal(backend(), "relaxed");
  }
  const bytes = await readFile(new URL("../../build/rnn.simd.wasm", import.meta.url));
  assert.equal((await init({ wasm: bytes })).calibration, null);
  assert.equal((await init({ module: await WebAssembly.compile(bytes) })).calibration, null);
  assert.equal(calls, 0);
});

test("a runtime without relaxed SIMD has nothing to calibrate", async (t) => {
  // Node 20 validates relaxed SIMD only behind --experimental-wasm-relaxed-simd: a child without it.
  const child = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      'import { init, detectFeatures } from "wasm-rnn"; const r = await init();' +
        "console.log(JSON.stringify({ relaxed: detectFeatures().relaxedSimd, backend: r.backend, calibration: r.calibration }));",
    ],
    { encoding: "utf8", cwd: new URL(".", import.meta.url) },
  );
  assert.equal(child.status, 0, child.stderr);
  const got = JSON.parse(child.stdout);
  if (got.relaxed) {
    t.skip("this Node validates relaxed SIMD without the flag");
    return;
  }
  assert.deepEqual(got, { relaxed: false, backend: "simd", calibration: null });
});
