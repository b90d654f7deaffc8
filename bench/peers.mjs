// The implementations the benchmark times. Each `prepare(ctx)` builds its
// model from the same PyTorch-layout weights (wasm-rnn's stateDict) and
// returns { run, toOutput, dispose, note? }:
//   run()          one forward on the prepared input (may return a promise)
//   toOutput(raw)  run's result as the last layer's output, time-major,
//                  padded [seq, batch, D·R] (R = projSize or hidden size),
//                  for the cross-check against wasm-rnn
// A peer that cannot express a workload throws an `Unsupported` error from
// prepare; the report shows "—" and the reason.
// Everything a caller would do once (weights, sessions, input tensors,
// PackedSequence) happens in prepare; everything a caller does per inference
// (the forward, and reading the result back into JS) happens in run.
//
// The context `ctx`: { name, spec (mode "rnn" | "lstm" | "gru", proj for an
// LSTM's projSize), x (time-major Float32Array, zeros past each length for P),
// lengths (null unless packed), stateDict, dims: {T, B, I, H, D, L} }.
//
// Training (train.mjs): with `ctx.gradOutput` (a fixed gradient of the
// output, time-major [T, B, D·R]; unpacked workloads only), wasm-rnn and TF.js
// also return `trainer(optimizer?)`, called after the forward has been timed:
// it switches to training and returns { step(check?), dispose() }. A step is
// one training step: forward and backward (every parameter's gradient and the
// input's), with `optimizer` (a name of OPTIMIZERS) its update, then the
// gradients cleared for the next step. Given an object `check`, the step
// leaves in it the input's gradient (time-major [T, B, I]) and, where the
// layout is PyTorch's, the parameters' gradients by stateDict name.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { naiveForward } from "./naive.mjs";
import { recurrentModel } from "./onnx.mjs";
import { tfjsGated, transpose } from "./tfjs_gated.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** A workload the peer has no way to express (not a failure of the peer). */
export class Unsupported extends Error {}

/** wasm-rnn's constructor options for a workload spec. */
export function moduleOptions(spec) {
  const options = {
    inputSize: spec.input,
    hiddenSize: spec.hidden,
    numLayers: spec.layers,
    bidirectional: spec.bidirectional,
    seed: spec.seed,
  };
  if (spec.mode === "rnn") options.nonlinearity = spec.nonlinearity;
  if (spec.proj) options.projSize = spec.proj;
  return options;
}

const CLASS = { rnn: "RNN", lstm: "LSTM", gru: "GRU" };

/** The module class of `lib` for a workload spec: RNN, LSTM or GRU. */
export function moduleClass(lib, spec) {
  const cls = lib[CLASS[spec.mode]];
  if (typeof cls !== "function") throw new Error(`this build of wasm-rnn has no ${CLASS[spec.mode]}`);
  return cls;
}

/**
 * The weights every implementation uses: wasm-rnn's seeded init for the
 * workload, in PyTorch layout, made on the build `init` selects.
 */
export async function seededStateDict(lib, spec, init) {
  await lib.init(init);
  const source = new (moduleClass(lib, spec))(moduleOptions(spec));
  try {
    return source.stateDict();
  } finally {
    source.dispose();
  }
}

/**
 * wasm-rnn on one kernel build. `lib` is the imported dist/node.js; `options`
 * are more of init()'s (threads.mjs: `{ threads, requireThreads }`), and the
 * prepared run keeps what init() returned as `runtime`.
 */
export function wasmRnn(lib, backend, module, options = {}) {
  return {
    async prepare(ctx) {
      // init() makes this build's fresh instance the one new models bind to;
      // each model keeps its own kernel, so the builds never share memory.
      // `module` is the build compiled once by run.mjs.
      const runtime = await lib.init({ ...(module ? { backend, module } : { backend }), ...options });
      const { T, B, I } = ctx.dims;
      const Module = moduleClass(lib, ctx.spec);
      const rnn = new Module(moduleOptions(ctx.spec)).eval();
      const padded = new lib.Tensor(ctx.x, [T, B, I]);
      const input = ctx.lengths ? lib.packPaddedSequence(padded, ctx.lengths) : padded;
      return {
        rnn,
        runtime,
        run: () => rnn.forward(input),
        toOutput: ([out]) => (ctx.lengths ? lib.padPackedSequence(out, { totalLength: T })[0] : out).data,
        trainer: ctx.gradOutput ? (optimizer) => wasmRnnTrainer(lib, rnn, input, ctx, optimizer) : undefined,
        dispose: () => rnn.dispose(),
      };
    },
  };
}

