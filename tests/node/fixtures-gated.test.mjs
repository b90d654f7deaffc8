// GRU and LSTM (projSize 0 and > 0): PyTorch parity on tests/fixtures/gated.json in every build,
// seeded init on gated-init.json, and the state-dict contract (PyTorch's key order, strict and
// prefix loads). Written by tests/fixtures/generate.py with Debian's python3-torch.
//
// Each fixture case: shapes exactly PyTorch's, every result within toleranceFromError(torch32Error,
// float64 reference) = 4 * torch32Error + 2e-6 * max(1, max|ref|); packed input gives a
// PackedSequence with the input's batchSizes and indices. The worst error/tolerance per module and
// build is printed at the end.
//
// torch32Error is PyTorch float32's error over the generated run AND 8 runs of the same model with
// its hidden units permuted (the same function, float32 sums rounded in another order), not over
// the one stored run: on saturating cases one run can be lucky. On
// saturate-x8-LSTM-P3-bias-bf1-bi1-L2-state-batched-I4-H8-T5-B4 the stored run is off by 2.8e-6,
// permuted runs by 2.5e-6 to 1.8e-5 (median 4.2e-6 over 24), and our kernels by 2.8e-5 to 3.4e-5.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { GRU, LSTM, Tensor, PackedSequence, packPaddedSequence, padPackedSequence } from "wasm-rnn";
import { loadFixture, maxAbsError } from "../helpers/fixtures.mjs";
import {
  ParityTable,
  assertStateDictBits,
  packedRows,
  stateDictOf,
  tensorOf,
  testSeededInit,
} from "../helpers/parity.mjs";
import { forEachBackend } from "./backends.mjs";

const gated = loadFixture("gated");
const inits = loadFixture("gated-init");
const MODULES = { GRU, LSTM };
const table = new ParityTable("gated.json");
const list = (typed) => (typed === null ? null : Array.from(typed));

/** The state argument of forward for a case: GRU h0, LSTM [h0, c0], or nothing. */
function stateOf(c) {
  if (c.h0 === null) return [];
  return c.module === "LSTM" ? [[tensorOf(c.h0), tensorOf(c.c0)]] : [tensorOf(c.h0)];
}

/** Splits forward's result into output and [hN, cN?] whatever the module. */
function resultsOf(c, result) {
  assert.ok(Array.isArray(result) && result.length === 2, `${c.module}.forward returns [output, state]`);
  const [output, state] = result;
  if (c.module === "LSTM") {
    assert.ok(Array.isArray(state) && state.length === 2, "LSTM state is a pair [hN, cN]");
    return { output, hN: state[0], cN: state[1] };
  }
  assert.ok(state instanceof Tensor, "GRU state is a Tensor");
  return { output, hN: state };
}

function runCase(backend, c) {
  const module = new MODULES[c.module]({ ...c.config, seed: 0 });
  try {
    module.loadStateDict(stateDictOf(c.stateDict));
    const where = (what) => `${c.name} ${what}`;
    if (c.packed === undefined) {
      const { output, hN, cN } = resultsOf(c, module.forward(tensorOf(c.input), ...stateOf(c)));
      assert.ok(output instanceof Tensor, "tensor input gives a Tensor output");
      table.check(backend, c.module, where("output"), output, c.output, c.output64, c.torch32Error);
      table.check(backend, c.module, where("hN"), hN, c.hN, c.hN64, c.torch32Error);
      if (c.module === "LSTM") table.check(backend, c.module, where("cN"), cN, c.cN, c.cN64, c.torch32Error);
      return;
    }
    const { batchFirst } = c.config;
    const sequence = packPaddedSequence(tensorOf(c.input), c.packed.lengths, {
      batchFirst,
      enforceSorted: c.packed.enforceSorted,
    });
    assert.deepEqual(list(sequence.batchSizes), c.batchSizes, "input batchSizes as PyTorch");
    const { output, hN, cN } = resultsOf(c, module.forward(sequence, ...stateOf(c)));
    assert.ok(output instanceof PackedSequence, "packed input gives a PackedSequence output");
    assert.deepEqual(list(output.batchSizes), c.batchSizes, "output batchSizes");
    assert.deepEqual(list(output.sortedIndices), c.sortedIndices, "output sortedIndices");
    assert.deepEqual(list(output.unsortedIndices), c.unsortedIndices, "output unsortedIndices");
    table.check(
      backend,
      c.module,
      where("packed data"),
      output.data,
      packedRows(c.output, c.batchSizes, c.sortedIndices, batchFirst),
      packedRows(c.output64, c.batchSizes, c.sortedIndices, batchFirst),
      c.torch32Error,
    );
    const [padded, lengths] = padPackedSequence(output, { batchFirst });
    assert.deepEqual(list(lengths), c.packed.lengths, "lengths in the caller's order");
    table.check(backend, c.module, where("padded output"), padded, c.output, c.output64, c.torch32Error);
    table.check(backend, c.module, where("hN"), hN, c.hN, c.hN64, c.torch32Error);
    if (c.module === "LSTM") table.check(backend, c.module, where("cN"), cN, c.cN, c.cN64, c.torch32Error);
  } finally {
    module.dispose();
  }
}

