// Issue 15's kernel guard: a kernel export writes only inside the block the
// host named with set_write_window, in every build, even when the host passes
// a wrong pointer or size. The host's mistakes are injected through init's
// `instantiate` hook (as tests/node/debug-kernel.test.mjs loads its build): the
// hook wraps the kernel's exports, and a test rewrites one call's arguments.
// Each refusal must reach the user as the library's Error (not a bare
// `RuntimeError: unreachable`), leave another model's output bit for bit as it
// was, and leave the refusing module usable.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { init, GRU, Linear, LSTM, RNN, Tensor } from "wasm-rnn";
import { BACKENDS, SKIPPED_BACKENDS } from "./backends.mjs";

const REFUSED = /^wasm-rnn: the kernel refused a write outside the module's memory \(/;
/** The exports that write into memory the host names, each guarded by the write window. */
const GUARDED = [
  "gemm",
  "gemm_tn",
  "pack_panels",
  "pack_gate_panels",
  "pack_gate_bias",
  "pack_transposed",
  "rnn_layer",
  "gru_layer",
  "lstm_layer",
  "rnn_layer_backward",
  "gru_layer_backward",
  "lstm_layer_backward",
];
/** The exports that write no host-named memory: the allocator (whose own checks are pinned below) and the build code. */
const UNGUARDED = ["alloc", "free", "allocated_bytes", "set_write_window", "kernel_build"];

/** A deterministic input of `shape`. */
function input(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float32Array.from({ length: n }, (_, i) => Math.sin(0.7 * i + 0.3)),
    shape,
  );
}

/** The float32 bits of a forward's outputs (output and every state), for bit-for-bit comparison. */
function bits(result) {
  const tensors = [];
  const collect = (v) => {
    if (v instanceof Tensor) tensors.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
  };
  collect(result);
  return tensors.map((t) => [...new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)]);
}

/**
 * init() on a build through a hook that wraps every guarded export; while
 * `tamper.with` is set, it rewrites the arguments of that export's calls.
 */
async function initTampered(name) {
  const module = await WebAssembly.compile(await readFile(new URL(`../../build/rnn.${name}.wasm`, import.meta.url)));
  const tamper = { with: null, raw: null, calls: 0 };
  const runtime = await init({
    module,
    instantiate: async (m) => {
      const instance = await WebAssembly.instantiate(m, {});
      const raw = /** @type {import("wasm-rnn").Runtime["kernel"]} */ (/** @type {unknown} */ (instance.exports));
      const exports = { ...raw };
      for (const fn of GUARDED) {
        exports[fn] = (...args) => {
          const edit = tamper.with?.[fn];
          if (edit) tamper.calls++;
          return raw[fn](...(edit ? edit(args) : args));
        };
      }
      tamper.raw = raw;
      return { exports };
    },
  });
  return { runtime, tamper };
}

/** Runs `attack` with `edits` applied to the kernel calls; it must throw the guard's Error and nothing may leak. */
function assertRefused(tamper, edits, attack, what) {
  const before = tamper.raw.allocated_bytes();
  tamper.with = edits;
  tamper.calls = 0;
  let thrown = null;
  try {
    attack();
  } catch (error) {
    thrown = error;
  } finally {
    tamper.with = null;
  }
  assert.ok(tamper.calls > 0, `${what}: the tampered export was never called`);
  assert.ok(thrown !== null, `${what}: the wrong write was not refused`);
  assert.ok(!(thrown instanceof WebAssembly.RuntimeError), `${what}: a bare trap reached the user: ${thrown.message}`);
  assert.match(thrown.message, REFUSED, what);
  assert.ok(thrown.cause instanceof WebAssembly.RuntimeError, `${what}: the trap is kept as the cause`);
  assert.equal(tamper.raw.allocated_bytes(), before, `${what}: the allocator state is unchanged`);
}

