// torch.nn.LSTM and torch.nn.GRU written with TF.js core ops, the way a TF.js
// user ports a PyTorch model: tfjs-layers' GRU has no reset_after (its GRUCell
// throws for `resetAfter: true`), so it cannot compute PyTorch's
// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), and its LSTM projects the
// input one step at a time. Here, as in PyTorch's own CPU path, each layer and
// direction projects the whole input with one matMul, then runs the
// recurrence step by step.

/** rows × cols row-major → cols × rows row-major (PyTorch's weights → TF.js's kernels). */
export function transpose(w, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/**
 * @param tf the TF.js namespace (any backend)
 * @param spec {mode: "lstm" | "gru", input, hidden, proj, layers, bidirectional, batch, seq}
 * @param stateDict PyTorch-named parameters: {name: {data: Float32Array}}
 * @param x time-major input [seq, batch, input]
 * @param lengths optional per-sequence lengths: steps t ≥ lengths[b] are
 *   computed but masked (state and output zeroed), so each reverse direction
 *   starts at its sequence's own last step, as PyTorch's packed sequences do
 * @param options.trainable the weights and the input as tf.variables, for a training step's gradients
 * @returns { run(): Float32Array time-major [seq, batch, D·R], forward(): the output as a
 *   tensor [seq·batch, D·R], variables: with options.trainable, the input then the weights, dispose() }
 */
export function tfjsGated(tf, spec, stateDict, x, lengths = null, { trainable = false } = {}) {
  const { hidden: H, layers: L, batch: B, seq: T } = spec;
  const lstm = spec.mode === "lstm";
  const G = lstm ? 4 : 3;
  const R = spec.proj || H;
  const D = spec.bidirectional ? 2 : 1;
  const held = [];
  const variables = [];
  const keep = (t) => {
    held.push(t);
    return t;
  };
  // A variable shares its initial value's data: the value is freed, the variable holds it.
  const param = (t) => {
    if (!trainable) return keep(t);
    const v = tf.variable(t);
    t.dispose();
    variables.push(v);
    return keep(v);
  };
  // First, so that `variables` lists the input, then the weights.
  const input = param(tf.tensor2d(x, [T * B, spec.input]));
  const layers = [];
  for (let l = 0; l < L; l++) {
    const inputs = l === 0 ? spec.input : D * R;
    const dirs = [];
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const bIh = stateDict[`bias_ih${s}`].data;
      const bHh = stateDict[`bias_hh${s}`].data;
      const wHr = stateDict[`weight_hr${s}`]?.data;
      dirs.push({
        wIh: param(tf.tensor2d(transpose(stateDict[`weight_ih${s}`].data, G * H, inputs), [inputs, G * H])),
        wHh: param(tf.tensor2d(transpose(stateDict[`weight_hh${s}`].data, G * H, R), [R, G * H])),
        wHr: wHr ? param(tf.tensor2d(transpose(wHr, R, H), [H, R])) : null,
        // LSTM: both biases go into the input projection. GRU: b_hn stays inside r ⊙ (W_hn h + b_hn).
        bIh: param(tf.tensor1d(lstm ? bIh.map((v, j) => v + bHh[j]) : bIh)),
        bHh: lstm ? null : param(tf.tensor1d(bHh)),
      });
    }
    layers.push({ inputs, dirs });
  }
  const steps = Array.from({ length: T }, (_, t) => keep(tf.scalar(t, "int32")));
  const masks = lengths
    ? Array.from({ length: T }, (_, t) =>
        keep(
          tf.tensor2d(
            lengths.map((n) => (t < n ? 1 : 0)),
            [B, 1],
          ),
        ),
      )
    : null;

  const cell = lstm
    ? (p, xs, state) => {
        const [i, f, g, o] = tf.split(tf.add(xs, tf.matMul(state.h, p.wHh)), 4, 1);
        const c = tf.add(tf.mul(tf.sigmoid(f), state.c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
        const h = tf.mul(tf.sigmoid(o), tf.tanh(c));
        return { h: p.wHr ? tf.matMul(h, p.wHr) : h, c };
      }
    : (p, xs, state) => {
        const gh = tf.add(tf.matMul(state.h, p.wHh), p.bHh);
        const [xrz, xn] = tf.split(xs, [2 * H, H], 1);
        const [ghrz, ghn] = tf.split(gh, [2 * H, H], 1);
        const [r, z] = tf.split(tf.sigmoid(tf.add(xrz, ghrz)), 2, 1);
        const n = tf.tanh(tf.add(xn, tf.mul(r, ghn)));
        return { h: tf.add(n, tf.mul(z, tf.sub(state.h, n))) };
      };

  // The wasm backend's slice (and split and unstack, made of slices) copies its
  // whole input to JS first, which makes T slices of a [T, …] tensor cost O(T²).
  // So the forward takes each step's rows with a gather. A training step cannot:
  // gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks. It
  // splits into ⌈√T⌉-row chunks, then unstacks each chunk: 2·T^1.5 rows copied
  // instead of T², and the gradients (concat, stack) are single kernels.
  const unstackRows = (xs) => {
    const chunk = Math.ceil(Math.sqrt(T));
    const sizes = Array.from({ length: Math.ceil(T / chunk) }, (_, i) => Math.min(chunk, T - i * chunk));
    return tf.split(xs, sizes, 0).flatMap((rows) => tf.unstack(rows));
  };
  // tf.stack's gradient is an unstack of T slices, O(T²) on the wasm backend: the same two-level unstack instead.
  const stackRows = tf.customGrad((...args) => {
    const ys = args.slice(0, -1); // the last argument is customGrad's `save`
    return { value: tf.stack(ys), gradFunc: (dy) => unstackRows(dy) };
  });

  const forward = () =>
    tf.tidy(() => {
      let layerIn = input;
      for (const { dirs } of layers) {
        const outs = dirs.map((p, d) => {
          const xs = tf.reshape(tf.add(tf.matMul(layerIn, p.wIh), p.bIh), [T, B * G * H]);
          const rows = trainable ? unstackRows(xs) : null;
          let state = { h: tf.zeros([B, R]), c: lstm ? tf.zeros([B, H]) : null };
          const ys = new Array(T);
          for (let n = 0; n < T; n++) {
            const t = d === 0 ? n : T - 1 - n;
            const previous = state;
            // A scope per step, as tfjs-layers' rnn() has: the gates are freed at once
            // instead of piling up on the wasm heap until the whole forward ends.
            state = tf.tidy(() => {
              const next = cell(p, tf.reshape(rows ? rows[t] : tf.gather(xs, steps[t]), [B, G * H]), previous);
              return masks ? { h: tf.mul(next.h, masks[t]), c: next.c && tf.mul(next.c, masks[t]) } : next;
            });
            previous.c?.dispose();
            ys[t] = state.h;
          }
          return trainable ? stackRows(...ys) : tf.stack(ys); // [T, B, R]
        });
        layerIn = tf.reshape(D === 2 ? tf.concat(outs, 2) : outs[0], [T * B, D * R]);
      }
      return layerIn;
    });

  return {
    run: () => {
      const y = forward();
      const data = y.dataSync();
      y.dispose();
      return data;
    },
    forward,
    variables,
    dispose: () => held.forEach((t) => t.dispose()),
  };
}
