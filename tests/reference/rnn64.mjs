// A reference torch.nn.RNN forward in plain JavaScript, used as the oracle of
// the differential fuzzer and of the numerics tests. Written to be obviously
// right rather than fast: no panels, no fused steps, no shared workspace.
//
// It follows reference/pytorch-rnn.md §3–§5 literally:
//   h_t = act((h_{t-1}·W_hhᵀ + b_hh) + (x_t·W_ihᵀ + b_ih))
// layer by layer, direction by direction, the next layer reading the
// concatenation [forward | reverse] of the previous one. Batch rows never
// interact, so every sequence of the batch is run on its own, from its own
// h0 rows; that is also exactly PyTorch's packed semantics (§4.6: a packed
// batch equals each sequence run alone), which is why one code path serves
// batched, unbatched and packed input.
//
// Arithmetic is float64 by default. With { float32: true } every operation is
// rounded to float32 with Math.fround (one rounding per multiply, per add, per
// tanh), which is what a straightforward float32 implementation must lose; the
// fuzzer uses that loss to size its tolerance. One float32 run is one sample of
// that loss, and in ill-conditioned cases (saturating weights, long chaotic
// recurrences) another equally valid float32 implementation can lose several
// times more, so two more knobs give other valid float32 implementations:
//   float32: { fused: true }   the kernel's data flow: b_ih + b_hh summed once,
//                              x·W_ih accumulated onto it, then h·W_hh onto that
//   float32: { reverse: true } every dot product summed from the last term
//   float32: { lanes: n }      every dot product split into n interleaved partial
//                              sums (term k into sum k mod n, the first starting
//                              from the bias), added up at the end, as unrolled
//                              and vectorised kernels do
//   float32: { tanh: "expm1" } tanh = e / (e + 2) with e = expm1(2x), each op
//                              rounded (a few ulps, like vectorised libm tanh)
// and { noise: seed } (instead of float32) keeps float64 but gives every
// operation a random relative error of up to 2^-24: a random float32-like
// implementation, for sampling how much the case amplifies rounding.
//
// Tensors are anything with { data: ArrayLike<number>, shape: number[] }: the
// package's Tensor, or a decoded fixture tensor. Results are plain
// { data: Float64Array, shape } objects (values are float32-representable in
// float32 mode).

/**
 * Runs the reference RNN.
 *
 * @param config the RNN options: { inputSize, hiddenSize, numLayers = 1, nonlinearity = "tanh", bias = true,
 *   batchFirst = false, bidirectional = false }.
 * @param stateDict PyTorch names → tensors (weight_ih_l0, …, bias_hh_l1_reverse).
 * @param input a 2-D (L, I) unbatched tensor, a 3-D (L, N, I) or batch-first (N, L, I) tensor,
 *   or a packed sequence { data: (rows, I) tensor, batchSizes, sortedIndices?, unsortedIndices? }.
 * @param h0 (layers·D, N, H), (layers·D, H) when unbatched, or null for zeros. For packed input
 *   its batch is in the caller's order, as in PyTorch.
 * @param options `{ float32 }`: round every operation to float32.
 * @returns `{ output, hN }`: output is a tensor in the input's layout, or for packed input
 *   { data, batchSizes, sortedIndices, unsortedIndices } with the input's metadata.
 */
export function referenceRNN(config, stateDict, input, h0 = null, options = {}) {
  const cfg = normalizeConfig(config);
  const arithmetic = options.noise !== undefined ? noisyArithmetic(options.noise) : arithmeticOf(options.float32);
  const layout = describeInput(cfg, input);
  const D = cfg.bidirectional ? 2 : 1;
  const H = cfg.hiddenSize;
  const planes = cfg.numLayers * D;
  checkH0(h0, planes, layout.batch, H, layout.kind === "unbatched");

  const params = readParameters(cfg, stateDict);
  const sequences = layout.sequences; // caller order: sequences[b][t] = Float64Array(I)
  const finalStates = []; // finalStates[b][plane] = Float64Array(H)
  const outputs = sequences.map((steps, b) => {
    const initial = (plane) => h0RowOf(h0, plane, b, layout.batch, H, layout.kind === "unbatched");
    const { output, hN } = runSequence(cfg, params, steps, initial, arithmetic);
    finalStates[b] = hN;
    return output;
  });

  const hNShape = layout.kind === "unbatched" ? [planes, H] : [planes, layout.batch, H];
  const hNData = new Float64Array(planes * layout.batch * H);
  for (let p = 0; p < planes; p++) {
    for (let b = 0; b < layout.batch; b++) hNData.set(finalStates[b][p], (p * layout.batch + b) * H);
  }
  return { output: layout.assemble(outputs, D * H), hN: { data: hNData, shape: hNShape } };
}

