// The threaded builds' protocol and partition (THREADS.md). The host starts
// count − 1 helper threads, each an instance of this module on the same
// shared memory: thread t calls thread_start(t, region) and then thread_loop,
// which sleeps until a job is posted and returns only after threads_stop. The
// calling thread is thread 0 of every job: a layer export (rnn_layer, …)
// writes the job below, posts it, runs its own part and joins the others.
//
// A job is one layer call, with the same operations per output element as on
// one thread, only partitioned:
// - the input projection by blocks of whole 4-row tiles (the last thread also
//   takes the rows past them), so each row keeps its micro-kernel;
// - the recurrent step by blocks of units (16 for Elman, where gemv_1x16 pairs
//   two panels; 8 for the gated cells, whose panels interleave the gates),
//   with one barrier per step (two with an LSTM projection);
// - a bidirectional layer's directions on different threads (even threads
//   the forward one, odd the reverse one), which share no step;
// - below measured sizes a part stays on one thread (stepMacsMin, …).
// A trap in a helper thread is caught by its host code, which calls
// thread_failed: that sets the abort word every barrier checks (so nobody
// waits for it), and threads_status tells the caller after the call.

import { PANEL_WIDTH, SplitMacs } from "./abi";
import { PACK_FLOATS } from "./gemm";
import { GATE_SCRATCH_BYTES } from "./gates";
import { Step, projectInputs, timeLoop } from "./layer";
import { WAIT_NS, barrier, mayWait, waitOn, resetThreadPart, setThreadPart, setThreadState } from "./thread";

// The control block at the start of the region the host allocates (threads_region_bytes).
// @ts-ignore: decorator
@inline const JOB_SEQ: usize = 0;
// @ts-ignore: decorator
@inline const STOP: usize = 4;
// @ts-ignore: decorator
@inline const ABORT: usize = 8;
// @ts-ignore: decorator
@inline const DONE: usize = 12;
// @ts-ignore: decorator
@inline const JOB_SLEEPERS: usize = 16;
// @ts-ignore: decorator
@inline const FAIL_THREAD: usize = 20;
/** The threads of a job, for the helper threads (thread 0 has its own threadCount). */
// @ts-ignore: decorator
@inline const COUNT: usize = 24;
/** Whether thread 0 sleeps in join, waiting for the helper threads' DONE. */
// @ts-ignore: decorator
@inline const DONE_SLEEPERS: usize = 28;
/** Barriers: everyone, then the threads of each direction; a cache line each. */
// @ts-ignore: decorator
@inline const BARRIERS: usize = 64;
/** The layer call being run (Job). */
// @ts-ignore: decorator
@inline const JOB: usize = 256;
// @ts-ignore: decorator
@inline const CONTROL_BYTES: usize = 384;
/** A helper thread's scratch: a pack buffer and a gate scratch. */
// @ts-ignore: decorator
@inline const THREAD_BYTES: usize = (<usize>PACK_FLOATS << 2) + GATE_SCRATCH_BYTES;

/**
 * Multiply-adds of one step of one direction from which its units are split
 * across threads: batch-1 streaming at hidden 128 (16 K) stays on one thread,
 * hidden 256 (65 K: a step of ~5 µs against a barrier of well under 1 µs on
 * an idle machine) is split.
 */
let stepMacsMin: i64 = SplitMacs.Step;
/**
 * Multiply-adds of the input projection from which its rows are split across
 * threads: ~50 µs of work, against a job's dispatch of a few µs (tens when
 * the helper threads were asleep).
 */
let projectMacsMin: i64 = SplitMacs.Projection;
/** The same when the projection is the only part of the call that would split. */
let projectAloneMacsMin: i64 = SplitMacs.ProjectionAlone;
/** Multiply-adds of a bidirectional layer's recurrence from which its directions go to two threads. */
let directionsMacsMin: i64 = SplitMacs.Directions;
/** Spins of a helper thread before it sleeps until the next job. */
// @ts-ignore: decorator
@inline const JOB_SPINS: i32 = 1 << 15;

