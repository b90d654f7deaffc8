// The char-RNN demo's model and generation loop, shared by the Node demo
// (generate.mjs), the web page (web.js) and the Worker (../worker/src/index.js)
// so that all three produce the same text. Plain ESM with no runtime APIs:
// each frontend's bundler or resolver picks its own build of "wasm-rnn".
import { Embedding, GRU, LSTM, Linear, loadSafetensors } from "wasm-rnn";

const RECURRENT = new Map([
  ["gru", GRU],
  ["lstm", LSTM],
]);

/**
 * nn.Embedding(V, E) → nn.GRU or nn.LSTM(E, H, L) → nn.Linear(H, V), loaded from
 * the safetensors file that train.py writes: each wasm-rnn module takes its part
 * of the file by the attribute name PyTorch gave it ("embed.", "rnn.", "fc.").
 */
export class CharModel {
  /** @param {Uint8Array | ArrayBuffer} bytes the model.safetensors file */
  static fromSafetensors(bytes) {
    return new CharModel(loadSafetensors(bytes));
  }

  /** @param {{ tensors: Record<string, import("wasm-rnn").Tensor>, metadata: Record<string, string> }} file */
  constructor(file) {
    const { metadata } = file;
    const Recurrent = RECURRENT.get(metadata.cell);
    if (Recurrent === undefined) {
      const cells = [...RECURRENT.keys()].join(", ");
      throw new RangeError(`the model's cell should be one of ${cells}, got ${JSON.stringify(metadata.cell)}`);
    }
    this.vocab = JSON.parse(metadata.vocab);
    this.index = new Map(this.vocab.map((c, i) => [c, i]));
    const V = this.vocab.length;
    const E = Number(metadata.embedding_dim);
    const H = Number(metadata.hidden_size);
    this.embed = new Embedding({ numEmbeddings: V, embeddingDim: E });
    this.rnn = new Recurrent({ inputSize: E, hiddenSize: H, numLayers: Number(metadata.num_layers) });
    this.fc = new Linear({ inFeatures: H, outFeatures: V });
    for (const [prefix, module] of [
      ["embed.", this.embed],
      ["rnn.", this.rnn],
      ["fc.", this.fc],
    ]) {
      module.loadStateDict(file, { prefix });
      module.eval();
    }
  }

  /** PyTorch's repr of each part, e.g. "Embedding(61, 32) → LSTM(32, 160) → Linear(…)". */
  toString() {
    return [this.embed, this.rnn, this.fc].map(String).join(" → ");
  }

  /** Index of each character of `text`; throws naming the characters the model never saw. */
  encode(text) {
    const unknown = [...new Set([...text].filter((c) => !this.index.has(c)))];
    if (unknown.length > 0) {
      throw new RangeError(`the model's vocabulary has no ${unknown.map((c) => JSON.stringify(c)).join(", ")}`);
    }
    return [...text].map((c) => this.index.get(c));
  }

  /**
   * A fresh generation state: no recurrent state yet, which the modules take as
   * zeros (PyTorch's default), and no logits yet.
   */
  start() {
    return { recurrent: null, logits: null };
  }

  /**
   * Feeds one character (by index) as an unbatched step, (1, E) → (1, H) → (1, V);
   * updates `state.recurrent` (GRU: hN; LSTM: [hN, cN]) and `state.logits`, the
   * head's float32 logits. They can differ from PyTorch's in the last bits (another
   * summation order), far less than the closest call train.py records for the texts.
   */
  step(state, charIndex) {
    const [output, recurrent] = this.rnn.forward(this.embed.forward([charIndex]), state.recurrent);
    state.recurrent = recurrent;
    state.logits = this.fc.forward(output).data;
    return state;
  }

  /** Frees the kernel memory the modules hold. */
  dispose() {
    for (const module of [this.embed, this.rnn, this.fc]) module.dispose();
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