/**
 * The optimizers a training step can include, with PyTorch's defaults but the
 * learning rate, in each implementation's spelling.
 */
export const OPTIMIZERS = {
  sgd: { wasmRnn: "SGD", torch: "SGD", tfjs: (tf, lr) => tf.train.sgd(lr), lr: 1e-3 },
  adam: { wasmRnn: "Adam", torch: "Adam", tfjs: (tf, lr) => tf.train.adam(lr, 0.9, 0.999, 1e-8), lr: 1e-3 },
};

/**
 * A training step of wasm-rnn: train mode, forward, backward of the fixed
 * output gradient, the optimizer's step if any, zeroGrad.
 */
function wasmRnnTrainer(lib, rnn, input, ctx, optimizer) {
  if (typeof rnn.backward !== "function") throw new Unsupported("this build of wasm-rnn has no backward");
  const { T, B, D } = ctx.dims;
  const gradOutput = new lib.Tensor(ctx.gradOutput, [T, B, D * (ctx.spec.proj || ctx.spec.hidden)]);
  const update = optimizer
    ? new lib[OPTIMIZERS[optimizer].wasmRnn](rnn, { lr: OPTIMIZERS[optimizer].lr })
    : { step() {}, zeroGrad: () => rnn.zeroGrad() };
  rnn.train();
  return {
    step: (check) => {
      rnn.forward(input);
      const [gradInput] = rnn.backward(gradOutput);
      if (check) {
        check.gradInput = gradInput.data;
        check.gradients = Object.fromEntries(Object.entries(rnn.gradients()).map(([name, g]) => [name, g.data]));
      }
      update.step();
      update.zeroGrad();
    },
    dispose: () => {},
  };
}

/**
 * A TF.js training step: the gradients of sum(forward() · gradOutput) with
 * respect to `variables` (the input first) through tf.variableGrads, the
 * input's read back to JavaScript (as wasm-rnn's backward returns it), the
 * weights' applied by the optimizer if any, all freed. `toTimeMajor` maps the
 * input's gradient to [T, B, I].
 */
function tfjsTrainer(tf, { forward, variables, gradOutput, toTimeMajor }, optimizer) {
  const [input] = variables;
  const update = optimizer ? OPTIMIZERS[optimizer].tfjs(tf, OPTIMIZERS[optimizer].lr) : null;
  return {
    step: (check) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), gradOutput)), variables);
      const { [input.name]: gradInput, ...weights } = grads;
      const data = gradInput.dataSync();
      if (check) check.gradInput = toTimeMajor(data);
      update?.applyGradients(weights);
      value.dispose();
      tf.dispose(grads);
    },
    dispose: () => update?.dispose(),
  };
}

