// Size arithmetic for the kernel's linear memory. Sizes are plain Numbers
// (exact up to 2^53): never `|`, `&` or `>>` on a size, which would wrap at
// 2^32 and let an oversized request pass as a small one.

/** Bytes the kernel's allocator can hand out at most (a wasm32 memory is 4 GiB). */
export const MEMORY_LIMIT_BYTES = 0xffff0000;

/** The largest value a kernel i32 argument can take. */
export const MAX_INT32 = 0x7fffffff;

/** n rounded up to a multiple of m (m > 0), exactly. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Refuses, before anything is allocated, a request whose bytes cannot fit in
 * a wasm32 memory.
 * @throws RangeError naming what needed the memory and how much.
 */
export function checkFitsInMemory(bytes: number, what: string): void {
  if (!(bytes <= MEMORY_LIMIT_BYTES)) {
    throw new RangeError(
      `${what} needs ${bytes} bytes of WebAssembly memory, more than the 4 GiB a WebAssembly instance can address`,
    );
  }
}
