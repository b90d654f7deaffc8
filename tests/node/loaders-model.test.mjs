// A whole PyTorch model — Embedding -> LSTM (2 layers, bidirectional, projSize) or GRU -> Linear —
// saved by tests/fixtures/generate.py with torch.save and as safetensors
// (tests/fixtures/weights/{lstm,gru}-model.*), loaded with loadTorch / loadSafetensors, each module
// taking its part with `prefix`; the pipeline's logits and final state match PyTorch's (model.json)
// in every build.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Embedding, GRU, LSTM, Linear, loadSafetensors, loadTorch } from "wasm-rnn";
import { loadFixture } from "../helpers/fixtures.mjs";
import { ParityTable } from "../helpers/parity.mjs";
import { read } from "../helpers/weights.mjs";
import { forEachBackend } from "./backends.mjs";

const models = loadFixture("model");
const table = new ParityTable("model.json");
const LOADERS = { ".pt": loadTorch, ".safetensors": loadSafetensors };
const RECURRENT = { GRU, LSTM };

/** Builds the three modules from one loaded file, each with its own prefix (strict: every key of its part). */
function buildPipeline(c, tensors) {
  const { embedding, rnn, head } = c.modules;
  const modules = [
    new Embedding({ ...embedding.config, seed: 0 }),
    new RECURRENT[rnn.module]({ ...rnn.config, seed: 0 }),
    new Linear({ ...head.config, seed: 0 }),
  ];
  modules[0].loadStateDict(tensors, { prefix: embedding.prefix });
  modules[1].loadStateDict(tensors, { prefix: rnn.prefix });
  modules[2].loadStateDict(tensors, { prefix: head.prefix });
  return modules;
}

forEachBackend((backend) => {
  for (const c of models.cases) {
    for (const file of c.files) {
      test(`${file}: Embedding -> ${c.modules.rnn.module} -> Linear loaded by prefix gives PyTorch's logits and state`, () => {
        const loaded = LOADERS[file.slice(file.lastIndexOf("."))](read(file));
        assert.deepEqual(Object.keys(loaded.tensors).sort(), [...c.keys].sort(), "the file holds the model's keys");
        const [embedding, rnn, head] = buildPipeline(c, loaded.tensors);
        try {
          const keys = [
            ...Object.keys(embedding.stateDict()).map((k) => c.modules.embedding.prefix + k),
            ...Object.keys(rnn.stateDict()).map((k) => c.modules.rnn.prefix + k),
            ...Object.keys(head.stateDict()).map((k) => c.modules.head.prefix + k),
          ];
          assert.deepEqual(keys, c.keys, "the modules' keys, prefixed, are the model's state_dict() keys in order");
          const features = embedding.forward(c.tokens, c.tokensShape);
          const [hidden, state] = rnn.forward(features);
          const logits = head.forward(hidden);
          table.check(backend, "pipeline", `${file} logits`, logits, c.output, c.output64);
          const states = c.modules.rnn.module === "LSTM" ? state : [state];
          assert.equal(states.length, c.state.length, "state arity");
          states.forEach((s, i) =>
            table.check(backend, "pipeline", `${file} state[${i}]`, s, c.state[i], c.state64[i]),
          );
        } finally {
          for (const m of [embedding, rnn, head]) m.dispose();
        }
      });
    }
  }
}, "model.json");

after(() => console.log(table.toString()));

test("a module's prefix load is strict about its own keys: dropping one of the LSTM's keys is reported with the prefix", () => {
  const c = models.cases.find((x) => x.modules.rnn.module === "LSTM");
  const { tensors } = loadSafetensors(read(c.files[1]));
  delete tensors["rnn.weight_hr_l1_reverse"];
  const lstm = new LSTM({ ...c.modules.rnn.config, seed: 0 });
  try {
    assert.throws(
      () => lstm.loadStateDict(tensors, { prefix: "rnn." }),
      /Missing key\(s\) in state_dict: "rnn\.weight_hr_l1_reverse"/,
    );
  } finally {
    lstm.dispose();
  }
});
