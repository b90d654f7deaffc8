// PackedSequence and the torch.nn.utils.rnn helpers. The first half ports
// PyTorch's test/nn/test_packed_sequence.py; the second pins what this library
// does beyond PyTorch (validation, stable sort, no aliasing, no mutation).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Tensor,
  PackedSequence,
  packPaddedSequence,
  padPackedSequence,
  packSequence,
  padSequence,
  unpackSequence,
  unpadSequence,
} from "wasm-rnn";
import { makeRandom, randomTensor } from "../helpers/random.mjs";

// ---------------------------------------------------------------------------
// Helpers

function shuffled(values, random) {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const list = (typed) => (typed === null ? null : Array.from(typed));

function filled(shape, value) {
  return new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape).toArray();
}

function transpose01(nested) {
  return nested[0].map((_, t) => nested.map((row) => row[t]));
}

/** pad_sequence written the obvious way on nested arrays, batch-first. */
function referencePad(sequences, paddingValue = 0) {
  const maxLength = Math.max(...sequences.map((s) => s.shape[0]));
  return sequences.map((s) => {
    const rows = s.toArray();
    while (rows.length < maxLength) rows.push(filled(s.shape.slice(1), paddingValue));
    return rows;
  });
}

/** Sequences of lengths i*i (i = 1…maxlen), shape (len, 5, 4…), shuffled: PyTorch's "more dimensions" cases. */
function squareLengthSequences(numDim, random, maxlen = 6) {
  const trailing = [5, ...Array(numDim).fill(4)];
  const sequences = [];
  for (let i = 1; i <= maxlen; i++) sequences.push(randomTensor([i * i, ...trailing], random));
  return shuffled(sequences, random);
}

function assertSameTensors(actual, expected) {
  assert.equal(actual.length, expected.length);
  actual.forEach((tensor, i) => {
    assert.deepEqual(tensor.shape, expected[i].shape, `shape of sequence ${i}`);
    assert.deepEqual(list(tensor.data), list(expected[i].data), `data of sequence ${i}`);
  });
}

const a = Tensor.from([1, 2, 3]);
const b = Tensor.from([4, 5]);
const c = Tensor.from([6]);

// ---------------------------------------------------------------------------
// Ported from test_packed_sequence.py

test("packSequence packs sorted sequences time-major with null indices (test_pack_sequence)", () => {
  const packed = packSequence([a, b, c]);
  assert.ok(packed instanceof PackedSequence);
  assert.deepEqual(list(packed.data.data), [1, 4, 6, 2, 5, 3]);
  assert.deepEqual(packed.data.shape, [6]);
  assert.ok(packed.batchSizes instanceof Int32Array);
  assert.deepEqual(list(packed.batchSizes), [3, 2, 1]);
  assert.equal(packed.sortedIndices, null);
  assert.equal(packed.unsortedIndices, null);
});

test("packSequence with enforceSorted false on sorted input gives identity indices", () => {
  const packed = packSequence([a, b, c], { enforceSorted: false });
  assert.deepEqual(list(packed.data.data), [1, 4, 6, 2, 5, 3]);
  assert.deepEqual(list(packed.sortedIndices), [0, 1, 2]);
  assert.deepEqual(list(packed.unsortedIndices), [0, 1, 2]);
});

test("packSequence([b, c, a]) sorts: sortedIndices [2, 0, 1], unsortedIndices [1, 2, 0]", () => {
  const packed = packSequence([b, c, a], { enforceSorted: false });
  assert.deepEqual(list(packed.data.data), [1, 4, 6, 2, 5, 3]);
  assert.deepEqual(list(packed.batchSizes), [3, 2, 1]);
  assert.deepEqual(list(packed.sortedIndices), [2, 0, 1]);
  assert.deepEqual(list(packed.unsortedIndices), [1, 2, 0]);
});

test("packSequence rejects unsorted sequences under enforceSorted with PyTorch's helpful message", () => {
  assert.throws(
    () => packSequence([b, c, a], { enforceSorted: true }),
    (error) => {
      assert.ok(error instanceof RangeError);
      assert.match(
        error.message,
        /^`lengths` array must be sorted in decreasing order when `enforceSorted` is true\. /,
      );
      assert.match(error.message, /You can pass `enforceSorted: false` to packPaddedSequence and\/or packSequence/);
      assert.match(error.message, /if you do not need ONNX exportability\./);
      assert.match(error.message, /Got lengths\[2\] = 3 after lengths\[1\] = 1\.$/);
      return true;
    },
  );
});

