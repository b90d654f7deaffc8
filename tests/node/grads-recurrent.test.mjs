// Backward of RNN (tanh, relu), GRU, LSTM (projSize 0 and > 0) and the three cells against PyTorch
// float64 autograd, in every build: tests/fixtures/grads.json, written by
// tests/fixtures/generate_grads.py with Debian's python3-torch.
//
// Each case runs forward in training mode on the fixture's weights, input and initial state, then
// backward with the fixture's gradOutput and final-state gradients, and checks gradInput (in the
// input's form), the initial-state gradients (h0's shape, also when forward had no h0) and every
// parameter gradient of gradients() within toleranceFromError(torch32Error, float64 reference) =
// 4 * torch32Error + 2e-6 * max(1, max|ref|), where torch32Error is PyTorch float32 autograd's own
// error on that result over the stored run and 6 runs with the hidden units permuted. The worst
// error/tolerance per (module, result kind, build) is printed at the end.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, PackedSequence, Tensor } from "wasm-rnn";
import { loadFixture, maxAbsError, toleranceFromError } from "../helpers/fixtures.mjs";
import { stateDictOf, tensorOf } from "../helpers/parity.mjs";
import { forEachBackend } from "./backends.mjs";

const fixture = loadFixture("grads");
const CLASSES = { RNN, GRU, LSTM, RNNCell, GRUCell, LSTMCell };

/** Per (module, kind, build): cases, worst error/tolerance and where. */
const table = new Map();

function record(backend, module, kind, where, ratio) {
  const key = `${module}\t${kind}\t${backend}`;
  const row = table.get(key) ?? { module, kind, backend, checks: 0, worst: 0, at: "-" };
  row.checks++;
  if (ratio > row.worst) Object.assign(row, { worst: ratio, at: where });
  table.set(key, row);
}

/** Result kinds of the table: the input, the states, weights, biases. */
const kindOf = (name) =>
  name === "gradInput" ? "input" : name.startsWith("grad") ? "state" : name.startsWith("bias") ? "bias" : "weight";

function check(backend, c, name, ours) {
  const ref = c.grads64[name];
  assert.ok(ref !== undefined, `${c.name}: the fixture has ${name}`);
  assert.deepEqual([...ours.shape], ref.shape, `${c.name} ${name}: shape`);
  const error = maxAbsError(ours.data, ref.data);
  const tol = toleranceFromError(c.torch32Error[name], ref.data);
  assert.ok(
    error <= tol,
    `${c.name} ${name}: max |ours - float64| = ${error} > tolerance ${tol} (PyTorch float32: ${c.torch32Error[name]})`,
  );
  record(backend, c.module, kindOf(name), `${c.name} ${name}`, error / tol);
}

const isPacked = (c) => c.layout === "sorted" || c.layout === "unsorted";

/** The fixture's rows as a PackedSequence with its batch sizes and indices. */
const packedOf = (c, t) => new PackedSequence(tensorOf(t), c.batchSizes, c.sortedIndices, c.unsortedIndices);

function runModule(backend, c) {
  const module = new CLASSES[c.module]({ ...c.config, seed: 0 });
  try {
    module.loadStateDict(stateDictOf(c.stateDict));
    const lstm = c.module === "LSTM";
    const input = isPacked(c) ? packedOf(c, c.input) : tensorOf(c.input);
    const state = c.h0 === null ? null : lstm ? [tensorOf(c.h0), tensorOf(c.c0)] : tensorOf(c.h0);
    const [output] = module.forward(input, state);
    const gradOutput = isPacked(c) ? packedOf(c, c.gradOutput) : tensorOf(c.gradOutput);
    assert.equal(output instanceof PackedSequence, isPacked(c), "output form");
    const [gradInput, gradState] = module.backward(
      gradOutput,
      lstm ? [tensorOf(c.gradHn), tensorOf(c.gradCn)] : tensorOf(c.gradHn),
    );
    if (isPacked(c)) {
      assert.ok(gradInput instanceof PackedSequence, "packed input gives a packed gradInput");
      assert.deepEqual(Array.from(gradInput.batchSizes), c.batchSizes, "gradInput batchSizes");
      assert.deepEqual(gradInput.sortedIndices && Array.from(gradInput.sortedIndices), c.sortedIndices);
      assert.deepEqual(gradInput.unsortedIndices && Array.from(gradInput.unsortedIndices), c.unsortedIndices);
      check(backend, c, "gradInput", gradInput.data);
    } else {
      assert.ok(gradInput instanceof Tensor, "tensor input gives a Tensor gradInput");
      check(backend, c, "gradInput", gradInput);
    }
    if (lstm) {
      check(backend, c, "gradH0", gradState[0]);
      check(backend, c, "gradC0", gradState[1]);
    } else {
      check(backend, c, "gradH0", gradState);
    }
    checkParameters(backend, c, module);
  } finally {
    module.dispose();
  }
}

