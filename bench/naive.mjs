// The baseline a JavaScript developer would write first: torch.nn.RNN's,
// LSTM's and GRU's equations as plain loops over Float32Arrays with Math.tanh
// and Math.exp. No hoisting of the input projection, no blocking, no SIMD —
// it only keeps the inner loops contiguous in memory (rows of PyTorch's
// row-major weights), which any first version does naturally.

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

/** Σ_k w[row·n + k]·v[off + k]: one row of a row-major weight against a vector. */
function dot(w, row, n, v, off) {
  let sum = 0;
  const base = row * n;
  for (let k = 0; k < n; k++) sum += w[base + k] * v[off + k];
  return sum;
}

/**
 * One time step of each cell. `p` holds the direction's parameters, `x` the
 * layer input at offset `xOff`, `s` the state ({h, c} Float32Arrays, updated
 * in place), `g` a scratch array of G·H gate values.
 */
const STEPS = {
  // h' = act(W_ih x + b_ih + W_hh h + b_hh)
  rnn(p, x, xOff, s, g) {
    const { H, I } = p;
    for (let j = 0; j < H; j++) {
      const sum = p.bIh[j] + p.bHh[j] + dot(p.wIh, j, I, x, xOff) + dot(p.wHh, j, H, s.h, 0);
      g[j] = p.relu ? Math.max(sum, 0) : Math.tanh(sum);
    }
    s.h.set(g.subarray(0, H));
  },
  // PyTorch's gate order i, f, g, o; c' = f ⊙ c + i ⊙ g; h' = W_hr (o ⊙ tanh c') when projected.
  lstm(p, x, xOff, s, g) {
    const { H, I, R } = p;
    for (let j = 0; j < 4 * H; j++) g[j] = p.bIh[j] + p.bHh[j] + dot(p.wIh, j, I, x, xOff) + dot(p.wHh, j, R, s.h, 0);
    for (let j = 0; j < H; j++) {
      const c = sigmoid(g[H + j]) * s.c[j] + sigmoid(g[j]) * Math.tanh(g[2 * H + j]);
      s.c[j] = c;
      g[j] = sigmoid(g[3 * H + j]) * Math.tanh(c); // o ⊙ tanh c, over the spent i gate
    }
    if (p.wHr) for (let j = 0; j < R; j++) s.h[j] = dot(p.wHr, j, H, g, 0);
    else s.h.set(g.subarray(0, H));
  },
  // PyTorch's gate order r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h.
  gru(p, x, xOff, s, g) {
    const { H, I } = p;
    for (let j = 0; j < 3 * H; j++) {
      const hh = p.bHh[j] + dot(p.wHh, j, H, s.h, 0);
      const xx = p.bIh[j] + dot(p.wIh, j, I, x, xOff);
      g[j] = j < 2 * H ? sigmoid(xx + hh) : Math.tanh(xx + g[j - 2 * H] * hh);
    }
    for (let j = 0; j < H; j++) s.h[j] = (1 - g[H + j]) * g[2 * H + j] + g[H + j] * s.h[j];
  },
};

const GATES = { rnn: 1, lstm: 4, gru: 3 };

/**
 * @param spec {mode ("rnn" when absent), input, hidden, proj (LSTM projSize, 0 = none),
 *   layers, bidirectional, nonlinearity, batch, seq}
 * @param stateDict PyTorch-named parameters: {name: {data: Float32Array}}
 * @param x time-major input [seq, batch, input]
 * @param lengths optional per-sequence lengths (packed semantics: sequence b
 *   runs for lengths[b] steps; the reverse direction starts at its own last
 *   step; outputs past the end stay 0, as pad_packed_sequence returns them)
 * @returns the last layer's output [seq, batch, D·R], R = proj || hidden
 */
export function naiveForward(spec, stateDict, x, lengths = null) {
  const mode = spec.mode ?? "rnn";
  const step = STEPS[mode];
  const { hidden: H, layers: L, batch: B, seq: T } = spec;
  const R = spec.proj || H;
  const D = spec.bidirectional ? 2 : 1;
  const len = lengths ?? new Array(B).fill(T);
  const gates = new Float32Array(GATES[mode] * H);
  let input = x;
  let inSize = spec.input;
  for (let l = 0; l < L; l++) {
    const out = new Float32Array(T * B * D * R);
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const p = {
        H,
        I: inSize,
        R,
        relu: spec.nonlinearity === "relu",
        wIh: stateDict[`weight_ih${s}`].data,
        wHh: stateDict[`weight_hh${s}`].data,
        bIh: stateDict[`bias_ih${s}`].data,
        bHh: stateDict[`bias_hh${s}`].data,
        wHr: stateDict[`weight_hr${s}`]?.data,
      };
      for (let b = 0; b < B; b++) {
        const state = { h: new Float32Array(R), c: new Float32Array(H) };
        for (let n = 0; n < len[b]; n++) {
          const t = d === 0 ? n : len[b] - 1 - n;
          step(p, input, (t * B + b) * inSize, state, gates);
          out.set(state.h, (t * B + b) * D * R + d * R);
        }
      }
    }
    input = out;
    inSize = D * R;
  }
  return input;
}