/** Threads of a job (thread 0's view; 1 until threads_configure, and after threads_stop). */
let threadCount: i32 = 1;
/** The region: control block, then the helper threads' scratch. */
let control: usize = 0;
/** This thread's index. */
let threadIndex: i32 = 0;
/** The last job this helper thread took. */
let seenJob: i32 = 0;

/**
 * The layer call being run: written by thread 0 before it posts the job, read
 * by all. It lives in the region, not in static memory, which a thread's
 * instantiation would rewrite.
 */
@unmanaged class Job {
  step: usize; p: usize; ldp: i32; x: usize; ldx: i32; inputs: i32; w_ih: usize; bias: usize; biasStride: i32;
  rows: i32; cols: i32; dirs: i32; batch_sizes: usize; steps: i32; hidden: i32; granule: i32; proj: i32;
  projectThreads: i32; groups: i32; split: i32;
}
// @ts-ignore: compile-time check
if (offsetof<Job>() > CONTROL_BYTES - JOB) ERROR("threads.ts: the job record does not fit the control block");

/** Bytes of the region threads_configure and thread_start take for `count` threads. */
export function threads_region_bytes(count: i32): usize {
  return CONTROL_BYTES + <usize>max(count - 1, 0) * THREAD_BYTES;
}

/**
 * Thread 0: jobs from now on run on `count` threads, whose helpers
 * thread_start'ed with `region`. `mayWait`: whether thread 0 may block at a
 * barrier once it has spun (Node, Deno, Bun, a worker) or must only spin (a
 * browser's main thread); blocking frees its core when the machine is busier
 * than the threads.
 */
export function threads_configure(count: i32, region: usize, mayWait: bool): void {
  control = region;
  threadIndex = 0;
  setThreadState(0, 0, region + ABORT, mayWait);
  threadCount = max(count, 1);
  atomic.store<i32>(region + COUNT, threadCount);
  // No job is pending: a trap before the first one may join at once.
  atomic.store<i32>(region + DONE, threadCount - 1);
}

/** Helper thread t (1..count−1): takes its scratch in `region`; thread_loop next. */
export function thread_start(t: i32, region: usize): void {
  control = region;
  threadIndex = t;
  let own = region + CONTROL_BYTES + <usize>(t - 1) * THREAD_BYTES;
  setThreadState(own, own + (<usize>PACK_FLOATS << 2), region + ABORT, true);
  seenJob = atomic.load<i32>(region + JOB_SEQ);
}

/** Helper threads: runs every job posted, sleeping between them; returns after threads_stop. */
export function thread_loop(): void {
  let jobSeq = control + JOB_SEQ;
  while (true) {
    let spins = 0;
    let seq = atomic.load<i32>(jobSeq);
    while (seq == seenJob) {
      if (++spins > JOB_SPINS) {
        atomic.add<i32>(control + JOB_SLEEPERS, 1);
        waitOn(jobSeq, seq, -1);
        atomic.sub<i32>(control + JOB_SLEEPERS, 1);
        spins = 0;
      }
      seq = atomic.load<i32>(jobSeq);
    }
    seenJob = seq;
    if (atomic.load<i32>(control + STOP) != 0) return;
    if (atomic.load<i32>(control + FAIL_THREAD) == threadIndex) {
      atomic.store<i32>(control + FAIL_THREAD, 0);
      unreachable();
    }
    runPart(threadIndex);
    finishJob();
  }
}

/** A helper thread leaves the job (done or failed), waking thread 0 if it sleeps in join. */
function finishJob(): void {
  atomic.add<i32>(control + DONE, 1);
  if (atomic.load<i32>(control + DONE_SLEEPERS) > 0) atomic.notify(control + DONE, 1);
}

/**
 * Called by the host code of a thread whose job trapped (a helper thread, or
 * thread 0's own call): the other threads leave their barriers, and thread 0's
 * threads_status reports the failure.
 */