test("packSequence equals packPaddedSequence(padSequence(...)) and padPackedSequence inverts it", () => {
  const random = makeRandom(1);
  for (let numDim = 0; numDim <= 3; numDim++) {
    const unsorted = squareLengthSequences(numDim, random);
    const sorted = [...unsorted].sort((x, y) => y.shape[0] - x.shape[0]);
    const cases = [
      [sorted, true],
      [sorted, false],
      [unsorted, false],
    ];
    for (const batchFirst of [true, false]) {
      for (const [sequences, enforceSorted] of cases) {
        const lengths = sequences.map((s) => s.shape[0]);
        const padded = padSequence(sequences, { batchFirst });
        const packed = packSequence(sequences, { enforceSorted });
        const [unpacked, unpackedLengths] = padPackedSequence(packed, { batchFirst });
        assert.deepEqual(unpacked.shape, padded.shape);
        assert.deepEqual(list(unpacked.data), list(padded.data));
        assert.deepEqual(list(unpackedLengths), lengths);
        const packPadded = packPaddedSequence(padded, lengths, { batchFirst, enforceSorted });
        assert.deepEqual(list(packPadded.data.data), list(packed.data.data));
        assert.deepEqual(packPadded.data.shape, packed.data.shape);
        assert.deepEqual(list(packPadded.batchSizes), list(packed.batchSizes));
        assert.deepEqual(list(packPadded.sortedIndices), list(packed.sortedIndices));
        assert.deepEqual(list(packPadded.unsortedIndices), list(packed.unsortedIndices));
      }
    }
  }
});

test("packPaddedSequence rejects increasing lengths under enforceSorted (test_wrong_order)", () => {
  const longer = new Tensor(new Float32Array(25 * 3).fill(1), [25, 3]);
  const shorter = new Tensor(new Float32Array(22 * 3).fill(1), [22, 3]);
  const padded = padSequence([shorter, longer]);
  assert.throws(() => packPaddedSequence(padded, [22, 25], { enforceSorted: true }), {
    name: "RangeError",
    message: /must be sorted in decreasing order.*lengths\[1\] = 25 after lengths\[0\] = 22/s,
  });
});

test("padSequence reads a stacked tensor and any iterable like an array (test_pad_sequence_with_tensor_sequences)", () => {
  const fromArray = padSequence([Tensor.from([[7, 6]]), Tensor.from([[-7, -1]])]);
  const fromStacked = padSequence(Tensor.from([[[7, 6]], [[-7, -1]]]));
  const fromSet = padSequence(new Set([Tensor.from([[7, 6]]), Tensor.from([[-7, -1]])]));
  assert.deepEqual(fromArray.shape, [1, 2, 2]);
  assert.deepEqual(fromArray.toArray(), [
    [
      [7, 6],
      [-7, -1],
    ],
  ]);
  assert.deepEqual(fromStacked.toArray(), fromArray.toArray());
  assert.deepEqual(fromSet.toArray(), fromArray.toArray());
});

test("padSequence rejects a non-iterable with PyTorch's message", () => {
  assert.throws(() => padSequence(5), {
    name: "TypeError",
    message: /Expected iterable for input sequences, but got arg of type: 5/,
  });
  assert.throws(() => padSequence(null), { name: "TypeError", message: /Expected iterable.*null/ });
  assert.throws(() => padSequence(Tensor.from([[1]]).reshape([])), { name: "TypeError", message: /Expected iterable/ });
});

test("padPackedSequence rejects totalLength shorter than the longest sequence (test_total_length)", () => {
  const packed = packSequence(squareLengthSequences(0, makeRandom(2), 5), { enforceSorted: false });
  const maxLength = 25;
  for (const totalLength of [-1, 0, maxLength - 1]) {
    for (const batchFirst of [true, false]) {
      assert.throws(() => padPackedSequence(packed, { batchFirst, totalLength }), {
        name: "RangeError",
        message:
          "Expected totalLength to be at least the length of the longest sequence in input, " +
          `but got totalLength=${totalLength} and max sequence length being ${maxLength}`,
      });
    }
  }
});

test("padPackedSequence pads up to totalLength with zeros and keeps the lengths (test_total_length)", () => {
  const sequences = squareLengthSequences(0, makeRandom(3), 5);
  const lengths = sequences.map((s) => s.shape[0]);
  const packed = packSequence(sequences, { enforceSorted: false });
  for (const batchFirst of [true, false]) {
    const [noExtraPad] = padPackedSequence(packed, { batchFirst });
    for (const delta of [0, 1, 8]) {
      const totalLength = 25 + delta;
      const [unpacked, lengthsOut] = padPackedSequence(packed, { batchFirst, totalLength });
      assert.deepEqual(list(lengthsOut), lengths);
      assert.equal(unpacked.shape[batchFirst ? 1 : 0], totalLength);
      const batchMajor = batchFirst ? noExtraPad.toArray() : transpose01(noExtraPad.toArray());
      const expected = batchMajor.map((row) => [...row, ...Array(delta).fill([0, 0, 0, 0, 0])]);
      assert.deepEqual(unpacked.toArray(), batchFirst ? expected : transpose01(expected));
    }
  }
});

