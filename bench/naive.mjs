// The baseline a JavaScript developer would write first: torch.nn.RNN's
// equations, h_t = act(W_ih·x_t + b_ih + W_hh·h_{t-1} + b_hh), as plain loops
// over Float32Arrays with Math.tanh. No hoisting of the input projection, no
// blocking, no SIMD — it only keeps the inner loops contiguous in memory (rows
// of PyTorch's row-major weights), which any first version does naturally.

/**
 * @param spec {input, hidden, layers, bidirectional, nonlinearity, batch, seq}
 * @param stateDict PyTorch-named parameters: {name: {data: Float32Array}}
 * @param x time-major input [seq, batch, input]
 * @param lengths optional per-sequence lengths (packed semantics: sequence b
 *   runs for lengths[b] steps; the reverse direction starts at its own last
 *   step; outputs past the end stay 0, as pad_packed_sequence returns them)
 * @returns the last layer's output [seq, batch, D·hidden]
 */
export function naiveRnn(spec, stateDict, x, lengths = null) {
  const { hidden: H, layers: L, batch: B, seq: T } = spec;
  const D = spec.bidirectional ? 2 : 1;
  const relu = spec.nonlinearity === "relu";
  const len = lengths ?? new Array(B).fill(T);
  let input = x;
  let inSize = spec.input;
  for (let l = 0; l < L; l++) {
    const out = new Float32Array(T * B * D * H);
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const wIh = stateDict[`weight_ih${s}`].data;
      const wHh = stateDict[`weight_hh${s}`].data;
      const bIh = stateDict[`bias_ih${s}`].data;
      const bHh = stateDict[`bias_hh${s}`].data;
      for (let b = 0; b < B; b++) {
        let h = new Float32Array(H);
        let next = new Float32Array(H);
        for (let n = 0; n < len[b]; n++) {
          const t = d === 0 ? n : len[b] - 1 - n;
          const xOff = (t * B + b) * inSize;
          for (let j = 0; j < H; j++) {
            let sum = bIh[j] + bHh[j];
            const wi = j * inSize;
            for (let k = 0; k < inSize; k++) sum += wIh[wi + k] * input[xOff + k];
            const wh = j * H;
            for (let k = 0; k < H; k++) sum += wHh[wh + k] * h[k];
            next[j] = relu ? (sum > 0 ? sum : 0) : Math.tanh(sum);
          }
          out.set(next, (t * B + b) * D * H + d * H);
          [h, next] = [next, h];
        }
      }
    }
    input = out;
    inSize = D * H;
  }
  return input;
}
