// PyTorch parity on the golden fixtures (tests/fixtures/forward.json, init.json,
// written by tests/fixtures/generate.py with Debian's python3-torch).
//
// forward.json: every case in every build this runtime validates. Shapes must
// equal PyTorch's, and per tensor max |ours − float64 reference| must be within
// toleranceFor(PyTorch float32, float64): a small multiple of PyTorch float32's
// own error on the same case. The worst ratio ours_error / pytorch_f32_error
// per build is printed at the end.
//
// init.json: `new RNN({ ...config, seed })` reproduces `torch.manual_seed(seed);
// nn.RNN(...)` bit for bit.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { RNN, Tensor } from "wasm-rnn";
import { loadFixture, maxAbsError, toleranceFor } from "../helpers/fixtures.mjs";
import { forEachBackend } from "./backends.mjs";

const forward = loadFixture("forward");
const init = loadFixture("init");

const tensor = (t) => new Tensor(t.data, t.shape);
const stateDictOf = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, tensor(v)]));

/** Per build: the worst ratio of our error to PyTorch float32's, over tensors where PyTorch's error is > 0. */
const worst = new Map();

function record(backend, caseName, what, ours, theirs, tol) {
  const entry = worst.get(backend) ?? {
    ratio: 0,
    where: "-",
    ours: 0,
    theirs: 0,
    used: 0,
    usedWhere: "-",
    tensors: 0,
    exactTorch: 0,
  };
  entry.tensors++;
  if (ours / tol > entry.used) {
    entry.used = ours / tol;
    entry.usedWhere = `${caseName} ${what}`;
  }
  if (theirs === 0) {
    entry.exactTorch++; // PyTorch float32 exact (tiny or empty cases): only the floor term applies
  } else if (ours / theirs > entry.ratio) {
    Object.assign(entry, { ratio: ours / theirs, where: `${caseName} ${what}`, ours, theirs });
  }
  // Where PyTorch's own error is not tiny (>= 1e-7), the ratio is about accuracy rather than luck.
  if (theirs >= 1e-7 && ours / theirs > (entry.bigRatio ?? 0)) {
    Object.assign(entry, { bigRatio: ours / theirs, bigWhere: `${caseName} ${what}` });
  }
  worst.set(backend, entry);
}

/** Checks one output tensor against the fixture: shape, then error within tolerance. Returns our error. */
function checkTensor(backend, c, what, ours, f32, f64) {
  assert.deepEqual([...ours.shape], f64.shape, `${what} shape`);
  assert.deepEqual(f32.shape, f64.shape);
  const error = maxAbsError(ours.data, f64.data);
  const torchError = maxAbsError(f32.data, f64.data);
  const tol = toleranceFor(f32.data, f64.data);
  assert.ok(
    error <= tol,
    `${c.name} ${what}: max |ours - float64| = ${error} > tolerance ${tol} (PyTorch float32 error ${torchError})`,
  );
  record(backend, c.name, what, error, torchError, tol);
  return error;
}

forEachBackend((backend) => {
  for (const c of forward.cases) {
    test(`${c.name}: output and hN match PyTorch float64 within 4x PyTorch float32's error`, () => {
      const rnn = new RNN({ ...c.config, seed: 0 });
      try {
        rnn.loadStateDict(stateDictOf(c.stateDict));
        const [output, hN] = c.h0 === null ? rnn.forward(tensor(c.input)) : rnn.forward(tensor(c.input), tensor(c.h0));
        assert.ok(output instanceof Tensor && hN instanceof Tensor);
        checkTensor(backend, c, "output", output, c.output, c.output64);
        checkTensor(backend, c, "hN", hN, c.hN, c.hN64);
      } finally {
        rnn.dispose();
      }
    });
  }
}, "forward.json");

