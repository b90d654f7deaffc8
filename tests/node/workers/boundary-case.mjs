// One hostile request of issue 15, run alone in this process so that a crash,
// a hang or a corrupted linear memory fails only the test that spawned it
// (tests/node/boundary.test.mjs). Usage: node boundary-case.mjs <case>[:<Module>]
//
// Two victim models share the kernel's memory with the attacker: one made
// before the attack's setup (low addresses), one after (high addresses). Their
// outputs are taken before and after the attack, with the kernel's memory size
// and allocated bytes, the process's resident size and the attack's duration.
// The last stdout line is the JSON report; the test judges it.
import { deflateRawSync } from "node:zlib";
import { readFileSync } from "node:fs";

const [name, moduleName = "RNN"] = (process.argv[2] ?? "").split(":");
const api = await import("wasm-rnn");
const { Tensor } = api;

/** A Float32Array over `n` real elements that says its length is `claimed`. */
function lyingLength(n, claimed, value = 1) {
  const data = new Float32Array(n).fill(value);
  Object.defineProperty(data, "length", { value: claimed });
  return data;
}

/** A Tensor-shaped object whose `data` is `first` at the first read and `later` at every other. */
function changingData(first, later, shape) {
  let reads = 0;
  return Object.create(Tensor.prototype, {
    data: { get: () => (reads++ === 0 ? first : later), enumerable: true },
    shape: { value: shape, enumerable: true },
  });
}

/** A Proxy of `tensor` that shows its real data at the first read of `data` and `later` after. */
function proxyData(tensor, later) {
  let reads = 0;
  return new Proxy(tensor, { get: (t, key) => (key === "data" && reads++ > 0 ? later : Reflect.get(t, key)) });
}

/** The recurrent and cell modules this build exports, with the extra options their constructors need. */
const RECURRENT = ["RNN", "GRU", "LSTM"].filter((m) => typeof api[m] === "function");

const plain = (values) => Array.from(values);
const forwardOutput = (model, x, h) => {
  const result = model.forward(x, h);
  const out = Array.isArray(result) ? result[0] : result;
  return plain((out.data instanceof Tensor ? out.data : out).data);
};

