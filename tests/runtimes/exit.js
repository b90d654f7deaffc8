// A program that runs a forward on threads and never calls terminate(): the
// process must end by itself when its work is done (the harness gives it a
// minute). Run by Node, Deno and Bun as a plain script, no test runner around it.
import * as pkg from "wasm-rnn";

const runtime = await pkg.init({ threads: 2, requireThreads: true });
const rnn = new pkg.LSTM({ inputSize: 64, hiddenSize: 128, numLayers: 2 });
const input = new pkg.Tensor(
  Float32Array.from({ length: 12 * 8 * 64 }, (_, i) => Math.sin(i)),
  [12, 8, 64],
);
const [output] = rnn.forward(input);
if (!output.data.every(Number.isFinite)) throw new Error("exit.js: the forward on threads gave non-finite values");
const { Deno, Bun } = /** @type {any} */ (globalThis);
const name = Deno ? `Deno ${Deno.version.deno}` : Bun ? `Bun ${Bun.version}` : `Node ${process.version}`;
console.log(`smoke: ${JSON.stringify({ runtime: name, exited: true, threads: runtime.threads })}`);
