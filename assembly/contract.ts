// Predicates for the kernel's preconditions. Callers write
// `assert(aligned16(w), "gemm: w must be 16-byte aligned")` at the call site,
// so the debug build's abort names the kernel's own file and line (decoded by
// @assemblyscript/loader in tests); release builds use --noAssert and carry
// none of these, only the write guard below.

import { PANEL_WIDTH } from "./abi";
import { inWriteWindow } from "./memory";

/** Whether `bytes` bytes from `ptr` lie inside linear memory. */
// @ts-ignore: decorator
@inline export function inMemory(ptr: usize, bytes: u64): bool {
  return <u64>ptr + bytes <= (<u64>memory.size() << 16);
}

/** Whether `ptr` is a multiple of 16 bytes (v128 panels). */
// @ts-ignore: decorator
@inline export function aligned16(ptr: usize): bool {
  return (ptr & 15) == 0;
}

/** Bytes spanned by `rows` rows of `cols` floats with a row stride of `ld` floats. */
// @ts-ignore: decorator
@inline export function spanBytes(rows: i32, cols: i32, ld: i32): u64 {
  return rows <= 0 ? 0 : ((<u64>(rows - 1) * <u64>ld + <u64>cols) << 2);
}

// The write guard, compiled into every build (release included, unlike
// `assert`): each kernel export checks, before it writes anything, that every
// span it writes lies in the write window the host named with
// set_write_window (memory.ts), and traps otherwise. One check per span per
// call; the routines the exports run, and the calls between routines inside
// the kernel, carry none.

/** More bytes than any write window holds: windows end below 4 GiB. */
// @ts-ignore: decorator
@inline export const NO_WINDOW: u64 = 0x100000000;

/**
 * Traps unless [ptr, ptr + bytes) lies in the write window. A span of 0
 * bytes writes nothing and passes whatever its pointer (e.g. LSTM's m
 * without a projection).
 */
// @ts-ignore: decorator
@inline export function checkWrite(ptr: usize, bytes: u64): void {
  if (bytes != 0 && !inWriteWindow(ptr, bytes)) unreachable();
}

/**
 * Traps unless `ok`: the guard's check of the sizes its spans are computed
 * from (non-negative, in range), so that a size the routine would misread
 * cannot make a span look small.
 */
// @ts-ignore: decorator
@inline export function checkSizes(ok: bool): void {
  if (!ok) unreachable();
}

/**
 * Bytes of a·b·c floats, or at least NO_WINDOW when that is 4 GiB or more.
 * `a` is at most NO_WINDOW (guardedRows), b and c below 2^32 (non-negative
 * i32s, or rounded up by panelFloats), so no product wraps.
 */
// @ts-ignore: decorator
@inline export function floatBytes(a: u64, b: u64, c: u64 = 1): u64 {
  return min(min(a * b, NO_WINDOW) * c, NO_WINDOW) << 2;
}

/** `n` (≥ 0) rounded up to whole panels, in 64 bits (roundUpToPanel wraps near 2^31). */
// @ts-ignore: decorator
@inline export function panelFloats(n: i32): u64 {
  return (<u64>n + <u64>(PANEL_WIDTH - 1)) & ~<u64>(PANEL_WIDTH - 1);
}

/**
 * The rows of a layer call, the sum of its `steps` (> 0) batch sizes at
 * `batch_sizes` (i32) in 64 bits; NO_WINDOW unless they are positive and
 * non-increasing, as the time loop's row offsets assume.
 */
export function guardedRows(batch_sizes: usize, steps: i32): u64 {
  let rows: u64 = 0;
  let last = i32.MAX_VALUE;
  for (let t = 0; t < steps; t++) {
    let bs = load<i32>(batch_sizes + (<usize>t << 2));
    if (bs <= 0 || bs > last) return NO_WINDOW;
    rows += <u64>bs;
    last = bs;
  }
  return min(rows, NO_WINDOW);
}