/** onnxruntime-web, wasm execution provider (threads: `ort.env.wasm.numThreads`), on an ONNX graph written by onnx.mjs. */
export function onnxruntimeWeb(ort) {
  return {
    async prepare(ctx) {
      const { T, B, I } = ctx.dims;
      if (ctx.spec.proj) throw new Unsupported("ONNX's LSTM operator has no projection (proj_size)");
      const bytes = recurrentModel(ctx.spec, ctx.stateDict, ctx.lengths !== null);
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

/**
 * TF.js on the wasm backend: tf.layers' SimpleRNN for RNN workloads (Bidirectional
 * for bi), batch-major like Keras; LSTM and GRU as core ops (tfjs_gated.mjs).
 */
export function tfjsWasm(tf) {
  return {
    async prepare(ctx) {
      const { spec } = ctx;
      const { T, B, I, H, D } = ctx.dims;
      if (spec.mode !== "rnn") {
        const gated = tfjsGated(tf, spec, ctx.stateDict, ctx.x, ctx.lengths, { trainable: Boolean(ctx.gradOutput) });
        const gradOutput = ctx.gradOutput ? tf.tensor2d(ctx.gradOutput, [T * B, D * (spec.proj || H)]) : null;
        return {
          run: gated.run,
          toOutput: (data) => data,
          trainer: gradOutput
            ? (optimizer) =>
                tfjsTrainer(
                  tf,
                  { forward: gated.forward, variables: gated.variables, gradOutput, toTimeMajor: (g) => g },
                  optimizer,
                )
            : undefined,
          dispose: () => {
            gradOutput?.dispose();
            gated.dispose();
          },
          note: ctx.lengths ? "P: padded input, every padded step computed and masked" : undefined,
        };
      }
      const model = simpleRnnModel(tf, ctx);
      const xt = tf.tensor3d(timeToBatchMajor(ctx.x, T, B, I), [B, T, I]);
      // Training: the input as a variable too (its gradient is the gradInput wasm-rnn returns), the layers' weights.
      const trainable = ctx.gradOutput
        ? {
            x: tf.variable(xt),
            gradOutput: tf.tensor3d(timeToBatchMajor(ctx.gradOutput, T, B, D * H), [B, T, D * H]),
          }
        : null;
      return {
        run: () => {
          const y = model.predict(xt);
          const data = y.dataSync();
          y.dispose();
          return data;
        },
        toOutput: (data) => batchToTimeMajor(data, T, B, D * H),
        trainer: trainable
          ? (optimizer) =>
              tfjsTrainer(
                tf,
                {
                  forward: () => model.apply(trainable.x, { training: true }),
                  variables: [trainable.x, ...model.trainableWeights.map((w) => w.read())],
                  gradOutput: trainable.gradOutput,
                  toTimeMajor: (g) => batchToTimeMajor(g, T, B, I),
                },
                optimizer,
              )
          : undefined,
        dispose: () => {
          if (trainable) tf.dispose([trainable.x, trainable.gradOutput]);
          xt.dispose();
          model.dispose();
        },
        note: ctx.lengths ? "P: padded input + Masking layer (computes every padded step)" : undefined,
      };
    },
  };
}

/**
 * An RNN workload as tf.layers: a `tf.sequential` of SimpleRNN layers
 * (Bidirectional for bi), batch-major like Keras, with the stateDict's weights.
 */
function simpleRnnModel(tf, ctx) {
  const { T, I, H, D, L } = ctx.dims;
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
    const cell = (extra) =>
      tf.layers.simpleRNN({
        units: H,
        activation: ctx.spec.nonlinearity,
        returnSequences: true,
        kernelInitializer: "zeros",
        recurrentInitializer: "zeros",
        biasInitializer: "zeros",
        ...extra,
      });
    model.add(D === 2 ? tf.layers.bidirectional({ layer: cell({}), mergeMode: "concat", ...shape }) : cell(shape));
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
  return model;
}

/** The naive JS loops of naive.mjs. */
export function naiveJs() {
  return {
    async prepare(ctx) {
      return {
        run: () => naiveForward(ctx.spec, ctx.stateDict, ctx.x, ctx.lengths),
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
 *
 * PyTorch's GEMMs go to whatever libblas.so.3 the dynamic loader finds. On
 * Debian that is an alternative, and the reference BLAS makes PyTorch several
 * times slower than it is: when the system's choice is not OpenBLAS, this
 * process (only) is pointed at OpenBLAS's directory with LD_LIBRARY_PATH, and
 * torch_bench.py reports the libraries it actually mapped.
 */
export function pytorch(python, threads = 1) {
  const env = torchEnv(threads);
  const script = join(HERE, "torch_bench.py");
  return {
    threads,
    env,
    available() {
      const r = spawnSync(python, ["-c", "import torch, numpy"], { encoding: "utf8", env });
      if (r.error) return `${python} not found (${r.error.code})`;
      if (r.status !== 0) return `\`${python} -c "import torch"\` failed: ${lastLine(r.stderr)}`;
      return null;
    },
    /** {version, isa, blasInfo, blas: [mapped BLAS/LAPACK files], threads} from the process the jobs run in. */
    info() {
      const r = spawnSync(python, [script, "--info"], { encoding: "utf8", env });
      if (r.status !== 0) throw new Error(`torch_bench.py --info exited with ${r.status}: ${lastLine(r.stderr)}`);
      return { ...JSON.parse(r.stdout.trim().split("\n").pop()), ldLibraryPath: env.LD_LIBRARY_PATH ?? null };
    },
    /**
     * Runs a job; with ctx.gradOutput a training job, whose `measured` is
     * { forward, train } (and `trainOptimizer`, a step with ctx.optimizer's
     * update, when given) and which also returns the first step's `gradInput`
     * and `gradients` (by stateDict name).
     */
    async prepare(ctx, policy) {
      const dir = mkdtempSync(join(tmpdir(), "wasm-rnn-bench-"));
      const write = (file, a) => writeFileSync(join(dir, file), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
      const read = (file) => {
        const bytes = readFileSync(join(dir, file));
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      };
      try {
        const params = [];
        const chunks = [];
        for (const [name, t] of Object.entries(ctx.stateDict)) {
          params.push([name, [...t.shape]]);
          chunks.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        }
        writeFileSync(join(dir, "params.bin"), Buffer.concat(chunks));
        write("x.bin", ctx.x);
        const train = Boolean(ctx.gradOutput);
        if (train) write("gy.bin", ctx.gradOutput);
        const optimizer =
          train && ctx.optimizer ? { name: OPTIMIZERS[ctx.optimizer].torch, lr: OPTIMIZERS[ctx.optimizer].lr } : null;
        const job = { spec: ctx.spec, params, lengths: ctx.lengths, policy, threads, train, optimizer };
        writeFileSync(join(dir, "job.json"), JSON.stringify(job));
        const r = spawnSync(python, [script, dir], { encoding: "utf8", maxBuffer: 1 << 20, env });
        if (r.status !== 0) throw new Error(`torch_bench.py exited with ${r.status}: ${lastLine(r.stderr)}`);
        const measured = JSON.parse(r.stdout.trim().split("\n").pop());
        const output = read("y.bin");
        if (!train) return { measured, output };
        const flat = read("grads.bin");
        const gradients = {};
        let at = 0;
        for (const [name, shape] of params) {
          const n = shape.reduce((a, b) => a * b, 1);
          gradients[name] = flat.subarray(at, at + n);
          at += n;
        }
        return { measured, output, gradInput: read("gx.bin"), gradients };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

const MULTIARCH = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }[process.arch];

/** The PyTorch process's environment: `threads` for OpenMP and BLAS (read at load time), OpenBLAS as the BLAS. */
function torchEnv(threads) {
  const n = String(threads);
  const env = { ...process.env, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
  if (!MULTIARCH) return env;
  const libDir = `/usr/lib/${MULTIARCH}`;
  let selected = "";
  try {
    selected = realpathSync(join(libDir, "libblas.so.3"));
  } catch {
    /* no system BLAS: the loader fails or finds another one; torch_bench.py reports which */
  }
  if (/openblas/i.test(selected)) return env;
  // Debian's OpenBLAS flavours each ship libblas.so.3 in their own directory (libopenblas0-pthread first).
  const openblas = ["openblas-pthread", "openblas-openmp", "openblas-serial"]
    .map((d) => join(libDir, d))
    .find((d) => existsSync(join(d, "libblas.so.3")));
  if (openblas) env.LD_LIBRARY_PATH = [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return env;
}

function lastLine(text) {
  return (text || "").trim().split("\n").pop() || "(no output)";
}

function timeToBatchMajor(x, T, B, F) {
  const out = new Float32Array(x.length);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) out.set(x.subarray((t * B + b) * F, (t * B + b + 1) * F), (b * T + t) * F);
  return out;
}

function batchToTimeMajor(x, T, B, F) {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) out.set(x.subarray((b * T + t) * F, (b * T + t + 1) * F), (t * B + b) * F);
  return out;
}