for (const build of BACKENDS) {
  describe(`kernel guard: ${build} build`, () => {
    let tamper;
    let victims;
    /** Where the victims' packed weights start: the pointers their packing wrote. */
    let victimWeights;
    /** The victims' forward outputs before any attack, as float32 bits. */
    let expected;

    before(async () => {
      ({ tamper } = await initTampered(build));
      const packed = [];
      const record = (args) => {
        packed.push(args[0]);
        return args;
      };
      tamper.with = { pack_panels: record, pack_gate_panels: record, pack_gate_bias: record };
      victims = {
        lstm: new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, seed: 1 }),
        linear: new Linear({ inFeatures: 6, outFeatures: 4, seed: 2 }),
      };
      tamper.with = null;
      victimWeights = packed;
      expected = victimOutputs();
    });

    after(() => {
      for (const v of Object.values(victims)) v.dispose();
    });

    function victimOutputs() {
      return {
        lstm: bits(victims.lstm.forward(input([4, 2, 3]))),
        linear: bits(victims.linear.forward(input([3, 6]))),
      };
    }

    /** Points argument `index` of a call at the victims' weights. */
    const atVictim = (index) => (args) => args.with(index, victimWeights[0]);

    /**
     * Attacks `model` (its forward on `x`) with `edits`, then checks the
     * victims and that the model's own forward still gives what it gave before.
     */
    function attackForward(model, x, edits, what) {
      try {
        const own = bits(model.forward(x));
        assertRefused(tamper, edits, () => model.forward(x), what);
        assert.deepEqual(victimOutputs(), expected, `${what}: another model's output changed`);
        assert.deepEqual(bits(model.forward(x)), own, `${what}: the refusing module is no longer usable`);
      } finally {
        model.dispose();
      }
    }

    test("Linear: a gemm whose y points into another model's weights is refused", () => {
      attackForward(
        new Linear({ inFeatures: 6, outFeatures: 4, seed: 3 }),
        input([5, 6]),
        { gemm: atVictim(0) },
        "gemm y",
      );
    });

    test("Linear: a gemm whose rows run past its own block is refused", () => {
      attackForward(
        new Linear({ inFeatures: 6, outFeatures: 4, seed: 3 }),
        input([5, 6]),
        { gemm: (args) => args.with(7, args[7] * 1000) },
        "gemm rows × 1000",
      );
    });

    test("RNN: rnn_layer writing its output over another model's weights is refused", () => {
      attackForward(
        new RNN({ inputSize: 3, hiddenSize: 7, numLayers: 2, seed: 4 }),
        input([4, 2, 3]),
        {
          rnn_layer: atVictim(0),
        },
        "rnn_layer y",
      );
    });

    test("RNN: rnn_layer told of a larger hidden size than its workspace holds is refused", () => {
      attackForward(
        new RNN({ inputSize: 3, hiddenSize: 7, seed: 4 }),
        input([4, 2, 3]),
        {
          rnn_layer: (args) => args.with(11, args[11] * 16),
        },
        "rnn_layer hidden",
      );
    });

    test("GRU: gru_layer writing its projections over another model's weights is refused", () => {
      attackForward(
        new GRU({ inputSize: 3, hiddenSize: 9, bidirectional: true, seed: 5 }),
        input([4, 2, 3]),
        {
          gru_layer: atVictim(4),
        },
        "gru_layer p",
      );
    });

    test("LSTM: lstm_layer writing c or m over another model's weights, or with a larger hidden size, is refused", () => {
      const lstm = () => new LSTM({ inputSize: 3, hiddenSize: 6, projSize: 4, seed: 6 });
      attackForward(lstm(), input([4, 2, 3]), { lstm_layer: atVictim(1) }, "lstm_layer c");
      attackForward(lstm(), input([4, 2, 3]), { lstm_layer: atVictim(10) }, "lstm_layer m");
      attackForward(
        lstm(),
        input([4, 2, 3]),
        { lstm_layer: (args) => args.with(15, args[15] + 64) },
        "lstm_layer hidden",
      );
    });

    test("packing (loadStateDict) into another model's weights, or past its own block, is refused", () => {
      const rnn = new RNN({ inputSize: 3, hiddenSize: 7, seed: 7 });
      const linear = new Linear({ inFeatures: 6, outFeatures: 4, seed: 8 });
      try {
        const rnnState = rnn.stateDict();
        const linearState = linear.stateDict();
        assertRefused(tamper, { pack_panels: atVictim(0) }, () => rnn.loadStateDict(rnnState), "pack_panels dst");
        assertRefused(
          tamper,
          { pack_panels: (args) => args.with(3, args[3] * 1000) },
          () => linear.loadStateDict(linearState),
          "pack_panels cols",
        );
        const gru = new GRU({ inputSize: 3, hiddenSize: 5, seed: 9 });
        try {
          const gruState = gru.stateDict();
          assertRefused(
            tamper,
            { pack_gate_panels: atVictim(0) },
            () => gru.loadStateDict(gruState),
            "pack_gate_panels",
          );
          assertRefused(tamper, { pack_gate_bias: atVictim(0) }, () => gru.loadStateDict(gruState), "pack_gate_bias");
          gru.loadStateDict(gruState);
          assert.ok(bits(gru.forward(input([2, 1, 3])))[0].length > 0, "the GRU is usable again");
        } finally {
          gru.dispose();
        }
        assert.deepEqual(victimOutputs(), expected, "another model's output changed");
        rnn.loadStateDict(rnnState);
        linear.loadStateDict(linearState);
        assert.ok(bits(rnn.forward(input([2, 1, 3])))[0].length > 0, "the RNN is usable again");
      } finally {
        rnn.dispose();
        linear.dispose();
      }
    });

    test("every export that writes host-named memory is guarded: an empty window refuses it, its block's window admits it", () => {
      const k = tamper.raw;
      const functions = Object.keys(k)
        .filter((name) => typeof k[name] === "function")
        .sort();
      assert.deepEqual(
        functions,
        [...GUARDED, ...UNGUARDED].sort(),
        "a new export must be guarded (entries.ts) and given a call here, or listed as writing no host-named memory",
      );
      const block = k.alloc(16 * 1024);
      try {
        // Every operand in its own 1 KiB of the one block.
        const [y, c, x, p, wIh, bias, wHh, h0, c0, bs] = [0, 7, 1, 2, 3, 4, 5, 6, 8, 15].map((i) => block + i * 1024);
        // Backward: the tape in bias's KiB and the gradient block in p's.
        const [dx, dy, dc, dg, dh0, dc0, tape, grads] = [9, 10, 11, 12, 13, 14, 4, 2].map((i) => block + i * 1024);
        new Float32Array(k.memory.buffer, block, 4096).fill(0.25);
        new Int32Array(k.memory.buffer, bs, 2).set([1, 1]);
        const calls = {
          gemm: () => k.gemm(y, 8, x, 8, wIh, 0, 0, 2, 8, 8, 0),
          pack_panels: () => k.pack_panels(wIh, x, 8, 8),
          pack_gate_panels: () => k.pack_gate_panels(wIh, x, 3, 8, 8),
          pack_gate_bias: () => k.pack_gate_bias(bias, 0, 0, 3, 8),
          rnn_layer: () => k.rnn_layer(y, x, 4, 4, p, wIh, bias, wHh, h0, bs, 2, 4, 1, 1),
          gru_layer: () => k.gru_layer(y, x, 4, 4, p, wIh, bias, wHh, h0, bs, 2, 4, 1),
          lstm_layer: () => k.lstm_layer(y, c, x, 4, 4, p, wIh, bias, wHh, 0, 0, h0, c0, bs, 2, 4, 0, 1),
          gemm_tn: () => k.gemm_tn(y, 8, x, 8, wIh, 8, 2, 8, 8),
          pack_transposed: () => k.pack_transposed(wIh, x, 8, 8),
          rnn_layer_backward: () =>
            k.rnn_layer_backward(dx, dy, dg, x, 4, 4, y, h0, dh0, wIh, wHh, grads, bs, 2, 4, 1, 1),
          gru_layer_backward: () =>
            k.gru_layer_backward(dx, dy, dg, x, 4, 4, y, h0, dh0, tape, wIh, wHh, grads, bs, 2, 4, 1),
          lstm_layer_backward: () =>
            k.lstm_layer_backward(
              dx,
              dy,
              dc,
              dg,
              x,
              4,
              4,
              y,
              c,
              h0,
              c0,
              dh0,
              dc0,
              tape,
              wIh,
              wHh,
              0,
              grads,
              bs,
              2,
              4,
              0,
              1,
            ),
        };
        for (const name of GUARDED) {
          k.set_write_window(0);
          assert.throws(calls[name], WebAssembly.RuntimeError, `${name} with an empty window`);
          k.set_write_window(block);
          assert.doesNotThrow(calls[name], `${name} inside its block's window`);
        }
      } finally {
        k.free(block);
      }
    });

    test("free refuses a double free and an interior pointer, before changing anything", () => {
      const k = tamper.raw;
      const before = k.allocated_bytes();
      const a = k.alloc(256);
      const b = k.alloc(256);
      assert.throws(() => k.free(a + 16), WebAssembly.RuntimeError, "interior pointer");
      k.free(a);
      assert.throws(() => k.free(a), WebAssembly.RuntimeError, "double free");
      const c = k.alloc(256);
      const d = k.alloc(256);
      assert.equal(c, a, "the freed block is handed out again");
      assert.notEqual(d, c, "but only once");
      for (const p of [b, c, d]) k.free(p);
      assert.equal(k.allocated_bytes(), before);
    });
  });
}

for (const name of SKIPPED_BACKENDS) {
  describe(`kernel guard: ${name} build`, { skip: `this runtime does not validate the ${name} build` }, () => {});
}