/** One sequence through every layer and direction: output[t] (D·H values) and hN[plane]. */
function runSequence(cfg, params, steps, initialState, arithmetic) {
  const D = cfg.bidirectional ? 2 : 1;
  const H = cfg.hiddenSize;
  const T = steps.length;
  const { round, dot, tanh, fused } = arithmetic;
  const hN = [];
  let layerInput = steps;
  for (let l = 0; l < cfg.numLayers; l++) {
    const layerOutput = Array.from({ length: T }, () => new Float64Array(D * H));
    for (let d = 0; d < D; d++) {
      const p = params[l][d];
      let h = Float64Array.from(initialState(l * D + d));
      for (let s = 0; s < T; s++) {
        const t = d === 0 ? s : T - 1 - s;
        const x = layerInput[t];
        const next = new Float64Array(H);
        for (let j = 0; j < H; j++) {
          const bIh = p.bIh === null ? 0 : p.bIh[j];
          const bHh = p.bHh === null ? 0 : p.bHh[j];
          // PyTorch: (h·W_hhᵀ + b_hh) + (x·W_ihᵀ + b_ih). Fused: ((b_ih + b_hh) + x·W_ihᵀ) + h·W_hhᵀ.
          const pre = fused
            ? dot(p.wHh, j, h, dot(p.wIh, j, x, round(bIh + bHh)))
            : round(dot(p.wHh, j, h, bHh) + dot(p.wIh, j, x, bIh));
          next[j] = cfg.nonlinearity === "tanh" ? tanh(pre) : relu(pre);
        }
        h = next;
        layerOutput[t].set(h, d * H); // forward features first, then reverse
      }
      hN.push(h);
    }
    layerInput = layerOutput;
  }
  return { output: layerInput, hN };
}

/** relu as PyTorch defines it: relu(-0) = -0, relu(NaN) = NaN. */
function relu(x) {
  return Math.max(x, 0);
}

/**
 * The arithmetic of one run: `dot(W, j, x, start)` = start + Σ_k W[j][k]·x[k] for row j of a
 * row-major W with x.length columns, `tanh`, `round` (identity in float64) and `fused`.
 */
function arithmeticOf(float32) {
  if (!float32) {
    return {
      round: (v) => v,
      fused: false,
      tanh: Math.tanh, // tanh(±inf) = ±1, tanh(NaN) = NaN, as PyTorch
      dot: (W, j, x, start) => {
        const n = x.length;
        let sum = start;
        for (let k = 0; k < n; k++) sum += W[j * n + k] * x[k];
        return sum;
      },
    };
  }
  const variant = float32 === true ? {} : float32;
  const f = Math.fround; // called directly below: V8 inlines Math.fround, which the fuzzer needs
  return {
    round: f,
    fused: variant.fused === true,
    tanh: variant.tanh === "expm1" ? tanhExpm1F32 : (v) => f(Math.tanh(v)),
    dot:
      variant.lanes > 1
        ? (W, j, x, start) => {
            // Partial sum i takes terms i, i + lanes, …; the sums are independent, so one after another.
            const n = x.length;
            const lanes = variant.lanes;
            let sum = 0;
            for (let i = 0; i < lanes; i++) {
              let partial = i === 0 ? start : 0;
              for (let k = i; k < n; k += lanes) partial = f(partial + f(W[j * n + k] * x[k]));
              sum = i === 0 ? partial : f(sum + partial);
            }
            return sum;
          }
        : variant.reverse
          ? (W, j, x, start) => {
              const n = x.length;
              let sum = start;
              for (let k = n - 1; k >= 0; k--) sum = f(sum + f(W[j * n + k] * x[k]));
              return sum;
            }
          : (W, j, x, start) => {
              const n = x.length;
              let sum = start;
              for (let k = 0; k < n; k++) sum = f(sum + f(W[j * n + k] * x[k]));
              return sum;
            },
  };
}