function checkParameters(backend, c, module) {
  const grads = module.gradients();
  assert.deepEqual(Object.keys(grads), Object.keys(c.stateDict), "gradients() keyed and ordered like stateDict()");
  for (const [name, g] of Object.entries(grads)) check(backend, c, name, g);
}

function runCell(backend, c) {
  const cell = new CLASSES[c.module]({ ...c.config, seed: 0 });
  try {
    cell.loadStateDict(stateDictOf(c.stateDict));
    const lstm = c.module === "LSTMCell";
    const state = c.h === null ? null : lstm ? [tensorOf(c.h), tensorOf(c.c)] : tensorOf(c.h);
    cell.forward(tensorOf(c.input), state);
    if (lstm) {
      const [gradInput, [gradH, gradC]] = cell.backward([tensorOf(c.gradH), tensorOf(c.gradC)]);
      check(backend, c, "gradInput", gradInput);
      check(backend, c, "gradH0", gradH);
      check(backend, c, "gradC0", gradC);
    } else {
      const [gradInput, gradH] = cell.backward(tensorOf(c.gradH));
      check(backend, c, "gradInput", gradInput);
      check(backend, c, "gradH0", gradH);
    }
    checkParameters(backend, c, cell);
  } finally {
    cell.dispose();
  }
}

forEachBackend((backend) => {
  for (const c of fixture.cases) {
    test(`${c.name}: gradInput, gradState and every parameter gradient match PyTorch float64 within 4x float32's error`, () => {
      if (c.module.endsWith("Cell")) runCell(backend, c);
      else runModule(backend, c);
    });
  }
}, "grads.json");

test("grads.json covers every module, layout, direction and depth the issue asks for", () => {
  const has = (pred) => fixture.cases.some(pred);
  for (const m of ["RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"])
    assert.ok(
      has((c) => c.module === m),
      m,
    );
  for (const layout of ["batched", "batchFirst", "unbatched", "sorted", "unsorted"]) {
    for (const m of ["RNN", "GRU", "LSTM"])
      assert.ok(
        has((c) => c.module === m && c.layout === layout),
        `${m} ${layout}`,
      );
  }
  assert.ok(
    has((c) => c.config.projSize > 0 && c.config.bidirectional && c.config.numLayers === 3),
    "LSTM projSize",
  );
  assert.ok(
    has((c) => c.config.nonlinearity === "relu" && c.module === "RNN"),
    "RNN relu",
  );
  const steps = (c) =>
    isPacked(c) ? c.batchSizes.length : c.layout === "batchFirst" ? c.input.shape[1] : c.input.shape[0];
  for (const m of ["RNN", "GRU", "LSTM"])
    assert.ok(
      has((c) => c.module === m && steps(c) >= 300),
      `${m} 300+ steps`,
    );
});

after(() => {
  if (table.size === 0) return;
  const lines = ["grads.json: module | result | build | checks | worst error/tolerance (where)"];
  for (const r of table.values()) {
    lines.push(
      `  ${r.module.padEnd(8)} | ${r.kind.padEnd(6)} | ${r.backend.padEnd(7)} | ${String(r.checks).padStart(4)} | ` +
        `${r.worst.toFixed(3)} (${r.at})`,
    );
  }
  console.log(lines.join("\n"));
});
