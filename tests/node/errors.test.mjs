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
import { init, backend, RNN, Tensor } from "wasm-rnn";
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
  assert.equal(thrown.constructor, ErrorClass,
    `${what}: expected ${ErrorClass.name}, got ${thrown.constructor?.name}: ${thrown.message}`);
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
const DROPOUT = /^dropout should be a number in range \[0, 1\] representing the probability of an element being zeroed, got /;

const CONSTRUCTOR_ERRORS = [
  ["options missing", undefined, TypeError, /^RNN options must be an object like \{ inputSize: 10, hiddenSize: 20 \}, got undefined$/],
  ["options null", null, TypeError, /^RNN options must be an object .*got null$/],
  ["options an array", [3, 5], TypeError, /^RNN options must be an object .*got an array of length 2$/],
  ["options a number", 3, TypeError, /^RNN options must be an object .*got 3$/],
  ["unknown option", { ...BASE, foo: 1 }, TypeError, /^RNN got an unexpected option 'foo'$/],
  ["snake_case option", { ...BASE, batch_first: true }, TypeError, /^RNN got an unexpected option 'batch_first'$/],
  ["projSize", { ...BASE, projSize: 2 }, RangeError, /^projSize argument is only supported for LSTM, not RNN or GRU$/],
  ["projSize 0", { ...BASE, projSize: 0 }, RangeError, /^projSize argument is only supported for LSTM, not RNN or GRU$/],
  ["unknown nonlinearity", { ...BASE, nonlinearity: "sigmoid" }, RangeError,
    /^Unknown nonlinearity 'sigmoid'\. Select from 'tanh' or 'relu'\.$/],
  ["nonlinearity is case-sensitive", { ...BASE, nonlinearity: "Tanh" }, RangeError, /^Unknown nonlinearity 'Tanh'\./],
  ["dropout below 0", { ...BASE, dropout: -0.1 }, RangeError, new RegExp(DROPOUT.source + "-0\\.1$")],
  ["dropout above 1", { ...BASE, dropout: 1.5 }, RangeError, new RegExp(DROPOUT.source + "1\\.5$")],
  ["dropout NaN", { ...BASE, dropout: NaN }, RangeError, new RegExp(DROPOUT.source + "NaN$")],
  ["dropout a string", { ...BASE, dropout: "0.1" }, RangeError, new RegExp(DROPOUT.source + "'0\\.1'$")],
  ["dropout a boolean", { ...BASE, dropout: true }, RangeError, new RegExp(DROPOUT.source + "true$")],
  ["bias a number", { ...BASE, bias: 1 }, TypeError, /^bias should be of type boolean, got number \(1\)$/],
  ["bias a string", { ...BASE, bias: "True" }, TypeError, /^bias should be of type boolean, got string \('True'\)$/],
  ["batchFirst a number", { ...BASE, batchFirst: 0 }, TypeError, /^batchFirst should be of type boolean, got number \(0\)$/],
  ["bidirectional a string", { ...BASE, bidirectional: "yes" }, TypeError,
    /^bidirectional should be of type boolean, got string \('yes'\)$/],
  ["inputSize missing", { hiddenSize: 5 }, TypeError, /^RNN option inputSize is required \(a positive integer\)$/],
  ["hiddenSize missing", { inputSize: 3 }, TypeError, /^RNN option hiddenSize is required \(a positive integer\)$/],
  ["inputSize non-integer", { ...BASE, inputSize: 3.5 }, TypeError, /^inputSize should be an integer, got number \(3\.5\)$/],
  ["inputSize a string", { ...BASE, inputSize: "10" }, TypeError, /^inputSize should be an integer, got string \('10'\)$/],
  ["inputSize null", { ...BASE, inputSize: null }, TypeError, /^inputSize should be an integer, got object \(null\)$/],
  ["hiddenSize non-integer", { ...BASE, hiddenSize: 5.5 }, TypeError, /^hiddenSize should be an integer, got number \(5\.5\)$/],
  ["hiddenSize Infinity", { ...BASE, hiddenSize: Infinity }, TypeError, /^hiddenSize should be an integer, got number \(Infinity\)$/],
  ["hiddenSize NaN", { ...BASE, hiddenSize: NaN }, TypeError, /^hiddenSize should be an integer, got number \(NaN\)$/],
  ["numLayers non-integer", { ...BASE, numLayers: 1.5 }, TypeError, /^numLayers should be an integer, got number \(1\.5\)$/],
  ["inputSize 0", { ...BASE, inputSize: 0 }, RangeError, /^inputSize must be greater than zero, got 0$/],
  ["inputSize negative", { ...BASE, inputSize: -1 }, RangeError, /^inputSize must be greater than zero, got -1$/],
  ["hiddenSize 0", { ...BASE, hiddenSize: 0 }, RangeError, /^hiddenSize must be greater than zero, got 0$/],
  ["numLayers 0", { ...BASE, numLayers: 0 }, RangeError, /^numLayers must be greater than zero, got 0$/],
  ["hiddenSize above int32", { ...BASE, hiddenSize: 2 ** 31 }, RangeError, /^hiddenSize must be at most 2147483647, got 2147483648$/],
  ["seed non-integer", { ...BASE, seed: 1.5 }, TypeError, /^seed should be an integer, got 1\.5$/],
  ["seed beyond 2**53 as a number", { ...BASE, seed: 2 ** 53 }, TypeError, /^seed should be an integer, got 9007199254740992$/],
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
  ["dropout", RangeError, new RegExp(DROPOUT.source + "null$")],
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
  assertThrows(() => new RNN({ ...all, nonlinearity: "relu", dropout: 0, bias: true }), TypeError, /^batchFirst should be/, "batchFirst");
  assertThrows(() => new RNN({ ...all, nonlinearity: "relu", dropout: 0, bias: true, batchFirst: true }),
    RangeError, /^inputSize must be/, "inputSize before hiddenSize");
});