test("padSequence pads 1-D sequences on the right, batch-first or time-major (test_pad_sequence)", () => {
  const expected = [
    [4, 5, 0],
    [1, 2, 3],
    [6, 0, 0],
  ];
  assert.deepEqual(padSequence([b, a, c], { batchFirst: true }).toArray(), expected);
  assert.deepEqual(padSequence([b, a, c]).toArray(), transpose01(expected));
  assert.deepEqual(padSequence([b, a, c], { batchFirst: true, paddingValue: 1 }).toArray(), [
    [4, 5, 1],
    [1, 2, 3],
    [6, 1, 1],
  ]);
  assert.deepEqual(padSequence([a, b, c], { batchFirst: true }).toArray(), [
    [1, 2, 3],
    [4, 5, 0],
    [6, 0, 0],
  ]);
});

test("padSequence matches a reference pad for 0 to 3 extra trailing dims (test_pad_sequence)", () => {
  const random = makeRandom(4);
  for (let numDim = 0; numDim <= 3; numDim++) {
    const sequences = squareLengthSequences(numDim, random);
    const expected = referencePad(sequences);
    assert.deepEqual(padSequence(sequences, { batchFirst: true }).toArray(), expected);
    assert.deepEqual(padSequence(sequences).toArray(), transpose01(expected));
  }
});

test("padSequence with paddingSide left right-aligns every sequence", () => {
  assert.deepEqual(padSequence([b, a, c], { batchFirst: true, paddingSide: "left" }).toArray(), [
    [0, 4, 5],
    [1, 2, 3],
    [0, 0, 6],
  ]);
  assert.deepEqual(padSequence([b, a, c], { paddingSide: "left", paddingValue: -1 }).toArray(), [
    [-1, 1, -1],
    [4, 2, -1],
    [5, 3, 6],
  ]);
});

test("unpadSequence inverts padSequence, 1-D and with trailing dims (test_unpad_sequence)", () => {
  const random = makeRandom(5);
  for (const batchFirst of [true, false]) {
    const sequences = [a, b, c];
    const padded = padSequence(sequences, { batchFirst });
    assertSameTensors(unpadSequence(padded, [3, 2, 1], { batchFirst }), sequences);
    for (let numDim = 0; numDim <= 3; numDim++) {
      const many = squareLengthSequences(numDim, random);
      const lengths = Int32Array.from(many, (s) => s.shape[0]);
      assertSameTensors(unpadSequence(padSequence(many, { batchFirst }), lengths, { batchFirst }), many);
    }
  }
});

test("unpackSequence returns the sequences in the caller's order (test_unpack_sequence)", () => {
  assertSameTensors(unpackSequence(packSequence([a, b, c], { enforceSorted: false })), [a, b, c]);
  assertSameTensors(unpackSequence(packSequence([b, c, a], { enforceSorted: false })), [b, c, a]);
  const random = makeRandom(6);
  for (let numDim = 0; numDim <= 3; numDim++) {
    const sequences = squareLengthSequences(numDim, random);
    assertSameTensors(unpackSequence(packSequence(sequences, { enforceSorted: false })), sequences);
  }
});

/**
 * PyTorch's generate_test_case: sequence i (1-based, sorted) holds i*100 + 1…5*len as (len, 5),
 * zero-padded to the longest; shuffled cases permute the batch with `permutation`.
 */
function packPaddedCase(sortedLengths, permutation) {
  const steps = sortedLengths[0];
  const batch = sortedLengths.length;
  const padded = new Float32Array(steps * batch * 5);
  sortedLengths.forEach((length, sortedPosition) => {
    const column = permutation ? permutation.indexOf(sortedPosition) : sortedPosition;
    for (let t = 0; t < length; t++) {
      for (let k = 0; k < 5; k++) padded[(t * batch + column) * 5 + k] = (sortedPosition + 1) * 100 + 5 * t + k + 1;
    }
  });
  const batchSizes = Array.from({ length: steps }, (_, t) => sortedLengths.filter((l) => l > t).length);
  const expectedData = batchSizes.flatMap((size, n) =>
    Array.from({ length: size }, (_, i) => [1, 2, 3, 4, 5].map((k) => (i + 1) * 100 + 5 * n + k)),
  );
  const lengths = permutation ? permutation.map((p) => sortedLengths[p]) : sortedLengths;
  return { padded: new Tensor(padded, [steps, batch, 5]), lengths, expectedData, batchSizes };
}

