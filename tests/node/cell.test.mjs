// RNNCell (torch.nn.RNNCell): PyTorch parity on tests/fixtures/cell.json in
// every build, seeded init, shapes, PyTorch's messages, and that one step of a
// cell equals one step of an RNN with the same weights.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, RNN, RNNCell, Tensor } from "wasm-rnn";
import { loadFixture, maxAbsError, toleranceFor } from "../helpers/fixtures.mjs";
import { forEachBackend } from "./backends.mjs";

await init();
const cells = loadFixture("cell");
const tensor = (t) => new Tensor(t.data, t.shape);
const stateDictOf = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, tensor(v)]));

forEachBackend((_backend) => {
  test("every cell.json case matches PyTorch within its float32 tolerance", () => {
    for (const c of cells.cases) {
      const cell = new RNNCell(c.config);
      cell.loadStateDict(stateDictOf(c.stateDict));
      const out = cell.forward(tensor(c.input), c.hx ? tensor(c.hx) : undefined);
      assert.deepEqual(out.shape, c.output64.shape, c.name);
      const err = maxAbsError(out.data, c.output64.data);
      assert.ok(err <= toleranceFor(c.output.data, c.output64.data), `${c.name}: error ${err}`);
      cell.dispose();
    }
  });

  test("a cell step equals a one-step RNN with the same weights", () => {
    const rnn = new RNN({ inputSize: 5, hiddenSize: 9, nonlinearity: "relu", seed: 3 });
    const cell = new RNNCell({ inputSize: 5, hiddenSize: 9, nonlinearity: "relu" });
    const sd = rnn.stateDict();
    cell.loadStateDict({
      weight_ih: sd.weight_ih_l0,
      weight_hh: sd.weight_hh_l0,
      bias_ih: sd.bias_ih_l0,
      bias_hh: sd.bias_hh_l0,
    });
    const x = Tensor.from([
      [0.5, -1, 2, 0.25, -0.75],
      [1, 1, -1, 0, 3],
    ]);
    const h = Tensor.from([
      [0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9],
      [0, 0, 0, 0, 1, 0, 0, 0, 0],
    ]);
    const [, hN] = rnn.forward(x.reshape([1, 2, 5]), h.reshape([1, 2, 9]));
    assert.deepEqual(Array.from(cell.forward(x, h).data), Array.from(hN.data));
  });
});

test("seeded RNNCell weights equal the RNN's first-layer stream (PyTorch draws them in the same order)", () => {
  const cell = new RNNCell({ inputSize: 4, hiddenSize: 6, seed: 11 });
  const rnn = new RNN({ inputSize: 4, hiddenSize: 6, seed: 11 });
  const a = cell.stateDict();
  const b = rnn.stateDict();
  for (const [k, v] of Object.entries({
    weight_ih: "weight_ih_l0",
    weight_hh: "weight_hh_l0",
    bias_ih: "bias_ih_l0",
    bias_hh: "bias_hh_l0",
  })) {
    assert.deepEqual(Array.from(a[k].data), Array.from(b[v].data), k);
  }
});

test("unbatched input gives an unbatched output; hx omitted equals zeros", () => {
  const cell = new RNNCell({ inputSize: 3, hiddenSize: 4, seed: 2 });
  const x = Tensor.from([1, -2, 0.5]);
  const y = cell.forward(x);
  assert.deepEqual(y.shape, [4]);
  assert.deepEqual(Array.from(y.data), Array.from(cell.forward(x, Tensor.zeros([4])).data));
  assert.deepEqual(cell.forward(x.reshape([1, 3])).shape, [1, 4]);
});

test("hiddenSize 0 is allowed and gives (batch, 0), as PyTorch's RNNCell(10, 0)", () => {
  const cell = new RNNCell({ inputSize: 10, hiddenSize: 0 });
  assert.deepEqual(cell.forward(Tensor.zeros([3, 10])).shape, [3, 0]);
});

test("RNNCell errors carry PyTorch's messages and change nothing", () => {
  const cell = new RNNCell({ inputSize: 3, hiddenSize: 4, seed: 5 });
  const x = Tensor.from([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const before = cell.forward(x).data.slice();
  const cases = [
    [
      () => cell.forward(Tensor.zeros([1, 2, 3])),
      RangeError,
      /^RNNCell: Expected input to be 1D or 2D, got 3D instead$/,
    ],
    [
      () => cell.forward(x, Tensor.zeros([1, 2, 4])),
      RangeError,
      /^RNNCell: Expected hidden to be 1D or 2D, got 3D instead$/,
    ],
    [() => cell.forward(Tensor.zeros([2, 5])), RangeError, /^input has inconsistent input_size: got 5 expected 3$/],
    [
      () => cell.forward(x, Tensor.zeros([3, 4])),
      RangeError,
      /^Input batch size 2 doesn't match hidden0 batch size 3$/,
    ],
    [
      () => cell.forward(x, Tensor.zeros([1, 4])),
      RangeError,
      /^Input batch size 2 doesn't match hidden0 batch size 1$/,
    ],
    [
      () => cell.forward(x, Tensor.zeros([2, 5])),
      RangeError,
      /^hidden0 has inconsistent hidden_size: got 5, expected 4$/,
    ],
    [
      () => cell.forward(x, Tensor.zeros([2, 1])),
      RangeError,
      /^hidden0 has inconsistent hidden_size: got 1, expected 4$/,
    ],
    [() => cell.forward([1, 2, 3]), TypeError, /Expected input to be a Tensor, got an array/],
    [
      () => new RNNCell({ inputSize: 3, hiddenSize: 4, nonlinearity: "sigmoid" }),
      RangeError,
      /Unknown nonlinearity 'sigmoid'/,
    ],
    [() => new RNNCell({ inputSize: 3, hiddenSize: -1 }), RangeError, /hiddenSize must be non-negative, got -1/],
    [
      () => new RNNCell({ inputSize: 3, hiddenSize: 4, bias: 1 }),
      TypeError,
      /bias should be of type boolean, got number/,
    ],
    [() => new RNNCell({ inputSize: 3, hiddenSize: 4, batchFirst: true }), TypeError, /unexpected option 'batchFirst'/],
  ];
  for (const [call, type, message] of cases) {
    assert.throws(call, (e) => e instanceof type && message.test(e.message), String(message));
  }
  assert.deepEqual(Array.from(cell.forward(x).data), Array.from(before));
});

test("a disposed RNNCell refuses to run; dispose twice is harmless", () => {
  const cell = new RNNCell({ inputSize: 2, hiddenSize: 2 });
  cell.dispose();
  cell.dispose();
  assert.throws(() => cell.forward(Tensor.zeros([2])), /disposed/);
});