/** A torch.save archive (stored zip) holding one float32 tensor of `numel` zeros, its storage deflated. */
function deflatedTorchFile(numel) {
  const enc = (s) => new TextEncoder().encode(s);
  const u32 = (n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  const str = (s) => [0x58, ...u32(enc(s).length), ...enc(s)];
  const glob = (m, n) => [0x63, ...enc(`${m}\n${n}\n`)];
  const int = (n) => [0x4a, ...u32(n)];
  const pkl = new Uint8Array([
    0x80,
    2,
    0x7d,
    ...str("w"),
    ...glob("torch._utils", "_rebuild_tensor_v2"),
    0x28,
    0x28,
    ...str("storage"),
    ...glob("torch", "FloatStorage"),
    ...str("0"),
    ...str("cpu"),
    ...int(numel),
    0x74,
    0x51,
    ...int(0),
    0x28,
    ...int(numel),
    0x74,
    0x28,
    ...int(1),
    0x74,
    0x89,
    ...glob("collections", "OrderedDict"),
    0x29,
    0x52,
    0x74,
    0x52,
    0x73,
    0x2e,
  ]);
  return zipOf([
    { name: "archive/data.pkl", data: pkl },
    { name: "archive/version", data: enc("3\n") },
    { name: "archive/data/0", zeros: numel * 4 },
  ]);
}

/**
 * A zip of stored entries, and deflated runs of zeros (`zeros` bytes, streamed
 * so the test itself never holds them): what a zip bomb is made of.
 */
function zipOf(entries) {
  const parts = [];
  const central = [];
  let offset = 0;
  const le = (n, bytes) => Array.from({ length: bytes }, (_, i) => Math.floor(n / 2 ** (8 * i)) & 0xff);
  for (const entry of entries) {
    const name = new TextEncoder().encode(entry.name);
    let body;
    let crc;
    let size;
    if (entry.zeros !== undefined) {
      body = deflateRawSync(Buffer.alloc(entry.zeros), { level: 9 });
      crc = crcOfZeros(entry.zeros);
      size = entry.zeros;
    } else {
      body = entry.data;
      crc = crc32(entry.data);
      size = entry.data.length;
    }
    const method = entry.zeros !== undefined ? 8 : 0;
    const common = [
      ...le(20, 2),
      ...le(0, 2),
      ...le(method, 2),
      ...le(0, 4),
      ...le(crc, 4),
      ...le(body.length, 4),
      ...le(size, 4),
      ...le(name.length, 2),
    ];
    const local = new Uint8Array([...le(0x04034b50, 4), ...common, ...le(0, 2), ...name]);
    central.push(
      new Uint8Array([
        ...le(0x02014b50, 4),
        ...le(20, 2),
        ...common,
        ...le(0, 2),
        ...le(0, 2),
        ...le(0, 2),
        ...le(0, 2),
        ...le(0, 4),
        ...le(offset, 4),
        ...name,
      ]),
    );
    parts.push(local, body);
    offset += local.length + body.length;
  }
  const dirSize = central.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array([
    ...le(0x06054b50, 4),
    ...le(0, 4),
    ...le(entries.length, 2),
    ...le(entries.length, 2),
    ...le(dirSize, 4),
    ...le(offset, 4),
    ...le(0, 2),
  ]);
  return new Uint8Array(Buffer.concat([...parts, ...central, end]));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
function crcOfZeros(n) {
  const chunk = new Uint8Array(2 ** 20);
  let crc = 0;
  for (let done = 0; done < n; done += chunk.length)
    crc = crc32(chunk.subarray(0, Math.min(chunk.length, n - done)), crc);
  return crc;
}

// ---------------------------------------------------------------------------------------------
// The cases. `setup` prepares (may allocate); `attack` is timed and measured; `check` judges a
// result the attack returned instead of throwing: null when it is the correct answer.

const CASES = {
  // 1. An output of exactly 2^32 floats: a 32-bit rounding of its size wraps to 0.
  "output-of-2^32-floats": {
    setup: () => ({
      model: new api[moduleName]({ inputSize: 1, hiddenSize: 4096, seed: 1 }),
      x: Tensor.zeros([2 ** 20, 1, 1]),
    }),
    attack: ({ model, x }) => model.forward(x),
  },
  // 1. The issue's own reproducer: hiddenSize 16384, 262144 steps (1 GiB of weights, 16 GiB of output).
  "issue-reproducer-16384": {
    setup: () => ({
      model: new api[moduleName]({ inputSize: 1, hiddenSize: 16384, seed: 1 }),
      x: Tensor.zeros([262144, 1, 1]),
    }),
    attack: ({ model, x }) => model.forward(x),
  },
  // 1. An h0 whose size alone wraps (batch · H = 2^32 / L·D): input small, state huge.
  "batch-of-2^30": {
    setup: () => ({
      model: new api[moduleName]({ inputSize: 1, hiddenSize: 4, seed: 1 }),
      x: Tensor.zeros([1, 2 ** 30, 1]),
    }),
    attack: ({ model, x }) => model.forward(x),
  },

  // 2. Lying lengths and changing reads in forward.
  "own-length-forward": {
    setup: () => {
      const model = new api[moduleName]({ inputSize: 4, hiddenSize: 4, seed: 3 });
      return { model, expected: forwardOutput(model, Tensor.from([[[1, 1, 1, 1]]])) };
    },
    attack: ({ model }) => forwardOutput(model, new Tensor(lyingLength(4000, 4), [1, 1, 4])),
    check: (out, { expected }) => sameValues(out, expected),
  },
  "getter-data-forward": {
    setup: () => {
      const model = new api[moduleName]({ inputSize: 4, hiddenSize: 4, seed: 3 });
      return { model, expected: forwardOutput(model, Tensor.from([[[1, 1, 1, 1]]])) };
    },
    attack: ({ model }) =>
      forwardOutput(model, changingData(new Float32Array(4).fill(1), new Float32Array(4000).fill(1), [1, 1, 4])),
    check: (out, { expected }) => sameValues(out, expected),
  },
  "proxy-data-forward": {
    setup: () => {
      const model = new api[moduleName]({ inputSize: 4, hiddenSize: 4, seed: 3 });
      return { model, expected: forwardOutput(model, Tensor.from([[[1, 1, 1, 1]]])) };
    },
    attack: ({ model }) =>
      forwardOutput(model, proxyData(Tensor.from([[[1, 1, 1, 1]]]), new Float32Array(4000).fill(1))),
    check: (out, { expected }) => sameValues(out, expected),
  },
  "own-length-h0": {
    setup: () => {
      const model = new api.RNN({ inputSize: 4, hiddenSize: 4, seed: 3 });
      return { model, expected: forwardOutput(model, Tensor.zeros([1, 1, 4]), Tensor.from([[[1, 1, 1, 1]]])) };
    },
    attack: ({ model }) => forwardOutput(model, Tensor.zeros([1, 1, 4]), new Tensor(lyingLength(4000, 4), [1, 1, 4])),
    check: (out, { expected }) => sameValues(out, expected),
  },
  // 2. … and in loadStateDict: a third model's memory is the target.
  "own-length-loadStateDict": {
    setup: () => ({ model: new api[moduleName]({ inputSize: 4, hiddenSize: 4, seed: 3 }) }),
    attack: ({ model }) => {
      const sd = model.stateDict();
      const [key] = Object.keys(sd);
      sd[key] = new Tensor(lyingLength(4000, sd[key].data.length), [...sd[key].shape]);
      model.loadStateDict(sd);
      return plain(model.stateDict()[key].data);
    },
    check: (loaded) => (loaded.every((v) => v === 1) ? null : `loaded ${loaded} instead of ones`),
  },
  "getter-data-loadStateDict": {
    setup: () => ({ model: new api[moduleName]({ inputSize: 4, hiddenSize: 4, seed: 3 }) }),
    attack: ({ model }) => {
      const sd = model.stateDict();
      const [key] = Object.keys(sd);
      const n = sd[key].data.length;
      sd[key] = changingData(new Float32Array(n).fill(1), new Float32Array(4000).fill(1), [...sd[key].shape]);
      model.loadStateDict(sd);
      return plain(model.stateDict()[key].data);
    },
    check: (loaded) => (loaded.every((v) => v === 1) ? null : `loaded ${loaded} instead of ones`),
  },

  // 3. and 4. Sizes that cannot fit: refused before any per-layer work or allocation.
  "numLayers-1e9": { attack: () => new api[moduleName]({ inputSize: 1, hiddenSize: 1, numLayers: 1e9 }) },
  "hiddenSize-25000": { attack: () => new api[moduleName]({ inputSize: 1, hiddenSize: 25000 }) },
  "bidirectional-16384-fits": {
    attack: () => {
      const model = new api[moduleName]({ inputSize: 1, hiddenSize: 16384, bidirectional: true, seed: 5 });
      const [out] = model.forward(Tensor.from([[[1]]]));
      return [...out.shape];
    },
    check: (shape) => sameValues(shape, [1, 1, 2 * 16384]),
  },

  // 5. Cycles in Tensor.from.
  "cyclic-array": {
    attack: () => {
      const a = [];
      a[0] = a;
      return Tensor.from(a);
    },
  },
  "cyclic-array-two-levels": {
    attack: () => {
      const a = [[0]];
      a[0][0] = a;
      return Tensor.from(a);
    },
  },

  // 6. A zip bomb: 256 MiB of zeros deflated to ~256 KB.
  "zip-bomb": {
    setup: () => ({ file: deflatedTorchFile(2 ** 26) }),
    attack: ({ file }) => Object.keys(api.loadTorch(file).tensors),
  },

  // 7. Packed sequences edited after construction.
  "packed-sortedIndices-1e9": {
    setup: () => {
      const q = api.packSequence([Tensor.from([[1], [2]]), Tensor.from([[3]]), Tensor.from([[4], [5], [6]])], {
        enforceSorted: false,
      });
      return { q, expected: api.unpackSequence(q).map((t) => plain(t.data)) };
    },
    attack: ({ q }) => {
      try {
        q.sortedIndices[0] = 1e9;
      } catch {
        /* a frozen or read-only array refuses the write: that is one correct outcome */
      }
      return api.unpackSequence(q).map((t) => plain(t.data));
    },
    check: (got, { expected }) => sameValues(JSON.stringify(got), JSON.stringify(expected)),
  },

  // 8. User code that runs inside forward and calls back into the same module.
  "reentrant-forward": {
    setup: () => reentrancySetup((model, x) => model.forward(x)),
    attack: (s) => reentrancyAttack(s),
    check: (got, s) => reentrancyCheck(got, s),
  },
  "dispose-inside-forward": {
    setup: () => reentrancySetup((model) => model.dispose()),
    attack: (s) => reentrancyAttack(s),
    check: (got, s) => reentrancyCheck(got, s),
  },

  // 9. A kernel build that is not the one init() was asked for.
  "init-simd-with-scalar-build": {
    attack: async () => {
      const bytes = readFileSync(new URL(import.meta.resolve("wasm-rnn/rnn.scalar.wasm")));
      const runtime = await api.init({ backend: "simd", wasm: bytes });
      return [runtime.backend, api.backend()];
    },
    check: (names) => (names[0] === "scalar" && names[1] === "scalar" ? null : `reported ${names.join(", ")}`),
  },
};

/** Null when equal, else a message. */
function sameValues(got, expected) {
  return JSON.stringify(got) === JSON.stringify(expected)
    ? null
    : `got ${JSON.stringify(got).slice(0, 200)}, expected ${JSON.stringify(expected).slice(0, 200)}`;
}

/**
 * A two-layer model whose `training` flag is a getter: forward reads it between layers, and
 * the getter runs `inner` on the same model once, recording what that did.
 */
function reentrancySetup(inner) {
  const model = new api[moduleName]({ inputSize: 3, hiddenSize: 5, numLayers: 3, seed: 11 });
  model.eval();
  const x = Tensor.from([[[0.1, 0.2, 0.3]], [[-1, 0.5, 2]], [[0.3, -0.3, 1]]]);
  const xInner = Tensor.from([[[5, -5, 5]], [[4, 4, -4]], [[3, 3, 3]]]);
  const expected = forwardOutput(model, x);
  const state = { model, x, expected, innerOutcome: "not run" };
  let ran = false;
  Object.defineProperty(model, "training", {
    configurable: true,
    get() {
      if (!ran) {
        ran = true;
        try {
          inner(model, xInner);
          state.innerOutcome = "ran";
        } catch (error) {
          state.innerOutcome = `${error.constructor.name}: ${error.message}`;
        }
      }
      return false;
    },
    set() {},
  });
  return state;
}
function reentrancyAttack(state) {
  return forwardOutput(state.model, state.x);
}
function reentrancyCheck(got, state) {
  const refused = /^Error: forward is already running on this module/.test(state.innerOutcome);
  if (state.innerOutcome === "not run") return "the getter never ran";
  if (state.innerOutcome !== "ran" && !refused) return `inner call: ${state.innerOutcome}`;
  const outer = sameValues(got, state.expected);
  if (outer !== null) return `outer forward changed (inner call ${state.innerOutcome}): ${outer}`;
  return forwardOutput(state.model, state.x).length === got.length ? null : "the model no longer works afterwards";
}

// ---------------------------------------------------------------------------------------------

function report(result) {
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

const entry = CASES[name];
if (entry === undefined) {
  report({ fatal: `unknown case '${name}'` });
  process.exit(2);
}
const runtime = name.startsWith("init-") ? null : await api.init();
const victimModels = runtime ? [new api.RNN({ inputSize: 3, hiddenSize: 3, seed: 7 })] : [];
const state = entry.setup ? await entry.setup() : {};
if (runtime) victimModels.push(new api.RNN({ inputSize: 3, hiddenSize: 6, numLayers: 2, seed: 8 }));
const victimInput = Tensor.from([[[0.5, -1, 2]], [[1, 0.25, -0.5]]]);
const victims = () => {
  try {
    return victimModels.map((m) => forwardOutput(m, victimInput));
  } catch (error) {
    return `${error.constructor.name}: ${error.message}`;
  }
};
const memory = () =>
  runtime
    ? { wasm: runtime.kernel.memory.buffer.byteLength, allocated: runtime.kernel.allocated_bytes() >>> 0 }
    : { wasm: 0, allocated: 0 };

const before = { victims: victims(), memory: memory(), rss: process.memoryUsage().rss };
const started = performance.now();
let outcome;
try {
  const value = await entry.attack(state);
  outcome = { threw: false, problem: entry.check ? entry.check(value, state) : "returned instead of refusing" };
} catch (error) {
  outcome = { threw: true, name: error?.constructor?.name, message: String(error?.message).slice(0, 600) };
}
const ms = performance.now() - started;
const after = { victims: victims(), memory: memory(), rss: process.memoryUsage().rss };
report({ case: name, module: moduleName, recurrent: RECURRENT, outcome, ms, before, after });
