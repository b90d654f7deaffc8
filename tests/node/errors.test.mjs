// Every error the public API raises, with its class and message, and the
// guarantee that a rejected call leaves the instance as it was (same
// stateDict, same forward result) and allocates nothing.
//
// Errors are raised by the host before the kernel is involved, so one build
// (the default) is enough here; the fixture and property suites cover the builds.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  init,
  backend,
  RNN,
  Tensor,
  GRU,
  LSTM,
  GRUCell,
  LSTMCell,
  Linear,
  Embedding,
  packPaddedSequence,
} from "wasm-rnn";
import { snapshotOf } from "../helpers/parity.mjs";
import { makeRandom, randomTensor } from "../helpers/random.mjs";

let runtime;
before(async () => {
  runtime = await init();
});

// ---------------------------------------------------------------------------
// Helpers

const zeros = (shape) => Tensor.zeros(shape);

/** assert.throws that checks the exact class (not a subclass match: RangeError is not "Error" here) and the message. */
function assertThrows(fn, ErrorClass, message, what) {
  let thrown = null;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== null, `${what}: expected ${ErrorClass.name} ${message}, but nothing was thrown`);
  assert.equal(
    thrown.constructor,
    ErrorClass,
    `${what}: expected ${ErrorClass.name}, got ${thrown.constructor?.name}: ${thrown.message}`,
  );
  assert.match(thrown.message, message, `${what}: message`);
}

/** A bitwise snapshot of a model: its stateDict and its forward result on fixed inputs. */
function snapshot(rnn, x, h0) {
  const [out, hN] = rnn.forward(x, h0);
  const sd = rnn.stateDict();
  return {
    keys: Object.keys(sd),
    values: Object.values(sd).map((t) => [[...t.shape], Array.from(t.data)]),
    out: Array.from(out.data),
    hN: Array.from(hN.data),
  };
}

// ---------------------------------------------------------------------------
// Constructor options (src/options.ts; messages after PyTorch main, §1.2)

const BASE = { inputSize: 3, hiddenSize: 5 };
const DROPOUT =
  /^dropout should be a number in range \[0, 1\] representing the probability of an element being zeroed, got /;

const CONSTRUCTOR_ERRORS = [
  [
    "options missing",
    undefined,
    TypeError,
    /^RNN options must be an object like \{ inputSize: 10, hiddenSize: 20 \}, got undefined$/,
  ],
  ["options null", null, TypeError, /^RNN options must be an object .*got null$/],
  ["options an array", [3, 5], TypeError, /^RNN options must be an object .*got an array of length 2$/],
  ["options a number", 3, TypeError, /^RNN options must be an object .*got 3$/],
  ["unknown option", { ...BASE, foo: 1 }, TypeError, /^RNN got an unexpected option 'foo'$/],
  ["snake_case option", { ...BASE, batch_first: true }, TypeError, /^RNN got an unexpected option 'batch_first'$/],
  ["projSize", { ...BASE, projSize: 2 }, RangeError, /^projSize argument is only supported for LSTM, not RNN or GRU$/],
  [
    "projSize 0",
    { ...BASE, projSize: 0 },
    RangeError,
    /^projSize argument is only supported for LSTM, not RNN or GRU$/,
  ],
  [
    "unknown nonlinearity",
    { ...BASE, nonlinearity: "sigmoid" },
    RangeError,
    /^Unknown nonlinearity 'sigmoid'\. Select from 'tanh' or 'relu'\.$/,
  ],
  ["nonlinearity is case-sensitive", { ...BASE, nonlinearity: "Tanh" }, RangeError, /^Unknown nonlinearity 'Tanh'\./],
  ["dropout below 0", { ...BASE, dropout: -0.1 }, RangeError, new RegExp(`${DROPOUT.source}-0\\.1$`)],
  ["dropout above 1", { ...BASE, dropout: 1.5 }, RangeError, new RegExp(`${DROPOUT.source}1\\.5$`)],
  ["dropout NaN", { ...BASE, dropout: NaN }, RangeError, new RegExp(`${DROPOUT.source}NaN$`)],
  ["dropout a string", { ...BASE, dropout: "0.1" }, RangeError, new RegExp(`${DROPOUT.source}'0\\.1'$`)],
  ["dropout a boolean", { ...BASE, dropout: true }, RangeError, new RegExp(`${DROPOUT.source}true$`)],
  ["bias a number", { ...BASE, bias: 1 }, TypeError, /^bias should be of type boolean, got number \(1\)$/],
  ["bias a string", { ...BASE, bias: "True" }, TypeError, /^bias should be of type boolean, got string \('True'\)$/],
  [
    "batchFirst a number",
    { ...BASE, batchFirst: 0 },
    TypeError,
    /^batchFirst should be of type boolean, got number \(0\)$/,
  ],
  [
    "bidirectional a string",
    { ...BASE, bidirectional: "yes" },
    TypeError,
    /^bidirectional should be of type boolean, got string \('yes'\)$/,
  ],
  ["inputSize missing", { hiddenSize: 5 }, TypeError, /^RNN option inputSize is required \(a positive integer\)$/],
  ["hiddenSize missing", { inputSize: 3 }, TypeError, /^RNN option hiddenSize is required \(a positive integer\)$/],
  [
    "inputSize non-integer",
    { ...BASE, inputSize: 3.5 },
    TypeError,
    /^inputSize should be an integer, got number \(3\.5\)$/,
  ],
  [
    "inputSize a string",
    { ...BASE, inputSize: "10" },
    TypeError,
    /^inputSize should be an integer, got string \('10'\)$/,
  ],
  ["inputSize null", { ...BASE, inputSize: null }, TypeError, /^inputSize should be an integer, got object \(null\)$/],
  [
    "hiddenSize non-integer",
    { ...BASE, hiddenSize: 5.5 },
    TypeError,
    /^hiddenSize should be an integer, got number \(5\.5\)$/,
  ],
  [
    "hiddenSize Infinity",
    { ...BASE, hiddenSize: Infinity },
    TypeError,
    /^hiddenSize should be an integer, got number \(Infinity\)$/,
  ],
  ["hiddenSize NaN", { ...BASE, hiddenSize: NaN }, TypeError, /^hiddenSize should be an integer, got number \(NaN\)$/],
  [
    "numLayers non-integer",
    { ...BASE, numLayers: 1.5 },
    TypeError,
    /^numLayers should be an integer, got number \(1\.5\)$/,
  ],
  ["inputSize 0", { ...BASE, inputSize: 0 }, RangeError, /^inputSize must be greater than zero, got 0$/],
  ["inputSize negative", { ...BASE, inputSize: -1 }, RangeError, /^inputSize must be greater than zero, got -1$/],
  ["hiddenSize 0", { ...BASE, hiddenSize: 0 }, RangeError, /^hiddenSize must be greater than zero, got 0$/],
  ["numLayers 0", { ...BASE, numLayers: 0 }, RangeError, /^numLayers must be greater than zero, got 0$/],
  [
    "hiddenSize above int32",
    { ...BASE, hiddenSize: 2 ** 31 },
    RangeError,
    /^hiddenSize must be at most 2147483647, got 2147483648$/,
  ],
  ["seed non-integer", { ...BASE, seed: 1.5 }, TypeError, /^seed should be an integer, got 1\.5$/],
  [
    "seed beyond 2**53 as a number",
    { ...BASE, seed: 2 ** 53 },
    TypeError,
    /^seed should be an integer, got 9007199254740992$/,
  ],
  ["seed a string", { ...BASE, seed: "1" }, TypeError, /^seed should be an integer, got string$/],
];

for (const [what, options, ErrorClass, message] of CONSTRUCTOR_ERRORS) {
  test(`new RNN rejects ${what} with ${ErrorClass.name} ${message} and allocates nothing`, () => {
    const before = runtime.kernel.allocated_bytes();
    assertThrows(() => new RNN(options), ErrorClass, message, what);
    assert.equal(runtime.kernel.allocated_bytes(), before, "a rejected constructor allocates no linear memory");
  });
}