test("packPaddedSequence packs PyTorch's sorted and shuffled cases and padPackedSequence inverts them", () => {
  const random = makeRandom(7);
  const cases = [
    [[10, 8, 4, 2, 2, 2, 1], false],
    [[11, 10, 8, 6, 4, 3, 1], false],
    [[11, 10, 8, 6, 4, 3, 1], true],
  ];
  for (const [sortedLengths, shouldShuffle] of cases) {
    for (const batchFirst of [true, false]) {
      const permutation = shouldShuffle
        ? shuffled(
            sortedLengths.map((_, i) => i),
            random,
          )
        : null;
      const { padded, lengths, expectedData, batchSizes } = packPaddedCase(sortedLengths, permutation);
      const source = batchFirst ? Tensor.from(transpose01(padded.toArray())) : padded;
      const packed = packPaddedSequence(source, lengths, { batchFirst, enforceSorted: !shouldShuffle });
      assert.deepEqual(packed.data.toArray(), expectedData);
      assert.deepEqual(list(packed.batchSizes), batchSizes);
      assert.deepEqual(list(packed.unsortedIndices), permutation);
      const [unpacked, unpackedLengths] = padPackedSequence(packed, { batchFirst });
      assert.deepEqual(unpacked.toArray(), source.toArray());
      assert.deepEqual(list(unpackedLengths), lengths);
    }
  }
});

test("packPaddedSequence error cases from test_pack_padded_sequence", () => {
  assert.throws(() => packPaddedSequence(randomTensor([3, 3], makeRandom(8)), [1, 3, 2]), {
    name: "RangeError",
    message: /You can pass `enforceSorted: false`/,
  });
  assert.throws(() => packPaddedSequence(Tensor.zeros([0, 0]), []), {
    name: "RangeError",
    message: "Cannot pack empty tensors. (input shape [0, 0])",
  });
  // The empty check comes first, as in PyTorch: the garbage lengths are never looked at.
  assert.throws(() => packPaddedSequence(Tensor.zeros([0, 1, 10]), [[11, 14], 2.5], { batchFirst: true }), {
    name: "RangeError",
    message: /^Cannot pack empty tensors\./,
  });
});

// ---------------------------------------------------------------------------
// Beyond PyTorch: errors for what it mishandles

test("packPaddedSequence rejects 1-D and non-Tensor input", () => {
  assert.throws(() => packPaddedSequence(Tensor.from([1, 2, 3]), [3]), {
    name: "RangeError",
    message: "packPaddedSequence: input must be at least 2-D, (T, B, *), got 1-D tensor of shape [3]",
  });
  assert.throws(() => packPaddedSequence(Tensor.from([1, 2, 3]), [3], { batchFirst: true }), {
    name: "RangeError",
    message: /\(B, T, \*\)/,
  });
  assert.throws(
    () =>
      packPaddedSequence(
        [
          [1, 2],
          [3, 4],
        ],
        [2, 2],
      ),
    { name: "TypeError", message: "packPaddedSequence: input must be a Tensor, got an array of length 2" },
  );
});

test("packPaddedSequence rejects a lengths count different from the batch with PyTorch's message", () => {
  const input = Tensor.zeros([5, 4, 2]);
  assert.throws(() => packPaddedSequence(input, [5, 4, 3]), {
    name: "RangeError",
    message: "Expected `len(lengths)` to be equal to batch_size, but got 3 (batch_size=4)",
  });
  assert.throws(() => packPaddedSequence(input, [5, 4, 3, 2, 1]), { message: /got 5 \(batch_size=4\)/ });
});

test("packPaddedSequence rejects zero or negative lengths wherever they are, with PyTorch's message", () => {
  const input = Tensor.zeros([4, 3]);
  const message = "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0";
  assert.throws(() => packPaddedSequence(input, [4, 2, 0]), {
    name: "RangeError",
    message: `${message} (lengths[2] = 0)`,
  });
  // PyTorch only checks the last length after sorting; a middle -1 would slip through there.
  assert.throws(() => packPaddedSequence(input, [4, -1, 2], { enforceSorted: false }), {
    name: "RangeError",
    message: `${message} (lengths[1] = -1)`,
  });
  assert.throws(() => packSequence([a, Tensor.zeros([0])], { enforceSorted: false }), {
    name: "RangeError",
    message: `${message} (lengths[1] = 0)`,
  });
});

test("packPaddedSequence rejects a length longer than the padded input, naming both numbers", () => {
  assert.throws(() => packPaddedSequence(Tensor.zeros([4, 3]), [5, 2, 1]), {
    name: "RangeError",
    message: "lengths[0] = 5 is longer than the padded input, which has 4 time steps (dim 0 of shape [4, 3])",
  });
  assert.throws(
    () => packPaddedSequence(Tensor.zeros([3, 4, 2]), [1, 5, 2], { batchFirst: true, enforceSorted: false }),
    { name: "RangeError", message: /lengths\[1\] = 5 is longer .* 4 time steps \(dim 1 of shape \[3, 4, 2\]\)/ },
  );
});

