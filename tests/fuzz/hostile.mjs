// Hostile-input fuzzing of the boundary (issue 15): random lying objects
// (own `length` properties, getters that change between reads, Proxies, shapes
// edited after construction), sizes near 2^31 and 2^32, and packed sequences
// edited after construction, thrown at forward, loadStateDict, the packed-
// sequence functions and the constructors.
//
// Every call must either give the answer its validated snapshot implies (the
// same call on an honest copy) or refuse with a clear TypeError/RangeError (or
// loadStateDict's "Error(s) in loading state_dict") within a second; two
// victim models' outputs must never change, and a refused call must not have
// grown the kernel's memory.
//
//   node --experimental-wasm-relaxed-simd tests/fuzz/hostile.mjs [--cases N] [--seed S]
//
// Prints one JSON summary line; exits 1 if any case failed (the failures name their seed).
import { init, RNN, Tensor, packSequence, padPackedSequence, unpackSequence } from "wasm-rnn";
import * as api from "wasm-rnn";
import { makeRng } from "./differential.mjs";

const INTERNAL =
  /Cannot read propert|of undefined|of null|is not a function|is not iterable|unreachable|out of bounds|Invalid typed array length|Array buffer allocation failed|Maximum call stack|detached ArrayBuffer|Invalid array length/;
const RECURRENT = ["RNN", "GRU", "LSTM"].filter((m) => typeof api[m] === "function");

/** Sizes where 32-bit and 31-bit arithmetic breaks, and some ordinary ones. */
const HUGE = [
  2 ** 31 - 1,
  2 ** 31,
  2 ** 31 + 1,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 32 + 4,
  2 ** 16,
  2 ** 16 + 1,
  2 ** 30,
  2 ** 53 - 1,
];
const INTERESTING = [-1, 0, 1, 2, 3, 100, 1e9, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 0.5, NaN];

const values = (t) => Array.from(t.data instanceof Tensor ? t.data.data : t.data);
const outputsOf = (result) => (Array.isArray(result) ? result.flat(2) : [result]).map((t) => values(t));

/** A hostile tensor of `shape`: [a maker of the object, the honest tensor it stands for, or null if it must be refused]. */
function hostileTensor(rng, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const honest = Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  const extra = rng.pick([1, 7, 64, 4096]);
  const big = new Float32Array(n + extra).fill(rng.pick([1, -3, 1e30]));
  big.set(honest);
  switch (rng.int(0, 5)) {
    case 0: {
      // own length shorter than the real array
      Object.defineProperty(big, "length", { value: n });
      return [() => new Tensor(big, shape), new Tensor(honest, shape)];
    }
    case 1: {
      // data grows after the first read
      let reads = 0;
      return [
        () =>
          Object.create(Tensor.prototype, {
            data: { get: () => (reads++ === 0 ? honest : big) },
            shape: { value: shape },
          }),
        new Tensor(honest, shape),
      ];
    }
    case 2: {
      // a Proxy that lies about data or shape after the first read
      let reads = 0;
      const key = rng.pick(["data", "shape"]);
      const lie = key === "data" ? big : [...shape.slice(0, -1), shape.at(-1) + extra];
      return [
        () =>
          new Proxy(new Tensor(honest, shape), {
            get: (t, k) => (k === key && reads++ > 0 ? lie : Reflect.get(t, k)),
          }),
        new Tensor(honest, shape),
      ];
    }
    case 3: {
      // shape edited after construction
      return [
        () => {
          const t = new Tensor(honest, [...shape]);
          t.shape[rng.int(0, shape.length - 1)] = rng.pick(HUGE);
          return t;
        },
        null,
      ];
    }
    case 4: {
      // a shape near 2^31 / 2^32 elements over tiny data
      return [
        () =>
          Object.create(Tensor.prototype, {
            data: { value: honest },
            shape: { value: [rng.pick(HUGE), ...shape.slice(1)] },
          }),
        null,
      ];
    }
    default: {
      // own length longer than the real array
      Object.defineProperty(honest, "length", { value: n + extra });
      return [() => new Tensor(honest, shape), null];
    }
  }
}