// null is a value, not an omitted option: PyTorch main rejects bias=None, batch_first=None,
// dropout=None (float(None)), num_layers=None and nonlinearity=None, and here inputSize: null and
// seed: null are rejected too. src/options.ts reads the optional ones with `??`, which maps null
// to the default, so these currently construct a default model silently.
const NULL_OPTIONS = [
  ["nonlinearity", RangeError, /^Unknown nonlinearity null\. Select from 'tanh' or 'relu'\.$/],
  ["dropout", RangeError, new RegExp(`${DROPOUT.source}null$`)],
  ["bias", TypeError, /^bias should be of type boolean, got object \(null\)$/],
  ["batchFirst", TypeError, /^batchFirst should be of type boolean, got object \(null\)$/],
  ["bidirectional", TypeError, /^bidirectional should be of type boolean, got object \(null\)$/],
  ["numLayers", TypeError, /^numLayers should be an integer, got object \(null\)$/],
];

test("new RNN rejects null for every optional option (null is a value, not an omitted option)", () => {
  const accepted = [];
  for (const [name, ErrorClass, message] of NULL_OPTIONS) {
    let rnn = null;
    try {
      rnn = new RNN({ ...BASE, [name]: null });
    } catch (error) {
      assert.equal(error.constructor, ErrorClass, `${name}: null: ${error.message}`);
      assert.match(error.message, message);
      continue;
    }
    accepted.push(`${name}: null (built ${rnn})`);
    rnn.dispose();
  }
  assert.deepEqual(accepted, [], `accepted silently as the default: ${accepted.join("; ")}`);
});

test("new RNN validates in PyTorch's order: projSize, nonlinearity, dropout, then bias/batchFirst, then sizes", () => {
  const all = { inputSize: 0, hiddenSize: 0, numLayers: 0, nonlinearity: "x", dropout: 2, bias: 1, batchFirst: 1 };
  assertThrows(() => new RNN({ ...all, projSize: 1 }), RangeError, /^projSize/, "projSize first");
  assertThrows(() => new RNN(all), RangeError, /^Unknown nonlinearity/, "nonlinearity second");
  assertThrows(() => new RNN({ ...all, nonlinearity: "relu" }), RangeError, /^dropout should be/, "dropout third");
  assertThrows(() => new RNN({ ...all, nonlinearity: "relu", dropout: 0 }), TypeError, /^bias should be/, "bias");
  assertThrows(
    () => new RNN({ ...all, nonlinearity: "relu", dropout: 0, bias: true }),
    TypeError,
    /^batchFirst should be/,
    "batchFirst",
  );
  assertThrows(
    () => new RNN({ ...all, nonlinearity: "relu", dropout: 0, bias: true, batchFirst: true }),
    RangeError,
    /^inputSize must be/,
    "inputSize before hiddenSize",
  );
});

for (const [dropout, shown] of [
  [0.5, "0.5"],
  [1, "1"],
  [0.25, "0.25"],
]) {
  test(`dropout=${shown} with numLayers 1 warns with PyTorch's text via console.warn and still constructs`, (t) => {
    const warn = t.mock.method(console, "warn", () => {});
    const rnn = new RNN({ ...BASE, dropout, seed: 0 });
    try {
      assert.equal(warn.mock.callCount(), 1);
      assert.equal(
        warn.mock.calls[0].arguments[0],
        "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects " +
          `num_layers greater than 1, but got dropout=${shown} and num_layers=1`,
      );
      assert.equal(rnn.dropout, dropout);
      assert.equal(rnn.numLayers, 1);
      const [out] = rnn.forward(zeros([2, 1, 3]));
      assert.deepEqual([...out.shape], [2, 1, 5]);
    } finally {
      rnn.dispose();
    }
  });
}

test("dropout > 0 with numLayers 2, and dropout 0 with numLayers 1, do not warn", (t) => {
  const warn = t.mock.method(console, "warn", () => {});
  const a = new RNN({ ...BASE, numLayers: 2, dropout: 0.5 });
  const b = new RNN({ ...BASE, dropout: 0 });
  a.dispose();
  b.dispose();
  assert.equal(warn.mock.callCount(), 0);
});

test("a constructor that fails validation after the warning check does not warn", (t) => {
  const warn = t.mock.method(console, "warn", () => {});
  assertThrows(
    () => new RNN({ inputSize: 3, hiddenSize: 0, dropout: 0.5 }),
    RangeError,
    /^hiddenSize must be greater than zero/,
    "",
  );
  assert.equal(warn.mock.callCount(), 0);
});

// ---------------------------------------------------------------------------
// forward (src/rnn.ts; PyTorch's messages, §3.2)

const CFG = { inputSize: 3, hiddenSize: 5, bidirectional: true }; // numLayers·D = 2

const FORWARD_ERRORS = [
  [
    "a 4-D input",
    () => [zeros([2, 2, 2, 3])],
    RangeError,
    /^RNN: Expected input to be 2D or 3D, got 4D tensor instead$/,
  ],
  ["a 1-D input", () => [zeros([3])], RangeError, /^RNN: Expected input to be 2D or 3D, got 1D tensor instead$/],
  [
    "a 0-D input",
    () => [new Tensor(new Float32Array(1), [])],
    RangeError,
    /^RNN: Expected input to be 2D or 3D, got 0D tensor instead$/,
  ],
  [
    "a wrong feature size",
    () => [zeros([4, 2, 7])],
    RangeError,
    /^input\.size\(-1\) must be equal to input_size\. Expected 3, got 7$/,
  ],
  [
    "a wrong unbatched feature size",
    () => [zeros([4, 7])],
    RangeError,
    /^input\.size\(-1\) must be equal to input_size\. Expected 3, got 7$/,
  ],
  [
    "a wrong h0 batch",
    () => [zeros([4, 2, 3]), zeros([2, 7, 5])],
    RangeError,
    /^Expected hidden size \(2, 2, 5\), got \[2, 7, 5\]$/,
  ],
  [
    "a wrong h0 layers",
    () => [zeros([4, 2, 3]), zeros([1, 2, 5])],
    RangeError,
    /^Expected hidden size \(2, 2, 5\), got \[1, 2, 5\]$/,
  ],
  [
    "a wrong h0 hidden",
    () => [zeros([4, 2, 3]), zeros([2, 2, 4])],
    RangeError,
    /^Expected hidden size \(2, 2, 5\), got \[2, 2, 4\]$/,
  ],
  [
    "a wrong unbatched h0 (shown unsqueezed)",
    () => [zeros([4, 3]), zeros([3, 5])],
    RangeError,
    /^Expected hidden size \(2, 1, 5\), got \[3, 1, 5\]$/,
  ],
  [
    "a 3-D h0 for unbatched input",
    () => [zeros([4, 3]), zeros([2, 1, 5])],
    RangeError,
    /^For unbatched 2-D input, hx should also be 2-D but got 3-D tensor$/,
  ],
  [
    "a 2-D h0 for batched input",
    () => [zeros([4, 2, 3]), zeros([2, 5])],
    RangeError,
    /^For batched 3-D input, hx should also be 3-D but got 2-D tensor$/,
  ],
  [
    "sequence length 0 (batched)",
    () => [zeros([0, 2, 3])],
    RangeError,
    /^Expected sequence length to be larger than 0 in RNN$/,
  ],
  [
    "sequence length 0 (unbatched)",
    () => [zeros([0, 3])],
    RangeError,
    /^Expected sequence length to be larger than 0 in RNN$/,
  ],
  [
    "sequence length 0 with h0",
    () => [zeros([0, 2, 3]), zeros([2, 2, 5])],
    RangeError,
    /^Expected sequence length to be larger than 0 in RNN$/,
  ],
  [
    "a plain array input",
    () => [[[1, 2, 3]]],
    TypeError,
    /^RNN: Expected input to be a Tensor or PackedSequence, got an array of length 1$/,
  ],
  [
    "a Float32Array input",
    () => [new Float32Array(3)],
    TypeError,
    /^RNN: Expected input to be a Tensor or PackedSequence, got Float32Array$/,
  ],
  ["a null input", () => [null], TypeError, /^RNN: Expected input to be a Tensor or PackedSequence, got null$/],
  [
    "a non-Tensor h0",
    () => [zeros([4, 2, 3]), new Float32Array(20)],
    TypeError,
    /^RNN: Expected hx to be a Tensor, got Float32Array$/,
  ],
  [
    "a tuple h0 (as for LSTM)",
    () => [zeros([4, 2, 3]), [zeros([2, 2, 5]), zeros([2, 2, 5])]],
    TypeError,
    /^RNN: Expected hx to be a Tensor, got an array of length 2$/,
  ],
  [
    "an input whose shape was changed after construction",
    () => {
      const x = zeros([4, 2, 3]);
      x.shape[0] = 40;
      return [x];
    },
    RangeError,
    /^input has shape \[40, 2, 3\] \(240 elements\) but 24 data elements$/,
  ],
  [
    "an h0 whose shape was changed after construction",
    () => {
      const h = zeros([2, 2, 5]);
      h.shape[1] = 3;
      return [zeros([4, 3, 3]), h];
    },
    RangeError,
    /^hx has shape \[2, 3, 5\] \(30 elements\) but 20 data elements$/,
  ],
  // PyTorch's order: input rank, hx rank, input size, hidden size, then the kernel's sequence length check.
  ["input size checked before h0 shape", () => [zeros([4, 2, 7]), zeros([9, 9, 9])], RangeError, /^input\.size\(-1\)/],
  ["h0 rank checked before input size", () => [zeros([4, 2, 7]), zeros([9, 9])], RangeError, /^For batched 3-D input/],
  [
    "h0 shape checked before sequence length",
    () => [zeros([0, 2, 3]), zeros([2, 3, 5])],
    RangeError,
    /^Expected hidden size/,
  ],
];

