// Training behaviour of the recurrent modules and cells beyond parity (grads-recurrent.test.mjs):
// gradients accumulate until zeroGrad; truncated BPTT (chunks with the state carried equal one
// pass over the whole sequence, and a chunk's gradients equal a fresh forward/backward from the
// carried state); dropout's masks are reused by backward (central differences of the same-mask
// forward); every bad call throws a clear error and changes nothing; an eval-mode forward keeps
// nothing; a 10,000-step training soak keeps linear memory and the JS heap flat.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { init, GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, PackedSequence, Tensor, packPaddedSequence } from "wasm-rnn";
import { makeRandom, randomTensor } from "../helpers/random.mjs";
import { forEachBackend } from "./backends.mjs";

const bits = (t) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
const zerosLike = (t) => new Tensor(new Float32Array(t.data.length), [...t.shape]);

/** Asserts two records of tensors (gradients(), stateDict()) bit-identical. */
function assertSameBits(a, b, what) {
  assert.deepEqual(Object.keys(a), Object.keys(b), `${what}: keys`);
  for (const k of Object.keys(a)) assert.deepEqual(bits(a[k]), bits(b[k]), `${what}: ${k}`);
}

/** Asserts every gradient zero. */
function assertZeroGradients(module, what) {
  for (const [k, g] of Object.entries(module.gradients()))
    assert.ok(
      g.data.every((v) => v === 0),
      `${what}: ${k} is zero`,
    );
}