export function thread_failed(): void {
  if (control == 0) return;
  atomic.or<i32>(control + ABORT, threadIndex == 0 ? 2 : 1);
  if (threadIndex != 0) finishJob();
}

/**
 * Thread 0, after every layer call: waits until every helper thread has left
 * the job, then returns what failed (bit 0: a helper thread, bit 1: thread 0;
 * 0: nothing) and makes the pool ready for the next job.
 */
export function threads_status(): i32 {
  resetThreadPart();
  if (control == 0 || threadCount == 1) return 0;
  join();
  let failed = atomic.load<i32>(control + ABORT);
  if (failed != 0) {
    // A thread that left a barrier early left its arrival counted: every thread is out of the job now.
    for (let i = 0; i < 3; i++) atomic.store<i32>(barrierAt(i), 0);
    atomic.store<i32>(control + ABORT, 0);
  }
  return failed;
}

/** Thread 0: makes every helper thread return from thread_loop; jobs run on thread 0 from now on. */
export function threads_stop(): void {
  if (control == 0) return;
  threadCount = 1;
  atomic.store<i32>(control + STOP, 1);
  atomic.add<i32>(control + JOB_SEQ, 1);
  atomic.notify(control + JOB_SEQ, i32.MAX_VALUE);
}

/**
 * Sets the sizes (multiply-adds) from which a part of a layer call is split
 * across threads; 0, 0, 0 splits whatever can be split (tests of the
 * partition on small problems; a projection of 0 splits alone too, else it
 * keeps SplitMacs.ProjectionAlone), measurements tune them.
 */
export function threads_tune(stepMacs: f64, projectMacs: f64, directionsMacs: f64): void {
  stepMacsMin = <i64>stepMacs;
  projectMacsMin = <i64>projectMacs;
  projectAloneMacsMin = projectMacsMin > 0 ? <i64>SplitMacs.ProjectionAlone : 0;
  directionsMacsMin = <i64>directionsMacs;
}

/** Test hook: helper thread t traps as it takes the next job (the host's failure path). */
export function thread_fail_next_job(t: i32): void {
  if (control != 0) atomic.store<i32>(control + FAIL_THREAD, t);
}

/**
 * Waits until every helper thread has finished (or failed) the posted job:
 * spins, then sleeps if thread 0 may (as at a barrier, thread.ts).
 */
function join(): void {
  let spins = 0;
  let done = atomic.load<i32>(control + DONE);
  while (done < threadCount - 1) {
    if (mayWait && ++spins > JOB_SPINS) {
      atomic.add<i32>(control + DONE_SLEEPERS, 1);
      waitOn(control + DONE, done, WAIT_NS);
      atomic.sub<i32>(control + DONE_SLEEPERS, 1);
      spins = 0;
    }
    done = atomic.load<i32>(control + DONE);
  }
}

/** The barrier at `index` (0: every thread; 1, 2: the threads of one direction). */
// @ts-ignore: decorator
@inline function barrierAt(index: i32): usize {
  return control + BARRIERS + (<usize>index << 6);
}

/** Block `i` of `count` blocks split into `parts` near-equal runs: the first block of run i. */
// @ts-ignore: decorator
@inline function splitAt(count: i32, parts: i32, i: i32): i32 {
  return <i32>(<i64>count * <i64>i / <i64>parts);
}

/**
 * Thread 0, from a layer driver: runs the layer call on the pool if it is
 * large enough to gain (stepMacsMin, …), else returns false and the driver
 * runs it alone. The driver has set its step's operands (the layer record).
 * `granule`: units per block of the recurrent step (8 or 16); `stepMacs`:
 * multiply-adds of one direction's first step.
 */