test("forward rejects every bad input with PyTorch's message; each rejected call leaves the model unchanged", async (t) => {
  const r = makeRandom(1);
  const rnn = new RNN({ ...CFG, seed: 3 });
  try {
    const x = randomTensor([4, 2, 3], r);
    const h0 = randomTensor([2, 2, 5], r);
    const reference = snapshot(rnn, x, h0);
    for (const [what, args, ErrorClass, message] of FORWARD_ERRORS) {
      await t.test(`forward rejects ${what} with ${ErrorClass.name} ${message}`, () => {
        const before = runtime.kernel.allocated_bytes();
        assertThrows(() => rnn.forward(...args()), ErrorClass, message, what);
        assert.equal(runtime.kernel.allocated_bytes(), before, "no allocation by a rejected forward");
        assert.deepEqual(snapshot(rnn, x, h0), reference, "model unchanged after the rejected call");
      });
    }
  } finally {
    rnn.dispose();
  }
});

test("forward with batchFirst reads the batch from dim 0 for the hidden-size check; h0 stays (layers·D, N, H)", () => {
  const rnn = new RNN({ ...CFG, batchFirst: true });
  try {
    assertThrows(
      () => rnn.forward(zeros([2, 4, 3]), zeros([2, 4, 5])),
      RangeError,
      /^Expected hidden size \(2, 2, 5\), got \[2, 4, 5\]$/,
      "batch-first h0",
    );
    assertThrows(
      () => rnn.forward(zeros([2, 0, 3])),
      RangeError,
      /^Expected sequence length to be larger than 0 in RNN$/,
      "",
    );
    const [out, hN] = rnn.forward(zeros([2, 4, 3]), zeros([2, 2, 5]));
    assert.deepEqual([...out.shape], [2, 4, 10]);
    assert.deepEqual([...hN.shape], [2, 2, 5]);
  } finally {
    rnn.dispose();
  }
});

// ---------------------------------------------------------------------------
// loadStateDict (src/state-dict.ts; PyTorch's load_state_dict messages)

const HEAD = /^Error\(s\) in loading state_dict for RNN:\n\t/;
const msg = (...lines) => new RegExp(`${HEAD.source + lines.join("\\n\\t")}$`);

/** A state dict for CFG with other values than the model's own (so a load is observable). */
function otherStateDict(rnn, random) {
  const sd = {};
  for (const { name, shape } of rnn.parameterSpecs()) sd[name] = randomTensor([...shape], random);
  return sd;
}

const without = (sd, ...keys) => Object.fromEntries(Object.entries(sd).filter(([k]) => !keys.includes(k)));
const prefixed = (prefix, sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [prefix + k, v]));

const LOAD_ERRORS = [
  [
    "a missing key (strict)",
    (sd) => [without(sd, "bias_hh_l0")],
    Error,
    msg('Missing key\\(s\\) in state_dict: "bias_hh_l0"\\.'),
  ],
  [
    "several missing keys, in PyTorch's order",
    (sd) => [without(sd, "weight_hh_l0_reverse", "weight_ih_l0")],
    Error,
    msg('Missing key\\(s\\) in state_dict: "weight_ih_l0", "weight_hh_l0_reverse"\\.'),
  ],
  [
    "an unexpected key (strict)",
    (sd) => [{ ...sd, weight_ih_l1: sd.weight_ih_l0 }],
    Error,
    msg('Unexpected key\\(s\\) in state_dict: "weight_ih_l1"\\.'),
  ],
  [
    "unexpected and missing keys together (unexpected first, as PyTorch)",
    (sd) => [{ ...without(sd, "bias_ih_l0"), foo: sd.bias_hh_l0 }],
    Error,
    msg('Unexpected key\\(s\\) in state_dict: "foo"\\.', 'Missing key\\(s\\) in state_dict: "bias_ih_l0"\\.'),
  ],
  [
    "a shape mismatch",
    (sd) => [{ ...sd, weight_ih_l0: zeros([5, 4]) }],
    Error,
    msg(
      "size mismatch for weight_ih_l0: copying a param with shape \\[5, 4\\] from checkpoint, " +
        "the shape in current model is \\[5, 3\\]\\.",
    ),
  ],
  [
    "a shape mismatch even when not strict",
    (sd) => [{ ...sd, bias_ih_l0_reverse: zeros([1, 5]) }, { strict: false }],
    Error,
    msg(
      "size mismatch for bias_ih_l0_reverse: copying a param with shape \\[1, 5\\] from checkpoint, " +
        "the shape in current model is \\[5\\]\\.",
    ),
  ],
  [
    "a shape mismatch next to valid tensors (nothing is loaded)",
    (sd) => [{ ...sd, weight_hh_l0: zeros([5]) }],
    Error,
    msg(
      "size mismatch for weight_hh_l0: copying a param with shape \\[5\\] from checkpoint, the shape in current model is \\[5, 5\\]\\.",
    ),
  ],
  [
    "a missing key under a prefix (named with the prefix)",
    (sd) => [prefixed("rnn.", without(sd, "bias_hh_l0")), { prefix: "rnn." }],
    Error,
    msg('Missing key\\(s\\) in state_dict: "rnn\\.bias_hh_l0"\\.'),
  ],
  [
    "an unexpected key under a prefix",
    (sd) => [{ ...prefixed("rnn.", sd), "rnn.extra": sd.bias_hh_l0 }, { prefix: "rnn." }],
    Error,
    msg('Unexpected key\\(s\\) in state_dict: "rnn\\.extra"\\.'),
  ],
  [
    "a prefix matching nothing (strict: everything missing)",
    (sd) => [sd, { prefix: "encoder." }],
    Error,
    /^Error\(s\) in loading state_dict for RNN:\n\tMissing key\(s\) in state_dict: "encoder\.weight_ih_l0", /,
  ],
  [
    "a size mismatch under a prefix",
    (sd) => [{ ...prefixed("rnn.", sd), "rnn.weight_ih_l0": zeros([3, 5]) }, { prefix: "rnn." }],
    Error,
    msg(
      "size mismatch for rnn\\.weight_ih_l0: copying a param with shape \\[3, 5\\] from checkpoint, " +
        "the shape in current model is \\[5, 3\\]\\.",
    ),
  ],
  [
    "a value that is not a tensor",
    (sd) => [{ ...sd, bias_ih_l0: [1, 2, 3, 4, 5] }],
    Error,
    msg("bias_ih_l0 is not a Tensor \\(got an array of length 5\\)\\."),
  ],
  [
    "a Float64Array-backed tensor-like value",
    (sd) => [{ ...sd, bias_ih_l0: { data: new Float64Array(5), shape: [5] } }],
    Error,
    msg("bias_ih_l0 is not a Tensor \\(got an object\\)\\."),
  ],
  ["null", () => [null], TypeError, /^loadStateDict expects an object of tensors keyed by PyTorch names, got null$/],
  [
    "a Tensor",
    () => [zeros([5])],
    TypeError,
    /^loadStateDict expects an object of tensors keyed by PyTorch names, got Tensor$/,
  ],
  [
    "strict not a boolean",
    (sd) => [sd, { strict: 1 }],
    TypeError,
    /^loadStateDict: strict should be a boolean, got 1$/,
  ],
  ["prefix not a string", (sd) => [sd, { prefix: 3 }], TypeError, /^loadStateDict: prefix should be a string, got 3$/],
  ["options null", (sd) => [sd, null], TypeError, /^loadStateDict: options must be an object, got null$/],
];

