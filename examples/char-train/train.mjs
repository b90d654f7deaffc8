#!/usr/bin/env node
// Trains a character-level Embedding → LSTM → Linear model with wasm-rnn in Node,
// from scratch or by fine-tuning the shipped char-rnn model, and writes it as a
// .safetensors file that PyTorch loads (check.py). Loss and samples go to stdout,
// the progress line to stderr.
//
//   node examples/char-train/train.mjs [--text FILE] [--steps N] [--fine-tune] [--out FILE] …
import { readFileSync, writeFileSync } from "node:fs";
import { init } from "wasm-rnn";
import { commandLine } from "../char-rnn/cli.mjs";
import {
  CharTrainer,
  clock,
  createModel,
  defaultPrompt,
  loadModel,
  recentMean,
  runTraining,
  vocabularyOf,
} from "./trainer.js";

const CORPUS = new URL("../char-rnn/data/coriolanus.txt", import.meta.url);
const SHIPPED = new URL("../char-rnn/model.safetensors", import.meta.url);

const HELP = `usage: node examples/char-train/train.mjs [options]
  --text FILE          training text (default: examples/char-rnn/data/coriolanus.txt)
  --steps N            optimizer steps (default 1500)
  --fine-tune          start from the shipped char-rnn model (its vocabulary; unknown characters are mapped)
  --embed E            embedding size of a model from scratch (default 16)
  --hidden H           LSTM hidden size of a model from scratch (default 64)
  --batch B            parallel streams through the text (default 16)
  --seq T              characters per truncated-BPTT chunk (default 64)
  --lr LR              Adam's learning rate (default 3e-3 from scratch, 1e-3 fine-tuning)
  --clip C             clipGradNorm's max norm (default 1)
  --seed S             initialisation seed of a model from scratch (default 1)
  --prompt TEXT        prompt of the samples ("\\n" means a newline; default: the text's first line)
  --sample-every N     print a greedy sample every N steps (default 500; 0: only at the end)
  --out FILE           where to write the model (default char-train.safetensors)
  --backend NAME       force a kernel build: relaxed, simd or scalar
  --help`;

function options() {
  return commandLine(
    HELP,
    {
      text: { type: "string" },
      steps: { type: "string", default: "1500" },
      "fine-tune": { type: "boolean", default: false },
      embed: { type: "string", default: "16" },
      hidden: { type: "string", default: "64" },
      batch: { type: "string", default: "16" },
      seq: { type: "string", default: "64" },
      lr: { type: "string" },
      clip: { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      prompt: { type: "string" },
      "sample-every": { type: "string", default: "500" },
      out: { type: "string", default: "char-train.safetensors" },
      backend: { type: "string" },
    },
    (values, number) => {
      const count = (n) => Number.isInteger(n) && n >= 1;
      const fineTune = values["fine-tune"];
      return {
        text: values.text,
        steps: number("steps", count),
        fineTune,
        embeddingDim: number("embed", count),
        hiddenSize: number("hidden", count),
        batchSize: number("batch", count),
        seqLength: number("seq", count),
        lr: values.lr === undefined ? (fineTune ? 1e-3 : 3e-3) : number("lr", (n) => n > 0),
        clip: number("clip", (n) => n > 0),
        seed: number("seed", Number.isInteger),
        // Shells make real newlines awkward to type, hence the escape.
        prompt: values.prompt?.replaceAll("\\n", "\n"),
        sampleEvery: number("sample-every", (n) => Number.isInteger(n) && n >= 0),
        out: values.out,
        backend: values.backend,
      };
    },
  );
}

async function main() {
  const opts = options();
  const runtime = await init(opts.backend ? { backend: opts.backend } : undefined);
  let trainer;
  try {
    const text = readFileSync(opts.text ?? CORPUS, "utf8");
    const model = opts.fineTune
      ? loadModel(readFileSync(SHIPPED))
      : createModel(vocabularyOf(text), {
          embeddingDim: opts.embeddingDim,
          hiddenSize: opts.hiddenSize,
          seed: opts.seed,
        });
    trainer = new CharTrainer(model, text, {
      batchSize: opts.batchSize,
      seqLength: opts.seqLength,
      lr: opts.lr,
      clip: opts.clip,
      source: opts.text ?? "examples/char-rnn/data/coriolanus.txt",
    });
  } catch (error) {
    // A missing file or a text too short to train on: say so, without a stack trace.
    console.error(`train.mjs: ${error.message}`);
    process.exit(2);
  }
  const { model, source } = trainer;
  const prompt = opts.prompt ?? defaultPrompt(trainer.text);
  const { batchSize, seqLength } = trainer.streams;
  console.log(
    `wasm-rnn char-train · backend: ${runtime.backend} · ${model} · ${opts.fineTune ? "fine-tuning" : "from scratch"}\n` +
      `text: ${source}, ${trainer.text.length} characters, vocabulary ${model.vocab.length} · ` +
      `batch ${batchSize} × ${seqLength} characters · Adam lr ${opts.lr} · clip ${opts.clip} · ${opts.steps} steps`,
  );
  const replaced = Object.entries(trainer.replaced);
  if (replaced.length > 0) {
    console.log(
      `mapped to the model's vocabulary: ${replaced.map(([a, b]) => `${JSON.stringify(a)}→${JSON.stringify(b)}`).join(" ")}`,
    );
  }

  const losses = [];
  const showSample = (step) => {
    console.log(`\n--- step ${step}, loss ${recentMean(losses).toFixed(3)}, greedy:`);
    console.log(`${prompt}${trainer.sample({ prompt, length: 200 })}`);
    console.log(`--- sampled at temperature 0.8 (seed ${step}):`);
    console.log(`${prompt}${trainer.sample({ prompt, length: 200, greedy: false, temperature: 0.8, seed: step })}\n`);
  };
  const interactive = process.stderr.isTTY;
  let lastLog = 0;
  const started = performance.now();
  await runTraining(trainer, {
    steps: opts.steps,
    losses,
    sampleEvery: opts.sampleEvery,
    sliceMs: 200,
    onSample: showSample,
    onProgress: ({ step, total, stepsPerSecond, etaSeconds }) => {
      const line =
        `step ${String(step).padStart(String(total).length)}/${total}  loss ${recentMean(losses).toFixed(3)}  ` +
        `${stepsPerSecond.toFixed(1)} steps/s  ETA ${clock(etaSeconds)}`;
      if (interactive) process.stderr.write(`\r${line}  `);
      else if (step - lastLog >= 100 || step === total) {
        console.error(line);
        lastLog = step;
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  if (interactive) process.stderr.write("\n");
  console.log(
    `trained ${trainer.steps} steps in ${seconds.toFixed(1)} s (${(trainer.steps / seconds).toFixed(1)} steps/s, ` +
      `${Math.round((trainer.steps * trainer.charsPerStep) / seconds)} characters/s): ` +
      `loss ${losses[0].toFixed(3)} at step 1 → ${recentMean(losses).toFixed(3)} (mean of the last 50 steps)`,
  );
  if (opts.sampleEvery === 0 || trainer.steps % opts.sampleEvery !== 0) showSample(trainer.steps);
  const bytes = trainer.save();
  writeFileSync(opts.out, bytes);
  console.log(
    `wrote ${opts.out} (${bytes.length} bytes); check it with PyTorch: /usr/bin/python3 examples/char-train/check.py ${opts.out}`,
  );
  trainer.dispose();
}

await main();
