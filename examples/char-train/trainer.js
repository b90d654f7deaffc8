// The char-train demo's training loop, shared by the Node script (train.mjs) and
// the page (web.js): Embedding → LSTM → Linear trained on a text with truncated
// backpropagation through time, crossEntropy, Adam and clipGradNorm. The model is
// char-rnn's CharModel (../char-rnn/model.js), so a trained model generates, saves
// and loads exactly as the shipped one does. Plain ESM with no runtime APIs.
import { Adam, Embedding, LSTM, Linear, clipGradNorm, crossEntropy, loadSafetensors, saveSafetensors } from "wasm-rnn";
import { CharModel, generate } from "../char-rnn/model.js";

/** The training text's own alphabet, sorted by code point as char-rnn's train.py sorts it. */
export function vocabularyOf(text) {
  return [...new Set(text.replaceAll("\r", ""))].sort();
}

/**
 * A fresh model for `vocab`: nn.Embedding(V, E) → nn.LSTM(E, H) → nn.Linear(H, V),
 * each initialised as PyTorch does after torch.manual_seed(seed + k), k = 0, 1, 2.
 */
export function createModel(vocab, { embeddingDim = 16, hiddenSize = 64, seed = 1 } = {}) {
  const V = vocab.length;
  const parts = [
    ["embed.", new Embedding({ numEmbeddings: V, embeddingDim, seed })],
    ["rnn.", new LSTM({ inputSize: embeddingDim, hiddenSize, seed: seed + 1 })],
    ["fc.", new Linear({ inFeatures: hiddenSize, outFeatures: V, seed: seed + 2 })],
  ];
  const tensors = {};
  for (const [prefix, module] of parts) {
    for (const [name, tensor] of Object.entries(module.stateDict())) tensors[prefix + name] = tensor;
    module.dispose();
  }
  return new CharModel({ tensors, metadata: modelMetadata(vocab, embeddingDim, hiddenSize) });
}

function modelMetadata(vocab, embeddingDim, hiddenSize) {
  // The keys char-rnn's model.js and train.py read back.
  return {
    vocab: JSON.stringify(vocab),
    cell: "lstm",
    embedding_dim: String(embeddingDim),
    hidden_size: String(hiddenSize),
    num_layers: "1",
  };
}

// Characters a pasted text often has, and stand-ins an ASCII alphabet may have, best first.
const LOOKALIKES = new Map([
  ["\u2018", "'`"],
  ["\u2019", "'"],
  ["\u201c", "\"'"],
  ["\u201d", "\"'"],
  ['"', "'"],
  ["`", "'"],
  ["\u2013", "-"],
  ["\u2014", "-"],
  ["\u2026", "."],
  ["\t", " "],
  ["\u00a0", " "],
]);

/**
 * Writes `text` in the alphabet of a model it was not made for (fine-tuning the
 * shipped model keeps its vocabulary): "\r" is dropped, accents are stripped
 * (é → e), typographic quotes and dashes become ASCII ones the alphabet has, and whatever is still
 * unknown becomes a space (or the alphabet's first character). Returns the text
 * and the replacements made, as { from: to }.
 */
export function fitToVocabulary(text, vocab) {
  const known = new Set(vocab);
  const fallback = known.has(" ") ? " " : vocab[0];
  const replaced = {};
  let out = "";
  for (const c of text.replaceAll("\r", "")) {
    if (known.has(c)) {
      out += c;
      continue;
    }
    const stripped = c.normalize("NFD").replace(/\p{M}/gu, "");
    const lookalike = [...(LOOKALIKES.get(c) ?? "")].find((l) => known.has(l));
    const to = known.has(stripped) ? stripped : (lookalike ?? fallback);
    replaced[c] = to;
    out += to;
  }
  return { text: out, replaced };
}

/**
 * The batches of truncated BPTT: the text is cut into `batchSize` contiguous
 * streams, and each step takes the next `seqLength` characters of every stream,
 * so that the state a chunk ends with is the right start for the next chunk
 * (Karpathy's char-rnn batching). At the end of the streams it starts over, with
 * a zero state. Short texts get fewer or shorter streams.
 */
