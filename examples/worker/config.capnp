# workerd configuration for the Worker example, as wrangler would deploy it:
# the bundle (dist/worker.js, made by test.mjs) plus each file it imports as its
# own module — the kernels as compiled WebAssembly, the weights as data.
#
#   node examples/worker/test.mjs        builds dist/, then runs `workerd test examples/worker/config.capnp`
using Workerd = import "/workerd/workerd.capnp";

# `workerd test` binds every socket its config declares, so the test config has none.
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "dist/worker.js"),
    (name = "rnn.relaxed.wasm", wasm = embed "dist/rnn.relaxed.wasm"),
    (name = "rnn.simd.wasm", wasm = embed "dist/rnn.simd.wasm"),
    (name = "rnn.scalar.wasm", wasm = embed "dist/rnn.scalar.wasm"),
    (name = "model.safetensors", data = embed "dist/model.safetensors"),
  ],
  compatibilityDate = "2026-11-01",
);
