// Hostile input across the public API: one table row per bad input, with the
// error class and message it must produce. Complements errors.test.mjs (which
// pins PyTorch's messages for the RNN constructor, forward shape errors,
// loadStateDict keys and shapes, basic Tensor misuse and init options) with
// what a careless or adversarial caller does besides: NaN/Infinity and
// out-of-range sizes, detached and shared buffers, frozen objects, shapes
// whose element count overflows, integers that wrap in an Int32Array,
// PackedSequences edited after construction or forged, RNNCell misuse, bad
// options objects.
//
// Every row must: throw exactly the given class (not a subclass match), with a
// message matching the regex, i.e. saying what was expected and what came;
// never surface an engine or internal error (RuntimeError from the kernel, a
// "Cannot read properties of undefined", a V8 typed-array message); leave
// every model as it was (same stateDict bits, same forward bits) and allocate
// nothing. Rows that fail today are kept: they are the bug reports.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { init, RNN, RNNCell, Tensor, PackedSequence, packPaddedSequence, padPackedSequence } from "wasm-rnn";

let runtime;
let rnn;
let cell;
before(async () => {
  runtime = await init();
  rnn = new RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 1 });
  cell = new RNNCell({ inputSize: 3, hiddenSize: 4, seed: 2 });
});

// ---------------------------------------------------------------------------
// Helpers

/** A Float32Array whose buffer has been transferred away (detached): length 0 from now on. */
function detachedFloat32(n) {
  const buffer = new ArrayBuffer(n * 4);
  const view = new Float32Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  return view;
}

/** A valid tensor whose buffer is detached after construction (e.g. posted to a worker). */
function detachLater(tensor) {
  structuredClone(tensor.data.buffer, { transfer: [tensor.data.buffer] });
  return tensor;
}

const zeros = (shape) => Tensor.zeros(shape);
const seq = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1));
const tensor = (shape) => new Tensor(seq(shape.reduce((a, b) => a * b, 1)), shape);

/** A valid packed batch for `rnn` (inputSize 3): lengths [3, 1, 2], unsorted. */
const packed = () => packPaddedSequence(tensor([3, 3, 3]), [3, 1, 2], { enforceSorted: false });

const bits = (data) => Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));

/** Everything observable about the two models: their weights and a forward of each, as bits. */
function snapshot() {
  const sd = (m) => Object.entries(m.stateDict()).map(([k, t]) => [k, [...t.shape], bits(t.data)]);
  const [out, hN] = rnn.forward(tensor([4, 2, 3]), tensor([4, 2, 4]));
  const [pOut, pHN] = rnn.forward(packed());
  return {
    rnn: sd(rnn),
    cell: sd(cell),
    forward: [bits(out.data), bits(hN.data), bits(pOut.data.data), bits(pHN.data)],
    step: bits(cell.forward(tensor([2, 3]), tensor([2, 4])).data),
  };
}

// Messages that mean the library did not check its input itself.
const INTERNAL =
  /Cannot read propert|of undefined|of null|is not a function|is not iterable|unreachable|out of bounds memory|Invalid typed array length|Array buffer allocation failed|on a detached ArrayBuffer/;

// ---------------------------------------------------------------------------
// The table: [API, bad input, call, expected class, expected message]