class Streams {
  constructor(indices, batchSize, seqLength) {
    if (indices.length < 2) throw new RangeError(`the text needs at least 2 characters, got ${indices.length}`);
    this.indices = indices;
    this.seqLength = Math.min(seqLength, indices.length - 1);
    this.batchSize = Math.max(1, Math.min(batchSize, Math.floor((indices.length - 1) / this.seqLength)));
    this.streamLength = Math.floor((indices.length - 1) / this.batchSize);
    this.position = 0;
  }

  /** The next chunk: inputs and targets (seqLength, batchSize), time-major; `restart` when the state resets. */
  next() {
    const T = this.seqLength;
    const B = this.batchSize;
    const restart = this.position + T > this.streamLength;
    if (restart) this.position = 0;
    const inputs = new Int32Array(T * B);
    const targets = new Int32Array(T * B);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const at = b * this.streamLength + this.position + t;
        inputs[t * B + b] = this.indices[at];
        targets[t * B + b] = this.indices[at + 1];
      }
    }
    this.position += T;
    return { inputs, targets, restart };
  }
}

/**
 * Trains a CharModel on a text. One `step()` is one chunk of truncated BPTT:
 *   logits = fc(lstm(embed(x), state)); loss = crossEntropy(logits, y)
 *   backward through fc, lstm and embed; clipGradNorm; Adam step
 * and the LSTM's final [hN, cN] is the next chunk's initial state. Tensors carry
 * no graph, so the carried state is detached by construction.
 */
export class CharTrainer {
  /**
   * @param {CharModel} model trained in place; `dispose()` frees it
   * @param {string} text the training text; characters outside the model's vocabulary are fitted to it
   */
  constructor(model, text, { batchSize = 16, seqLength = 64, lr = 3e-3, clip = 1, source = "" } = {}) {
    this.model = model;
    const fitted = fitToVocabulary(text, model.vocab);
    this.replaced = fitted.replaced;
    this.text = fitted.text;
    this.streams = new Streams(Int32Array.from(model.encode(fitted.text)), batchSize, seqLength);
    this.modules = [model.embed, model.rnn, model.fc];
    for (const module of this.modules) module.train();
    this.optimizer = new Adam(this.modules, { lr });
    this.clip = clip;
    this.source = source;
    this.state = null;
    this.steps = 0;
  }

  /** Characters per step: batch × sequence length. */
  get charsPerStep() {
    return this.streams.batchSize * this.streams.seqLength;
  }

  /** One optimizer step on the next chunk; returns its mean loss (nats per character) and the gradient norm. */
  step() {
    const { embed, rnn, fc } = this.model;
    const { inputs, targets, restart } = this.streams.next();
    const T = this.streams.seqLength;
    const B = this.streams.batchSize;
    const V = this.model.vocab.length;
    if (restart) this.state = null;
    const [output, state] = rnn.forward(embed.forward(inputs, [T, B]), this.state);
    this.state = state;
    const logits = fc.forward(output);
    const { loss, grad } = crossEntropy(logits.reshape([T * B, V]), targets);
    this.optimizer.zeroGrad();
    const [gradEmbedded] = rnn.backward(fc.backward(grad.reshape([T, B, V])));
    embed.backward(gradEmbedded);
    const gradNorm = clipGradNorm(this.modules, this.clip);
    this.optimizer.step();
    this.steps++;
    return { step: this.steps, loss: loss.data[0], gradNorm };
  }

  /**
   * Generated text from the model as it is now: greedy (argmax) or sampled with
   * char-rnn's seeded sampler. Runs in eval mode, so it keeps nothing for backward.
   */
  sample({ prompt, length = 200, greedy = true, temperature = 0.8, seed = 1 }) {
    for (const module of this.modules) module.eval();
    try {
      const fitted = fitToVocabulary(prompt, this.model.vocab).text;
      return [...generate(this.model, { prompt: fitted, length, greedy, temperature, seed })]
        .map((s) => s.char)
        .join("");
    } finally {
      for (const module of this.modules) module.train();
    }
  }

