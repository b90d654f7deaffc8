// The implementations the benchmark times. Each `prepare(ctx)` builds its
// model from the same PyTorch-layout weights (wasm-rnn's stateDict) and
// returns { run, toOutput, dispose, note? }:
//   run()          one forward on the prepared input (may return a promise)
//   toOutput(raw)  run's result as the last layer's output, time-major,
//                  padded [seq, batch, D·H], for the cross-check against wasm-rnn
// Everything a caller would do once (weights, sessions, input tensors,
// PackedSequence) happens in prepare; everything a caller does per inference
// (the forward, and reading the result back into JS) happens in run.
//
// The context `ctx`: { name, spec, x (time-major Float32Array, zeros past each
// length for P), lengths (null unless packed), stateDict, dims: {T, B, I, H, D, L} }.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { naiveRnn } from "./naive.mjs";
import { rnnModel } from "./onnx.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** wasm-rnn on one kernel build. `lib` is the imported dist/node.js. */
export function wasmRnn(lib, backend, module) {
  return {
    async prepare(ctx) {
      // init() makes this build's fresh instance the one new models bind to;
      // each model keeps its own kernel, so the builds never share memory.
      // `module` is the build compiled once by run.mjs.
      await lib.init(module ? { backend, module } : { backend });
      const { spec } = ctx;
      const { T, B, I } = ctx.dims;
      const rnn = new lib.RNN({
        inputSize: I, hiddenSize: spec.hidden, numLayers: spec.layers, nonlinearity: spec.nonlinearity,
        bidirectional: spec.bidirectional, seed: spec.seed,
      }).eval();
      const padded = new lib.Tensor(ctx.x, [T, B, I]);
      const input = ctx.lengths ? lib.packPaddedSequence(padded, ctx.lengths) : padded;
      return {
        rnn,
        run: () => rnn.forward(input),
        toOutput: ([out]) => (ctx.lengths ? lib.padPackedSequence(out, { totalLength: T })[0] : out).data,
        dispose: () => rnn.dispose(),
      };
    },
  };
}

/** onnxruntime-web, wasm execution provider, one thread, on an ONNX graph written by onnx.mjs. */
export function onnxruntimeWeb(ort) {
  return {
    async prepare(ctx) {
      const { T, B, I } = ctx.dims;
      const bytes = rnnModel(ctx.spec, ctx.stateDict, ctx.lengths !== null);
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
      });
      const feeds = { x: new ort.Tensor("float32", ctx.x, [T, B, I]) };
      if (ctx.lengths) feeds.lengths = new ort.Tensor("int32", Int32Array.from(ctx.lengths), [B]);
      return {
        run: () => session.run(feeds),
        toOutput: (r) => r.y.data,
        dispose: () => session.release(),
        note: ctx.lengths ? "P: padded input + ONNX sequence_lens" : undefined,
      };
    },
  };
}