const TABLE = [
  // Tensor: sizes and data
  [
    "new Tensor",
    "a shape whose element count overflows (2^90)",
    () => new Tensor(new Float32Array(0), [2 ** 30, 2 ** 30, 2 ** 30]),
    RangeError,
    /^Tensor shape \[1073741824, 1073741824, 1073741824\] has more elements than fit in memory$/,
  ],
  [
    "Tensor.zeros",
    "a shape whose element count overflows (2^90)",
    () => Tensor.zeros([2 ** 30, 2 ** 30, 2 ** 30]),
    RangeError,
    /more elements than fit in memory/,
  ],
  [
    "reshape",
    "a shape whose element count overflows (2^90)",
    () => zeros([2, 3]).reshape([2 ** 30, 2 ** 30, 2 ** 30]),
    RangeError,
    /more elements than fit in memory/,
  ],
  [
    "new Tensor",
    "a size beyond 2^53 (an integer, just too large)",
    () => new Tensor(new Float32Array(0), [2 ** 53, 0]),
    RangeError,
    /9007199254740992/,
  ],
  [
    "new Tensor",
    "an Infinity size",
    () => new Tensor(new Float32Array(6), [Infinity]),
    TypeError,
    /^Tensor shape must hold integers, got Infinity in \[Infinity\]$/,
  ],
  ["Tensor.zeros", "a NaN size", () => Tensor.zeros([2, NaN]), TypeError, /^Tensor shape must hold integers, got NaN/],
  [
    "Tensor.zeros",
    "a negative size",
    () => Tensor.zeros([-1]),
    RangeError,
    /must not hold negative sizes, got \[-1\]$/,
  ],
  ["reshape", "a negative size other than -1", () => zeros([2, 3]).reshape([-2, -3]), RangeError, /negative|invalid/],
  [
    "new Tensor",
    "a detached Float32Array",
    () => new Tensor(detachedFloat32(3), [3]),
    RangeError,
    /^Tensor shape \[3\] holds 3 elements, but data has 0$/,
  ],
  ["Tensor.from", "a detached Float32Array", () => Tensor.from(detachedFloat32(3)), TypeError, /detached/],
  [
    "Tensor.from",
    "undefined",
    () => Tensor.from(undefined),
    TypeError,
    /^Tensor\.from expects numbers, got undefined$/,
  ],
  [
    "get",
    "a fractional index",
    () => zeros([2, 3]).get(0.5, 0),
    RangeError,
    /^index 0\.5 is out of bounds for dimension 0 with size 2$/,
  ],
  ["get", "a NaN index", () => zeros([2, 3]).get(NaN, 0), RangeError, /^index NaN is out of bounds/],
  ["set", "a string value", () => zeros([2]).set("abc", 0), TypeError, /number.*'abc'|'abc'.*number/],

  // RNN constructor: sizes the other table does not cover
  [
    "new RNN",
    "numLayers Infinity",
    () => new RNN({ inputSize: 3, hiddenSize: 4, numLayers: Infinity }),
    TypeError,
    /^numLayers should be an integer, got number \(Infinity\)$/,
  ],
  [
    "new RNN",
    "numLayers NaN",
    () => new RNN({ inputSize: 3, hiddenSize: 4, numLayers: NaN }),
    TypeError,
    /^numLayers should be an integer, got number \(NaN\)$/,
  ],
  [
    "new RNN",
    "numLayers 2^31",
    () => new RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2 ** 31 }),
    RangeError,
    /^numLayers must be at most 2147483647, got 2147483648$/,
  ],
  [
    "new RNN",
    "inputSize -Infinity",
    () => new RNN({ inputSize: -Infinity, hiddenSize: 4 }),
    TypeError,
    /^inputSize should be an integer, got number \(-Infinity\)$/,
  ],
  [
    "new RNN",
    "seed NaN",
    () => new RNN({ inputSize: 3, hiddenSize: 4, seed: NaN }),
    TypeError,
    /^seed should be an integer, got NaN$/,
  ],
  [
    "new RNN",
    "seed Infinity",
    () => new RNN({ inputSize: 3, hiddenSize: 4, seed: Infinity }),
    TypeError,
    /^seed should be an integer, got Infinity$/,
  ],
  [
    "new RNN",
    "a Tensor as options",
    () => new RNN(zeros([3])),
    TypeError,
    /^RNN got an unexpected option '(data|shape)'$/,
  ],

  // RNNCell constructor
  [
    "new RNNCell",
    "no options",
    () => new RNNCell(),
    TypeError,
    /^RNNCell options must be an object like \{ inputSize: 10, hiddenSize: 20 \}, got undefined$/,
  ],
  [
    "new RNNCell",
    "inputSize NaN",
    () => new RNNCell({ inputSize: NaN, hiddenSize: 4 }),
    TypeError,
    /^inputSize should be an integer, got number \(NaN\)$/,
  ],
  [
    "new RNNCell",
    "hiddenSize Infinity",
    () => new RNNCell({ inputSize: 3, hiddenSize: Infinity }),
    TypeError,
    /^hiddenSize should be an integer, got number \(Infinity\)$/,
  ],
  [
    "new RNNCell",
    "inputSize 0",
    () => new RNNCell({ inputSize: 0, hiddenSize: 4 }),
    RangeError,
    /^inputSize must be greater than zero, got 0$/,
  ],
  [
    "new RNNCell",
    "inputSize a string",
    () => new RNNCell({ inputSize: "3", hiddenSize: 4 }),
    TypeError,
    /^inputSize should be an integer, got string \('3'\)$/,
  ],
  [
    "new RNNCell",
    "nonlinearity null",
    () => new RNNCell({ inputSize: 3, hiddenSize: 4, nonlinearity: null }),
    RangeError,
    /^Unknown nonlinearity null\./,
  ],
  [
    "new RNNCell",
    "seed 1.5",
    () => new RNNCell({ inputSize: 3, hiddenSize: 4, seed: 1.5 }),
    TypeError,
    /^seed should be an integer, got 1\.5$/,
  ],

  // RNN.forward: buffers and odd arguments
  [
    "RNN.forward",
    "no input at all",
    () => rnn.forward(),
    TypeError,
    /^RNN: Expected input to be a Tensor or PackedSequence, got undefined$/,
  ],
  [
    "RNN.forward",
    "a number as h0",
    () => rnn.forward(zeros([2, 1, 3]), 5),
    TypeError,
    /^RNN: Expected hx to be a Tensor, got 5$/,
  ],
  [
    "RNN.forward",
    "a string as h0",
    () => rnn.forward(zeros([2, 1, 3]), "h0"),
    TypeError,
    /^RNN: Expected hx to be a Tensor, got 'h0'$/,
  ],
  [
    "RNN.forward",
    "an input whose buffer was detached after construction",
    () => rnn.forward(detachLater(tensor([2, 1, 3]))),
    RangeError,
    /^input has shape \[2, 1, 3\] \(6 elements\) but 0 data elements$/,
  ],
  [
    "RNN.forward",
    "an h0 whose buffer was detached after construction",
    () => rnn.forward(tensor([2, 1, 3]), detachLater(tensor([4, 1, 4]))),
    RangeError,
    /^hx has shape \[4, 1, 4\] \(16 elements\) but 0 data elements$/,
  ],
  [
    "RNN.forward",
    "packed data whose buffer was detached after packing",
    () => {
      const p = packed();
      detachLater(p.data);
      return rnn.forward(p);
    },
    RangeError,
    /^input\.data has shape \[6, 3\] \(18 elements\) but 0 data elements$/,
  ],
  [
    "RNN.forward",
    "packed input with a Float64-backed h0-like object",
    () => rnn.forward(packed(), { data: new Float64Array(48), shape: [4, 3, 4] }),
    TypeError,
    /^RNN: Expected hx to be a Tensor, got an object$/,
  ],

  // PackedSequence: integers that do not fit the Int32Array it stores them in
  [
    "new PackedSequence",
    "a batch size of 2^32 + 3 (wraps to 3 in an Int32Array)",
    () => new PackedSequence(zeros([3, 1]), [2 ** 32 + 3]),
    RangeError,
    /4294967299/,
  ],
  [
    "new PackedSequence",
    "a batch size of 2^31 (wraps negative)",
    () => new PackedSequence(zeros([3, 1]), [2 ** 31]),
    RangeError,
    /(?<![-\d])2147483648/,
  ],
  [
    "new PackedSequence",
    "a NaN batch size",
    () => new PackedSequence(zeros([3, 1]), [NaN]),
    RangeError,
    /^batchSizes\[0\] must be a finite integer, got NaN$/,
  ],
  [
    "new PackedSequence",
    "an Infinity batch size",
    () => new PackedSequence(zeros([3, 1]), [Infinity]),
    RangeError,
    /^batchSizes\[0\] must be a finite integer, got Infinity$/,
  ],
  [
    "new PackedSequence",
    "batchSizes as a string",
    () => new PackedSequence(zeros([3, 1]), "3"),
    TypeError,
    /^batchSizes must be an array or typed array of integers, got '3'$/,
  ],
  [
    "new PackedSequence",
    "batchSizes null",
    () => new PackedSequence(zeros([3, 1]), null),
    TypeError,
    /^batchSizes must be an array or typed array of integers, got null$/,
  ],
  [
    "new PackedSequence",
    "negative batch sizes",
    () => new PackedSequence(zeros([3, 1]), [-1, 4]),
    RangeError,
    /^batchSizes must be positive, got batchSizes\[0\] = -1$/,
  ],
  [
    "new PackedSequence",
    "batch sizes summing past the data",
    () => new PackedSequence(zeros([3, 1]), [3, 2]),
    RangeError,
    /^batchSizes sum to 5 rows, but data has 3/,
  ],
  [
    "new PackedSequence",
    "sortedIndices of 2^32 + 1 (wraps to 1)",
    () => new PackedSequence(zeros([3, 1]), [2, 1], [2 ** 32 + 1, 2 ** 32]),
    RangeError,
    /4294967297/,
  ],
  [
    "new PackedSequence",
    "a detached Float32Array behind its data",
    () => new PackedSequence(new Tensor(detachedFloat32(0), [0, 3]), [1]),
    RangeError,
    /^batchSizes holds 1 steps, more than the 0 rows of data it describes/,
  ],

  // A PackedSequence's arrays are copies on every read (edits cannot reach it: boundary.test.mjs); a forged one is refused
  [
    "RNN.forward",
    "a forged PackedSequence (Object.create, no constructor)",
    () => rnn.forward(Object.create(PackedSequence.prototype)),
    TypeError,
    /must be a PackedSequence made by its constructor/,
  ],

  // packPaddedSequence / padPackedSequence
  [
    "packPaddedSequence",
    "lengths 2^32 + 1 (must not wrap to 1)",
    () => packPaddedSequence(zeros([3, 1, 3]), [2 ** 32 + 1]),
    RangeError,
    /4294967297/,
  ],
  [
    "packPaddedSequence",
    "a detached input",
    () => packPaddedSequence(detachLater(tensor([3, 1, 3])), [3]),
    RangeError,
    /0 data elements|detached/,
  ],
  [
    "padPackedSequence",
    "a totalLength of 2^40",
    () => padPackedSequence(packed(), { totalLength: 2 ** 40 }),
    RangeError,
    /totalLength|memory|too large/,
  ],
  [
    "padPackedSequence",
    "totalLength NaN",
    () => padPackedSequence(packed(), { totalLength: NaN }),
    TypeError,
    /^padPackedSequence: totalLength must be an integer, got NaN$/,
  ],
  [
    "padPackedSequence",
    "paddingValue as a string",
    () => padPackedSequence(packed(), { paddingValue: "0" }),
    TypeError,
    /^padPackedSequence: paddingValue must be a number, got '0'$/,
  ],

  // RNNCell.forward
  [
    "RNNCell.forward",
    "a plain array",
    () => cell.forward([1, 2, 3]),
    TypeError,
    /^RNNCell: Expected input to be a Tensor, got an array of length 3$/,
  ],
  [
    "RNNCell.forward",
    "a Float32Array",
    () => cell.forward(new Float32Array(3)),
    TypeError,
    /^RNNCell: Expected input to be a Tensor, got Float32Array$/,
  ],
  [
    "RNNCell.forward",
    "a wrong feature size",
    () => cell.forward(zeros([2, 5])),
    RangeError,
    /^input has inconsistent input_size: got 5 expected 3$/,
  ],
  [
    "RNNCell.forward",
    "an hx of the wrong size",
    () => cell.forward(zeros([3]), zeros([5])),
    RangeError,
    /^hidden0 has inconsistent hidden_size: got 5, expected 4$/,
  ],
  [
    "RNNCell.forward",
    "an hx of another batch",
    () => cell.forward(zeros([2, 3]), zeros([3, 4])),
    RangeError,
    /^Input batch size 2 doesn't match hidden0 batch size 3$/,
  ],
  [
    "RNNCell.forward",
    "a number as hx",
    () => cell.forward(zeros([3]), 1),
    TypeError,
    /^RNNCell: Expected hx to be a Tensor, got 1$/,
  ],
  [
    "RNNCell.forward",
    "an input detached after construction",
    () => cell.forward(detachLater(tensor([2, 3]))),
    RangeError,
    /^input has shape \[2, 3\] \(6 elements\) but 0 data elements$/,
  ],

  // loadStateDict: values and options (RNNCell; RNN keys and shapes are in errors.test.mjs)
  [
    "RNNCell.loadStateDict",
    "a null value",
    () => cell.loadStateDict({ ...cell.stateDict(), weight_ih: null }),
    Error,
    /^Error\(s\) in loading state_dict for RNNCell:\n\tweight_ih is not a Tensor \(got null\)\.$/,
  ],
  [
    "RNNCell.loadStateDict",
    "a Float64Array-backed tensor-like value",
    () => cell.loadStateDict({ ...cell.stateDict(), weight_ih: { data: new Float64Array(12), shape: [4, 3] } }),
    Error,
    /^Error\(s\) in loading state_dict for RNNCell:\n\tweight_ih is not a Tensor/,
  ],
  [
    "RNNCell.loadStateDict",
    "a wrong shape",
    () => cell.loadStateDict({ ...cell.stateDict(), weight_hh: zeros([4, 3]) }),
    Error,
    /size mismatch for weight_hh: copying a param with shape \[4, 3\] from checkpoint, the shape in current model is \[4, 4\]\./,
  ],
  [
    "RNNCell.loadStateDict",
    "a missing key",
    () => {
      const sd = cell.stateDict();
      delete sd.bias_hh;
      return cell.loadStateDict(sd);
    },
    Error,
    /Missing key\(s\) in state_dict: "bias_hh"\./,
  ],
  [
    "RNNCell.loadStateDict",
    "a tensor detached after construction",
    () => {
      const sd = cell.stateDict();
      detachLater(sd.weight_hh);
      return cell.loadStateDict(sd);
    },
    Error,
    /weight_hh has shape \[4, 4\] \(16 elements\) but 0 data elements/,
  ],
  [
    "RNN.loadStateDict",
    "a tensor detached after construction",
    () => {
      const sd = rnn.stateDict();
      detachLater(sd.bias_ih_l1_reverse);
      return rnn.loadStateDict(sd);
    },
    Error,
    /bias_ih_l1_reverse has shape \[4\] \(4 elements\) but 0 data elements/,
  ],
  [
    "RNN.loadStateDict",
    "a misspelt option (strcit)",
    () => rnn.loadStateDict(rnn.stateDict(), { strcit: false }),
    TypeError,
    /strcit/,
  ],
  [
    "RNN.loadStateDict",
    "a number as the state dict",
    () => rnn.loadStateDict(42),
    TypeError,
    /^loadStateDict expects an object of tensors keyed by PyTorch names, got 42$/,
  ],
];