/** Edits a packed sequence in place, in one of the ways the issue found (writes may be refused: fine). */
function mutatePacked(rng, p) {
  const field = rng.pick(["batchSizes", "sortedIndices", "unsortedIndices", "replace", "data"]);
  try {
    if (field === "replace")
      p[rng.pick(["sortedIndices", "unsortedIndices", "batchSizes"])] = rng.pick([null, new Int32Array([0]), [5, 1]]);
    else if (field === "data") p.data.shape[0] = rng.pick(INTERESTING);
    else if (p[field]) p[field][rng.int(0, p[field].length - 1)] = rng.pick(INTERESTING);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

/** One case: returns null or a failure message. */
function runCase(seed, model) {
  const rng = makeRng(seed);
  const kind = rng.pick(["forward", "forward", "h0", "loadStateDict", "packed", "packed", "construct"]);
  const I = model.inputSize;
  const H = model.hiddenSize;
  let call;
  let honestCall = null;
  if (kind === "forward" || kind === "h0") {
    const steps = rng.int(1, 4);
    const batch = rng.int(1, 3);
    const shape = kind === "forward" ? [steps, batch, I] : [model.numLayers, batch, H];
    const [make, honest] = hostileTensor(rng, shape);
    const x = Tensor.zeros([steps, batch, I]);
    const h0 = (t) => (api.LSTM && model instanceof api.LSTM ? [t, Tensor.zeros(shape)] : t);
    call = () => outputsOf(kind === "forward" ? model.forward(make()) : model.forward(x, h0(make())));
    if (honest) honestCall = () => outputsOf(kind === "forward" ? model.forward(honest) : model.forward(x, h0(honest)));
  } else if (kind === "loadStateDict") {
    const sd = model.stateDict();
    const key = rng.pick(Object.keys(sd));
    const [make, honest] = hostileTensor(rng, [...sd[key].shape]);
    call = () => {
      model.loadStateDict({ ...sd, [key]: make() });
      return [values(model.stateDict()[key])];
    };
    if (honest) honestCall = () => [values(honest)];
    // The model's weights are restored after the case, whatever happened.
    const restore = () => model.loadStateDict(sd);
    return judge(seed, kind, call, honestCall, restore);
  } else if (kind === "packed") {
    const lengths = Array.from({ length: rng.int(1, 4) }, () => rng.int(1, 4));
    const build = () =>
      packSequence(
        lengths.map(
          (len, b) =>
            new Tensor(
              Float32Array.from({ length: len * I }, (_, i) => Math.sin(seed + b * 31 + i)),
              [len, I],
            ),
        ),
        { enforceSorted: false },
      );
    const consumer = rng.pick([
      (p) => outputsOf(model.forward(p)),
      (p) => {
        const [t, l] = padPackedSequence(p);
        return [values(t), Array.from(l)];
      },
      (p) => unpackSequence(p).map(values),
    ]);
    const mutated = build();
    mutatePacked(rng, mutated);
    call = () => consumer(mutated);
    honestCall = () => consumer(build());
  } else {
    const options = { inputSize: rng.pick([1, 2, ...HUGE]), hiddenSize: rng.pick([1, 3, ...HUGE]) };
    if (rng.chance(0.5)) options.numLayers = rng.pick([1, 2, 1e9, ...HUGE]);
    if (rng.chance(0.3)) options.bidirectional = true;
    const Module = api[rng.pick(RECURRENT)];
    // A lower bound of the weights' bytes (one gate, no padding): at 4 GiB or more it must be refused;
    // below, building it or refusing it are both fine.
    const { inputSize: I0, hiddenSize: H0, numLayers: L0 = 1 } = options;
    const D0 = options.bidirectional ? 2 : 1;
    const bytes = 4 * D0 * H0 * (I0 + H0 + (L0 - 1) * (D0 * H0 + H0));
    call = () => {
      new Module(options).dispose();
      return [];
    };
    if (bytes < 2 ** 32) honestCall = () => [];
  }
  return judge(seed, kind, call, honestCall, null);
}

/** The kernel's linear memory, set by fuzzHostile: a refused call must not have grown it. */
let memory = null;

function judge(seed, kind, call, honestCall, restore) {
  const bytesBefore = memory.buffer.byteLength;
  const started = performance.now();
  let got;
  let error = null;
  try {
    got = call();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - started;
  restore?.();
  const where = `seed ${seed} (${kind})`;
  if (error !== null) {
    // A refusal must come up front; an accepted call may take as long as its (legal) size needs.
    if (ms > 1000) return `${where}: refused after ${ms.toFixed(0)} ms`;
    const clear =
      error instanceof TypeError ||
      error instanceof RangeError ||
      (error?.constructor === Error && /^Error\(s\) in loading state_dict/.test(error.message));
    if (!clear || INTERNAL.test(error.message)) return `${where}: ${error?.constructor?.name}: ${error?.message}`;
    const grown = memory.buffer.byteLength - bytesBefore;
    return grown === 0 ? null : `${where}: refused, but WebAssembly memory grew by ${grown} bytes first`;
  }
  if (honestCall === null) return `${where}: accepted an object it must refuse`;
  const expected = JSON.stringify(honestCall());
  return JSON.stringify(got) === expected ? null : `${where}: a silently wrong answer`;
}

/** Runs `cases` hostile cases from `seed`; returns { cases, failures, memoryGrowth } (growth by accepted calls). */
export async function fuzzHostile({ seed = 1, cases = 200 } = {}) {
  const runtime = await init();
  memory = runtime.kernel.memory;
  const victimLow = new RNN({ inputSize: 3, hiddenSize: 3, seed: 7 });
  const models = RECURRENT.map((m, i) => new api[m]({ inputSize: 3, hiddenSize: 4, numLayers: 1 + (i % 2), seed: i }));
  const victimHigh = new RNN({ inputSize: 3, hiddenSize: 5, numLayers: 2, seed: 8 });
  const probe = Tensor.from([[[0.5, -1, 2]], [[1, 0.25, -0.5]]]);
  const victims = () => JSON.stringify([victimLow, victimHigh].map((m) => values(m.forward(probe)[0])));
  const before = victims();
  const memoryBefore = runtime.kernel.memory.buffer.byteLength;
  const failures = [];
  for (let i = 0; i < cases; i++) {
    const caseSeed = (seed * 1000003 + i) >>> 0;
    const failure = runCase(caseSeed, models[i % models.length]);
    if (failure !== null) failures.push(failure);
    if (victims() !== before) {
      failures.push(`seed ${caseSeed}: a victim model's output changed`);
      break;
    }
  }
  return {
    cases,
    failures,
    memoryGrowth: runtime.kernel.memory.buffer.byteLength - memoryBefore,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const arg = (name, fallback) => {
    const at = process.argv.indexOf(name);
    return at < 0 ? fallback : Number(process.argv[at + 1]);
  };
  const result = await fuzzHostile({ seed: arg("--seed", Date.now() % 1e6), cases: arg("--cases", 1000) });
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
  process.exit(result.failures.length === 0 ? 0 : 1);
}