/**
 * float64 arithmetic where every multiply, add and tanh result is then scaled by (1 + δ), δ
 * uniform in ±2^-24 from a xorshift32 stream seeded by `seed`: a float32-sized rounding error
 * of random size and sign at every operation, as a stochastic model of float32 implementations.
 */
function noisyArithmetic(seed) {
  let state = seed >>> 0 || 1;
  const round = (v) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return v * (1 + ((state >>> 0) / 2 ** 31 - 1) * 2 ** -24);
  };
  return {
    round,
    fused: false,
    tanh: (v) => round(Math.tanh(v)),
    dot: (W, j, x, start) => {
      // round() written out with the stream in a local: this is the fuzzer's hot loop.
      const n = x.length;
      let sum = start;
      let r = state;
      for (let k = 0; k < n; k++) {
        r ^= r << 13;
        r ^= r >>> 17;
        r ^= r << 5;
        const product = W[j * n + k] * x[k] * (1 + ((r >>> 0) / 2 ** 31 - 1) * 2 ** -24);
        r ^= r << 13;
        r ^= r >>> 17;
        r ^= r << 5;
        sum = (sum + product) * (1 + ((r >>> 0) / 2 ** 31 - 1) * 2 ** -24);
      }
      state = r;
      return sum;
    },
  };
}

/** tanh in float32 operations: e / (e + 2), e = expm1(2x); ±1 past |x| = 9 (where float32 tanh is ±1). */
function tanhExpm1F32(x) {
  const f = Math.fround;
  if (x > 9) return 1;
  if (x < -9) return -1;
  const e = f(Math.expm1(f(2 * x)));
  return f(e / f(e + 2));
}

// ---------------------------------------------------------------------------
// Inputs: every layout becomes a list of sequences in the caller's order, plus
// a function that puts per-sequence outputs back in that layout.

function describeInput(cfg, input) {
  if (input !== null && typeof input === "object" && "batchSizes" in input) return describePacked(cfg, input);
  const { data, shape } = input;
  const I = cfg.inputSize;
  if (shape.length === 2) {
    const [T, features] = shape;
    checkFeatures(features, I);
    const seq = Array.from({ length: T }, (_, t) => Float64Array.from(data.slice(t * I, (t + 1) * I)));
    return {
      kind: "unbatched",
      batch: 1,
      sequences: [seq],
      assemble: ([out], F) => ({ data: concatRows(out, F), shape: [T, F] }),
    };
  }
  if (shape.length !== 3) throw new Error(`reference: input must be 2-D or 3-D, got shape [${shape}]`);
  checkFeatures(shape[2], I);
  const [T, N] = cfg.batchFirst ? [shape[1], shape[0]] : [shape[0], shape[1]];
  // Element (t, b) sits at row t·N + b time-major, or b·T + t batch-first.
  const rowOf = (t, b) => (cfg.batchFirst ? b * T + t : t * N + b);
  const sequences = Array.from({ length: N }, (_, b) =>
    Array.from({ length: T }, (_, t) => Float64Array.from(data.slice(rowOf(t, b) * I, (rowOf(t, b) + 1) * I))),
  );
  return {
    kind: "batched",
    batch: N,
    sequences,
    assemble: (outputs, F) => {
      const out = new Float64Array(T * N * F);
      for (let b = 0; b < N; b++) for (let t = 0; t < T; t++) out.set(outputs[b][t], rowOf(t, b) * F);
      return { data: out, shape: cfg.batchFirst ? [N, T, F] : [T, N, F] };
    },
  };
}

