// The state one thread of a threaded build keeps to itself, and the barrier
// its steps meet at. Wasm globals belong to an instance, and each thread
// instantiates the module on the one shared memory, so every global here is
// per thread; statics in linear memory are shared by all. The single-thread
// builds read none of it: every use is behind ASC_FEATURE_THREADS, so the
// optimizer drops this file from them.

/** This thread's pack buffer for packRows4 (gemm.ts), 0 for the static one (thread 0). */
export let threadPack: usize = 0;
/** This thread's gate scratch (gates.ts), 0 for the static one (thread 0). */
export let threadScratch: usize = 0;
/** The hidden units [unitStart, unitEnd) this thread's recurrent steps compute; unitEnd is clamped to hidden. */
export let unitStart: i32 = 0;
export let unitEnd: i32 = i32.MAX_VALUE;
/** The columns [projStart, projEnd) of an LSTM projection this thread computes, clamped like unitEnd. */
export let projStart: i32 = 0;
export let projEnd: i32 = i32.MAX_VALUE;
/** The directions [dirFirst, min(dirLast, dirs − 1)] this thread's time loop runs. */
export let dirFirst: i32 = 0;
export let dirLast: i32 = 1;
/** The barrier of the threads sharing this thread's time loop, and how many they are (1: no barrier). */
export let groupBarrier: usize = 0;
export let groupSize: i32 = 1;
/** The shared abort word: set when a thread of the running job failed. */
export let abortWord: usize = 0;
/** Whether this thread may block in memory.atomic.wait32 (helper threads; thread 0 where its runtime allows). */
export let mayWait: bool = false;

/** Gives this thread its scratch, abort word and whether it may wait (threads.ts, at start-up). */
export function setThreadState(pack: usize, scratch: usize, abort: usize, waits: bool): void {
  threadPack = pack;
  threadScratch = scratch;
  abortWord = abort;
  mayWait = waits;
}

/** Sets what this thread computes of the running layer call (threads.ts). */
export function setThreadPart(
  units0: i32, units1: i32, proj0: i32, proj1: i32, dir0: i32, dir1: i32, barrier: usize, size: i32,
): void {
  unitStart = units0;
  unitEnd = units1;
  projStart = proj0;
  projEnd = proj1;
  dirFirst = dir0;
  dirLast = dir1;
  groupBarrier = barrier;
  groupSize = size;
}

/** Everything: the part of a thread that runs a layer call alone. */
export function resetThreadPart(): void {
  setThreadPart(0, i32.MAX_VALUE, 0, i32.MAX_VALUE, 0, 1, 0, 1);
}

/** Spins before a thread that may wait blocks: long enough to cover a step, short next to a sleep. */
// @ts-ignore: decorator
@inline const SPINS: i32 = 1 << 14;
/** A waiting thread re-checks the abort word this often (ns), so a failure never leaves it asleep. */
// @ts-ignore: decorator
@inline export const WAIT_NS: i64 = 1000000;

/**
 * memory.atomic.wait32, always behind a call: Node 20's V8 (11.3) Liftoff
 * code does not save the registers caching a function's locals across an
 * inline wait, so a local read after it (a barrier's address, a job counter)
 * can come back as 0 — one thread then left a barrier alone, or a helper
 * thread ran a job twice. A call saves them. The call goes through a function
 * reference, which Binaryen cannot inline back into the waiting loop.
 * Lazy, so the single-thread builds, which never wait, do not compile it.
 * tests/node/threads-stress.test.mjs runs the threads under --liftoff-only.
 */
// @ts-ignore: decorator
@lazy export let waitOn = (word: usize, value: i32, timeoutNs: i64): i32 => memory.atomic.wait32(word, value, timeoutNs);

/**
 * A centralized barrier of `size` threads at `b` (three i32: arrivals,
 * generation, sleepers), after Mellor-Crummey and Scott's sense-reversing
 * barrier with the sense as a generation count: the last thread to arrive
 * resets the count and moves the generation on; the others spin on the
 * generation, then sleep on it (if this thread may: a browser's main thread
 * may not). Traps when a thread of the job failed, so none waits for
 * a thread that will not come.
 */
export function barrier(b: usize, size: i32): void {
  let generation = atomic.load<i32>(b, 4);
  if (atomic.add<i32>(b, 1) == size - 1) {
    atomic.store<i32>(b, 0);
    atomic.store<i32>(b, generation + 1, 4);
    if (atomic.load<i32>(b, 8) > 0) atomic.notify(b + 4, size);
    return;
  }
  let spins = 0;
  while (atomic.load<i32>(b, 4) == generation) {
    if (atomic.load<i32>(abortWord) != 0) unreachable();
    if (mayWait && ++spins > SPINS) {
      atomic.add<i32>(b, 1, 8);
      waitOn(b + 4, generation, WAIT_NS);
      atomic.sub<i32>(b, 1, 8);
      spins = 0;
    }
  }
}

/** The barrier after each step of this thread's time loop, when it shares the loop. */
// @ts-ignore: decorator
@inline export function stepBarrier(): void {
  if (groupSize > 1) barrier(groupBarrier, groupSize);
}