/** TF.js layers on the wasm backend: SimpleRNN (Bidirectional for bi), batch-major like Keras. */
export function tfjsWasm(tf) {
  return {
    async prepare(ctx) {
      const { spec } = ctx;
      const { T, B, I, H, D, L } = ctx.dims;
      const model = tf.sequential();
      // Keras has no packed sequences. Its equivalent is a mask: the Masking
      // layer flags all-zero timesteps, and the RNN carries its state across
      // them (the backward layer reverses the mask too), so the valid outputs
      // equal PyTorch's packed ones. The padded steps are still computed.
      if (ctx.lengths) model.add(tf.layers.masking({ maskValue: 0, inputShape: [T, I] }));
      for (let l = 0; l < L; l++) {
        const shape = l === 0 && !ctx.lengths ? { inputShape: [T, I] } : {};
        // Zero initializers: the weights are overwritten below, and the default
        // orthogonal recurrent initializer is slow (and warns) for large H.
        const cell = (extra) => tf.layers.simpleRNN({
          units: H, activation: spec.nonlinearity, returnSequences: true,
          kernelInitializer: "zeros", recurrentInitializer: "zeros", biasInitializer: "zeros", ...extra,
        });
        model.add(D === 2
          ? tf.layers.bidirectional({ layer: cell({}), mergeMode: "concat", ...shape })
          : cell(shape));
      }
      // Keras keeps kernel = W_ihᵀ, recurrent_kernel = W_hhᵀ and one bias,
      // which must be b_ih + b_hh. Weight order: per layer, forward then backward.
      const weights = [];
      for (let l = 0; l < L; l++) {
        for (let d = 0; d < D; d++) {
          const s = `_l${l}${d === 1 ? "_reverse" : ""}`;
          const inputs = l === 0 ? I : D * H;
          const bIh = ctx.stateDict[`bias_ih${s}`].data;
          const bHh = ctx.stateDict[`bias_hh${s}`].data;
          weights.push(tf.tensor2d(transpose(ctx.stateDict[`weight_ih${s}`].data, H, inputs), [inputs, H]));
          weights.push(tf.tensor2d(transpose(ctx.stateDict[`weight_hh${s}`].data, H, H), [H, H]));
          weights.push(tf.tensor1d(bIh.map((v, j) => v + bHh[j])));
        }
      }
      model.setWeights(weights);
      weights.forEach((w) => w.dispose());
      const xt = tf.tensor3d(timeToBatchMajor(ctx.x, T, B, I), [B, T, I]);
      return {
        run: () => {
          const y = model.predict(xt);
          const data = y.dataSync();
          y.dispose();
          return data;
        },
        toOutput: (data) => batchToTimeMajor(data, T, B, D * H),
        dispose: () => {
          xt.dispose();
          model.dispose();
        },
        note: ctx.lengths ? "P: padded input + Masking layer (computes every padded step)" : undefined,
      };
    },
  };
}

/** The naive JS loops of naive.mjs. */
export function naiveJs() {
  return {
    async prepare(ctx) {
      return {
        run: () => naiveRnn(ctx.spec, ctx.stateDict, ctx.x, ctx.lengths),
        toOutput: (y) => y,
        dispose: () => {},
      };
    },
  };
}

/**
 * PyTorch CPU through torch_bench.py: it times itself with the same policy
 * (a subprocess cannot be timed call by call from here) and writes its output.
 * Returns { measured, output } instead of run/toOutput.
 */
export function pytorch(python) {
  return {
    available() {
      const r = spawnSync(python, ["-c", "import torch, numpy"], { encoding: "utf8" });
      if (r.error) return `${python} not found (${r.error.code})`;
      if (r.status !== 0) return `\`${python} -c "import torch"\` failed: ${lastLine(r.stderr)}`;
      return null;
    },
    async prepare(ctx, policy) {
      const dir = mkdtempSync(join(tmpdir(), "wasm-rnn-bench-"));
      try {
        const params = [];
        const chunks = [];
        for (const [name, t] of Object.entries(ctx.stateDict)) {
          params.push([name, [...t.shape]]);
          chunks.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        }
        writeFileSync(join(dir, "params.bin"), Buffer.concat(chunks));
        writeFileSync(join(dir, "x.bin"), Buffer.from(ctx.x.buffer, ctx.x.byteOffset, ctx.x.byteLength));
        writeFileSync(join(dir, "job.json"), JSON.stringify({ spec: ctx.spec, params, lengths: ctx.lengths, policy }));
        const r = spawnSync(python, [join(HERE, "torch_bench.py"), dir], {
          encoding: "utf8",
          maxBuffer: 1 << 20,
          // One thread whatever the environment says: OpenMP and BLAS read these at load time.
          env: { ...process.env, OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
        });
        if (r.status !== 0) throw new Error(`torch_bench.py exited with ${r.status}: ${lastLine(r.stderr)}`);
        const measured = JSON.parse(r.stdout.trim().split("\n").pop());
        const y = readFileSync(join(dir, "y.bin"));
        const output = new Float32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength));
        return { measured, output };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function lastLine(text) {
  return (text || "").trim().split("\n").pop() || "(no output)";
}

/** rows × cols row-major → cols × rows row-major. */
function transpose(w, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

function timeToBatchMajor(x, T, B, F) {
  const out = new Float32Array(x.length);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out.set(x.subarray((t * B + b) * F, (t * B + b + 1) * F), (b * T + t) * F);
  return out;
}

function batchToTimeMajor(x, T, B, F) {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out.set(x.subarray((b * T + t) * F, (b * T + t + 1) * F), (t * B + b) * F);
  return out;
}
