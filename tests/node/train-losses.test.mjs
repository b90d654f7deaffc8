// crossEntropy and mseLoss: loss and gradient against PyTorch float64 autograd on
// tests/fixtures/train.json (written by generate_train.py) within 4x PyTorch float32's own error,
// the result shapes PyTorch gives, the target forms accepted, and every bad argument refused with a
// clear error and its inputs untouched. The losses are JavaScript only (no kernel), so one run.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { crossEntropy, mseLoss, Tensor } from "wasm-rnn";
import { loadFixture } from "../helpers/fixtures.mjs";
import { ParityTable, tensorOf } from "../helpers/parity.mjs";

const fixture = loadFixture("train");
const cases = fixture.cases.filter((c) => c.kind === "loss");
const table = new ParityTable("train.json losses");

for (const c of cases) {
  test(`${c.name}: loss and gradient match PyTorch float64 within 4x PyTorch float32's error`, () => {
    const input = tensorOf(c.input);
    const before = input.data.slice();
    const { loss, grad } =
      c.loss_fn === "crossEntropy"
        ? crossEntropy(input, c.input.shape.length === 1 ? c.targets[0] : c.targets, c.options)
        : mseLoss(input, tensorOf(c.target), c.options);
    table.check("js", c.loss_fn, `${c.name} loss`, loss, c.loss, c.loss64);
    table.check("js", c.loss_fn, `${c.name} grad`, grad, c.grad, c.grad64);
    assert.deepEqual(input.data, before, "the input is not written");
  });
}

after(() => console.log(table.toString()));

test("train.json covers every reduction, ignoreIndex (default and custom), labelSmoothing, (C) and (N, C), NaN means", () => {
  const ce = cases.filter((c) => c.loss_fn === "crossEntropy");
  for (const r of ["mean", "sum", "none"]) {
    assert.ok(ce.some((c) => c.options.reduction === r) && cases.some((c) => c.loss_fn === "mseLoss"));
  }
  assert.ok(ce.some((c) => c.options.ignoreIndex === 2) && ce.some((c) => c.targets.includes(-100)));
  assert.ok(ce.some((c) => c.options.labelSmoothing > 0) && ce.some((c) => c.input.shape.length === 1));
  assert.ok(
    ce.some((c) => Number.isNaN(c.loss64.data[0])),
    "an all-ignored mean (NaN, as PyTorch)",
  );
});

const logits = () =>
  Tensor.from([
    [1, 2, 3],
    [0.5, -1, 2],
  ]);

test("crossEntropy: mean and sum give a 0-D loss, none one loss per row; (C) logits give a 0-D loss even for none", () => {
  assert.deepEqual([...crossEntropy(logits(), [0, 2]).loss.shape], []);
  assert.deepEqual([...crossEntropy(logits(), [0, 2], { reduction: "sum" }).loss.shape], []);
  assert.deepEqual([...crossEntropy(logits(), [0, 2], { reduction: "none" }).loss.shape], [2]);
  const single = crossEntropy(Tensor.from([1, 2, 3]), 1, { reduction: "none" });
  assert.deepEqual([...single.loss.shape], []);
  assert.deepEqual([...single.grad.shape], [3]);
});

test("crossEntropy takes targets as number[], Int32Array, BigInt64Array, and one number or [t] for (C) logits", () => {
  const want = crossEntropy(logits(), [0, 2]).loss.data[0];
  assert.equal(crossEntropy(logits(), Int32Array.of(0, 2)).loss.data[0], want);
  assert.equal(crossEntropy(logits(), BigInt64Array.of(0n, 2n)).loss.data[0], want);
  const one = crossEntropy(Tensor.from([1, 2, 3]), 2).loss.data[0];
  assert.equal(crossEntropy(Tensor.from([1, 2, 3]), [2]).loss.data[0], one);
  assert.ok(Math.abs(one - (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3)) < 1e-6);
});

test("crossEntropy is stable for huge logits (log-softmax after subtracting the row maximum)", () => {
  const { loss, grad } = crossEntropy(Tensor.from([[1000, 0, -1000]]), [1]);
  assert.ok(Math.abs(loss.data[0] - 1000) < 1e-3, `loss ${loss.data[0]}`);
  assert.deepEqual(Array.from(grad.data), [1, -1, 0]);
});

/** Asserts fn throws `type` with a message matching `message`, and that no argument tensor changed. */
function assertRefused(fn, type, message, tensors) {
  const before = tensors.map((t) => [[...t.shape], t.data.slice()]);
  assert.throws(fn, (e) => e instanceof type && message.test(e.message), `${type.name} ${message}`);
  tensors.forEach((t, i) => {
    assert.deepEqual([...t.shape], before[i][0]);
    assert.deepEqual(t.data, before[i][1]);
  });
}

