#!/usr/bin/env node
// The char-RNN demo in a terminal: streams text from the PyTorch-trained model
// in model.safetensors, then reports the per-character latency and the kernel
// build in use. The text goes to stdout, everything else to stderr.
//
//   node examples/char-rnn/generate.mjs [--prompt TEXT] [--length N]
//        [--temperature T] [--seed S] [--greedy] [--backend relaxed|simd|scalar]
import { readFileSync } from "node:fs";
import { init } from "wasm-rnn";
import { commandLine } from "./cli.mjs";
import { CharModel, generate, median } from "./model.js";

const HELP = `usage: node examples/char-rnn/generate.mjs [options]
  --prompt TEXT        text to continue ("\\n" means a newline; default "MENENIUS:\\n")
  --length N           characters to generate (default 400)
  --temperature T      sampling temperature, > 0 (default 0.8)
  --seed S             seed of the sampler (default 42)
  --greedy             always take the most likely character (PyTorch's greedy output)
  --backend NAME       force a kernel build: relaxed, simd or scalar (default: the fastest available)
  --help`;

function options() {
  return commandLine(
    HELP,
    {
      prompt: { type: "string", default: "MENENIUS:\\n" },
      length: { type: "string", default: "400" },
      temperature: { type: "string", default: "0.8" },
      seed: { type: "string", default: "42" },
      greedy: { type: "boolean", default: false },
      backend: { type: "string" },
    },
    (values, number) => ({
      // Shells make real newlines awkward to type, hence the escape.
      prompt: values.prompt.replaceAll("\\n", "\n"),
      length: number("length", (n) => Number.isInteger(n) && n >= 0),
      temperature: number("temperature", (n) => n > 0),
      seed: number("seed", Number.isInteger),
      greedy: values.greedy,
      backend: values.backend,
    }),
  );
}

async function main() {
  const opts = options();
  const runtime = await init(opts.backend ? { backend: opts.backend } : undefined);
  const model = CharModel.fromSafetensors(readFileSync(new URL("./model.safetensors", import.meta.url)));
  try {
    model.encode(opts.prompt);
  } catch (error) {
    console.error(`--prompt: ${error.message}; it knows ${JSON.stringify(model.vocab.join(""))}`);
    process.exit(2);
  }
  const mode = opts.greedy ? "greedy" : `temperature ${opts.temperature}, seed ${opts.seed}`;
  console.error(`wasm-rnn char-rnn · backend: ${runtime.backend} · ${model} · ${mode}\n`);

  process.stdout.write(opts.prompt);
  const latencies = [];
  const started = performance.now();
  for (const { char, ms } of generate(model, opts)) {
    process.stdout.write(char);
    latencies.push(ms);
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write("\n");
  if (latencies.length > 0) {
    console.error(
      `\n${latencies.length} characters in ${seconds.toFixed(3)} s · ` +
        `median ${(median(latencies) * 1000).toFixed(1)} µs per character · backend: ${runtime.backend}`,
    );
  }
  model.dispose();
}

await main();