  /**
   * The model as a .safetensors file with PyTorch's key names (embed.weight,
   * rnn.weight_ih_l0, …, fc.bias) and char-rnn's metadata, which char-rnn's
   * model.js and check.py load.
   */
  save() {
    const tensors = {};
    for (const [prefix, module] of [
      ["embed.", this.model.embed],
      ["rnn.", this.model.rnn],
      ["fc.", this.model.fc],
    ]) {
      for (const [name, tensor] of Object.entries(module.stateDict())) tensors[prefix + name] = tensor;
    }
    // The head reads the LSTM's output, so its input width is the hidden size.
    return saveSafetensors(tensors, {
      ...modelMetadata(this.model.vocab, this.model.embed.embeddingDim, this.model.fc.inFeatures),
      source: `examples/char-train, ${this.steps} steps${this.source ? ` on ${this.source}` : ""}`,
    });
  }

  dispose() {
    this.model.dispose();
  }
}

/** The text's first line with its newline, cut to 40 characters: a prompt in the text's own style. */
export function defaultPrompt(text) {
  const end = text.indexOf("\n");
  return text.slice(0, end >= 0 && end < 40 ? end + 1 : 40);
}

/** Loads a .safetensors file written by CharTrainer.save() or char-rnn's train.py. */
export function loadModel(bytes) {
  return new CharModel(loadSafetensors(bytes));
}

/** Mean loss of the last `window` steps, or of all if fewer: the printed "loss". */
export function recentMean(losses, window = 50) {
  const tail = losses.slice(-window);
  return tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
}

/**
 * Exponential moving average with TensorBoard's debiasing, so that the first
 * points are not pulled towards zero: the loss chart's smoothed line.
 */
export function smoothed(values, weight = 0.9) {
  const out = [];
  let last = 0;
  values.forEach((v, i) => {
    last = last * weight + (1 - weight) * v;
    out.push(last / (1 - weight ** (i + 1)));
  });
  return out;
}

/** m:ss for a progress display; "–" while unknown (no step timed yet). */
export function clock(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/**
 * Lets the event loop run (rendering, input, timers) between slices of training:
 * a macrotask, without setTimeout's 4 ms clamp in browsers.
 */
function yieldToEventLoop() {
  return new Promise((resolve) => {
    if (typeof setImmediate === "function") {
      setImmediate(resolve);
      return;
    }
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Trains until `trainer.steps` reaches `steps` or `signal` aborts (pause; call
 * again to resume, the carried state included). Steps run in slices of about
 * `sliceMs`, and control returns to the event loop between slices, so a page
 * stays responsive. `onProgress({ step, total, losses, stepsPerSecond, etaSeconds,
 * elapsedSeconds })` runs after every slice; `onSample(step)` every `sampleEvery`
 * steps. Resolves to "done" or "paused".
 */
export async function runTraining(
  trainer,
  { steps, losses = [], sampleEvery = 0, sliceMs = 30, signal, onProgress = () => {}, onSample = () => {} },
) {
  const started = now();
  const first = trainer.steps;
  while (trainer.steps < steps) {
    if (signal?.aborted) return "paused";
    const sliceStart = now();
    do {
      losses.push(trainer.step().loss);
      if (sampleEvery > 0 && trainer.steps % sampleEvery === 0) onSample(trainer.steps);
    } while (trainer.steps < steps && now() - sliceStart < sliceMs);
    const elapsedSeconds = (now() - started) / 1000;
    const stepsPerSecond = (trainer.steps - first) / Math.max(elapsedSeconds, 1e-9);
    onProgress({
      step: trainer.steps,
      total: steps,
      losses,
      stepsPerSecond,
      etaSeconds: (steps - trainer.steps) / stepsPerSecond,
      elapsedSeconds,
    });
    await yieldToEventLoop();
  }
  return "done";
}