test("loadStateDict rejects bad state dicts with PyTorch's messages; a rejected load changes nothing", async (t) => {
  const r = makeRandom(2);
  const rnn = new RNN({ ...CFG, seed: 4 });
  try {
    const x = randomTensor([4, 2, 3], r);
    const h0 = randomTensor([2, 2, 5], r);
    const reference = snapshot(rnn, x, h0);
    const sd = otherStateDict(rnn, r);
    for (const [what, args, ErrorClass, message] of LOAD_ERRORS) {
      await t.test(`loadStateDict rejects ${what} with ${ErrorClass.name} ${message}`, () => {
        const before = runtime.kernel.allocated_bytes();
        assertThrows(() => rnn.loadStateDict(...args(sd)), ErrorClass, message, what);
        assert.equal(runtime.kernel.allocated_bytes(), before);
        assert.deepEqual(snapshot(rnn, x, h0), reference, "model unchanged after the rejected load");
      });
    }
  } finally {
    rnn.dispose();
  }
});

test("loadStateDict rejects a Tensor whose shape no longer matches its data (shape edited after construction); the model stays intact", () => {
  // Tensor.shape is a plain (unfrozen) array, so a caller can make it disagree with data.
  // Such a tensor has the right shape for the check but too few values for the parameter.
  const r = makeRandom(7);
  const rnn = new RNN({ ...CFG, seed: 13 });
  try {
    const x = randomTensor([4, 2, 3], r);
    const reference = snapshot(rnn, x);
    const sd = otherStateDict(rnn, r);
    const short = randomTensor([2, 3], r);
    short.shape[0] = 5; // claims [5, 3] = weight_ih_l0's shape, holds 6 values
    assert.throws(
      () => rnn.loadStateDict({ ...sd, weight_ih_l0: short }),
      (error) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /weight_ih_l0/);
        return true;
      },
    );
    assert.deepEqual(
      snapshot(rnn, x),
      reference,
      "model unchanged: stateDict() still works and forward gives the same result",
    );
  } finally {
    rnn.dispose();
  }
});

test("loadStateDict with strict: false loads the keys present, keeps the missing ones and ignores unexpected ones", () => {
  const r = makeRandom(3);
  const rnn = new RNN({ ...CFG, seed: 5 });
  try {
    const old = rnn.stateDict();
    const sd = otherStateDict(rnn, r);
    rnn.loadStateDict(
      { ...without(sd, "weight_hh_l0", "bias_ih_l0_reverse"), extra: zeros([1]), "rnn.weight_ih_l0": zeros([5, 3]) },
      { strict: false },
    );
    const now = rnn.stateDict();
    for (const name of Object.keys(old)) {
      const expected = name === "weight_hh_l0" || name === "bias_ih_l0_reverse" ? old[name] : sd[name];
      assert.deepEqual(Array.from(now[name].data), Array.from(expected.data), name);
    }
    assert.deepEqual(Object.keys(now), Object.keys(old), "no keys added");
  } finally {
    rnn.dispose();
  }
});

test("prefix 'rnn.' selects and strips a sub-module's keys and ignores every other key, even when strict", () => {
  const r = makeRandom(4);
  const rnn = new RNN({ ...CFG, seed: 6 });
  const plain = new RNN({ ...CFG, seed: 6 });
  try {
    const sd = otherStateDict(rnn, r);
    const model = {
      ...prefixed("rnn.", sd),
      "fc.weight": zeros([2, 10]),
      "fc.bias": zeros([2]),
      "embedding.rnn.weight_ih_l0": zeros([1]), // contains "rnn." but does not start with it
      weight_ih_l0: zeros([9, 9]), // an un-prefixed key of the same name is not ours either
    };
    rnn.loadStateDict(model, { prefix: "rnn." });
    plain.loadStateDict(sd);
    const x = randomTensor([3, 2, 3], r);
    assert.deepEqual(rnn.stateDict(), plain.stateDict());
    assert.deepEqual(Array.from(rnn.forward(x)[0].data), Array.from(plain.forward(x)[0].data));
  } finally {
    rnn.dispose();
    plain.dispose();
  }
});

test("loadStateDict accepts a loader's { tensors, metadata } result and a Map, like a plain record", () => {
  const r = makeRandom(5);
  const a = new RNN({ ...CFG, seed: 7 });
  const b = new RNN({ ...CFG, seed: 8 });
  const c = new RNN({ ...CFG, seed: 9 });
  try {
    const sd = otherStateDict(a, r);
    a.loadStateDict(sd);
    b.loadStateDict({ tensors: sd, metadata: { format: "pt" } });
    c.loadStateDict(new Map(Object.entries(prefixed("rnn.", sd))), { prefix: "rnn." });
    assert.deepEqual(b.stateDict(), a.stateDict());
    assert.deepEqual(c.stateDict(), a.stateDict());
    assertThrows(
      () => b.loadStateDict({ tensors: without(sd, "bias_ih_l0") }),
      Error,
      msg('Missing key\\(s\\) in state_dict: "bias_ih_l0"\\.'),
      "a loader result is checked like a record",
    );
  } finally {
    a.dispose();
    b.dispose();
    c.dispose();
  }
});

test("loadStateDict copies: mutating the loaded tensors or a stateDict() result afterwards changes nothing", () => {
  const r = makeRandom(6);
  const rnn = new RNN({ ...CFG, seed: 10 });
  try {
    const sd = otherStateDict(rnn, r);
    rnn.loadStateDict(sd);
    const x = randomTensor([3, 2, 3], r);
    const reference = snapshot(rnn, x);
    for (const t of Object.values(sd)) t.data.fill(7);
    for (const t of Object.values(rnn.stateDict())) t.data.fill(9);
    assert.deepEqual(snapshot(rnn, x), reference);
  } finally {
    rnn.dispose();
  }
});

// ---------------------------------------------------------------------------
// Other rejected calls on a model

