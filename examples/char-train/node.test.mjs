// The training demo in Node: a short seeded run learns (the loss falls by a clear
// margin), what it saves reloads into wasm-rnn's modules unchanged, and a model
// wasm-rnn trained generates the text PyTorch generates from the same file
// (fixture/expected.json, written by check.py from fixture/model.safetensors).
//
//   node --experimental-wasm-relaxed-simd --test examples/char-train/node.test.mjs
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { detectFeatures, init, loadSafetensors } from "wasm-rnn";
import { generate } from "../char-rnn/model.js";
import {
  CharTrainer,
  clock,
  createModel,
  fitToVocabulary,
  loadModel,
  recentMean,
  runTraining,
  vocabularyOf,
} from "./trainer.js";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const corpus = readFileSync(here("../char-rnn/data/coriolanus.txt"), "utf8");
const shipped = readFileSync(here("../char-rnn/model.safetensors"));
const expected = JSON.parse(readFileSync(here("./fixture/expected.json"), "utf8"));
const fixture = readFileSync(here("./fixture/model.safetensors"));
const scratch = mkdtempSync(join(tmpdir(), "wasm-rnn-char-train-"));

before(() => init());
after(() => rmSync(scratch, { recursive: true, force: true }));

const text = (model, options) => [...generate(model, options)].map((s) => s.char).join("");
const features = detectFeatures();
const available = { relaxed: features.relaxedSimd, simd: features.simd, scalar: true };
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

