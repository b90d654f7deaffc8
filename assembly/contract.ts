// Predicates for the kernel's preconditions. Callers write
// `assert(aligned16(w), "gemm: w must be 16-byte aligned")` at the call site,
// so the debug build's abort names the kernel's own file and line (decoded by
// @assemblyscript/loader in tests); release builds use --noAssert and carry
// no checks at all.

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
