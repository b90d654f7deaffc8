// Worker for concurrency.test.mjs: its own wasm-rnn instance (init() in this
// thread), one model per request, results posted back as raw bytes. Requests:
// { backend, config, input: { data, shape }, h0: { data, shape } | null }.
import { parentPort } from "node:worker_threads";
import { init, RNN, Tensor } from "wasm-rnn";

// Requests run one at a time: init() switches this thread's kernel for the
// models created after it, so two interleaved requests could otherwise build
// one's model on the other's kernel.
let queue = Promise.resolve();
parentPort.on("message", (request) => {
  queue = queue.then(() => handle(request));
});

async function handle({ id, backend, config, input, h0 }) {
  try {
    const runtime = await init({ backend });
    const rnn = new RNN(config);
    try {
      const [out, hN] = rnn.forward(new Tensor(input.data, input.shape), h0 && new Tensor(h0.data, h0.shape));
      parentPort.postMessage(
        {
          id,
          backend: runtime.backend,
          memory: runtime.kernel.memory.buffer.byteLength,
          output: { data: out.data, shape: [...out.shape] },
          hN: { data: hN.data, shape: [...hN.shape] },
        },
        [out.data.buffer, hN.data.buffer],
      );
    } finally {
      rnn.dispose();
    }
  } catch (error) {
    parentPort.postMessage({ id, error: `${error?.constructor?.name}: ${error?.message}` });
  }
}