test("crossEntropy refuses bad targets with PyTorch's messages and changes nothing", () => {
  const x = logits();
  assertRefused(() => crossEntropy(x, [0, 3]), RangeError, /^Target 3 is out of bounds\.$/, [x]);
  assertRefused(() => crossEntropy(x, [-1, 0]), RangeError, /^Target -1 is out of bounds\.$/, [x]);
  assertRefused(
    () => crossEntropy(x, [0]),
    RangeError,
    /^Expected input batch_size \(2\) to match target batch_size \(1\)\.$/,
    [x],
  );
  assertRefused(() => crossEntropy(x, [0, 1.5]), TypeError, /integer class indices, got 1\.5 at position 1/, [x]);
  assertRefused(() => crossEntropy(x, [0, "1"]), TypeError, /integer class indices, got '1'/, [x]);
  assertRefused(() => crossEntropy(x, 1), TypeError, /Expected targets to be an array of class indices/, [x]);
  assertRefused(() => crossEntropy(x, null), TypeError, /Expected targets to be an array/, [x]);
});

test("crossEntropy: a target equal to ignoreIndex may lie outside [0, C) (PyTorch checks only the others)", () => {
  const { loss, grad } = crossEntropy(logits(), [0, 5], { ignoreIndex: 5, reduction: "sum" });
  assert.equal(loss.data[0], crossEntropy(Tensor.from([1, 2, 3]), 0).loss.data[0]);
  assert.deepEqual(Array.from(grad.data.subarray(3)), [0, 0, 0]);
});

test("crossEntropy refuses bad logits and options with clear errors", () => {
  const x = logits();
  assertRefused(() => crossEntropy([[1, 2]], [0]), TypeError, /Expected logits to be a Tensor, got an array/, [x]);
  assertRefused(
    () => crossEntropy(Tensor.zeros([2, 3, 4]), [0, 1]),
    RangeError,
    /Expected logits of shape \(N, C\) or \(C\), got \[2, 3, 4\]/,
    [x],
  );
  assertRefused(() => crossEntropy(Tensor.from([1, 2]), [0, 1]), RangeError, /take one target, got 2/, [x]);
  assertRefused(
    () => crossEntropy(x, [0, 1], { reduction: "avg" }),
    RangeError,
    /^avg is not a valid value for reduction$/,
    [x],
  );
  assertRefused(() => crossEntropy(x, [0, 1], { ignoreIndex: 0.5 }), TypeError, /ignoreIndex should be an integer/, [
    x,
  ]);
  assertRefused(
    () => crossEntropy(x, [0, 1], { labelSmoothing: 1.5 }),
    RangeError,
    /^label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5$/,
    [x],
  );
  assertRefused(() => crossEntropy(x, [0, 1], { labelSmoothing: -0.1 }), RangeError, /label_smoothing/, [x]);
  assertRefused(
    () => crossEntropy(x, [0, 1], { labelSmoothing: "0.1" }),
    TypeError,
    /labelSmoothing should be a number/,
    [x],
  );
  assertRefused(() => crossEntropy(x, [0, 1], { weight: null }), TypeError, /unexpected option 'weight'/, [x]);
  assertRefused(() => crossEntropy(x, [0, 1], "mean"), TypeError, /options must be an object/, [x]);
});

test("mseLoss: the gradient is 2(x - y) / n for mean and 2(x - y) otherwise; none keeps the input's shape", () => {
  const x = Tensor.from([
    [1, 2],
    [3, 4],
  ]);
  const y = Tensor.from([
    [0, 2],
    [5, 4],
  ]);
  const mean = mseLoss(x, y);
  assert.deepEqual([...mean.loss.shape], []);
  assert.equal(mean.loss.data[0], 5 / 4);
  assert.deepEqual(Array.from(mean.grad.data), [0.5, 0, -1, 0]);
  const none = mseLoss(x, y, { reduction: "none" });
  assert.deepEqual([...none.loss.shape], [2, 2]);
  assert.deepEqual(Array.from(none.loss.data), [1, 0, 4, 0]);
  assert.deepEqual(Array.from(mseLoss(x, y, { reduction: "sum" }).grad.data), [2, 0, -4, 0]);
});

test("mseLoss refuses mismatched shapes (no broadcasting), non-Tensors and bad options, changing nothing", () => {
  const x = Tensor.from([1, 2, 3]);
  const y = Tensor.from([1, 2]);
  assertRefused(() => mseLoss(x, y), RangeError, /Expected target of shape \[3\], got \[2\]/, [x, y]);
  assertRefused(() => mseLoss(x, x.reshape([3, 1])), RangeError, /Expected target of shape \[3\], got \[3, 1\]/, [x]);
  assertRefused(() => mseLoss([1, 2, 3], x), TypeError, /Expected input to be a Tensor/, [x]);
  assertRefused(() => mseLoss(x, [1, 2, 3]), TypeError, /Expected target to be a Tensor/, [x]);
  assertRefused(() => mseLoss(x, x, { reduction: "max" }), RangeError, /max is not a valid value for reduction/, [x]);
  assertRefused(() => mseLoss(x, x, { reduce: true }), TypeError, /unexpected option 'reduce'/, [x]);
});