test("packPaddedSequence rejects non-integer, non-finite and non-numeric lengths", () => {
  const input = Tensor.zeros([4, 3]);
  assert.throws(() => packPaddedSequence(input, [3.7, 2.2, 1.9]), {
    name: "TypeError",
    message: "lengths[0] must be an integer, got 3.7",
  });
  assert.throws(() => packPaddedSequence(input, new Float32Array([3, 2.5, 1])), {
    name: "TypeError",
    message: /lengths\[1\] .* 2\.5/,
  });
  assert.throws(() => packPaddedSequence(input, [3, NaN, 1]), {
    name: "RangeError",
    message: "lengths[1] must be a finite integer, got NaN",
  });
  assert.throws(() => packPaddedSequence(input, [Infinity, 2, 1]), { name: "RangeError", message: /Infinity/ });
  assert.throws(() => packPaddedSequence(input, ["3", 2, 1]), {
    name: "TypeError",
    message: "lengths[0] must be an integer, got '3'",
  });
  assert.throws(() => packPaddedSequence(input, 3), {
    name: "TypeError",
    message: /lengths must be an array or typed array of integers, got 3/,
  });
  assert.throws(() => packPaddedSequence(input, "321"), { name: "TypeError", message: /got '321'/ });
  assert.throws(() => packPaddedSequence(input, Tensor.from([3, 2, 1])), { name: "TypeError", message: /got Tensor/ });
});

test("packPaddedSequence accepts lengths as Int32Array, BigInt64Array, Uint8Array and integral Float64Array", () => {
  // Time-major columns: sequence 0 = [1], sequence 1 = [2, 4, 6], sequence 2 = [3, 5].
  const input = Tensor.from([
    [1, 2, 3],
    [0, 4, 5],
    [0, 6, 0],
  ]);
  const expected = packPaddedSequence(input, [1, 3, 2], { enforceSorted: false });
  assert.deepEqual(list(expected.data.data), [2, 3, 1, 4, 5, 6]);
  const variants = [
    new Int32Array([1, 3, 2]),
    new BigInt64Array([1n, 3n, 2n]),
    new Uint8Array([1, 3, 2]),
    new Float64Array([1, 3, 2]),
    [1n, 3n, 2n],
  ];
  for (const lengths of variants) {
    const packed = packPaddedSequence(input, lengths, { enforceSorted: false });
    assert.deepEqual(list(packed.data.data), list(expected.data.data), lengths.constructor.name);
    assert.deepEqual(list(packed.batchSizes), list(expected.batchSizes));
    assert.deepEqual(list(packed.sortedIndices), [1, 2, 0]);
  }
  assert.throws(() => packPaddedSequence(input, new BigInt64Array([1n, 2n ** 62n, 2n]), { enforceSorted: false }), {
    name: "RangeError",
    message: "lengths[1] must be a safe integer (|value| <= 2^53 - 1), got 4611686018427387904",
  });
});

test("enforceSorted false sorts stably: ties keep the caller's order in a batch of 20", () => {
  const lengths = Array.from({ length: 20 }, (_, i) => [2, 3, 1, 3][i % 4]);
  const input = new Tensor(
    Float32Array.from({ length: 3 * 20 }, (_, k) => k),
    [3, 20],
  );
  const packed = packPaddedSequence(input, lengths, { enforceSorted: false });
  const byLength = (length) => lengths.flatMap((l, i) => (l === length ? [i] : []));
  const expectedOrder = [...byLength(3), ...byLength(2), ...byLength(1)];
  assert.deepEqual(list(packed.sortedIndices), expectedOrder);
  assert.deepEqual(list(packed.batchSizes), [20, 15, 10]);
  // Rows at t = 0 are the caller's columns in that order.
  assert.deepEqual(list(packed.data.data.subarray(0, 20)), expectedOrder);
  const [unpacked, unpackedLengths] = padPackedSequence(packed);
  assert.deepEqual(list(unpackedLengths), lengths);
  const masked = input.toArray().map((row, t) => row.map((v, i) => (t < lengths[i] ? v : 0)));
  assert.deepEqual(unpacked.toArray(), masked);
});

test("packPaddedSequence drops steps past the longest length and totalLength brings them back", () => {
  const input = new Tensor(
    Float32Array.from({ length: 5 * 2 * 2 }, (_, k) => k + 1),
    [5, 2, 2],
  );
  const packed = packPaddedSequence(input, [3, 2]);
  assert.deepEqual(list(packed.batchSizes), [2, 2, 1]);
  assert.deepEqual(packed.data.shape, [5, 2]);
  const [restored] = padPackedSequence(packed, { totalLength: 5, paddingValue: -1 });
  assert.deepEqual(restored.shape, [5, 2, 2]);
  assert.deepEqual(restored.toArray(), [
    [
      [1, 2],
      [3, 4],
    ],
    [
      [5, 6],
      [7, 8],
    ],
    [
      [9, 10],
      [-1, -1],
    ],
    [
      [-1, -1],
      [-1, -1],
    ],
    [
      [-1, -1],
      [-1, -1],
    ],
  ]);
});

