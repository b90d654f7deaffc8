// Kernel preconditions. They are assertions: the debug build traps with a
// message, file and line (decoded by @assemblyscript/loader in tests); release
// builds are compiled with --noAssert and carry none of them.

/** Asserts that `bytes` bytes from `ptr` lie inside linear memory. */
// @ts-ignore: decorator
@inline export function requireInMemory(ptr: usize, bytes: u64, message: string): void {
  assert(<u64>ptr + bytes <= (<u64>memory.size() << 16), message);
}

/** Asserts that `ptr` is a multiple of 16 bytes (v128 panels). */
// @ts-ignore: decorator
@inline export function requireAligned16(ptr: usize, message: string): void {
  assert((ptr & 15) == 0, message);
}

/** Bytes spanned by `rows` rows of `cols` floats with a row stride of `ld` floats. */
// @ts-ignore: decorator
@inline export function spanBytes(rows: i32, cols: i32, ld: i32): u64 {
  return rows <= 0 ? 0 : ((<u64>(rows - 1) * <u64>ld + <u64>cols) << 2);
}