function describePacked(cfg, packed) {
  const I = cfg.inputSize;
  const batchSizes = Array.from(packed.batchSizes, Number);
  const sortedIndices = packed.sortedIndices == null ? null : Array.from(packed.sortedIndices, Number);
  const unsortedIndices = packed.unsortedIndices == null ? null : Array.from(packed.unsortedIndices, Number);
  const { data, shape } = packed.data;
  checkFeatures(shape[1], I);
  const N = batchSizes[0];
  // Rows of step t start at start[t]; sequence j (sorted order) is row start[t] + j while alive.
  const start = [];
  let rows = 0;
  for (const bs of batchSizes) {
    start.push(rows);
    rows += bs;
  }
  if (rows !== shape[0]) throw new Error(`reference: batchSizes sum to ${rows}, data has ${shape[0]} rows`);
  const lengthOf = (j) => batchSizes.filter((bs) => bs > j).length;
  const callerOf = (j) => (sortedIndices === null ? j : sortedIndices[j]);
  const sequences = new Array(N);
  for (let j = 0; j < N; j++) {
    sequences[callerOf(j)] = Array.from({ length: lengthOf(j) }, (_, t) => {
      const row = start[t] + j;
      return Float64Array.from(data.slice(row * I, (row + 1) * I));
    });
  }
  return {
    kind: "packed",
    batch: N,
    sequences,
    assemble: (outputs, F) => {
      const out = new Float64Array(rows * F);
      for (let j = 0; j < N; j++) {
        const seqOut = outputs[callerOf(j)];
        for (let t = 0; t < seqOut.length; t++) out.set(seqOut[t], (start[t] + j) * F);
      }
      return { data: { data: out, shape: [rows, F] }, batchSizes, sortedIndices, unsortedIndices };
    },
  };
}

function concatRows(rows, F) {
  const out = new Float64Array(rows.length * F);
  rows.forEach((row, t) => out.set(row, t * F));
  return out;
}

function checkFeatures(features, I) {
  if (features !== I) throw new Error(`reference: input has ${features} features, expected ${I}`);
}

function checkH0(h0, planes, batch, H, unbatched) {
  if (h0 === null || h0 === undefined) return;
  const want = unbatched ? [planes, H] : [planes, batch, H];
  if (h0.shape.length !== want.length || h0.shape.some((s, i) => s !== want[i])) {
    throw new Error(`reference: h0 shape [${h0.shape}], expected [${want}]`);
  }
}

/** h0[plane, b] (zeros when there is no h0). */
function h0RowOf(h0, plane, b, batch, H, unbatched) {
  if (h0 === null || h0 === undefined) return new Float64Array(H);
  const at = unbatched ? plane * H : (plane * batch + b) * H;
  return Float64Array.from(h0.data.slice(at, at + H));
}

// ---------------------------------------------------------------------------
// Configuration and parameters.

function normalizeConfig(c) {
  return {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers ?? 1,
    nonlinearity: c.nonlinearity ?? "tanh",
    bias: c.bias ?? true,
    batchFirst: c.batchFirst ?? false,
    bidirectional: c.bidirectional ?? false,
  };
}

/** params[l][d] = { wIh, wHh, bIh, bHh } as Float64Arrays (biases null without bias), shapes checked. */
function readParameters(cfg, stateDict) {
  const D = cfg.bidirectional ? 2 : 1;
  const H = cfg.hiddenSize;
  const get = (name, shape) => {
    const t = stateDict[name];
    if (t === undefined) throw new Error(`reference: missing parameter ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new Error(`reference: ${name} has shape [${t.shape}], expected [${shape}]`);
    }
    return Float64Array.from(t.data);
  };
  const params = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const inputs = l === 0 ? cfg.inputSize : D * H;
    params.push([]);
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d === 1 ? "_reverse" : ""}`;
      params[l].push({
        wIh: get(`weight_ih${s}`, [H, inputs]),
        wHh: get(`weight_hh${s}`, [H, H]),
        bIh: cfg.bias ? get(`bias_ih${s}`, [H]) : null,
        bHh: cfg.bias ? get(`bias_hh${s}`, [H]) : null,
      });
    }
  }
  return params;
}
