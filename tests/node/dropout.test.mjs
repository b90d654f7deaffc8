// Dropout between layers (issue 3): statistics, not PyTorch's random stream.
// With all weights 1, no bias, relu and input ones, layer 0's outputs are all
// equal (= inputSize), so what the next layer sees exposes the mask exactly:
// dropped units contribute 0, kept ones value / (1 − p).
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, RNN, Tensor } from "wasm-rnn";

await init();

/** RNN(10, H, 2, relu, no bias) with every weight = w; returns it in the given mode. */
function constantRNN({ hidden = 1000, dropout, weight = 1, seed = 7 }) {
  const rnn = new RNN({
    inputSize: 10,
    hiddenSize: hidden,
    numLayers: 2,
    bias: false,
    nonlinearity: "relu",
    dropout,
    seed,
  });
  const sd = rnn.stateDict();
  for (const t of Object.values(sd)) t.data.fill(weight);
  rnn.loadStateDict(sd);
  return rnn;
}

const ones = new Tensor(new Float32Array(10).fill(1), [1, 1, 10]);

test("eval mode and p = 0 are deterministic and equal PyTorch's test_RNN_dropout values", () => {
  for (const [p, mode] of [
    [0, "train"],
    [0.5, "eval"],
  ]) {
    const rnn = constantRNN({ dropout: p });
    if (mode === "eval") rnn.eval();
    const [a, hA] = rnn.forward(ones);
    const [b] = rnn.forward(ones);
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
    assert.ok(
      a.data.every((v) => v === 10000),
      "output = hidden · inputSize",
    );
    assert.ok(
      hA.data.subarray(0, 1000).every((v) => v === 10),
      "hN[0] = inputSize",
    );
    assert.deepEqual(Array.from(hA.data.subarray(1000)), Array.from(a.data));
  }
});

test("p = 1 zeroes what the next layer sees but never layer 0's hN", () => {
  const rnn = constantRNN({ dropout: 1 });
  const [out, hN] = rnn.forward(ones);
  assert.ok(out.data.every((v) => v === 0));
  assert.ok(hN.data.subarray(0, 1000).every((v) => v === 10));
});

test("training-mode dropout zeroes about p of the units and scales the rest by 1/(1 − p)", () => {
  const p = 0.3;
  const hidden = 4000;
  const rnn = constantRNN({ hidden, dropout: p, weight: 1 / hidden });
  // Layer 1 sees layer 0's outputs (10 / hidden each) masked and scaled; with
  // weights 1 / hidden its pre-activation is 10·kept / (hidden²·(1 − p)).
  const trials = 20;
  let kept = 0;
  for (let i = 0; i < trials; i++) {
    const [out] = rnn.forward(ones);
    kept += (out.data[0] * hidden * hidden * (1 - p)) / 10;
  }
  const fraction = kept / (trials * hidden);
  assert.ok(Math.abs(fraction - (1 - p)) < 0.01, `kept fraction ${fraction}`);
  rnn.eval();
  const [evalOut] = rnn.forward(ones);
  assert.ok(Math.abs(evalOut.data[0] * hidden - 10) < 1e-3, "eval sees every unit unscaled");
});

test("a seeded model draws the same dropout masks; different seeds differ", () => {
  const run = (seed) => constantRNN({ hidden: 200, dropout: 0.5, weight: 0.01, seed }).forward(ones)[0].data;
  assert.deepEqual(Array.from(run(1)), Array.from(run(1)));
  assert.notDeepEqual(Array.from(run(1)), Array.from(run(2)));
});

test("dropout can be changed after construction, and is validated", () => {
  const rnn = constantRNN({ hidden: 100, dropout: 0 });
  rnn.dropout = 1;
  assert.ok(rnn.forward(ones)[0].data.every((v) => v === 0));
  rnn.dropout = 0;
  assert.ok(rnn.forward(ones)[0].data.every((v) => v === 1000));
  assert.throws(() => {
    rnn.dropout = 1.5;
  }, /dropout should be a number in range \[0, 1\]/);
  assert.equal(rnn.dropout, 0);
});

test("p = 1 turns NaN into NaN (x · 0), as at::dropout", () => {
  const rnn = constantRNN({ hidden: 8, dropout: 1 });
  const x = new Tensor(new Float32Array(10).fill(NaN), [1, 1, 10]);
  const [out] = rnn.forward(x);
  assert.ok(out.data.every(Number.isNaN));
});