for (const [api, what, call, ErrorClass, message] of TABLE) {
  test(`${api} rejects ${what} with ${ErrorClass.name} ${message}, changing nothing`, () => {
    const state = snapshot();
    const allocated = runtime.kernel.allocated_bytes();
    let thrown = null;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown !== null, `expected ${ErrorClass.name} ${message}, but nothing was thrown`);
    assert.ok(!(thrown instanceof WebAssembly.RuntimeError), `the kernel trapped: ${thrown.message}`);
    assert.doesNotMatch(
      String(thrown.message),
      INTERNAL,
      `an internal error leaked: ${thrown.constructor.name}: ${thrown.message}`,
    );
    assert.equal(
      thrown.constructor,
      ErrorClass,
      `expected ${ErrorClass.name}, got ${thrown.constructor.name}: ${thrown.message}`,
    );
    assert.match(thrown.message, message);
    assert.equal(runtime.kernel.allocated_bytes(), allocated, "nothing left allocated");
    assert.deepEqual(snapshot(), state, "both models unchanged");
  });
}

// ---------------------------------------------------------------------------
// init: rejections keep the kernel in use

const INIT_TABLE = [
  [
    "backend null",
    { backend: null },
    RangeError,
    /^init: backend must be one of 'relaxed', 'simd', 'scalar', got null$/,
  ],
  ["backend in the wrong case", { backend: "SIMD" }, RangeError, /got 'SIMD'$/],
  ["options null", null, TypeError, /^init: options must be an object, got null$/],
  ["wasm a number", { wasm: 5 }, TypeError, /^init: wasm must be a URL or the bytes of the kernel, got 5$/],
  [
    "wasm bytes that are not WebAssembly",
    { wasm: new Uint8Array([1, 2, 3]) },
    WebAssembly.CompileError,
    /WebAssembly\.compile\(\)/,
  ],
  [
    "wasm a detached buffer",
    {
      wasm: (() => {
        const b = new ArrayBuffer(8);
        structuredClone(b, { transfer: [b] });
        return b;
      })(),
    },
    WebAssembly.CompileError,
    /empty/,
  ],
  ["wasm a missing file", { wasm: "/nonexistent/rnn.wasm" }, Error, /ENOENT.*\/nonexistent\/rnn\.wasm/],
];

