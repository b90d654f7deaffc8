// The bounded differential fuzz of `npm test`: a fixed-seed batch of random
// configurations checked against the float64 reference in every build (the
// long run is `npm run fuzz`, tests/fuzz/run.mjs), the replay of every case
// the fuzzer ever failed (tests/fuzz/regressions.json), and checks that the
// harness itself has teeth: small weight errors are caught, and a failure
// shrinks to a small reproducer that replays.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { init } from "wasm-rnn";
import { BACKENDS } from "./backends.mjs";
import {
  caseSeedOf,
  checkSpec,
  formatFailure,
  fuzz,
  macsOf,
  makeRng,
  randomSpec,
  shrink,
} from "../fuzz/differential.mjs";

/** Configurations per run (each checked in every build): 200 × 3 builds ≈ 600 runs, a few seconds of CPU. */
const CASES = 200;
const SEED = 20261128;

const regressions = JSON.parse(readFileSync(new URL("../fuzz/regressions.json", import.meta.url), "utf8")).cases;
const summary = [];

test(`regressions.json: every case the fuzzer once failed passes in every build (${BACKENDS.join(", ")})`, async () => {
  assert.ok(regressions.length > 0);
  for (const backend of BACKENDS) {
    await init({ backend });
    for (const entry of regressions) {
      const r = checkSpec(entry.case);
      assert.ok(r.ok, `${backend} build, regression seed ${entry.case.seed} (found on ${entry.backend}): ${r.message}`);
    }
  }
});

test(`${CASES} random configurations (seed ${SEED}) match the float64 reference within the float32 tolerance in every build`, async () => {
  const result = await fuzz({ seed: SEED, cases: CASES, backends: BACKENDS, log: null });
  summary.push(
    `fuzz: ${result.cases} configurations, ${result.runs} runs across ${BACKENDS.length} builds in ` +
      `${result.seconds.toFixed(1)} s; ${result.failures.length} failures; worst error/tolerance ` +
      `${result.worst.ratio.toFixed(3)} (${result.worst.backend}); ${result.rescaled} regenerated at unit scale`,
  );
  assert.equal(result.runs, CASES * BACKENDS.length);
  assert.equal(result.failures.length, 0, `\n${result.failures.map(formatFailure).join("\n\n")}`);
});

test("the generator covers the space: sizes 1 to 300, 1 to 4 layers, every layout, both directions, scales incl. x5 and subnormal", () => {
  const specs = Array.from({ length: CASES }, (_, i) => randomSpec(makeRng(caseSeedOf(SEED, i)), caseSeedOf(SEED, i)));
  const has = (predicate) => specs.some(predicate);
  for (const mode of ["batched", "unbatched", "packed"])
    assert.ok(
      has((s) => s.mode === mode),
      mode,
    );
  assert.ok(has((s) => s.mode === "packed" && s.enforceSorted) && has((s) => s.mode === "packed" && !s.enforceSorted));
  for (const L of [1, 2, 3, 4])
    assert.ok(
      has((s) => s.numLayers === L),
      `numLayers ${L}`,
    );
  for (const key of ["bidirectional", "bias", "batchFirst", "h0", "dirty"]) {
    assert.ok(has((s) => s[key]) && has((s) => !s[key]), key);
  }
  assert.ok(has((s) => s.nonlinearity === "relu") && has((s) => s.nonlinearity === "tanh"));
  assert.ok(has((s) => s.hiddenSize === 1) && has((s) => s.hiddenSize > 200), "hidden sizes from 1 to > 200");
  assert.ok(
    has((s) => s.inputSize > 200),
    "input sizes > 200",
  );
  assert.ok(
    has((s) => s.hiddenSize % 2 === 1 && s.hiddenSize > 8),
    "odd hidden sizes past a SIMD width",
  );
  assert.ok(
    has((s) => s.weightScale === 5) && has((s) => s.weightScale === 1e-39) && has((s) => s.inputScale === 1e-39),
  );
  assert.ok(
    specs.every((s) => macsOf(s) <= 1.5e6),
    "every case within the cost budget",
  );
});

/** A copy of a state dict with one element of one parameter changed by `f`. */
function tamper(name, index, f) {
  return (sd) => {
    const out = { ...sd };
    const t = sd[name];
    const data = t.data.slice();
    data[index] = f(data[index]);
    out[name] = { data, shape: t.shape };
    return out;
  };
}

const PLAIN = {
  seed: 7,
  inputSize: 9,
  hiddenSize: 12,
  numLayers: 2,
  nonlinearity: "tanh",
  bias: true,
  batchFirst: false,
  bidirectional: true,
  mode: "batched",
  steps: 6,
  batch: 3,
  h0: true,
  weightScale: 1,
  inputScale: 1,
  dirty: false,
};

test("the comparison has teeth: a 0.1% change to one weight, a dropped bias element or swapped directions fail", async () => {
  await init({ backend: BACKENDS.at(-1) });
  assert.ok(checkSpec(PLAIN).ok, "the untouched case passes");
  const mutations = {
    "weight_hh_l1_reverse[0] × 1.001": tamper("weight_hh_l1_reverse", 0, (v) => v * 1.001),
    "weight_ih_l0[5] × 1.001": tamper("weight_ih_l0", 5, (v) => v * 1.001),
    "bias_hh_l0[3] = 0": tamper("bias_hh_l0", 3, () => 0),
    "forward and reverse weights of layer 0 swapped": (sd) => ({
      ...sd,
      weight_hh_l0: sd.weight_hh_l0_reverse,
      weight_hh_l0_reverse: sd.weight_hh_l0,
    }),
  };
  for (const [what, mutate] of Object.entries(mutations)) {
    assert.equal(checkSpec(PLAIN, { mutate }).ok, false, `${what} is caught`);
  }
});

test("a failure shrinks to a small reproducer that still fails when replayed from its JSON", async () => {
  await init({ backend: BACKENDS[0] });
  const big = {
    ...PLAIN,
    seed: 11,
    inputSize: 40,
    hiddenSize: 33,
    numLayers: 3,
    mode: "packed",
    steps: 9,
    batch: 6,
    lengths: [9, 4, 7, 1, 9, 2],
    enforceSorted: false,
    dirty: true,
    batchFirst: true,
  };
  // A bug that needs only weight_ih_l0[0]: the minimal case is one layer, one step, size 1.
  const mutate = tamper("weight_ih_l0", 0, (v) => v * 1.01 + 1e-3);
  assert.equal(checkSpec(big, { mutate }).ok, false);
  const { spec, result } = shrink(big, { mutate });
  assert.equal(result.ok, false);
  const replayed = JSON.parse(JSON.stringify(spec));
  assert.equal(checkSpec(replayed, { mutate }).ok, false, "the printed JSON reproduces the failure");
  assert.equal(spec.numLayers, 1);
  assert.equal(spec.bidirectional, false);
  assert.ok(spec.steps === 1 && spec.hiddenSize === 1 && spec.inputSize === 1, `shrunk to ${JSON.stringify(spec)}`);
  const text = formatFailure({
    backend: BACKENDS[0],
    spec,
    message: result.message,
    original: big,
    originalMessage: "x",
  });
  const entry = JSON.parse(text.split("\n").at(-1));
  assert.deepEqual(entry.case, spec, "the last line of the report is a regressions.json entry");
});

after(() => {
  for (const line of summary) console.log(line);
});