test("packPaddedSequence with batchFirst reads (B, T, *) and keeps trailing dims", () => {
  // Sequence i at step t holds [10i + t, -(10i + t)].
  const values = [0, 1].flatMap((i) => [0, 1, 2].flatMap((t) => [10 * i + t, -(10 * i + t)]));
  const input = new Tensor(Float32Array.from(values), [2, 3, 2]);
  const packed = packPaddedSequence(input, [2, 3], { batchFirst: true, enforceSorted: false });
  assert.deepEqual(packed.data.toArray(), [
    [10, -10],
    [0, -0],
    [11, -11],
    [1, -1],
    [12, -12],
  ]);
  const [padded, lengths] = padPackedSequence(packed, { batchFirst: true });
  assert.deepEqual(padded.shape, [2, 3, 2]);
  assert.deepEqual(padded.toArray(), [
    [
      [0, -0],
      [1, -1],
      [0, 0],
    ],
    [
      [10, -10],
      [11, -11],
      [12, -12],
    ],
  ]);
  assert.deepEqual(list(lengths), [2, 3]);
});

test("options reject snake_case names, unknown names and wrong types", () => {
  const input = Tensor.zeros([2, 2]);
  assert.throws(() => packPaddedSequence(input, [2, 2], { batch_first: true }), {
    name: "TypeError",
    message:
      "packPaddedSequence: unknown option 'batch_first' (did you mean 'batchFirst'?); expected batchFirst, enforceSorted",
  });
  assert.throws(() => packSequence([a], { enforce_sorted: false }), {
    name: "TypeError",
    message: /did you mean 'enforceSorted'/,
  });
  assert.throws(() => padSequence([a], { padding_value: 1 }), {
    name: "TypeError",
    message: /did you mean 'paddingValue'/,
  });
  assert.throws(() => padSequence([a], { side: "left" }), {
    name: "TypeError",
    message: /unknown option 'side'; expected/,
  });
  assert.throws(() => packPaddedSequence(input, [2, 2], { batchFirst: 1 }), {
    name: "TypeError",
    message: "packPaddedSequence: batchFirst must be a boolean, got 1",
  });
  assert.throws(() => padSequence([a], { paddingValue: "0" }), {
    name: "TypeError",
    message: /paddingValue must be a number, got '0'/,
  });
  assert.throws(() => unpadSequence(input, [2, 2], true), {
    name: "TypeError",
    message: /options must be an object, got true/,
  });
  assert.throws(() => padPackedSequence(packSequence([a]), { totalLength: 3.5 }), {
    name: "TypeError",
    message: "padPackedSequence: totalLength must be an integer, got 3.5",
  });
});

test("padSequence rejects an unknown paddingSide with PyTorch's message", () => {
  assert.throws(() => padSequence([a, b], { paddingSide: "center" }), {
    name: "RangeError",
    message: "Expected paddingSide to be one of left or right, but got 'center'.",
  });
});

test("padSequence and packSequence reject an empty list with PyTorch's message", () => {
  assert.throws(() => padSequence([]), { name: "RangeError", message: "received an empty list of sequences" });
  assert.throws(() => packSequence([]), { name: "RangeError", message: "received an empty list of sequences" });
  assert.throws(() => padSequence(Tensor.zeros([0, 3])), {
    name: "RangeError",
    message: "received an empty list of sequences",
  });
});

test("padSequence rejects mismatched trailing dims, including size 1 that PyTorch would broadcast", () => {
  assert.throws(() => padSequence([Tensor.zeros([2, 3]), Tensor.zeros([4, 3]), Tensor.zeros([5, 4])]), {
    name: "RangeError",
    message:
      "padSequence: all sequences must have the trailing dims of sequences[0], [3], but sequences[2] has shape [5, 4]",
  });
  assert.throws(() => padSequence([Tensor.zeros([2, 3]), Tensor.zeros([2, 1])]), {
    message: /sequences\[1\] has shape \[2, 1\]/,
  });
  assert.throws(() => packSequence([Tensor.zeros([2, 3]), Tensor.zeros([2, 3, 1])]), {
    message: /^packSequence: .*\[2, 3, 1\]/,
  });
});

test("padSequence rejects non-Tensor members and 0-D sequences", () => {
  assert.throws(() => padSequence([a, [1, 2]]), {
    name: "TypeError",
    message: "padSequence: sequences[1] must be a Tensor, got an array of length 2",
  });
  assert.throws(() => padSequence([a, Tensor.from([1]).reshape([])]), {
    name: "RangeError",
    message: "padSequence: each sequence must be at least 1-D (length, *), but sequences[1] is 0-D",
  });
});

test("padSequence accepts zero-length sequences; packing them then fails clearly", () => {
  const padded = padSequence([Tensor.zeros([0, 2]), Tensor.from([[1, 2]])], { batchFirst: true, paddingValue: 9 });
  assert.deepEqual(padded.toArray(), [[[9, 9]], [[1, 2]]]);
  assert.throws(() => packSequence([Tensor.zeros([0]), Tensor.zeros([0])]), {
    message: /^Cannot pack empty tensors\./,
  });
});