for (const [what, options, ErrorClass, message] of INIT_TABLE) {
  test(`init rejects ${what} with ${ErrorClass.name} ${message}; the kernel in use stays`, async () => {
    const state = snapshot();
    await assert.rejects(init(options), (error) => {
      assert.equal(error.constructor, ErrorClass, `${error.constructor.name}: ${error.message}`);
      assert.match(error.message, message);
      return true;
    });
    const fresh = new RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 1 });
    try {
      assert.deepEqual(
        bits(fresh.forward(tensor([4, 2, 3]))[0].data),
        bits(rnn.forward(tensor([4, 2, 3]))[0].data),
        "models created after the rejection run on the same kernel",
      );
    } finally {
      fresh.dispose();
    }
    assert.deepEqual(snapshot(), state);
  });
}

// ---------------------------------------------------------------------------
// Unusual but valid input is accepted and means the same as the usual kind.

test("valid but unusual inputs are accepted: frozen tensors and options, SharedArrayBuffer data, offset views, BigInt seeds", () => {
  const x = tensor([4, 2, 3]);
  const h0 = tensor([4, 2, 4]);
  const [out, hN] = rnn.forward(x, h0);
  const frozen = rnn.forward(Object.freeze(x.clone()), Object.freeze(h0.clone()));
  assert.deepEqual(bits(frozen[0].data), bits(out.data), "frozen Tensor objects");
  const shared = new Float32Array(new SharedArrayBuffer(x.data.length * 4));
  shared.set(x.data);
  assert.deepEqual(
    bits(rnn.forward(new Tensor(shared, [4, 2, 3]), h0)[0].data),
    bits(out.data),
    "SharedArrayBuffer-backed data",
  );
  const padded = new Float32Array(x.data.length + 5);
  padded.set(x.data, 5);
  assert.deepEqual(
    bits(rnn.forward(new Tensor(padded.subarray(5), [4, 2, 3]), h0)[1].data),
    bits(hN.data),
    "a view at an offset",
  );
  const a = new RNN(Object.freeze({ inputSize: 3, hiddenSize: 4, seed: 2n ** 40n + 7n }));
  const b = new RNN({ inputSize: 3, hiddenSize: 4, seed: 7 });
  try {
    assert.deepEqual(
      bits(a.stateDict().weight_hh_l0.data),
      bits(b.stateDict().weight_hh_l0.data),
      "a BigInt seed is taken modulo 2^32, as PyTorch's manual_seed",
    );
  } finally {
    a.dispose();
    b.dispose();
  }
});