/** max |a − b| over all entries, relative to max(1, max |b|). */
function relativeError(a, b) {
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

/** Σ a·b in float64. */
function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A module and its twin with the same weights (and, by the same seed, the same dropout draws). */
function twins(Class, options, seed = 7) {
  return [new Class({ ...options, seed }), new Class({ ...options, seed })];
}

forEachBackend((_backend, context) => {
  test("gradients accumulate across backward calls until zeroGrad", () => {
    const random = makeRandom(11);
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, seed: 1 });
    try {
      const x = randomTensor([4, 2, 3], random);
      const g = randomTensor([4, 2, 10], random);
      const step = () => {
        lstm.forward(x);
        return lstm.backward(g);
      };
      assertZeroGradients(lstm, "before any backward");
      const [gx1] = step();
      const once = lstm.gradients();
      assert.ok(
        Object.values(once).every((t) => t.data.some((v) => v !== 0)),
        "every parameter gets a gradient",
      );
      const [gx2] = step();
      assert.deepEqual(bits(gx2), bits(gx1), "the same forward/backward gives the same gradInput");
      for (const [k, t] of Object.entries(lstm.gradients())) {
        assert.deepEqual(
          bits(t),
          bits(
            new Tensor(
              once[k].data.map((v) => v * 2),
              t.shape,
            ),
          ),
          `${k} doubled`,
        );
      }
      lstm.zeroGrad();
      assertZeroGradients(lstm, "after zeroGrad");
      step();
      assertSameBits(lstm.gradients(), once, "after zeroGrad, one backward");
    } finally {
      lstm.dispose();
    }
  });

  test("truncated BPTT: chunks with the state carried equal one pass; a chunk equals a fresh forward/backward from the carried state", () => {
    const random = makeRandom(12);
    const options = { inputSize: 3, hiddenSize: 4, numLayers: 2, projSize: 2 };
    const [first, second] = twins(LSTM, options);
    const whole = new LSTM({ ...options, seed: 7 });
    const fresh = new LSTM({ ...options, seed: 7 });
    try {
      const x = randomTensor([9, 2, 3], random);
      const g = randomTensor([9, 2, 2], random);
      const rows = (t, from, to) => new Tensor(t.data.slice(from * 6, to * 6), [to - from, 2, 3]);
      const grows = (from, to) => new Tensor(g.data.slice(from * 4, to * 4), [to - from, 2, 2]);
      const [, state1] = first.forward(rows(x, 0, 5));
      const [, state2] = second.forward(rows(x, 5, 9), state1);
      const [gx2, carried] = second.backward(grows(5, 9));
      const [gx1] = first.backward(grows(0, 5), carried);

      whole.forward(x);
      const [gx] = whole.backward(g);
      assert.ok(relativeError([...gx1.data, ...gx2.data], gx.data) < 1e-5, "gradInput of the chunks = one pass");
      const sum = first.gradients();
      const part = second.gradients();
      for (const [k, t] of Object.entries(whole.gradients())) {
        const chunks = sum[k].data.map((v, i) => v + part[k].data[i]);
        assert.ok(relativeError(chunks, t.data) < 1e-5, `${k}: sum over chunks = one pass`);
      }

      fresh.forward(rows(x, 5, 9), state1);
      const [fx, fState] = fresh.backward(grows(5, 9));
      assert.deepEqual(bits(fx), bits(gx2), "chunk 2 gradInput = a fresh forward/backward from hN");
      assert.deepEqual(bits(fState[0]), bits(carried[0]), "gradH0");
      assert.deepEqual(bits(fState[1]), bits(carried[1]), "gradC0");
      assertSameBits(fresh.gradients(), part, "chunk 2 parameter gradients");
      assert.equal(state2[0].shape.join(), "2,2,2", "hN carried as a plain tensor");
    } finally {
      for (const m of [first, second, whole, fresh]) m.dispose();
    }
  });

  test("dropout: backward reuses the forward's masks (central differences of the same-mask forward)", () => {
    const random = makeRandom(13);
    const options = { inputSize: 3, hiddenSize: 6, numLayers: 3, dropout: 0.5 };
    const x = randomTensor([5, 2, 3], random);
    const g = randomTensor([5, 2, 6], random);
    const v = randomTensor([5, 2, 3], random);
    const eps = 1e-2;
    /** The loss Σ output·g of the first forward of a fresh module (so its first dropout masks). */
    const lossAt = (shift) => {
      const m = new GRU({ ...options, seed: 21 });
      try {
        const input = new Tensor(
          x.data.map((value, i) => value + shift * v.data[i]),
          x.shape,
        );
        return dot(m.forward(input)[0].data, g.data);
      } finally {
        m.dispose();
      }
    };
    const m = new GRU({ ...options, seed: 21 });
    const plain = new GRU({ ...options, dropout: 0, seed: 21 });
    try {
      m.forward(x);
      const [gx] = m.backward(g);
      const predicted = dot(gx.data, v.data);
      const measured = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
      assert.ok(
        Math.abs(predicted - measured) <= 2e-3 * Math.max(1, Math.abs(measured)),
        `directional derivative: backward ${predicted}, central differences ${measured}`,
      );
      plain.forward(x);
      const [px] = plain.backward(g);
      assert.ok(
        Math.abs(dot(px.data, v.data) - predicted) > 1e-2,
        "the masks change the gradient (the check can fail)",
      );
    } finally {
      m.dispose();
      plain.dispose();
    }
  });

  test("cells: backward of a step equals backward of one step of the one-layer module with the same weights", () => {
    const random = makeRandom(14);
    for (const [Cell, Module] of [
      [RNNCell, RNN],
      [GRUCell, GRU],
      [LSTMCell, LSTM],
    ]) {
      const cell = new Cell({ inputSize: 4, hiddenSize: 5, seed: 3 });
      const module = new Module({ inputSize: 4, hiddenSize: 5, seed: 3 });
      try {
        const lstm = Cell === LSTMCell;
        const x = randomTensor([3, 4], random);
        const h = randomTensor([3, 5], random);
        const c = randomTensor([3, 5], random);
        const gh = randomTensor([3, 5], random);
        const gc = randomTensor([3, 5], random);
        const as3 = (t) => new Tensor(t.data, [1, ...t.shape]);
        cell.forward(x, lstm ? [h, c] : h);
        module.forward(as3(x), lstm ? [as3(h), as3(c)] : as3(h));
        const [cx, cs] = cell.backward(lstm ? [gh, gc] : gh);
        const [mx, ms] = module.backward(zerosLike(as3(gh)), lstm ? [as3(gh), as3(gc)] : as3(gh));
        assert.deepEqual(bits(cx), bits(mx), `${Cell.name}: gradInput`);
        assert.deepEqual(bits(lstm ? cs[0] : cs), bits(lstm ? ms[0] : ms), `${Cell.name}: gradHx`);
        if (lstm) assert.deepEqual(bits(cs[1]), bits(ms[1]), "LSTMCell: gradCx");
        const named = Object.fromEntries(
          Object.entries(module.gradients()).map(([k, t]) => [k.replace(/_l0$/, ""), t]),
        );
        assertSameBits(cell.gradients(), named, `${Cell.name}: parameter gradients`);
      } finally {
        cell.dispose();
        module.dispose();
      }
    }
  });

  test("bad calls to backward throw a clear error and change nothing", () => {
    const random = makeRandom(15);
    const [rnn, twin] = twins(RNN, { inputSize: 2, hiddenSize: 20, bidirectional: false });
    const x = randomTensor([5, 3, 2], random);
    const g = randomTensor([5, 3, 20], random);
    try {
      assert.throws(() => rnn.backward(g), { name: "Error", message: /no forward to differentiate/ });
      rnn.eval();
      rnn.forward(x);
      assert.throws(() => rnn.backward(g), { name: "Error", message: /ran in eval mode and kept nothing/ });
      rnn.train();
      rnn.forward(x);
      rnn.loadStateDict(rnn.stateDict());
      assert.throws(() => rnn.backward(g), { name: "Error", message: /parameters changed since the last forward/ });
      rnn.forward(x);
      rnn.parametersUpdated();
      assert.throws(() => rnn.backward(g), /parameters changed/);

      rnn.forward(x);
      const wrong = [
        [
          randomTensor([5, 3, 21], random),
          RangeError,
          "RNN.backward: Expected gradOutput of shape (5, 3, 20), got (5, 3, 21)",
        ],
        [randomTensor([5, 60], random), RangeError, /Expected gradOutput of shape \(5, 3, 20\), got \(5, 60\)/],
        [
          new PackedSequence(randomTensor([15, 20], random), [3, 3, 3, 3, 3]),
          TypeError,
          /Expected gradOutput to be a Tensor/,
        ],
        [g.data, TypeError, /Expected gradOutput to be a Tensor/],
        [null, TypeError, /Expected gradOutput to be a Tensor/],
      ];
      for (const [gradOutput, name, message] of wrong) {
        assert.throws(() => rnn.backward(gradOutput), { name: name.name, message });
        assertZeroGradients(rnn, `after ${message}`);
      }
      assert.throws(() => rnn.backward(g, randomTensor([1, 3, 19], random)), {
        name: "RangeError",
        message: "RNN.backward: Expected gradHn of shape (1, 3, 20), got (1, 3, 19)",
      });
      const reentrant = {
        get data() {
          return rnn.backward(g);
        },
        shape: [5, 3, 20],
      };
      assert.throws(() => rnn.backward(reentrant), /already running/);
      assertZeroGradients(rnn, "after the rejected calls");

      // Nothing changed: the kept forward still gives what a twin computes.
      const [gx] = rnn.backward(g);
      twin.forward(x);
      const [tx] = twin.backward(g);
      assert.deepEqual(bits(gx), bits(tx), "gradInput after the rejected calls");
      assertSameBits(rnn.gradients(), twin.gradients(), "gradients after the rejected calls");
      assert.throws(() => rnn.backward(g), { name: "Error", message: /already differentiated/ });
      assertSameBits(rnn.gradients(), twin.gradients(), "a second backward adds nothing");

      rnn.dispose();
      assert.throws(() => rnn.backward(g), /disposed/);
    } finally {
      rnn.dispose();
      twin.dispose();
    }
  });

  test("bad gradients for packed output, LSTM state pairs and cells throw and change nothing", () => {
    const random = makeRandom(16);
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 2 });
    const cell = new LSTMCell({ inputSize: 2, hiddenSize: 3, seed: 2 });
    const gru = new GRUCell({ inputSize: 2, hiddenSize: 3, seed: 2 });
    try {
      const padded = randomTensor([4, 3, 2], random);
      const packed = packPaddedSequence(padded, [2, 4, 3], { enforceSorted: false });
      const [out] = lstm.forward(packed);
      const data = randomTensor([...out.data.shape], random);
      const same = new PackedSequence(data, out.batchSizes, out.sortedIndices, out.unsortedIndices);
      const cases = [
        [randomTensor([9, 3], random), TypeError, /Expected gradOutput to be a PackedSequence/],
        [
          new PackedSequence(data, out.batchSizes),
          RangeError,
          /Expected gradOutput with the output's sortedIndices \[1, 2, 0\], got None/,
        ],
        [
          new PackedSequence(randomTensor([9, 3], random), [3, 3, 3]),
          RangeError,
          /batchSizes \[3, 3, 2, 1\], got \[3, 3, 3\]/,
        ],
        [
          new PackedSequence(randomTensor([9, 4], random), out.batchSizes, out.sortedIndices),
          RangeError,
          /of shape \(9, 3\), got \(9, 4\)/,
        ],
      ];
      for (const [gradOutput, name, message] of cases) {
        assert.throws(() => lstm.backward(gradOutput), { name: name.name, message });
      }
      assert.throws(() => lstm.backward(same, randomTensor([1, 3, 3], random)), {
        name: "TypeError",
        message: /Expected gradState to be a pair \[gradHn, gradCn\]/,
      });
      assert.throws(() => lstm.backward(same, [null, randomTensor([1, 2, 3], random)]), {
        name: "RangeError",
        message: /Expected gradCn of shape \(1, 3, 3\), got \(1, 2, 3\)/,
      });
      assertZeroGradients(lstm, "after the rejected calls");
      const [gx, [gh0, gc0]] = lstm.backward(same, [null, null]);
      assert.ok(gx instanceof PackedSequence, "gradInput is packed like the input");
      assert.deepEqual(Array.from(gx.unsortedIndices), Array.from(packed.unsortedIndices));
      assert.deepEqual(gh0.shape, [1, 3, 3], "gradH0 has h0's shape although forward had none");
      assert.deepEqual(gc0.shape, [1, 3, 3]);

      cell.forward(randomTensor([2], random));
      assert.throws(() => cell.backward([randomTensor([3, 3], random), null]), {
        name: "RangeError",
        message: "LSTMCell.backward: Expected gradH of shape (3), got (3, 3)",
      });
      assert.throws(() => cell.backward(randomTensor([3], random)), {
        name: "TypeError",
        message: /pair \[gradH, gradC\]/,
      });
      const [cx, [ch, cc]] = cell.backward([null, randomTensor([3], random)]);
      assert.deepEqual([cx.shape, ch.shape, cc.shape], [[2], [3], [3]], "1-D step: 1-D gradients");

      assert.throws(() => gru.backward(randomTensor([3], random)), /no forward to differentiate/);
      gru.forward(randomTensor([4, 2], random));
      assert.throws(() => gru.backward(randomTensor([4, 2], random)), /Expected gradH of shape \(4, 3\), got \(4, 2\)/);
      assertZeroGradients(gru, "GRUCell after the rejected call");
    } finally {
      lstm.dispose();
      cell.dispose();
      gru.dispose();
    }
  });

  test("an eval-mode forward keeps nothing: no training block, and a train-mode forward's block is freed", () => {
    const kernel = context.runtime.kernel;
    const allocated = () => kernel.allocated_bytes() >>> 0;
    const random = makeRandom(17);
    const x = randomTensor([20, 4, 8], random);
    const options = { inputSize: 8, hiddenSize: 16, numLayers: 2, seed: 4 };
    const evaluated = new GRU(options).eval();
    const trained = new GRU(options);
    try {
      evaluated.forward(x);
      const afterEval = allocated();
      evaluated.forward(x);
      assert.equal(allocated(), afterEval, "repeated eval forwards take nothing more");
      trained.eval().forward(x);
      const base = allocated();
      trained.train().forward(x);
      const withTape = allocated();
      assert.ok(withTape > base, `a train-mode forward keeps a tape (${withTape - base} bytes)`);
      trained.backward(randomTensor([20, 4, 16], random));
      const withPanels = allocated();
      trained.forward(x);
      trained.backward(randomTensor([20, 4, 16], random));
      assert.equal(allocated(), withPanels, "the training block and the panels are reused");
      trained.eval().forward(x);
      assert.ok(allocated() < withPanels && allocated() >= base, "an eval forward frees the training block");
      assert.throws(() => trained.backward(randomTensor([20, 4, 16], random)), /eval mode/);
    } finally {
      evaluated.dispose();
      trained.dispose();
    }
  });
}, "training");

test("soak: 10,000 LSTM training steps (forward, backward, zeroGrad) keep linear memory and the JS heap flat", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  const { kernel } = await init();
  const random = makeRandom(18);
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 5 });
  try {
    const x = randomTensor([6, 2, 3], random);
    const g = randomTensor([6, 2, 4], random);
    const gh = randomTensor([2, 2, 4], random);
    let state = null;
    let linear = 0;
    let heap = 0;
    for (let i = 0; i < 10000; i++) {
      const [, next] = lstm.forward(x, state);
      lstm.backward(g, [gh, null]);
      lstm.zeroGrad();
      state = i % 50 === 49 ? null : next;
      if (i === 999) {
        gc();
        linear = kernel.allocated_bytes() >>> 0;
        heap = process.memoryUsage().heapUsed;
      }
    }
    gc();
    assert.equal(kernel.allocated_bytes() >>> 0, linear, "linear memory after 1,000 and after 10,000 steps");
    const grown = process.memoryUsage().heapUsed - heap;
    assert.ok(grown < 2 * 1024 * 1024, `JS heap grew by ${grown} bytes over 9,000 steps`);
  } finally {
    lstm.dispose();
  }
});