test("padPackedSequence and unpackSequence reject anything but a PackedSequence", () => {
  const lookalike = {
    data: Tensor.from([1]),
    batchSizes: new Int32Array([1]),
    sortedIndices: null,
    unsortedIndices: null,
  };
  assert.throws(() => padPackedSequence(lookalike), {
    name: "TypeError",
    message: "padPackedSequence expects a PackedSequence, got an object",
  });
  assert.throws(() => unpackSequence(Tensor.from([1])), {
    name: "TypeError",
    message: "unpackSequence expects a PackedSequence, got Tensor",
  });
});

test("unpadSequence rejects lengths that are negative, longer than T, or miscounted; zero is fine", () => {
  const padded = Tensor.zeros([3, 2, 4]);
  assert.throws(() => unpadSequence(padded, [3, -1]), {
    name: "RangeError",
    message: "lengths must not be negative, got lengths[1] = -1",
  });
  assert.throws(() => unpadSequence(padded, [4, 1]), {
    name: "RangeError",
    message: /lengths\[0\] = 4 is longer .* 3 time steps/,
  });
  assert.throws(() => unpadSequence(padded, [3]), { name: "RangeError", message: /but got 1 \(batch_size=2\)/ });
  assert.throws(() => unpadSequence(Tensor.from([1, 2]), [1]), {
    name: "RangeError",
    message: /unpadSequence: input must be at least 2-D/,
  });
  const parts = unpadSequence(padded, [0, 3]);
  assert.deepEqual(
    parts.map((p) => p.shape),
    [
      [0, 4],
      [3, 4],
    ],
  );
});

// ---------------------------------------------------------------------------
// PackedSequence constructor

test("PackedSequence computes unsortedIndices as the inverse of sortedIndices, and vice versa", () => {
  const data = Tensor.from([1, 4, 6, 2, 5, 3]);
  const fromSorted = new PackedSequence(data, [3, 2, 1], [2, 0, 1]);
  assert.deepEqual(list(fromSorted.unsortedIndices), [1, 2, 0]);
  const fromUnsorted = new PackedSequence(data, [3, 2, 1], null, [1, 2, 0]);
  assert.deepEqual(list(fromUnsorted.sortedIndices), [2, 0, 1]);
  const plain = new PackedSequence(data, new BigInt64Array([3n, 2n, 1n]));
  assert.equal(plain.sortedIndices, null);
  assert.equal(plain.unsortedIndices, null);
  assert.ok(plain.batchSizes instanceof Int32Array);
  assert.equal(plain.data, data);
});

test("PackedSequence rejects invalid batchSizes", () => {
  const data = Tensor.zeros([6, 2]);
  assert.throws(() => new PackedSequence(data, []), { name: "RangeError", message: "batchSizes can not be empty" });
  assert.throws(() => new PackedSequence(data, [2, 3, 1]), {
    name: "RangeError",
    message: "batchSizes must be non-increasing, got batchSizes[1] = 3 after batchSizes[0] = 2",
  });
  assert.throws(() => new PackedSequence(data, [6, 0]), {
    name: "RangeError",
    message: "batchSizes must be positive, got batchSizes[1] = 0",
  });
  assert.throws(() => new PackedSequence(data, [3, 2]), {
    name: "RangeError",
    message: "batchSizes sum to 5 rows, but data has 6 (data shape [6, 2])",
  });
  assert.throws(() => new PackedSequence(data, [3, 2.5, 0.5]), {
    name: "TypeError",
    message: "batchSizes[1] must be an integer, got 2.5",
  });
  assert.throws(() => new PackedSequence(data, 6), { name: "TypeError", message: /batchSizes must be an array/ });
});

test("PackedSequence rejects bad data and index arrays that are not inverse permutations of the batch", () => {
  const data = Tensor.from([1, 4, 6, 2, 5, 3]);
  assert.throws(() => new PackedSequence([1, 2], [2]), {
    name: "TypeError",
    message: "PackedSequence data must be a Tensor, got an array of length 2",
  });
  assert.throws(() => new PackedSequence(Tensor.from([1]).reshape([]), [1]), {
    name: "RangeError",
    message: /at least 1-D/,
  });
  assert.throws(() => new PackedSequence(data, [3, 2, 1], [0, 1]), {
    name: "RangeError",
    message: "sortedIndices must hold batchSizes[0] = 3 indices, got 2",
  });
  assert.throws(() => new PackedSequence(data, [3, 2, 1], [0, 1, 1]), {
    name: "RangeError",
    message: "sortedIndices must be a permutation of 0…2, but sortedIndices[2] = 1 is repeated",
  });
  assert.throws(() => new PackedSequence(data, [3, 2, 1], [0, 3, 1]), {
    name: "RangeError",
    message: "sortedIndices must be a permutation of 0…2, but sortedIndices[1] = 3 is out of range",
  });
  assert.throws(() => new PackedSequence(data, [3, 2, 1], null, [-1, 0, 1]), {
    name: "RangeError",
    message: /unsortedIndices\[0\] = -1 is out of range/,
  });
  assert.throws(() => new PackedSequence(data, [3, 2, 1], [2, 0, 1], [2, 0, 1]), {
    name: "RangeError",
    message:
      "unsortedIndices must be the inverse of sortedIndices, but sortedIndices[0] = 2 and unsortedIndices[2] = 1",
  });
});

