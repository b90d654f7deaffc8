// A Cloudflare Worker that serves text from the char-RNN demo's model.
//
//   GET /?prompt=MENENIUS:%0A&length=400&temperature=0.8&seed=42    sampled text (these are the defaults)
//   GET /?prompt=...&greedy=1                                        PyTorch's greedy text
//
// The text streams out as it is generated. "wasm-rnn" resolves to the package's
// Worker build (the "workerd" export condition), which imports its kernels as
// .wasm modules; the weights are a data module (an ArrayBuffer), see wrangler.toml.
import { init } from "wasm-rnn";
import weights from "../../char-rnn/model.safetensors";
import { CharModel, generate, median } from "../../char-rnn/model.js";
import expected from "../../char-rnn/expected.json";

// One model per isolate, made on first use and kept across requests.
let loaded;
function load() {
  loaded ??= init().then((runtime) => ({ runtime, model: CharModel.fromSafetensors(weights) }));
  return loaded;
}

/** Reads the generation options from the query string, with the Node demo's defaults. */
function options(url) {
  const q = url.searchParams;
  const number = (name, fallback) => (q.has(name) ? Number(q.get(name)) : fallback);
  const opts = {
    prompt: q.get("prompt") ?? "MENENIUS:\n",
    length: number("length", 400),
    temperature: number("temperature", 0.8),
    seed: number("seed", 42),
    greedy: q.has("greedy") && q.get("greedy") !== "0",
  };
  if (opts.prompt.length === 0) throw new RangeError("prompt must not be empty");
  if (!Number.isInteger(opts.length) || opts.length < 0 || opts.length > 5000)
    throw new RangeError("length must be an integer from 0 to 5000");
  if (!(opts.temperature > 0)) throw new RangeError("temperature must be a number above 0");
  if (!Number.isInteger(opts.seed)) throw new RangeError("seed must be an integer");
  return opts;
}

const worker = {
  async fetch(request) {
    const { runtime, model } = await load();
    let opts;
    let steps;
    try {
      opts = options(new URL(request.url));
      steps = generate(model, opts); // a generator: nothing runs until the stream pulls
      model.encode(opts.prompt); // refuse unknown characters before the 200 goes out
    } catch (error) {
      return new Response(`${error.message}\n`, { status: 400 });
    }
    const encoder = new TextEncoder();
    let first = true;
    const body = new ReadableStream({
      // Each pull sends a few dozen characters, so text flows while it is made.
      pull(controller) {
        let chunk = first ? opts.prompt : "";
        first = false;
        for (let i = 0; i < 32; i++) {
          const next = steps.next();
          if (next.done) {
            controller.enqueue(encoder.encode(chunk));
            controller.close();
            return;
          }
          chunk += next.value.char;
        }
        controller.enqueue(encoder.encode(chunk));
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/plain; charset=utf-8", "x-wasm-rnn-backend": runtime.backend },
    });
  },

  // `workerd test` calls this: the Worker must give PyTorch's text (expected.json).
  async test() {
    const { runtime, model } = await load();
    const latencies = [];
    for (const sample of expected.samples) {
      let text = "";
      for (const { char, ms } of generate(model, { prompt: sample.prompt, length: sample.length, greedy: true })) {
        text += char;
        latencies.push(ms);
      }
      if (text !== sample.greedy) {
        throw new Error(
          `greedy text from ${JSON.stringify(sample.prompt)} differs from PyTorch's:\n` +
            `  got      ${JSON.stringify(text)}\n  expected ${JSON.stringify(sample.greedy)}`,
        );
      }
    }
    // The same through the HTTP handler, as a client sees it.
    const sample = expected.samples[0];
    const query = new URLSearchParams({ prompt: sample.prompt, length: String(sample.length), greedy: "1" });
    const response = await worker.fetch(new Request(`http://worker/?${query}`));
    const served = await response.text();
    if (served !== sample.prompt + sample.greedy) throw new Error(`fetch() served ${JSON.stringify(served)}`);
    const defaults = await (await worker.fetch(new Request("http://worker/"))).text();
    if (defaults !== expected.sampled.prompt + expected.sampled.text) {
      throw new Error(`the default sampled text differs from PyTorch's:\n  got      ${JSON.stringify(defaults)}`);
    }
    const refused = await worker.fetch(new Request("http://worker/?prompt=%C3%A9"));
    if (refused.status !== 400) throw new Error(`an unknown character gave HTTP ${refused.status}, not 400`);
    // workerd's clock only advances on I/O (a Spectre mitigation), so in-Worker latency reads as 0.
    console.log(
      `worker: greedy text of ${expected.samples.length} prompts and sampled text equal PyTorch's · backend ${runtime.backend} · ` +
        `median ${(median(latencies) * 1000).toFixed(1)} µs per character (workerd's frozen clock)`,
    );
  },
};

export default worker;
