// Which SIMD build to run where the runtime validates both (issue 13). The
// relaxed build fuses each multiply-add, which is not faster everywhere: issue
// 13 measured the plain SIMD build 15% faster on a batch-1 RNN on an AMD EPYC,
// and on the same machine later the relaxed one 15% faster on batched GEMMs.
// So init() times both on a short workload and keeps the faster: about 20 ms,
// once per init(), most of it letting V8 optimize both builds first.

import type { Backend } from "./features.js";
import type { KernelExports } from "./kernel.js";

/** The builds a calibration chooses between. */
export type CalibratedBackend = Extract<Backend, "simd" | "relaxed">;

/** What `init()` reports when it chose the build by timing it. */
export interface Calibration {
  /** The build in use. */
  readonly chosen: CalibratedBackend;
  /** Each build's best time for one round of the probe workload, in ms. */
  readonly timings: Readonly<Record<CalibratedBackend, number>>;
  /** What the calibration itself took, instantiating both builds included, in ms. */
  readonly costMs: number;
}

/**
 * The relaxed build is chosen only below this fraction of the SIMD build's
 * time (5% faster): ties go to the plain SIMD build, the portable one.
 */
const MARGIN = 0.95;
/**
 * Untimed rounds first, for this long: V8 runs wasm in its baseline compiler
 * (Liftoff) first and swaps in optimized code for hot functions compiled in
 * the background, which took 5 to 15 ms on a busy 2-core AMD EPYC; timing
 * baseline code would compare the wrong thing.
 */
const WARM_MS = 15;
/** Timed rounds per build; each build's best counts (the least disturbed by other work). */
const TIMED_ROUNDS = 5;

/** How one round is timed: by default the wall clock around it. */
type RoundTimer = (backend: CalibratedBackend, round: () => void) => number;

const wallClock: RoundTimer = (_backend, round) => {
  const start = performance.now();
  round();
  return performance.now() - start;
};
let timeRound = wallClock;

/**
 * Replaces how a round is timed, so tests can make either build win; null restores the wall clock.
 * @internal
 */
export function setCalibrationTimer(timer: RoundTimer | null): void {
  timeRound = timer ?? wallClock;
}

/**
 * Loads both builds through `load` and times them on the probe workload,
 * alternating which goes first, each one's best round counting (the least
 * disturbed by other work). Returns the report and the chosen build's module.
 */
export async function calibrate(
  load: (backend: CalibratedBackend) => WebAssembly.Module | Promise<WebAssembly.Module>,
): Promise<{ calibration: Calibration; module: WebAssembly.Module }> {
  const start = performance.now();
  const modules = { simd: await load("simd"), relaxed: await load("relaxed") };
  const rounds = { simd: await probeRound(modules.simd), relaxed: await probeRound(modules.relaxed) };
  // Untimed rounds until both builds run optimized code (see WARM_MS), then the timed ones. A clock
  // that stands still across a round (Cloudflare Workers' while code runs) cannot time: no warm-up,
  // and the timed rounds tie, which goes to simd.
  const warmStart = performance.now();
  rounds.simd();
  const clockMoves = performance.now() > warmStart;
  while (clockMoves && performance.now() - warmStart < WARM_MS) {
    rounds.simd();
    rounds.relaxed();
  }
  const timings = { simd: Infinity, relaxed: Infinity };
  for (let r = 0; r < TIMED_ROUNDS; r++) {
    for (const backend of (r % 2 ? ["relaxed", "simd"] : ["simd", "relaxed"]) as CalibratedBackend[]) {
      timings[backend] = Math.min(timings[backend], timeRound(backend, rounds[backend]));
    }
  }
  const chosen = timings.relaxed < timings.simd * MARGIN ? "relaxed" : "simd";
  return { calibration: { chosen, timings, costMs: performance.now() - start }, module: modules[chosen] };
}

/** The probe's size: a mid-size layer (256 units), its input projection over 32 rows, its steps at batch 1 and 8. */
const UNITS = 256;
const ROWS = 32;

/**
 * A fresh instance of `module`, with a packed 256 × 256 weight and its
 * operands in one block of its memory (the block its calls may write);
 * returns one round of the GEMMs a layer runs, tanh epilogue included: an
 * input projection of 32 rows, 16 recurrent steps at batch 1 (matrix–vector:
 * streaming) and 4 at batch 8. Each of the three takes about a third of the
 * round (on an AMD EPYC the relaxed build was 5% slower at batch 1 and 15%
 * faster on the others; both kinds count). The instance goes with the round.
 */
async function probeRound(module: WebAssembly.Module): Promise<() => void> {
  const k = (await WebAssembly.instantiate(module, {})).exports as unknown as KernelExports;
  const weights = UNITS * UNITS * 4;
  const rows = ROWS * UNITS * 4;
  const bytes = 2 * weights + 2 * rows;
  const block = k.alloc(bytes) >>> 0;
  if (block === 0) throw new RangeError("init: out of memory for the calibration");
  // [raw weight | panels | x or h | y], each 16-byte aligned; small values, far from tanh's saturation.
  const panels = block + weights;
  const h = panels + weights;
  const y = h + rows;
  new Float32Array(k.memory.buffer, block, bytes / 4).fill(0.01);
  k.set_write_window(block);
  k.pack_panels(panels, block, UNITS, UNITS);
  return () => {
    for (let call = 0; call < 21; call++) {
      k.gemm(y, UNITS, h, UNITS, panels, block, 0, call === 0 ? ROWS : call <= 16 ? 1 : 8, UNITS, UNITS, 1);
    }
  };
}