for (const [dropout, shown] of [[0.5, "0.5"], [1, "1"], [0.25, "0.25"]]) {
  test(`dropout=${shown} with numLayers 1 warns with PyTorch's text via console.warn and still constructs`, (t) => {
    const warn = t.mock.method(console, "warn", () => {});
    const rnn = new RNN({ ...BASE, dropout, seed: 0 });
    try {
      assert.equal(warn.mock.callCount(), 1);
      assert.equal(warn.mock.calls[0].arguments[0],
        "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects " +
        `num_layers greater than 1, but got dropout=${shown} and num_layers=1`);
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
  assertThrows(() => new RNN({ inputSize: 3, hiddenSize: 0, dropout: 0.5 }), RangeError, /^hiddenSize must be greater than zero/, "");
  assert.equal(warn.mock.callCount(), 0);
});

// ---------------------------------------------------------------------------
// forward (src/rnn.ts; PyTorch's messages, §3.2)

const CFG = { inputSize: 3, hiddenSize: 5, bidirectional: true }; // numLayers·D = 2

const FORWARD_ERRORS = [
  ["a 4-D input", () => [zeros([2, 2, 2, 3])], RangeError, /^RNN: Expected input to be 2D or 3D, got 4D tensor instead$/],
  ["a 1-D input", () => [zeros([3])], RangeError, /^RNN: Expected input to be 2D or 3D, got 1D tensor instead$/],
  ["a 0-D input", () => [new Tensor(new Float32Array(1), [])], RangeError, /^RNN: Expected input to be 2D or 3D, got 0D tensor instead$/],
  ["a wrong feature size", () => [zeros([4, 2, 7])], RangeError,
    /^input\.size\(-1\) must be equal to input_size\. Expected 3, got 7$/],
  ["a wrong unbatched feature size", () => [zeros([4, 7])], RangeError,
    /^input\.size\(-1\) must be equal to input_size\. Expected 3, got 7$/],
  ["a wrong h0 batch", () => [zeros([4, 2, 3]), zeros([2, 7, 5])], RangeError, /^Expected hidden size \(2, 2, 5\), got \[2, 7, 5\]$/],
  ["a wrong h0 layers", () => [zeros([4, 2, 3]), zeros([1, 2, 5])], RangeError, /^Expected hidden size \(2, 2, 5\), got \[1, 2, 5\]$/],
  ["a wrong h0 hidden", () => [zeros([4, 2, 3]), zeros([2, 2, 4])], RangeError, /^Expected hidden size \(2, 2, 5\), got \[2, 2, 4\]$/],
  ["a wrong unbatched h0 (shown unsqueezed)", () => [zeros([4, 3]), zeros([3, 5])], RangeError,
    /^Expected hidden size \(2, 1, 5\), got \[3, 1, 5\]$/],
  ["a 3-D h0 for unbatched input", () => [zeros([4, 3]), zeros([2, 1, 5])], RangeError,
    /^For unbatched 2-D input, hx should also be 2-D but got 3-D tensor$/],
  ["a 2-D h0 for batched input", () => [zeros([4, 2, 3]), zeros([2, 5])], RangeError,
    /^For batched 3-D input, hx should also be 3-D but got 2-D tensor$/],
  ["sequence length 0 (batched)", () => [zeros([0, 2, 3])], RangeError, /^Expected sequence length to be larger than 0 in RNN$/],
  ["sequence length 0 (unbatched)", () => [zeros([0, 3])], RangeError, /^Expected sequence length to be larger than 0 in RNN$/],
  ["sequence length 0 with h0", () => [zeros([0, 2, 3]), zeros([2, 2, 5])], RangeError,
    /^Expected sequence length to be larger than 0 in RNN$/],
  ["a plain array input", () => [[[1, 2, 3]]], TypeError, /^RNN: Expected input to be a Tensor or PackedSequence, got an array of length 1$/],
  ["a Float32Array input", () => [new Float32Array(3)], TypeError,
    /^RNN: Expected input to be a Tensor or PackedSequence, got Float32Array$/],
  ["a null input", () => [null], TypeError, /^RNN: Expected input to be a Tensor or PackedSequence, got null$/],
  ["a tensor-like object input", () => [{ data: new Float32Array(6), shape: [2, 3] }], TypeError,
    /^RNN: Expected input to be a Tensor or PackedSequence, got an object$/],
  ["a non-Tensor h0", () => [zeros([4, 2, 3]), new Float32Array(20)], TypeError, /^RNN: Expected hx to be a Tensor, got Float32Array$/],
  ["a tuple h0 (as for LSTM)", () => [zeros([4, 2, 3]), [zeros([2, 2, 5]), zeros([2, 2, 5])]], TypeError,
    /^RNN: Expected hx to be a Tensor, got an array of length 2$/],
  ["an input whose shape was changed after construction", () => { const x = zeros([4, 2, 3]); x.shape[0] = 40; return [x]; },
    RangeError, /^input has shape \[40, 2, 3\] \(240 elements\) but 24 data elements$/],
  ["an h0 whose shape was changed after construction", () => { const h = zeros([2, 2, 5]); h.shape[1] = 3; return [zeros([4, 3, 3]), h]; },
    RangeError, /^hx has shape \[2, 3, 5\] \(30 elements\) but 20 data elements$/],
  // PyTorch's order: input rank, hx rank, input size, hidden size, then the kernel's sequence length check.
  ["input size checked before h0 shape", () => [zeros([4, 2, 7]), zeros([9, 9, 9])], RangeError, /^input\.size\(-1\)/],
  ["h0 rank checked before input size", () => [zeros([4, 2, 7]), zeros([9, 9])], RangeError, /^For batched 3-D input/],
  ["h0 shape checked before sequence length", () => [zeros([0, 2, 3]), zeros([2, 3, 5])], RangeError, /^Expected hidden size/],
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
    assertThrows(() => rnn.forward(zeros([2, 4, 3]), zeros([2, 4, 5])), RangeError,
      /^Expected hidden size \(2, 2, 5\), got \[2, 4, 5\]$/, "batch-first h0");
    assertThrows(() => rnn.forward(zeros([2, 0, 3])), RangeError, /^Expected sequence length to be larger than 0 in RNN$/, "");
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
const msg = (...lines) => new RegExp(HEAD.source + lines.join("\\n\\t") + "$");

/** A state dict for CFG with other values than the model's own (so a load is observable). */
function otherStateDict(rnn, random) {
  const sd = {};
  for (const { name, shape } of rnn.parameterSpecs()) sd[name] = randomTensor([...shape], random);
  return sd;
}

const without = (sd, ...keys) => Object.fromEntries(Object.entries(sd).filter(([k]) => !keys.includes(k)));
const prefixed = (prefix, sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [prefix + k, v]));

const LOAD_ERRORS = [
  ["a missing key (strict)", (sd) => [without(sd, "bias_hh_l0")], Error,
    msg('Missing key\\(s\\) in state_dict: "bias_hh_l0"\\.')],
  ["several missing keys, in PyTorch's order", (sd) => [without(sd, "weight_hh_l0_reverse", "weight_ih_l0")], Error,
    msg('Missing key\\(s\\) in state_dict: "weight_ih_l0", "weight_hh_l0_reverse"\\.')],
  ["an unexpected key (strict)", (sd) => [{ ...sd, weight_ih_l1: sd.weight_ih_l0 }], Error,
    msg('Unexpected key\\(s\\) in state_dict: "weight_ih_l1"\\.')],
  ["unexpected and missing keys together (unexpected first, as PyTorch)", (sd) => [{ ...without(sd, "bias_ih_l0"), foo: sd.bias_hh_l0 }],
    Error, msg('Unexpected key\\(s\\) in state_dict: "foo"\\.', 'Missing key\\(s\\) in state_dict: "bias_ih_l0"\\.')],
  ["a shape mismatch", (sd) => [{ ...sd, weight_ih_l0: zeros([5, 4]) }], Error,
    msg("size mismatch for weight_ih_l0: copying a param with shape \\[5, 4\\] from checkpoint, " +
      "the shape in current model is \\[5, 3\\]\\.")],
  ["a shape mismatch even when not strict", (sd) => [{ ...sd, bias_ih_l0_reverse: zeros([1, 5]) }, { strict: false }], Error,
    msg("size mismatch for bias_ih_l0_reverse: copying a param with shape \\[1, 5\\] from checkpoint, " +
      "the shape in current model is \\[5\\]\\.")],
  ["a shape mismatch next to valid tensors (nothing is loaded)", (sd) => [{ ...sd, weight_hh_l0: zeros([5]) }], Error,
    msg("size mismatch for weight_hh_l0: copying a param with shape \\[5\\] from checkpoint, the shape in current model is \\[5, 5\\]\\.")],
  ["a missing key under a prefix (named with the prefix)", (sd) => [prefixed("rnn.", without(sd, "bias_hh_l0")), { prefix: "rnn." }],
    Error, msg('Missing key\\(s\\) in state_dict: "rnn\\.bias_hh_l0"\\.')],
  ["an unexpected key under a prefix", (sd) => [{ ...prefixed("rnn.", sd), "rnn.extra": sd.bias_hh_l0 }, { prefix: "rnn." }],
    Error, msg('Unexpected key\\(s\\) in state_dict: "rnn\\.extra"\\.')],
  ["a prefix matching nothing (strict: everything missing)", (sd) => [sd, { prefix: "encoder." }], Error,
    /^Error\(s\) in loading state_dict for RNN:\n\tMissing key\(s\) in state_dict: "encoder\.weight_ih_l0", /],
  ["a size mismatch under a prefix", (sd) => [{ ...prefixed("rnn.", sd), "rnn.weight_ih_l0": zeros([3, 5]) }, { prefix: "rnn." }],
    Error, msg("size mismatch for rnn\\.weight_ih_l0: copying a param with shape \\[3, 5\\] from checkpoint, " +
      "the shape in current model is \\[5, 3\\]\\.")],
  ["a value that is not a tensor", (sd) => [{ ...sd, bias_ih_l0: [1, 2, 3, 4, 5] }], Error,
    msg("bias_ih_l0 is not a Tensor \\(got an array of length 5\\)\\.")],
  ["a Float64Array-backed tensor-like value", (sd) => [{ ...sd, bias_ih_l0: { data: new Float64Array(5), shape: [5] } }], Error,
    msg("bias_ih_l0 is not a Tensor \\(got an object\\)\\.")],
  ["null", () => [null], TypeError, /^loadStateDict expects an object of tensors keyed by PyTorch names, got null$/],
  ["a Tensor", () => [zeros([5])], TypeError, /^loadStateDict expects an object of tensors keyed by PyTorch names, got Tensor$/],
  ["strict not a boolean", (sd) => [sd, { strict: 1 }], TypeError, /^loadStateDict: strict should be a boolean, got 1$/],
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
    assert.throws(() => rnn.loadStateDict({ ...sd, weight_ih_l0: short }), (error) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /weight_ih_l0/);
      return true;
    });
    assert.deepEqual(snapshot(rnn, x), reference, "model unchanged: stateDict() still works and forward gives the same result");
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
    rnn.loadStateDict({ ...without(sd, "weight_hh_l0", "bias_ih_l0_reverse"), extra: zeros([1]), "rnn.weight_ih_l0": zeros([5, 3]) },
      { strict: false });
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
    assertThrows(() => b.loadStateDict({ tensors: without(sd, "bias_ih_l0") }), Error,
      msg('Missing key\\(s\\) in state_dict: "bias_ih_l0"\\.'), "a loader result is checked like a record");
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
    assertThrows(() => { rnn.dropout = 2; }, RangeError, new RegExp(DROPOUT.source + "2$"), "dropout = 2");
    assertThrows(() => { rnn.dropout = "0.5"; }, RangeError, new RegExp(DROPOUT.source + "'0\\.5'$"), "dropout = '0.5'");
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
  ["Float64Array data", () => new Tensor(new Float64Array(6), [2, 3]), TypeError, /^Tensor data must be a Float32Array, got Float64Array$/],
  ["plain array data", () => new Tensor([1, 2, 3]), TypeError, /^Tensor data must be a Float32Array, got an array of length 3$/],
  ["Int32Array data", () => new Tensor(new Int32Array(2), [2]), TypeError, /^Tensor data must be a Float32Array, got Int32Array$/],
  ["a shape whose product is not data.length", () => new Tensor(new Float32Array(6), [2, 4]), RangeError,
    /^Tensor shape \[2, 4\] holds 8 elements, but data has 6$/],
  ["a negative size", () => new Tensor(new Float32Array(6), [2, -3]), RangeError, /^Tensor shape must not hold negative sizes, got \[2, -3\]$/],
  ["negative sizes whose product matches", () => new Tensor(new Float32Array(6), [-2, -3]), RangeError,
    /^Tensor shape must not hold negative sizes, got \[-2, -3\]$/],
  ["a non-integer size", () => new Tensor(new Float32Array(6), [1.5, 4]), TypeError, /^Tensor shape must hold integers, got 1\.5 in \[1\.5, 4\]$/],
  ["a NaN size", () => new Tensor(new Float32Array(6), [NaN]), TypeError, /^Tensor shape must hold integers, got NaN in \[NaN\]$/],
  ["a string size", () => new Tensor(new Float32Array(6), ["6"]), TypeError, /^Tensor shape must hold integers, got '6'/],
  ["a shape that is not an array", () => new Tensor(new Float32Array(6), "6"), TypeError, /^Tensor shape must be an array of sizes, got '6'$/],
  ["Tensor.zeros with a negative size", () => Tensor.zeros([0, -1]), RangeError, /^Tensor shape must not hold negative sizes, got \[0, -1\]$/],
  ["Tensor.from ragged nesting", () => Tensor.from([[1, 2], [3]]), RangeError,
    /^Tensor\.from expects a regular nesting: expected 2 elements at depth 1, got 1$/],
  ["Tensor.from a non-number", () => Tensor.from([[1, "2"]]), TypeError, /^Tensor\.from expects numbers, got '2'$/],
  ["reshape to another element count", () => zeros([2, 3]).reshape([4, 2]), RangeError, /^shape \[4, 2\] is invalid for input of size 6$/],
  ["reshape with two -1", () => zeros([2, 3]).reshape([-1, -1]), RangeError, /^reshape: only one size can be -1, got \[-1, -1\]$/],
  ["an index out of bounds", () => zeros([2, 3]).get(0, 3), RangeError, /^index 3 is out of bounds for dimension 1 with size 3$/],
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
      [{ module: emptyModule }, TypeError, /^init: the WebAssembly module is not a wasm-rnn kernel \(no memory or rnn_layer export\)$/],
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