export function runOnThreads(
  step: Step, p: usize, ldp: i32, x: usize, ldx: i32, inputs: i32, w_ih: usize, bias: usize, biasStride: i32,
  rows: i32, cols: i32, dirs: i32, batch_sizes: usize, steps: i32, hidden: i32, granule: i32, proj: i32,
  stepMacs: i64,
): bool {
  resetThreadPart();
  let count = threadCount;
  if (count == 1) return false;
  let projectMacs = <i64>rows * <i64>inputs * <i64>(cols * dirs);
  let groups = dirs == 2 && stepMacs * <i64>steps >= directionsMacsMin ? 2 : 1;
  let blocks = (hidden + granule - 1) / granule;
  let split = stepMacs >= stepMacsMin ? min(count, blocks) : 1;
  // Alone, the projection must pay for waking the helper threads (SplitMacs.ProjectionAlone).
  let projectMin = groups == 1 && split == 1 ? max(projectMacsMin, projectAloneMacsMin) : projectMacsMin;
  let projectThreads = projectMacs >= projectMin ? max(1, min(count, rows >> 2)) : 1;
  if (projectThreads == 1 && groups == 1 && split == 1) return false;
  let job = changetype<Job>(control + JOB);
  job.step = changetype<usize>(step);
  job.p = p;
  job.ldp = ldp;
  job.x = x;
  job.ldx = ldx;
  job.inputs = inputs;
  job.w_ih = w_ih;
  job.bias = bias;
  job.biasStride = biasStride;
  job.rows = rows;
  job.cols = cols;
  job.dirs = dirs;
  job.batch_sizes = batch_sizes;
  job.steps = steps;
  job.hidden = hidden;
  job.granule = granule;
  job.proj = proj;
  job.projectThreads = projectThreads;
  job.groups = groups;
  job.split = split;
  atomic.store<i32>(control + DONE, 0);
  atomic.add<i32>(control + JOB_SEQ, 1);
  if (atomic.load<i32>(control + JOB_SLEEPERS) > 0) atomic.notify(control + JOB_SEQ, count - 1);
  runPart(0);
  join();
  resetThreadPart();
  return true;
}

/** Thread t's part of the posted job. */
function runPart(t: i32): void {
  let job = changetype<Job>(control + JOB);
  let count = atomic.load<i32>(control + COUNT);
  let rows = job.rows;
  let ldp = job.ldp;
  let projectThreads = job.projectThreads;
  if (t < projectThreads) {
    let tiles = rows >> 2;
    let r0 = splitAt(tiles, projectThreads, t) << 2;
    let r1 = t == projectThreads - 1 ? rows : splitAt(tiles, projectThreads, t + 1) << 2;
    projectInputs(job.p + (<usize>r0 * <usize>ldp << 2), ldp, job.x + (<usize>r0 * <usize>job.ldx << 2), job.ldx,
                  job.inputs, job.w_ih, job.bias, job.biasStride, r1 - r0, job.cols, job.dirs);
  }
  // Every step reads projections of every thread's rows.
  barrier(barrierAt(0), count);

  let groups = job.groups;
  let group = groups == 2 ? t & 1 : 0;
  let rank = groups == 2 ? t >> 1 : t;
  let split = min(job.split, groups == 2 ? (count + 1 - group) >> 1 : count);
  if (rank >= split) return;
  let hidden = job.hidden;
  let granule = job.granule;
  let blocks = (hidden + granule - 1) / granule;
  let projBlocks = (job.proj + 2 * PANEL_WIDTH - 1) / (2 * PANEL_WIDTH);
  setThreadPart(splitAt(blocks, split, rank) * granule, splitAt(blocks, split, rank + 1) * granule,
                splitAt(projBlocks, split, rank) * 2 * PANEL_WIDTH, splitAt(projBlocks, split, rank + 1) * 2 * PANEL_WIDTH,
                groups == 2 ? group : 0, groups == 2 ? group : 1, barrierAt(1 + group), split);
  timeLoop(job.batch_sizes, job.steps, rows, job.dirs, changetype<Step>(job.step));
}
