// The Node demo reproduces PyTorch's text (expected.json, written by train.py):
// the greedy text of every prompt and a seeded temperature-sampled text, on
// every kernel build this Node can run; the command-line demo prints the same.
//
//   node --experimental-wasm-relaxed-simd --test examples/char-rnn/node.test.mjs
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { detectFeatures, init } from "wasm-rnn";
import { CharModel, generate, median } from "./model.js";

const expected = JSON.parse(readFileSync(new URL("./expected.json", import.meta.url), "utf8"));
const weights = readFileSync(new URL("./model.safetensors", import.meta.url));
const features = detectFeatures();
const available = { relaxed: features.relaxedSimd, simd: features.simd, scalar: true };

for (const backend of ["relaxed", "simd", "scalar"]) {
  test(`generation equals PyTorch's on the ${backend} kernel`, {
    skip: !available[backend] && "not supported by this Node",
  }, async (t) => {
    await init({ backend });
    const model = CharModel.fromSafetensors(weights);
    try {
      const latencies = [];
      for (const sample of expected.samples) {
        let text = "";
        for (const { char, ms } of generate(model, { prompt: sample.prompt, length: sample.length, greedy: true })) {
          text += char;
          latencies.push(ms);
        }
        assert.equal(text, sample.greedy, `prompt ${JSON.stringify(sample.prompt)}`);
      }
      const { prompt, length, temperature, seed, text } = expected.sampled;
      const sampled = [...generate(model, { prompt, length, temperature, seed })].map((s) => s.char).join("");
      assert.equal(sampled, text, "temperature sampling");
      t.diagnostic(
        `node ${process.version} ${backend}: median ${(median(latencies) * 1000).toFixed(1)} µs per character`,
      );
    } finally {
      model.dispose();
    }
  });
}

test("the model is PyTorch's, part for part: Embedding, recurrent layer and Linear by their reprs", async () => {
  await init();
  const model = CharModel.fromSafetensors(weights);
  assert.equal(String(model), expected.architecture);
  model.dispose();
});

test("sampling is reproducible from the seed and differs between seeds", async () => {
  await init();
  const model = CharModel.fromSafetensors(weights);
  const text = (seed) =>
    [...generate(model, { prompt: "MENENIUS:\n", length: 120, temperature: 0.8, seed })].map((s) => s.char).join("");
  assert.equal(text(7), text(7));
  assert.notEqual(text(7), text(8));
  model.dispose();
});

test("a prompt outside the vocabulary is refused by name", async () => {
  await init();
  const model = CharModel.fromSafetensors(weights);
  assert.throws(() => [...generate(model, { prompt: "héllo", length: 5 })], /no "é"/);
  model.dispose();
});

const demo = (...args) =>
  execFileSync(process.execPath, [fileURLToPath(new URL("./generate.mjs", import.meta.url)), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

test("the command-line demo prints PyTorch's greedy text", () => {
  const sample = expected.samples[1];
  const stdout = demo("--greedy", "--length", String(sample.length), "--prompt", sample.prompt.replaceAll("\n", "\\n"));
  assert.equal(stdout, `${sample.prompt}${sample.greedy}\n`);
});

test("the command-line demo's defaults give PyTorch's sampled text", () => {
  const { prompt, length, text } = expected.sampled;
  assert.equal(demo("--length", String(length)), `${prompt}${text}\n`);
});