test("training from scratch with a fixed seed lowers the loss by a clear margin", async (t) => {
  const trainer = new CharTrainer(createModel(vocabularyOf(corpus), { seed: 3 }), corpus, {
    batchSize: 16,
    seqLength: 32,
    lr: 1e-2,
  });
  try {
    const losses = [];
    const started = performance.now();
    assert.equal(await runTraining(trainer, { steps: 150, losses }), "done");
    const seconds = (performance.now() - started) / 1000;
    const first = losses[0];
    const last = mean(losses.slice(-20));
    // The untrained model is about a uniform guess, ln(61) ≈ 4.11 nats; one that has
    // learnt the letter and word statistics of the text is far below it.
    assert.ok(Math.abs(first - Math.log(61)) < 0.15, `first loss ${first}`);
    assert.ok(last < first - 1.2, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    assert.ok(losses.every(Number.isFinite));
    t.diagnostic(
      `150 steps of 16 × 32 characters: loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${seconds.toFixed(1)} s`,
    );
  } finally {
    trainer.dispose();
  }
});

test("the same seed gives the same losses", async () => {
  const run = async () => {
    const trainer = new CharTrainer(createModel(vocabularyOf(corpus), { seed: 5 }), corpus, { seqLength: 16 });
    const losses = [];
    await runTraining(trainer, { steps: 8, losses });
    trainer.dispose();
    return losses;
  };
  assert.deepEqual(await run(), await run());
});

test("the saved file reloads into wasm-rnn modules with the trained weights and PyTorch's key names", async () => {
  const trainer = new CharTrainer(createModel(vocabularyOf(corpus), { seed: 7 }), corpus, { seqLength: 16 });
  await runTraining(trainer, { steps: 10 });
  const file = loadSafetensors(trainer.save());
  assert.deepEqual(Object.keys(file.tensors).sort(), [
    "embed.weight",
    "fc.bias",
    "fc.weight",
    "rnn.bias_hh_l0",
    "rnn.bias_ih_l0",
    "rnn.weight_hh_l0",
    "rnn.weight_ih_l0",
  ]);
  assert.equal(file.metadata.cell, "lstm");
  assert.match(file.metadata.source, /10 steps/);
  for (const [prefix, module] of [
    ["embed.", trainer.model.embed],
    ["rnn.", trainer.model.rnn],
    ["fc.", trainer.model.fc],
  ]) {
    for (const [name, tensor] of Object.entries(module.stateDict())) {
      assert.deepEqual(file.tensors[prefix + name].data, tensor.data, prefix + name);
    }
  }
  const reloaded = loadModel(trainer.save());
  const prompt = "First Citizen:\n";
  assert.equal(text(reloaded, { prompt, length: 80, greedy: true }), trainer.sample({ prompt, length: 80 }));
  reloaded.dispose();
  trainer.dispose();
});

for (const backend of ["relaxed", "simd", "scalar"]) {
  test(`wasm-rnn generates PyTorch's text from a model wasm-rnn trained, on the ${backend} kernel`, {
    skip: !available[backend] && "not supported by this Node",
  }, async () => {
    await init({ backend });
    const model = loadModel(fixture);
    try {
      assert.equal(String(model), expected.architecture);
      const { prompt, length, sampled } = expected;
      assert.equal(text(model, { prompt, length, greedy: true }), expected.greedy, "greedy");
      assert.equal(text(model, { prompt, length, ...sampled }), sampled.text, "sampled");
    } finally {
      model.dispose();
      await init();
    }
  });
}

test("check.mjs prints the texts check.py printed from the fixture", () => {
  const check = (...args) =>
    execFileSync(
      process.execPath,
      [
        here("./check.mjs"),
        here("./fixture/model.safetensors"),
        "--prompt",
        expected.prompt.replaceAll("\n", "\\n"),
        ...args,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  assert.equal(check(), `${expected.prompt}${expected.greedy}\n`);
  const { temperature, seed, text: sampled } = expected.sampled;
  assert.equal(check("--temperature", String(temperature), "--seed", String(seed)), `${expected.prompt}${sampled}\n`);
});

test("fine-tuning keeps the shipped model's vocabulary, maps unknown characters and lowers the loss", async () => {
  const pasted = "Café “crème” — naïve\r\n".repeat(40);
  const { text, replaced } = fitToVocabulary(pasted, vocabularyOf(corpus));
  // Coriolanus has no double quote: the single one stands in.
  assert.equal(text.slice(0, 21), "Cafe 'creme' - naive\n");
  assert.deepEqual(replaced, { é: "e", è: "e", "“": "'", "”": "'", "—": "-", ï: "i" });
  const trainer = new CharTrainer(loadModel(shipped), pasted, { batchSize: 4, seqLength: 20, lr: 3e-3 });
  try {
    assert.equal(trainer.model.vocab.length, 61);
    const losses = [];
    await runTraining(trainer, { steps: 30, losses });
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 3)) - 0.5, losses.map((l) => l.toFixed(2)).join(" "));
    assert.match(trainer.sample({ prompt: "Café ", length: 40 }), /creme/);
  } finally {
    trainer.dispose();
  }
});

test("the Node script trains, reports progress and writes a file that reloads", () => {
  const out = join(scratch, "tiny.safetensors");
  const run = execFileSync(
    process.execPath,
    [here("./train.mjs"), "--steps", "20", "--seq", "16", "--hidden", "24", "--sample-every", "10", "--out", out],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  assert.match(run, /--- step 10, loss \d\.\d{3}/);
  assert.match(
    run,
    /trained 20 steps in [\d.]+ s .* loss 4\.\d{3} at step 1 → \d\.\d{3} \(mean of the last 50 steps\)/,
  );
  const model = loadModel(readFileSync(out));
  assert.equal(String(model), "Embedding(61, 16) → LSTM(16, 24) → Linear(in_features=24, out_features=61, bias=True)");
  model.dispose();
});

test("recentMean averages the last steps", () => {
  assert.equal(recentMean([9, 1, 2, 3], 3), 2);
  assert.equal(recentMean([4], 50), 4);
});

test("clock shows m:ss, rounding to whole seconds, and a dash while unknown", () => {
  assert.equal(clock(59.6), "1:00");
  assert.equal(clock(754), "12:34");
  assert.equal(clock(Number.POSITIVE_INFINITY), "–");
});