after(() => {
  const lines = ["forward.json: worst error ratio ours / PyTorch float32 (both measured against float64), per build:"];
  for (const [backend, e] of worst) {
    lines.push(
      `  ${backend.padEnd(8)} worst ratio ${e.ratio.toFixed(2)} (ours ${e.ours.toExponential(2)} vs ` +
        `PyTorch f32 ${e.theirs.toExponential(2)}) at ${e.where}; worst error/tolerance ${e.used.toFixed(3)} at ` +
        `${e.usedWhere}; worst ratio where PyTorch f32 error >= 1e-7: ${(e.bigRatio ?? 0).toFixed(2)} at ${e.bigWhere ?? "-"}; ` +
        `${e.tensors} tensors (${e.exactTorch} where PyTorch f32 is exact: floor only)`,
    );
  }
  console.log(lines.join("\n"));
});

// ---------------------------------------------------------------------------
// Seeded initialisation (backend-independent: parameters live on the host).

function assertBitIdentical(actual, expected, label) {
  assert.deepEqual(Object.keys(actual), Object.keys(expected), `${label}: keys in PyTorch's order`);
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    assert.deepEqual([...got.shape], want.shape, `${label}: ${name} shape`);
    assert.equal(got.data.length, want.data.length);
    for (let i = 0; i < want.data.length; i++) {
      if (!Object.is(got.data[i], want.data[i])) {
        assert.fail(`${label}: ${name}[${i}] = ${got.data[i]}, PyTorch has ${want.data[i]} (not bit-identical)`);
      }
    }
  }
}

const configLabel = (cfg) =>
  `I${cfg.inputSize}-H${cfg.hiddenSize}-L${cfg.numLayers}-${cfg.nonlinearity}` +
  `${cfg.bias ? "" : "-nobias"}${cfg.batchFirst ? "-bf" : ""}${cfg.bidirectional ? "-bi" : ""}`;

for (const c of init.cases) {
  test(`seed ${c.seed} ${configLabel(c.config)}: stateDict() is bit-identical to torch.manual_seed(${c.seed}); nn.RNN(...)`, () => {
    const seed = c.seed >= 2 ** 53 ? BigInt(c.seed) : c.seed;
    const rnn = new RNN({ ...c.config, seed });
    try {
      assertBitIdentical(rnn.stateDict(), c.stateDict, `seed ${c.seed}`);
    } finally {
      rnn.dispose();
    }
  });
}

test("seeds keep their low 32 bits as torch.manual_seed does: 2**32+5 and BigInt 2**64+5, 2**100+5 give seed 5's weights", () => {
  const five = init.cases.filter((c) => c.seed === 5);
  assert.ok(five.length > 0, "init.json has seed-5 cases");
  assert.ok(
    init.cases.some((c) => c.seed === 2 ** 32 + 5),
    "init.json has the 2**32+5 case",
  );
  for (const c of five) {
    for (const seed of [2 ** 32 + 5, 2n ** 32n + 5n, 2n ** 64n + 5n, 2n ** 100n + 5n, 5n]) {
      const rnn = new RNN({ ...c.config, seed });
      try {
        assertBitIdentical(rnn.stateDict(), c.stateDict, `seed ${seed} (${typeof seed})`);
      } finally {
        rnn.dispose();
      }
    }
  }
});

test("seeded init differs between seeds and is not all equal values (the fixture check can fail)", () => {
  const c = init.cases.find((x) => x.config.hiddenSize === 20 && x.seed === 0);
  const a = new RNN({ ...c.config, seed: 0 });
  const b = new RNN({ ...c.config, seed: 1 });
  try {
    const wa = a.stateDict().weight_ih_l0.data;
    const wb = b.stateDict().weight_ih_l0.data;
    assert.notDeepEqual(Array.from(wa), Array.from(wb));
    assert.ok(new Set(wa).size > wa.length / 2);
    const bound = 1 / Math.sqrt(c.config.hiddenSize);
    for (const v of wa) assert.ok(v >= -bound - 1e-7 && v <= bound + 1e-7, `U(-1/sqrt(H), 1/sqrt(H)): ${v}`);
  } finally {
    a.dispose();
    b.dispose();
  }
});
