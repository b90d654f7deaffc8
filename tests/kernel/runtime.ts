// Test runtime for the kernel specs (selected by "runtime" in tests/kernel/asconfig.*.json).
//
// as-pect compiles specs with AssemblyScript's incremental runtime by default.
// Its TLSF heap starts at __heap_base, the address the kernel allocator
// (assembly/memory.ts) also claims on its first alloc, so the two corrupt each
// other (TLSF traps in tlsf.ts as soon as a kernel block has been written).
// Here the kernel allocator is the only allocator in the test module: the
// runtime's raw blocks and managed objects (as-pect's strings, arrays,
// expectations) are carved from kernel blocks and, as in AssemblyScript's stub
// runtime, never collected. The specs thus call `alloc`/`free` exactly as the
// host does, with as-pect's own allocations interleaved between their calls.

import { alloc, free } from "../../assembly/memory";
import { BLOCK, BLOCK_OVERHEAD, BLOCK_MAXSIZE, OBJECT, OBJECT_OVERHEAD, OBJECT_MAXSIZE } from "~lib/rt/common";

// A raw block is a kernel block whose first 16 bytes hold the runtime's block
// header (mmInfo = payload size, at its end): payloads stay 16-byte aligned
// and the runtime relies on nothing inside the kernel's own block header.
// @ts-ignore: decorator
@inline const PREFIX: usize = 16;

// @ts-ignore: decorator
@unsafe @global
export function __alloc(size: usize): usize {
  assert(size <= BLOCK_MAXSIZE, "test runtime: allocation too large");
  let p = alloc(size + PREFIX);
  assert(p != 0, "test runtime: out of memory");
  let ptr = p + PREFIX;
  changetype<BLOCK>(ptr - BLOCK_OVERHEAD).mmInfo = size;
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
export function __realloc(ptr: usize, size: usize): usize {
  let old = changetype<BLOCK>(ptr - BLOCK_OVERHEAD).mmInfo;
  let moved = __alloc(size);
  memory.copy(moved, ptr, min(old, size));
  __free(ptr);
  return moved;
}

// @ts-ignore: decorator
@unsafe @global
export function __free(ptr: usize): void {
  free(ptr - PREFIX);
}

// @ts-ignore: decorator
@unsafe @global
export function __new(size: usize, id: u32): usize {
  assert(size <= OBJECT_MAXSIZE, "test runtime: object too large");
  let ptr = __alloc(OBJECT_OVERHEAD + size);
  let object = changetype<OBJECT>(ptr - BLOCK_OVERHEAD);
  object.gcInfo = 0;
  object.gcInfo2 = 0;
  object.rtId = id;
  object.rtSize = <u32>size;
  // The standard library expects new objects zeroed (the incremental runtime
  // clears them); kernel blocks may be reused memory.
  memory.fill(ptr + OBJECT_OVERHEAD, 0, size);
  return ptr + OBJECT_OVERHEAD;
}

// Like the incremental runtime's, the old object is left alone (it may still
// be referenced), not freed: with no collector it simply leaks.
// @ts-ignore: decorator
@unsafe @global
export function __renew(oldPtr: usize, size: usize): usize {
  let old = changetype<OBJECT>(oldPtr - OBJECT_OVERHEAD - BLOCK_OVERHEAD);
  let ptr = __new(size, old.rtId);
  memory.copy(ptr, oldPtr, min(size, <usize>old.rtSize));
  return ptr;
}

// No collector: links, pins and collections are no-ops, as in the stub runtime.

// @ts-ignore: decorator
@global @unsafe
export function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {}

// @ts-ignore: decorator
@global @unsafe
export function __pin(ptr: usize): usize { return ptr; }

// @ts-ignore: decorator
@global @unsafe
export function __unpin(ptr: usize): void {}

// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void {}

// @ts-ignore: decorator
@global @unsafe
export function __collect(): void {}