test("dropout setter and train() reject bad values and keep the old ones", () => {
  const rnn = new RNN({ ...CFG, numLayers: 2, dropout: 0.25 });
  try {
    assertThrows(
      () => {
        rnn.dropout = 2;
      },
      RangeError,
      new RegExp(`${DROPOUT.source}2$`),
      "dropout = 2",
    );
    assertThrows(
      () => {
        rnn.dropout = "0.5";
      },
      RangeError,
      new RegExp(`${DROPOUT.source}'0\\.5'$`),
      "dropout = '0.5'",
    );
    assert.equal(rnn.dropout, 0.25);
    assertThrows(() => rnn.train("no"), TypeError, /^train: mode should be a boolean, got 'no'$/, "train('no')");
    assert.equal(rnn.training, true);
    rnn.eval();
    assert.equal(rnn.training, false);
  } finally {
    rnn.dispose();
  }
});

test("use after dispose() throws a clear Error from forward, stateDict and loadStateDict; dispose() twice is harmless", () => {
  const rnn = new RNN({ ...CFG, seed: 11 });
  const sd = rnn.stateDict();
  const before = runtime.kernel.allocated_bytes();
  rnn.dispose();
  const freed = runtime.kernel.allocated_bytes();
  assert.ok(freed < before, "dispose() freed the model's memory");
  const DISPOSED = /^This RNN was disposed; create a new one$/;
  assertThrows(() => rnn.forward(zeros([2, 1, 3])), Error, DISPOSED, "forward");
  assertThrows(() => rnn.forward(zeros([2, 3])), Error, DISPOSED, "unbatched forward");
  assertThrows(() => rnn.forward(null), Error, DISPOSED, "forward checks disposal first");
  assertThrows(() => rnn.stateDict(), Error, DISPOSED, "stateDict");
  assertThrows(() => rnn.loadStateDict(sd), Error, DISPOSED, "loadStateDict");
  rnn.dispose();
  rnn.dispose();
  assert.equal(runtime.kernel.allocated_bytes(), freed, "a second dispose() frees nothing else");
  const again = new RNN({ ...CFG, seed: 11 });
  try {
    assert.deepEqual(again.stateDict(), sd, "the runtime is fine after a disposed model was misused");
  } finally {
    again.dispose();
  }
});

// ---------------------------------------------------------------------------
// Tensor (src/tensor.ts)

const TENSOR_ERRORS = [
  [
    "Float64Array data",
    () => new Tensor(new Float64Array(6), [2, 3]),
    TypeError,
    /^Tensor data must be a Float32Array, got Float64Array$/,
  ],
  [
    "plain array data",
    () => new Tensor([1, 2, 3]),
    TypeError,
    /^Tensor data must be a Float32Array, got an array of length 3$/,
  ],
  [
    "Int32Array data",
    () => new Tensor(new Int32Array(2), [2]),
    TypeError,
    /^Tensor data must be a Float32Array, got Int32Array$/,
  ],
  [
    "a shape whose product is not data.length",
    () => new Tensor(new Float32Array(6), [2, 4]),
    RangeError,
    /^Tensor shape \[2, 4\] holds 8 elements, but data has 6$/,
  ],
  [
    "a negative size",
    () => new Tensor(new Float32Array(6), [2, -3]),
    RangeError,
    /^Tensor shape must not hold negative sizes, got \[2, -3\]$/,
  ],
  [
    "negative sizes whose product matches",
    () => new Tensor(new Float32Array(6), [-2, -3]),
    RangeError,
    /^Tensor shape must not hold negative sizes, got \[-2, -3\]$/,
  ],
  [
    "a non-integer size",
    () => new Tensor(new Float32Array(6), [1.5, 4]),
    TypeError,
    /^Tensor shape must hold integers, got 1\.5 in \[1\.5, 4\]$/,
  ],
  [
    "a NaN size",
    () => new Tensor(new Float32Array(6), [NaN]),
    TypeError,
    /^Tensor shape must hold integers, got NaN in \[NaN\]$/,
  ],
  [
    "a string size",
    () => new Tensor(new Float32Array(6), ["6"]),
    TypeError,
    /^Tensor shape must hold integers, got '6'/,
  ],
  [
    "a shape that is not an array",
    () => new Tensor(new Float32Array(6), "6"),
    TypeError,
    /^Tensor shape must be an array of sizes, got '6'$/,
  ],
  [
    "Tensor.zeros with a negative size",
    () => Tensor.zeros([0, -1]),
    RangeError,
    /^Tensor shape must not hold negative sizes, got \[0, -1\]$/,
  ],
  [
    "Tensor.from ragged nesting",
    () => Tensor.from([[1, 2], [3]]),
    RangeError,
    /^Tensor\.from expects a regular nesting: expected 2 elements at depth 1, got 1$/,
  ],
  ["Tensor.from a non-number", () => Tensor.from([[1, "2"]]), TypeError, /^Tensor\.from expects numbers, got '2'$/],
  [
    "reshape to another element count",
    () => zeros([2, 3]).reshape([4, 2]),
    RangeError,
    /^shape \[4, 2\] is invalid for input of size 6$/,
  ],
  [
    "reshape with two -1",
    () => zeros([2, 3]).reshape([-1, -1]),
    RangeError,
    /^reshape: only one size can be -1, got \[-1, -1\]$/,
  ],
  [
    "an index out of bounds",
    () => zeros([2, 3]).get(0, 3),
    RangeError,
    /^index 3 is out of bounds for dimension 1 with size 3$/,
  ],
  ["the wrong number of indices", () => zeros([2, 3]).get(1), RangeError, /^Expected 2 indices, got 1$/],
];

for (const [what, fn, ErrorClass, message] of TENSOR_ERRORS) {
  test(`Tensor rejects ${what} with ${ErrorClass.name} ${message}`, () => {
    assertThrows(fn, ErrorClass, message, what);
  });
}

// ---------------------------------------------------------------------------
// init (src/runtime.ts, src/platform/node.ts): a rejected init keeps the kernel in use

