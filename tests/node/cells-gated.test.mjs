// GRUCell and LSTMCell: PyTorch parity on tests/fixtures/gated-cells.json in every build, seeded
// init on gated-init.json, a cell step equal to one step of the layer with the same weights, and
// use after dispose().
//
// Parity tolerance: toleranceFromError(torch32Error, float64 reference), where torch32Error is
// PyTorch float32's error over the generated run and 8 runs with the cell's hidden units permuted
// (another rounding order of the same function): one float32 run can be lucky on saturating cases,
// e.g. a saturated two-layer LSTM of gated.json whose stored run is off by 2.8e-6 while permuted
// runs are off by up to 1.8e-5 (tests/fixtures/generate.py explains the method).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { GRU, LSTM, GRUCell, LSTMCell, Tensor } from "wasm-rnn";
import { loadFixture, maxAbsError } from "../helpers/fixtures.mjs";
import { ParityTable, stateDictOf, tensorOf, testSeededInit } from "../helpers/parity.mjs";
import { makeRandom, randomTensor } from "../helpers/random.mjs";
import { forEachBackend } from "./backends.mjs";

const cells = loadFixture("gated-cells");
const inits = loadFixture("gated-init");
const CELLS = { GRUCell, LSTMCell };
const table = new ParityTable("gated-cells.json");

/** A one-layer module's state dict under the cell's names (weight_ih_l0 -> weight_ih). */
const firstLayerAsCell = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k.replace(/_l0$/, ""), v]));

forEachBackend((backend) => {
  for (const c of cells.cases) {
    test(`${c.name}: h' (and c') match PyTorch float64 within 4x PyTorch float32's error`, () => {
      const cell = new CELLS[c.module]({ ...c.config, seed: 0 });
      try {
        cell.loadStateDict(stateDictOf(c.stateDict));
        if (c.module === "GRUCell") {
          const h = c.h === null ? cell.forward(tensorOf(c.input)) : cell.forward(tensorOf(c.input), tensorOf(c.h));
          assert.ok(h instanceof Tensor, "GRUCell.forward returns h' as a Tensor");
          table.check(backend, c.module, `${c.name} h'`, h, c.hN, c.hN64, c.torch32Error);
        } else {
          const result =
            c.h === null
              ? cell.forward(tensorOf(c.input))
              : cell.forward(tensorOf(c.input), [tensorOf(c.h), tensorOf(c.c)]);
          assert.ok(Array.isArray(result) && result.length === 2, "LSTMCell.forward returns [h', c']");
          table.check(backend, c.module, `${c.name} h'`, result[0], c.hN, c.hN64, c.torch32Error);
          table.check(backend, c.module, `${c.name} c'`, result[1], c.cN, c.cN64, c.torch32Error);
        }
      } finally {
        cell.dispose();
      }
    });
  }

  // The cell and the one-layer module share PyTorch's equations; with the same weights, one cell
  // step must equal a one-step forward of the layer (bit for bit: same kernel, same order). Each
  // row runs both and returns [layer results, cell results].
  const oneStep = (x) => x.reshape([1, ...x.shape]);
  const STEPS = [
    {
      cellName: "GRUCell",
      layerName: "GRU",
      run: (bias, x, h) => {
        const layer = new GRU({ inputSize: 5, hiddenSize: 9, bias, seed: 3 });
        const cell = new GRUCell({ inputSize: 5, hiddenSize: 9, bias });
        try {
          cell.loadStateDict(firstLayerAsCell(layer.stateDict()));
          return [[layer.forward(oneStep(x), oneStep(h))[1]], [cell.forward(x, h)]];
        } finally {
          layer.dispose();
          cell.dispose();
        }
      },
    },
    {
      cellName: "LSTMCell",
      layerName: "LSTM",
      run: (bias, x, h, c) => {
        const layer = new LSTM({ inputSize: 5, hiddenSize: 9, bias, seed: 3 });
        const cell = new LSTMCell({ inputSize: 5, hiddenSize: 9, bias });
        try {
          cell.loadStateDict(firstLayerAsCell(layer.stateDict()));
          return [layer.forward(oneStep(x), [oneStep(h), oneStep(c)])[1], cell.forward(x, [h, c])];
        } finally {
          layer.dispose();
          cell.dispose();
        }
      },
    },
  ];
  for (const { cellName, layerName, run } of STEPS) {
    test(`a ${cellName} step equals a one-step ${layerName} with the same weights`, () => {
      const r = makeRandom(31);
      for (const bias of [true, false]) {
        const [fromLayer, fromCell] = run(
          bias,
          randomTensor([3, 5], r),
          randomTensor([3, 9], r),
          randomTensor([3, 9], r),
        );
        fromLayer.forEach((t, i) => {
          assert.deepEqual(Array.from(fromCell[i].data), Array.from(t.data), `state ${i}, bias ${bias}`);
        });
      }
    });
  }
}, "gated-cells.json");

after(() => console.log(table.toString()));

test("every gated-cells.json case records torch32Error, at least its stored float32 run's error", () => {
  for (const c of cells.cases) {
    const single = Math.max(
      maxAbsError(c.hN.data, c.hN64.data),
      c.cN === undefined ? 0 : maxAbsError(c.cN.data, c.cN64.data),
    );
    assert.ok(Number.isFinite(c.torch32Error) && c.torch32Error >= single, `${c.name}: ${c.torch32Error} < ${single}`);
  }
});

testSeededInit(inits.cases, CELLS);

test("cells: unbatched input gives unbatched results; a missing state equals zeros", () => {
  const gru = new GRUCell({ inputSize: 3, hiddenSize: 4, seed: 2 });
  const lstm = new LSTMCell({ inputSize: 3, hiddenSize: 4, seed: 2 });
  try {
    const x = Tensor.from([1, -2, 0.5]);
    const h = gru.forward(x);
    assert.deepEqual([...h.shape], [4]);
    assert.deepEqual(Array.from(gru.forward(x, Tensor.zeros([4])).data), Array.from(h.data));
    assert.deepEqual(Array.from(gru.forward(x, null).data), Array.from(h.data));
    const [h1, c1] = lstm.forward(x);
    assert.deepEqual([[...h1.shape], [...c1.shape]], [[4], [4]]);
    const [h2, c2] = lstm.forward(x, [Tensor.zeros([4]), Tensor.zeros([4])]);
    assert.deepEqual([Array.from(h2.data), Array.from(c2.data)], [Array.from(h1.data), Array.from(c1.data)]);
    const [h3] = lstm.forward(x.reshape([1, 3]));
    assert.deepEqual([...h3.shape], [1, 4]);
    // A non-zero state matters, so the equalities above can fail.
    assert.notDeepEqual(Array.from(gru.forward(x, Tensor.from([1, 1, 1, 1])).data), Array.from(h.data));
  } finally {
    gru.dispose();
    lstm.dispose();
  }
});

test("a disposed GRUCell / LSTMCell refuses forward, stateDict and loadStateDict; dispose twice is harmless", () => {
  for (const Cell of [GRUCell, LSTMCell]) {
    const cell = new Cell({ inputSize: 2, hiddenSize: 2, seed: 1 });
    const sd = cell.stateDict();
    cell.dispose();
    cell.dispose();
    assert.throws(() => cell.forward(Tensor.zeros([2])), /disposed/, `${Cell.name}.forward`);
    assert.throws(() => cell.stateDict(), /disposed/, `${Cell.name}.stateDict`);
    assert.throws(() => cell.loadStateDict(sd), /disposed/, `${Cell.name}.loadStateDict`);
  }
});
