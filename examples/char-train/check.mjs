#!/usr/bin/env node
// check.py's counterpart: loads a model that train.mjs (or the page) saved into
// wasm-rnn's modules and prints its greedy text from a prompt, which must equal
// what check.py prints from PyTorch.
//
//   node examples/char-train/check.mjs MODEL [--prompt TEXT] [--length N] [--temperature T [--seed S]]
import { readFileSync } from "node:fs";
import { init } from "wasm-rnn";
import { commandLine } from "../char-rnn/cli.mjs";
import { generate } from "../char-rnn/model.js";
import { loadModel } from "./trainer.js";

const HELP = `usage: node examples/char-train/check.mjs MODEL [options]
  --prompt TEXT     text to continue ("\\n" means a newline; default "First Citizen:\\n")
  --length N        characters to generate (default 200)
  --temperature T   sample with this temperature instead of taking the most likely character
  --seed S          the sampler's seed (default 42)`;

const { path, prompt, ...options } = commandLine(
  HELP,
  {
    prompt: { type: "string", default: "First Citizen:\\n" },
    length: { type: "string", default: "200" },
    temperature: { type: "string" },
    seed: { type: "string", default: "42" },
  },
  (values, number, positionals) => {
    if (positionals.length !== 1) throw new RangeError(`expected one model file, got ${positionals.length}`);
    return {
      path: positionals[0],
      prompt: values.prompt.replaceAll("\\n", "\n"),
      length: number("length", (n) => Number.isInteger(n) && n >= 0),
      greedy: values.temperature === undefined,
      temperature: values.temperature === undefined ? 1 : number("temperature", (n) => n > 0),
      seed: number("seed", Number.isInteger),
    };
  },
  { allowPositionals: true },
);
await init();
const model = loadModel(readFileSync(path));
console.error(String(model));
const text = [...generate(model, { prompt, ...options })].map((s) => s.char).join("");
console.log(prompt + text);
model.dispose();