test("init rejects unknown backends and options and a non-kernel module, and keeps the current kernel", async () => {
  const active = backend();
  const keep = new RNN({ ...CFG, seed: 12 });
  try {
    const x = zeros([2, 1, 3]);
    const reference = snapshot(keep, x);
    const emptyModule = await WebAssembly.compile(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const cases = [
      [{ backend: "gpu" }, RangeError, /^init: backend must be one of 'relaxed', 'simd', 'scalar', got 'gpu'$/],
      [{ backends: "simd" }, TypeError, /^init: unknown option 'backends'$/],
      [{ module: new Uint8Array(8) }, TypeError, /^init: module must be a WebAssembly\.Module, got Uint8Array$/],
      [{ instantiate: 1 }, TypeError, /^init: instantiate must be a function, got 1$/],
      ["scalar", TypeError, /^init: options must be an object, got 'scalar'$/],
      [
        { module: emptyModule },
        TypeError,
        /^init: the WebAssembly module is not a wasm-rnn kernel \(no memory or rnn_layer export\)$/,
      ],
    ];
    for (const [options, ErrorClass, message] of cases) {
      await assert.rejects(init(options), (error) => {
        assert.equal(error.constructor, ErrorClass, `${JSON.stringify(options)}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
      assert.equal(backend(), active, "backend() unchanged");
      const m = new RNN({ ...CFG, seed: 12 });
      try {
        assert.deepEqual(snapshot(m, x), reference, "new models still use the same kernel");
      } finally {
        m.dispose();
      }
    }
  } finally {
    keep.dispose();
  }
});

test("creating a model before init() throws a clear Error (checked in a fresh process)", () => {
  const script = `
    import { RNN, backend } from "wasm-rnn";
    if (backend() !== null) throw new Error("backend() should be null before init");
    try { new RNN({ inputSize: 3, hiddenSize: 5 }); console.log("constructed"); }
    catch (e) { console.log(e.constructor.name + ": " + e.message); }`;
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" }).trim();
  assert.equal(out, "Error: wasm-rnn is not initialised: call `await init()` before creating a model");
});

// ---------------------------------------------------------------------------
// GRU, LSTM, GRUCell, LSTMCell, Linear, Embedding: options, inputs and states. PyTorch's text
// where PyTorch has one (pytorch-rnn.md; checked against Debian's torch 1.13); otherwise a message
// naming what was expected and what came. Each row pins the class and every fragment listed.

/** Like assertThrows, with several message fragments (each a RegExp) that must all match. */
function assertThrowsAll(fn, ErrorClass, [first, ...rest], what) {
  let message = "";
  const keepMessage = () => {
    try {
      fn();
    } catch (error) {
      message = error?.message;
      throw error;
    }
  };
  assertThrows(keepMessage, ErrorClass, first, what);
  for (const fragment of rest) assert.match(message, fragment, `${what}: message`);
}

const GATED_CONSTRUCTOR_ERRORS = [
  [
    "GRU with projSize",
    () => new GRU({ inputSize: 3, hiddenSize: 5, projSize: 2 }),
    RangeError,
    [/^projSize argument is only supported for LSTM, not RNN or GRU$/],
  ],
  [
    "GRU with projSize 0",
    () => new GRU({ inputSize: 3, hiddenSize: 5, projSize: 0 }),
    RangeError,
    [/^projSize argument is only supported for LSTM, not RNN or GRU$/],
  ],
  [
    "LSTM projSize equal to hiddenSize",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 5 }),
    RangeError,
    [/proj_size has to be smaller than hidden_size/, /\b5\b/],
  ],
  [
    "LSTM projSize above hiddenSize",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 9 }),
    RangeError,
    [/proj_size has to be smaller than hidden_size/, /\b9\b/],
  ],
  [
    "LSTM negative projSize",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: -1 }),
    RangeError,
    [/proj_size should be a positive integer or zero to disable projections/, /-1/],
  ],
  [
    "LSTM non-integer projSize",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 1.5 }),
    TypeError,
    [/projSize should be an integer/, /1\.5/],
  ],
  [
    "LSTM projSize a string",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: "2" }),
    TypeError,
    [/projSize should be an integer/, /'2'/],
  ],
  [
    "LSTM projSize NaN",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: NaN }),
    TypeError,
    [/projSize should be an integer/, /NaN/],
  ],
  [
    "GRU with a nonlinearity (only RNN has one)",
    () => new GRU({ inputSize: 3, hiddenSize: 5, nonlinearity: "relu" }),
    TypeError,
    [/^GRU got an unexpected option 'nonlinearity'$/],
  ],
  [
    "LSTM with an unknown option",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, proj_size: 2 }),
    TypeError,
    [/^LSTM got an unexpected option 'proj_size'$/],
  ],
  [
    "GRU hiddenSize 0",
    () => new GRU({ inputSize: 3, hiddenSize: 0 }),
    RangeError,
    [/^hiddenSize must be greater than zero, got 0$/],
  ],
  [
    "LSTM numLayers 0",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 0 }),
    RangeError,
    [/^numLayers must be greater than zero, got 0$/],
  ],
  [
    "LSTM inputSize non-integer",
    () => new LSTM({ inputSize: 2.5, hiddenSize: 5 }),
    TypeError,
    [/^inputSize should be an integer, got number \(2\.5\)$/],
  ],
  [
    "GRU dropout above 1",
    () => new GRU({ inputSize: 3, hiddenSize: 5, dropout: 2 }),
    RangeError,
    [new RegExp(`${DROPOUT.source}2$`)],
  ],
  [
    "LSTM bias a number",
    () => new LSTM({ inputSize: 3, hiddenSize: 5, bias: 0 }),
    TypeError,
    [/^bias should be of type boolean, got number \(0\)$/],
  ],
  ["GRU options missing", () => new GRU(), TypeError, [/^GRU options must be an object/, /got undefined$/]],
  [
    "GRUCell with batchFirst",
    () => new GRUCell({ inputSize: 3, hiddenSize: 4, batchFirst: true }),
    TypeError,
    [/unexpected option 'batchFirst'/],
  ],
  [
    "LSTMCell with projSize (cells have none in PyTorch)",
    () => new LSTMCell({ inputSize: 3, hiddenSize: 4, projSize: 2 }),
    TypeError,
    [/unexpected option 'projSize'/],
  ],
  [
    "GRUCell negative hiddenSize",
    () => new GRUCell({ inputSize: 3, hiddenSize: -1 }),
    RangeError,
    [/hiddenSize/, /-1/],
  ],
  [
    "LSTMCell inputSize a string",
    () => new LSTMCell({ inputSize: "3", hiddenSize: 4 }),
    TypeError,
    [/inputSize/, /'3'/],
  ],
  ["Linear without outFeatures", () => new Linear({ inFeatures: 3 }), TypeError, [/outFeatures/]],
  [
    "Linear with negative inFeatures",
    () => new Linear({ inFeatures: -2, outFeatures: 3 }),
    RangeError,
    [/inFeatures/, /-2/],
  ],
  [
    "Linear with non-integer outFeatures",
    () => new Linear({ inFeatures: 2, outFeatures: 2.5 }),
    TypeError,
    [/outFeatures/, /2\.5/],
  ],
  [
    "Linear with PyTorch's snake_case option",
    () => new Linear({ in_features: 2, out_features: 3 }),
    TypeError,
    [/unexpected option 'in_features'/],
  ],
  [
    "Linear bias a string",
    () => new Linear({ inFeatures: 2, outFeatures: 3, bias: "false" }),
    TypeError,
    [/bias should be of type boolean/, /'false'/],
  ],
  [
    "Embedding paddingIdx equal to numEmbeddings",
    () => new Embedding({ numEmbeddings: 10, embeddingDim: 3, paddingIdx: 10 }),
    RangeError,
    [/Padding_idx must be within num_embeddings/, /\b10\b/],
  ],
  [
    "Embedding paddingIdx below -numEmbeddings",
    () => new Embedding({ numEmbeddings: 10, embeddingDim: 3, paddingIdx: -11 }),
    RangeError,
    [/Padding_idx must be within num_embeddings/, /-11/],
  ],
  [
    "Embedding non-integer paddingIdx",
    () => new Embedding({ numEmbeddings: 10, embeddingDim: 3, paddingIdx: 1.5 }),
    TypeError,
    [/paddingIdx/, /1\.5/],
  ],
  [
    "Embedding negative embeddingDim",
    () => new Embedding({ numEmbeddings: 10, embeddingDim: -3 }),
    RangeError,
    [/embeddingDim/, /-3/],
  ],
  ["Embedding without numEmbeddings", () => new Embedding({ embeddingDim: 3 }), TypeError, [/numEmbeddings/]],
];

for (const [what, fn, ErrorClass, fragments] of GATED_CONSTRUCTOR_ERRORS) {
  test(`constructor rejects ${what} with ${ErrorClass.name} ${fragments.join(" ")} and allocates nothing`, () => {
    const before = runtime.kernel.allocated_bytes();
    assertThrowsAll(fn, ErrorClass, fragments, what);
    assert.equal(runtime.kernel.allocated_bytes(), before, "a rejected constructor allocates no linear memory");
  });
}

/**
 * Rows of [what, call(module) , ErrorClass, fragments] run against one module; before and after
 * each rejected call the module's stateDict and a reference forward must be bit-identical and no
 * linear memory may stay allocated.
 */
async function rejectsAndKeeps(t, module, reference, rows) {
  const before = snapshotOf(module, reference);
  for (const [what, call, ErrorClass, fragments] of rows) {
    await t.test(`${module.constructor.name} rejects ${what} with ${ErrorClass.name} ${fragments.join(" ")}`, () => {
      const bytes = runtime.kernel.allocated_bytes();
      assertThrowsAll(() => call(module), ErrorClass, fragments, what);
      assert.equal(runtime.kernel.allocated_bytes(), bytes, "no allocation by a rejected call");
      assert.deepEqual(snapshotOf(module, reference), before, "module unchanged after the rejected call");
    });
  }
}

// LSTM(3, 5, projSize 2), one layer: h0 is (1, N, 2), c0 is (1, N, 5). PyTorch's LSTM and GRU say
// "got 4D instead" where RNN says "got 4D tensor instead" (torch/nn/modules/rnn.py, main).
// proj_size and Padding_idx rows ask for PyTorch's text plus the values given.
const LSTM_FORWARD_ERRORS = [
  [
    "a state that is a Tensor, not a pair",
    (m) => m.forward(zeros([4, 2, 3]), zeros([1, 2, 2])),
    TypeError,
    [/\[h0, c0\]/, /Tensor/],
  ],
  [
    "a state pair with one element",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([1, 2, 2])]),
    TypeError,
    [/\[h0, c0\]/, /length 1/],
  ],
  [
    "a state with three elements",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([1, 2, 2]), zeros([1, 2, 5]), zeros([1])]),
    TypeError,
    [/\[h0, c0\]/, /length 3/],
  ],
  [
    "a state pair holding a non-Tensor",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([1, 2, 2]), [0, 0]]),
    TypeError,
    [/c0|hx\[1\]/, /Tensor/, /array/],
  ],
  [
    "c0 shaped like the projected h0",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([1, 2, 2]), zeros([1, 2, 2])]),
    RangeError,
    [/^Expected hidden\[1\] size \(1, 2, 5\), got \[1, 2, 2\]$/],
  ],
  [
    "h0 shaped like c0 (unprojected)",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([1, 2, 5]), zeros([1, 2, 5])]),
    RangeError,
    [/^Expected hidden\[0\] size \(1, 2, 2\), got \[1, 2, 5\]$/],
  ],
  [
    "a wrong h0 batch",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([1, 3, 2]), zeros([1, 3, 5])]),
    RangeError,
    [/^Expected hidden\[0\] size \(1, 2, 2\), got \[1, 3, 2\]$/],
  ],
  [
    "a wrong c0 batch",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([1, 2, 2]), zeros([1, 3, 5])]),
    RangeError,
    [/^Expected hidden\[1\] size \(1, 2, 5\), got \[1, 3, 5\]$/],
  ],
  [
    "a 2-D state for batched input",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([2, 2]), zeros([1, 2, 5])]),
    RangeError,
    [/^For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 3-D\) tensors$/],
  ],
  [
    "a 3-D state for unbatched input",
    (m) => m.forward(zeros([4, 3]), [zeros([1, 1, 2]), zeros([1, 1, 5])]),
    RangeError,
    [/^For unbatched 2-D input, hx and cx should also be 2-D but got \(3-D, 3-D\) tensors$/],
  ],
  [
    "a wrong feature size",
    (m) => m.forward(zeros([4, 2, 7])),
    RangeError,
    [/^input\.size\(-1\) must be equal to input_size\. Expected 3, got 7$/],
  ],
  [
    "a 4-D input",
    (m) => m.forward(zeros([4, 2, 3, 1])),
    RangeError,
    [/^LSTM: Expected input to be 2D or 3D, got 4D instead$/],
  ],
  ["a 1-D input", (m) => m.forward(zeros([3])), RangeError, [/^LSTM: Expected input to be 2D or 3D, got 1D instead$/]],
  ["an input that is not a Tensor", (m) => m.forward([[1, 2, 3]]), TypeError, [/Tensor/, /array/]],
  [
    "a sequence of length 0",
    (m) => m.forward(zeros([0, 2, 3])),
    RangeError,
    [/^Expected sequence length to be larger than 0 in RNN$/],
  ],
  [
    "a packed input with a wrong h0 batch",
    (m) => m.forward(packPaddedSequence(zeros([4, 3, 3]), [4, 2, 1]), [zeros([1, 2, 2]), zeros([1, 2, 5])]),
    RangeError,
    [/^Expected hidden\[0\] size \(1, 3, 2\), got \[1, 2, 2\]$/],
  ],
];

const GRU_FORWARD_ERRORS = [
  [
    "an LSTM-style [h0, c0] pair",
    (m) => m.forward(zeros([4, 2, 3]), [zeros([2, 2, 5]), zeros([2, 2, 5])]),
    TypeError,
    [/h0|hx/, /Tensor/, /array of length 2/],
  ],
  [
    "a wrong h0 batch",
    (m) => m.forward(zeros([4, 2, 3]), zeros([2, 7, 5])),
    RangeError,
    [/^Expected hidden size \(2, 2, 5\), got \[2, 7, 5\]$/],
  ],
  [
    "a wrong h0 hidden",
    (m) => m.forward(zeros([4, 2, 3]), zeros([2, 2, 4])),
    RangeError,
    [/^Expected hidden size \(2, 2, 5\), got \[2, 2, 4\]$/],
  ],
  [
    "a wrong h0 layers",
    (m) => m.forward(zeros([4, 2, 3]), zeros([1, 2, 5])),
    RangeError,
    [/^Expected hidden size \(2, 2, 5\), got \[1, 2, 5\]$/],
  ],
  [
    "a wrong feature size",
    (m) => m.forward(zeros([4, 7])),
    RangeError,
    [/^input\.size\(-1\) must be equal to input_size\. Expected 3, got 7$/],
  ],
  [
    "a 4-D input",
    (m) => m.forward(zeros([1, 4, 2, 3])),
    RangeError,
    [/^GRU: Expected input to be 2D or 3D, got 4D instead$/],
  ],
  [
    "a 3-D h0 for unbatched input",
    (m) => m.forward(zeros([4, 3]), zeros([2, 1, 5])),
    RangeError,
    [/^For unbatched 2-D input, hx should also be 2-D but got 3-D tensor$/],
  ],
];

test("LSTM.forward rejects bad inputs and states; each rejected call leaves the module unchanged", async (t) => {
  const r = makeRandom(21);
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 2, seed: 8 });
  try {
    const x = randomTensor([4, 2, 3], r);
    const state = [randomTensor([1, 2, 2], r), randomTensor([1, 2, 5], r)];
    await rejectsAndKeeps(t, lstm, () => lstm.forward(x, state), LSTM_FORWARD_ERRORS);
  } finally {
    lstm.dispose();
  }
});

test("GRU.forward rejects bad inputs and states; each rejected call leaves the module unchanged", async (t) => {
  const r = makeRandom(22);
  const gru = new GRU({ ...CFG, seed: 9 });
  try {
    const x = randomTensor([4, 2, 3], r);
    const h0 = randomTensor([2, 2, 5], r);
    await rejectsAndKeeps(t, gru, () => gru.forward(x, h0), GRU_FORWARD_ERRORS);
  } finally {
    gru.dispose();
  }
});

const CELL_ERRORS = [
  [
    "GRUCell",
    () => new GRUCell({ inputSize: 3, hiddenSize: 4, seed: 1 }),
    [
      [
        "a wrong hidden batch",
        (m) => m.forward(zeros([2, 3]), zeros([3, 4])),
        RangeError,
        [/^Input batch size 2 doesn't match hidden0 batch size 3$/],
      ],
      [
        "a wrong hidden size",
        (m) => m.forward(zeros([2, 3]), zeros([2, 5])),
        RangeError,
        [/^hidden0 has inconsistent hidden_size: got 5, expected 4$/],
      ],
      [
        "a wrong input size",
        (m) => m.forward(zeros([2, 5])),
        RangeError,
        [/^input has inconsistent input_size: got 5 expected 3$/],
      ],
      [
        "a 3-D input",
        (m) => m.forward(zeros([1, 2, 3])),
        RangeError,
        [/^GRUCell: Expected input to be 1D or 2D, got 3D instead$/],
      ],
      [
        "a pair as its state",
        (m) => m.forward(zeros([2, 3]), [zeros([2, 4]), zeros([2, 4])]),
        TypeError,
        [/Tensor/, /array/],
      ],
    ],
  ],
  [
    "LSTMCell",
    () => new LSTMCell({ inputSize: 3, hiddenSize: 4, seed: 1 }),
    [
      [
        "a Tensor as its state (not a pair)",
        (m) => m.forward(zeros([2, 3]), zeros([2, 4])),
        TypeError,
        [/\[h, c\]|\[h0, c0\]/, /Tensor/],
      ],
      [
        "a one-element state",
        (m) => m.forward(zeros([2, 3]), [zeros([2, 4])]),
        TypeError,
        [/\[h, c\]|\[h0, c0\]/, /length 1/],
      ],
      [
        "a wrong c size",
        (m) => m.forward(zeros([2, 3]), [zeros([2, 4]), zeros([2, 5])]),
        RangeError,
        [/inconsistent hidden_size: got 5, expected 4/],
      ],
      [
        "a wrong h batch",
        (m) => m.forward(zeros([2, 3]), [zeros([3, 4]), zeros([3, 4])]),
        RangeError,
        [/^Input batch size 2 doesn't match hidden0 batch size 3$/],
      ],
      [
        "a wrong input size",
        (m) => m.forward(zeros([5])),
        RangeError,
        [/^input has inconsistent input_size: got 5 expected 3$/],
      ],
      [
        "a 3-D input",
        (m) => m.forward(zeros([1, 2, 3])),
        RangeError,
        [/^LSTMCell: Expected input to be 1D or 2D, got 3D instead$/],
      ],
    ],
  ],
];

for (const [name, make, rows] of CELL_ERRORS) {
  test(`${name}.forward rejects bad inputs and states; each rejected call leaves the cell unchanged`, async (t) => {
    const cell = make();
    try {
      const x = randomTensor([2, 3], makeRandom(23));
      await rejectsAndKeeps(t, cell, () => cell.forward(x), rows);
    } finally {
      cell.dispose();
    }
  });
}

test("Linear.forward rejects a wrong last dimension, a 0-D input and a non-Tensor; the module stays unchanged", async (t) => {
  const linear = new Linear({ inFeatures: 4, outFeatures: 2, seed: 3 });
  try {
    const x = randomTensor([3, 4], makeRandom(24));
    await rejectsAndKeeps(t, linear, () => linear.forward(x), [
      [
        "a wrong last dimension",
        (m) => m.forward(zeros([3, 5])),
        RangeError,
        [/mat1 and mat2 shapes cannot be multiplied \(3x5 and 4x2\)|[Ee]xpected .*\b4\b.*got .*\b5\b/],
      ],
      [
        "a wrong last dimension of a 1-D input",
        (m) => m.forward(zeros([5])),
        RangeError,
        [/mat1 and mat2 shapes cannot be multiplied \(1x5 and 4x2\)|[Ee]xpected .*\b4\b.*got .*\b5\b/],
      ],
      [
        "a wrong last dimension of a 3-D input",
        (m) => m.forward(zeros([2, 3, 3])),
        RangeError,
        [/mat1 and mat2 shapes cannot be multiplied \(6x3 and 4x2\)|[Ee]xpected .*\b4\b.*got .*\b3\b/],
      ],
      ["a 0-D input", (m) => m.forward(new Tensor(new Float32Array(1), [])), RangeError, [/0-?D|at least 1/]],
      ["an array instead of a Tensor", (m) => m.forward([1, 2, 3, 4]), TypeError, [/Tensor/, /array/]],
    ]);
  } finally {
    linear.dispose();
  }
});

test("Embedding.forward rejects indices out of range, negative, non-integer, NaN, and a wrong shape; the module stays unchanged", async (t) => {
  const embedding = new Embedding({ numEmbeddings: 10, embeddingDim: 3, paddingIdx: 2, seed: 3 });
  try {
    await rejectsAndKeeps(t, embedding, () => embedding.forward([0, 9, 2, 4]), [
      ["index 10 of 10", (m) => m.forward([1, 10]), RangeError, [/out of range/, /\b10\b/]],
      [
        "a large index in an Int32Array",
        (m) => m.forward(Int32Array.of(3, 2 ** 31 - 1)),
        RangeError,
        [/out of range/, /2147483647/],
      ],
      ["a negative index", (m) => m.forward([0, -1]), RangeError, [/out of range/, /-1/]],
      ["a negative index beyond -numEmbeddings", (m) => m.forward([-11]), RangeError, [/out of range/, /-11/]],
      ["a non-integer index", (m) => m.forward([1, 1.5]), TypeError, [/integer/, /1\.5/]],
      ["a NaN index", (m) => m.forward([NaN]), TypeError, [/integer/, /NaN/]],
      ["an Infinity index", (m) => m.forward([Infinity]), TypeError, [/integer/, /Infinity/]],
      ["a string index", (m) => m.forward(["1"]), TypeError, [/integer/, /'1'|string/]],
      [
        "a non-integer index in a nested array",
        (m) =>
          m.forward([
            [1, 2],
            [3, 0.5],
          ]),
        TypeError,
        [/integer/, /0\.5/],
      ],
      ["a ragged nested array", (m) => m.forward([[1, 2], [3]]), RangeError, [/2/, /1/]],
      [
        "a shape that does not hold the indices",
        (m) => m.forward([1, 2, 3], [2, 2]),
        RangeError,
        [/\[2, 2\]/, /\b3\b/],
      ],
      ["a Float32Array with a fraction", (m) => m.forward(Float32Array.of(0.25)), TypeError, [/integer/, /0\.25/]],
      ["null", (m) => m.forward(null), TypeError, [/null/]],
    ]);
  } finally {
    embedding.dispose();
  }
});

test("use after dispose() throws for every new module; dispose() twice is harmless", () => {
  const modules = [
    [new GRU({ inputSize: 2, hiddenSize: 3 }), (m) => m.forward(zeros([1, 2]))],
    [new LSTM({ inputSize: 2, hiddenSize: 3, projSize: 1 }), (m) => m.forward(zeros([1, 2]))],
    [new GRUCell({ inputSize: 2, hiddenSize: 3 }), (m) => m.forward(zeros([2]))],
    [new LSTMCell({ inputSize: 2, hiddenSize: 3 }), (m) => m.forward(zeros([2]))],
    [new Linear({ inFeatures: 2, outFeatures: 3 }), (m) => m.forward(zeros([2]))],
    [new Embedding({ numEmbeddings: 2, embeddingDim: 3 }), (m) => m.forward([1])],
  ];
  for (const [m, call] of modules) {
    const sd = m.stateDict();
    call(m);
    m.dispose();
    m.dispose();
    assert.throws(() => call(m), /disposed/, `${m.constructor.name}.forward`);
    assert.throws(() => m.stateDict(), /disposed/, `${m.constructor.name}.stateDict`);
    assert.throws(() => m.loadStateDict(sd), /disposed/, `${m.constructor.name}.loadStateDict`);
  }
});

test("LSTM.loadStateDict with projSize names missing weight_hr keys and a c-shaped weight_hh as PyTorch does", () => {
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 2, seed: 1 });
  try {
    const sd = lstm.stateDict();
    assertThrows(
      () => lstm.loadStateDict(without(sd, "weight_hr_l0")),
      Error,
      /^Error\(s\) in loading state_dict for LSTM:\n\tMissing key\(s\) in state_dict: "weight_hr_l0"\.$/,
      "missing weight_hr",
    );
    assertThrows(
      () => lstm.loadStateDict({ ...sd, weight_hh_l0: zeros([20, 5]) }),
      Error,
      /size mismatch for weight_hh_l0: copying a param with shape \[20, 5\] from checkpoint, the shape in current model is \[20, 2\]\./,
      "unprojected weight_hh",
    );
    assert.deepEqual(Object.keys(lstm.stateDict()), Object.keys(sd), "unchanged");
  } finally {
    lstm.dispose();
  }
});
