// The char-RNN demo's model and generation loop, shared by the Node demo
// (generate.mjs), the web page (web.js) and the Worker (../worker/src/index.js)
// so that all three produce the same text. Plain ESM with no runtime APIs:
// each frontend's bundler or resolver picks its own build of "wasm-rnn".
import { RNN, Tensor, loadSafetensors } from "wasm-rnn";

/**
 * nn.RNN(V, H, L) over one-hot characters plus an nn.Linear(H, V) head, loaded
 * from the safetensors file that train.py writes. The RNN runs in the kernel;
 * the head is a V×H matrix-vector product, cheap enough for plain JavaScript.
 */
export class CharModel {
  /** @param {Uint8Array | ArrayBuffer} bytes the model.safetensors file */
  static fromSafetensors(bytes) {
    return new CharModel(loadSafetensors(bytes));
  }

  /** @param {{ tensors: Record<string, Tensor>, metadata: Record<string, string> }} file */
  constructor({ tensors, metadata }) {
    this.vocab = JSON.parse(metadata.vocab);
    this.index = new Map(this.vocab.map((c, i) => [c, i]));
    this.hiddenSize = Number(metadata.hidden_size);
    this.numLayers = Number(metadata.num_layers);
    this.rnn = new RNN({
      inputSize: this.vocab.length,
      hiddenSize: this.hiddenSize,
      numLayers: this.numLayers,
      nonlinearity: metadata.nonlinearity ?? "tanh",
    });
    // The file holds the whole PyTorch model; the prefix picks the nn.RNN's part.
    this.rnn.loadStateDict({ tensors }, { prefix: "rnn." });
    this.rnn.eval();
    this.fcWeight = tensors["fc.weight"].data; // (V, H), row-major
    this.fcBias = tensors["fc.bias"].data;
    // One input buffer reused for every step: forward() copies it into the kernel.
    this.oneHot = new Float32Array(this.vocab.length);
    this.input = new Tensor(this.oneHot, [1, this.vocab.length]);
  }

  /** Index of each character of `text`; throws naming the characters the model never saw. */
  encode(text) {
    const unknown = [...new Set([...text].filter((c) => !this.index.has(c)))];
    if (unknown.length > 0) {
      throw new RangeError(`the model's vocabulary has no ${unknown.map((c) => JSON.stringify(c)).join(", ")}`);
    }
    return [...text].map((c) => this.index.get(c));
  }

  /** A fresh generation state: h0 = zeros (PyTorch's default), no logits yet. */
  start() {
    return { h: null, logits: null };
  }

  /** Feeds one character (by index) as an unbatched (1, V) step; updates `state.h` and `state.logits`. */
  step(state, charIndex) {
    this.oneHot.fill(0);
    this.oneHot[charIndex] = 1;
    const [output, hN] = this.rnn.forward(this.input, state.h);
    state.h = hN;
    state.logits = this.head(output.data);
    return state;
  }

  /**
   * logits = W·y + b in float64. It rounds differently from PyTorch's float32
   * Linear, by orders of magnitude less than the smallest gap between the top two
   * logits along the expected texts (train.py records that gap).
   */
  head(y) {
    const V = this.vocab.length;
    const H = this.hiddenSize;
    const W = this.fcWeight;
    const logits = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      const row = v * H;
      // Four independent sums: about twice as fast as one dependent chain in V8.
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < H; j += 4) {
        s0 += W[row + j] * y[j];
        s1 += W[row + j + 1] * y[j + 1];
        s2 += W[row + j + 2] * y[j + 2];
        s3 += W[row + j + 3] * y[j + 3];
      }
      for (; j < H; j++) s0 += W[row + j] * y[j];
      logits[v] = this.fcBias[v] + ((s0 + s1) + (s2 + s3));
    }
    return logits;
  }

  /** Frees the kernel memory the RNN holds. */
  dispose() {
    this.rnn.dispose();
  }
}

/** Index of the largest logit; the first one on a tie, like torch.argmax. */
export function argmax(logits) {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Draws from softmax(logits / temperature) with `random()` in [0, 1). */
export function sample(logits, temperature, random) {
  const max = logits[argmax(logits)];
  const weights = Array.from(logits, (l) => Math.exp((l - max) / temperature));
  let u = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1; // u landed on the rounding error at the top end
}

/** mulberry32: a tiny seeded PRNG, so that a seed gives the same text in every runtime. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/**
 * Generates `length` characters after `prompt`, one at a time: the prompt is fed
 * from h0 = zeros, then each character is picked from the head's logits (argmax
 * when `greedy` or temperature 0, else a seeded sample) and fed back. Yields
 * `{ char, ms }`, where `ms` is the time to pick the character and run the step
 * that feeds it back — the per-character latency of streaming generation.
 */
export function* generate(model, { prompt, length = 200, temperature = 0.8, greedy = false, seed = 1 }) {
  if (prompt.length === 0) throw new RangeError("the prompt must have at least one character");
  const state = model.start();
  for (const i of model.encode(prompt)) model.step(state, i);
  const random = seededRandom(seed);
  const pick = greedy || temperature <= 0 ? (l) => argmax(l) : (l) => sample(l, temperature, random);
  for (let n = 0; n < length; n++) {
    const t0 = now();
    const i = pick(state.logits);
    model.step(state, i);
    yield { char: model.vocab[i], ms: now() - t0 };
  }
}

/** Median of a list of numbers (latencies). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