forEachBackend((backend) => {
  for (const c of gated.cases) {
    test(`${c.name}: results and state match PyTorch float64 within 4x PyTorch float32's error`, () =>
      runCase(backend, c));
  }
}, "gated.json");

after(() => console.log(table.toString()));

test("every gated.json case records torch32Error, at least its stored float32 run's error", () => {
  for (const c of gated.cases) {
    const single = Math.max(
      ...[
        ["output", "output64"],
        ["hN", "hN64"],
        ["cN", "cN64"],
      ]
        .filter(([k]) => c[k] !== undefined)
        .map(([k, k64]) => maxAbsError(c[k].data, c[k64].data)),
    );
    assert.ok(Number.isFinite(c.torch32Error) && c.torch32Error >= single, `${c.name}: ${c.torch32Error} < ${single}`);
  }
});

test("gated.json covers the issue's grid (so a generator change cannot silently drop an axis)", () => {
  const has = (pred) => gated.cases.some(pred);
  const cfg = (c) => c.config;
  for (const module of ["GRU", "LSTM"]) {
    const of = gated.cases.filter((c) => c.module === module);
    assert.ok(
      of.some((c) => c.packed?.enforceSorted === true) && of.some((c) => c.packed?.enforceSorted === false),
      `${module}: packed sorted and unsorted`,
    );
    assert.ok(
      of.some((c) => cfg(c).batchFirst) && of.some((c) => cfg(c).bidirectional) && of.some((c) => !cfg(c).bias),
      `${module}: batchFirst, bidirectional, no bias`,
    );
    assert.ok(
      of.some((c) => c.input.shape.length === 2 && c.packed === undefined),
      `${module}: unbatched`,
    );
    assert.ok(of.some((c) => c.h0 === null) && of.some((c) => c.h0 !== null), `${module}: with and without a state`);
    for (const L of [1, 2, 3])
      assert.ok(
        of.some((c) => cfg(c).numLayers === L),
        `${module}: ${L} layers`,
      );
    assert.ok(
      of.some((c) => c.name.startsWith("long") && Math.max(...c.input.shape) >= 1000),
      `${module}: 1,000+ steps`,
    );
    assert.ok(
      of.some((c) => c.name.startsWith("saturate")),
      `${module}: saturating weights`,
    );
    assert.ok(
      of.some((c) => cfg(c).hiddenSize % 8 === 0) && of.some((c) => cfg(c).hiddenSize % 8 !== 0),
      `${module}: hidden sizes that are and are not multiples of 8`,
    );
  }
  assert.ok(
    has((c) => c.module === "LSTM" && cfg(c).projSize > 0 && c.packed !== undefined),
    "LSTM projSize, packed",
  );
  assert.ok(
    has((c) => c.module === "LSTM" && cfg(c).projSize > 0 && c.input.shape.length === 2 && !c.packed),
    "LSTM projSize, unbatched",
  );
});

// ---------------------------------------------------------------------------
// Seeded init (backend-independent: parameters live on the host).

testSeededInit(inits.cases, MODULES);