test("PackedSequence copies its metadata: later changes to the caller's arrays do not reach it", () => {
  const batchSizes = new Int32Array([3, 2, 1]);
  const sortedIndices = new Int32Array([2, 0, 1]);
  const packed = new PackedSequence(Tensor.from([1, 4, 6, 2, 5, 3]), batchSizes, sortedIndices);
  batchSizes[0] = 99;
  sortedIndices[0] = 0;
  assert.deepEqual(list(packed.batchSizes), [3, 2, 1]);
  assert.deepEqual(list(packed.sortedIndices), [2, 0, 1]);
});

// ---------------------------------------------------------------------------
// No aliasing, no mutation, rejected calls change nothing

test("results own fresh data: writing to them never reaches the inputs, nor the other way round", () => {
  const input = new Tensor(Float32Array.from([1, 2, 3, 4]), [2, 2]);
  const packed = packPaddedSequence(input, [2, 2]);
  const [padded] = padPackedSequence(packed);
  const [unpadded] = unpadSequence(input, [2, 2], { batchFirst: true });
  const [unpacked] = unpackSequence(packed);
  const single = padSequence([input]);
  const [stackedRow] = unpadSequence(padSequence(input, { batchFirst: true }), [2, 2], { batchFirst: true });
  const packedSingle = packSequence([input]);
  const results = [packed.data, padded, unpadded, unpacked, single, stackedRow, packedSingle.data];
  for (const result of results) assert.notEqual(result.data.buffer, input.data.buffer);
  assert.notEqual(padded.data.buffer, packed.data.data.buffer);
  assert.notEqual(unpacked.data.buffer, packed.data.data.buffer);
  const before = results.map((r) => list(r.data));
  input.data.fill(0);
  assert.deepEqual(
    results.map((r) => list(r.data)),
    before,
  );
});

test("successful calls never mutate the caller's lengths or input (no in-place sort, no transpose)", () => {
  const input = randomTensor([4, 4, 2], makeRandom(9));
  const inputBefore = list(input.data);
  const lengths = new Int32Array([2, 4, 3, 1]);
  packPaddedSequence(input, lengths, { enforceSorted: false });
  const plainLengths = [2, 4, 3, 1];
  packPaddedSequence(input, plainLengths, { batchFirst: true, enforceSorted: false });
  unpadSequence(input, plainLengths);
  unpadSequence(input, plainLengths, { batchFirst: true });
  assert.deepEqual(list(lengths), [2, 4, 3, 1]);
  assert.deepEqual(plainLengths, [2, 4, 3, 1]);
  assert.deepEqual(list(input.data), inputBefore);
  assert.deepEqual(input.shape, [4, 4, 2]);
});

test("a rejected call changes nothing: inputs, lengths and PackedSequence stay as they were", () => {
  const input = randomTensor([4, 3, 2], makeRandom(10));
  const inputBefore = list(input.data);
  const lengths = new Int32Array([2, 4, 5]);
  assert.throws(() => packPaddedSequence(input, lengths, { enforceSorted: false }), RangeError);
  assert.throws(() => packPaddedSequence(input, lengths), RangeError);
  assert.throws(() => unpadSequence(input, lengths), RangeError);
  assert.deepEqual(list(lengths), [2, 4, 5]);
  assert.deepEqual(list(input.data), inputBefore);

  const packed = packPaddedSequence(input, [2, 4, 3], { enforceSorted: false });
  const snapshot = [
    list(packed.data.data),
    list(packed.batchSizes),
    list(packed.sortedIndices),
    list(packed.unsortedIndices),
  ];
  assert.throws(() => padPackedSequence(packed, { totalLength: 2 }), RangeError);
  assert.deepEqual(
    [list(packed.data.data), list(packed.batchSizes), list(packed.sortedIndices), list(packed.unsortedIndices)],
    snapshot,
  );

  const sequences = [Tensor.from([[1, 2]]), Tensor.from([[3, 4, 5]])];
  assert.throws(() => padSequence(sequences), RangeError);
  assert.deepEqual(
    sequences.map((s) => s.toArray()),
    [[[1, 2]], [[3, 4, 5]]],
  );
});