test("LSTM with projSize: parameter shapes and key order are PyTorch's (weight_hr last in each layer and direction)", () => {
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 6, projSize: 2, numLayers: 2, bidirectional: true, seed: 0 });
  try {
    // Per layer and direction: weight_ih (4H, in), weight_hh (4H, P), bias_ih, bias_hh (4H), weight_hr (P, H);
    // layer 1 reads both directions' projected outputs (in = 2P = 4).
    const expected = [];
    for (const [layer, inputs] of [
      [0, 3],
      [1, 4],
    ]) {
      for (const suffix of ["", "_reverse"]) {
        const at = `_l${layer}${suffix}`;
        expected.push([`weight_ih${at}`, [24, inputs]], [`weight_hh${at}`, [24, 2]], [`bias_ih${at}`, [24]]);
        expected.push([`bias_hh${at}`, [24]], [`weight_hr${at}`, [2, 6]]);
      }
    }
    const actual = Object.entries(lstm.stateDict()).map(([k, v]) => [k, [...v.shape]]);
    assert.deepEqual(actual, expected, "names, order and shapes");
    const [out, [hN, cN]] = lstm.forward(Tensor.zeros([3, 5, 3]));
    assert.deepEqual([...out.shape], [3, 5, 4], "output features D*P");
    assert.deepEqual([...hN.shape], [4, 5, 2], "hN (L*D, N, P)");
    assert.deepEqual([...cN.shape], [4, 5, 6], "cN (L*D, N, H)");
  } finally {
    lstm.dispose();
  }
});

test("GRU and LSTM seeded init differs between seeds (the bit-exact check above can fail)", () => {
  for (const Module of [GRU, LSTM]) {
    const a = new Module({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const b = new Module({ inputSize: 3, hiddenSize: 4, seed: 2 });
    try {
      assert.notDeepEqual(Array.from(a.stateDict().weight_ih_l0.data), Array.from(b.stateDict().weight_ih_l0.data));
    } finally {
      a.dispose();
      b.dispose();
    }
  }
});

// ---------------------------------------------------------------------------
// loadStateDict: strict and prefix, with PyTorch's key order.

const prefixed = (prefix, sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [prefix + k, v]));

for (const name of ["GRU", "LSTM"]) {
  test(`${name}.loadStateDict: a PyTorch state dict loads bit for bit, under a prefix among other keys, strict and not`, () => {
    const c = gated.cases.find(
      (x) =>
        x.module === name &&
        x.config.numLayers === 2 &&
        x.config.bidirectional &&
        x.config.bias &&
        (name === "GRU" || x.config.projSize > 0),
    );
    const Module = MODULES[name];
    const expected = c.stateDict;
    for (const [sd, options] of [
      [stateDictOf(expected), undefined],
      [
        {
          "embedding.weight": Tensor.zeros([2, 2]),
          ...prefixed("rnn.", stateDictOf(expected)),
          "head.bias": Tensor.zeros([1]),
        },
        { prefix: "rnn." },
      ],
      [prefixed("encoder.rnn.", stateDictOf(expected)), { prefix: "encoder.rnn.", strict: false }],
    ]) {
      const module = new Module({ ...c.config, seed: 99 });
      try {
        module.loadStateDict(sd, options);
        assertStateDictBits(module.stateDict(), expected, `load with ${JSON.stringify(options)}`);
      } finally {
        module.dispose();
      }
    }
  });

  test(`${name}.loadStateDict with strict: false keeps the parameters a partial dict leaves out`, () => {
    const c = gated.cases.find((x) => x.module === name && x.config.numLayers === 2);
    const module = new MODULES[name]({ ...c.config, seed: 5 });
    try {
      const before = module.stateDict();
      const keys = Object.keys(c.stateDict);
      module.loadStateDict({ [keys[0]]: tensorOf(c.stateDict[keys[0]]) }, { strict: false });
      const after = module.stateDict();
      assert.deepEqual(Array.from(after[keys[0]].data), Array.from(c.stateDict[keys[0]].data), "loaded key");
      for (const k of keys.slice(1))
        assert.deepEqual(Array.from(after[k].data), Array.from(before[k].data), `kept ${k}`);
    } finally {
      module.dispose();
    }
  });
}
