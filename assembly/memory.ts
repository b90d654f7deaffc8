// Linear-memory allocator for the host: first-fit over an address-ordered free
// list with coalescing, bump allocation past the last block, memory.grow on
// demand. It never traps: a request that cannot be met returns 0, so the host
// can raise a RangeError and keep the instance usable.
//
// Block layout: a 16-byte header (u32 size of the whole block, u32 next free
// block or 0, 8 bytes padding) followed by the payload. Block sizes are
// multiples of 16, so every payload is 16-byte aligned.

// @ts-ignore: decorator
@inline const HEADER: usize = 16;
// @ts-ignore: decorator
@inline const ALIGN_MASK: usize = 15;
// @ts-ignore: decorator
@inline const MIN_SPLIT: usize = 64;
/** Largest request served: below 4 GiB with room for a header and rounding. */
// @ts-ignore: decorator
@inline const MAX_REQUEST: usize = 0xFFFF0000 - HEADER;
/**
 * Highest value of `top`: the last 16 bytes below 4 GiB are never handed out,
 * so `top` fits in a u32 and never wraps to 0 (which means "not started").
 */
// @ts-ignore: decorator
@inline const TOP_LIMIT: u64 = 0x100000000 - 16;

/** First byte past the highest block handed out (0 until the first alloc). */
let top: usize = 0;
/** Lowest-addressed free block, or 0. */
let freeList: usize = 0;
/** Payload bytes currently handed out, for the host's leak checks. */
let liveBytes: usize = 0;

// @ts-ignore: decorator
@inline function blockSize(block: usize): usize { return <usize>load<u32>(block); }
// @ts-ignore: decorator
@inline function setBlockSize(block: usize, size: usize): void { store<u32>(block, <u32>size); }
// @ts-ignore: decorator
@inline function nextFree(block: usize): usize { return <usize>load<u32>(block, 4); }
// @ts-ignore: decorator
@inline function setNextFree(block: usize, next: usize): void { store<u32>(block, <u32>next, 4); }

/** Makes memory at least `end` bytes long; false if the engine refuses. */
function ensureCapacity(end: u64): bool {
  let have = <u64>memory.size() << 16;
  if (end <= have) return true;
  if (end > 0x100000000) return false;
  let needed = <i32>((end - have + 0xFFFF) >> 16);
  // Grow by at least half the current size to keep the number of grows (and
  // the host's view invalidations) logarithmic; fall back to the exact need.
  let wanted = max(needed, memory.size() >> 1);
  if (memory.grow(wanted) >= 0) return true;
  return memory.grow(needed) >= 0;
}

/**
 * Allocates `bytes` bytes (any count, 0 included) and returns a 16-byte aligned
 * pointer that the caller owns until `free`; 0 when memory cannot grow enough.
 */
export function alloc(bytes: usize): usize {
  if (bytes > MAX_REQUEST) return 0;
  if (top == 0) top = (__heap_base + ALIGN_MASK) & ~ALIGN_MASK;
  let size = ((bytes + ALIGN_MASK) & ~ALIGN_MASK) + HEADER;

  // First fit in the free list.
  let prev: usize = 0;
  let block = freeList;
  while (block != 0) {
    let have = blockSize(block);
    if (have >= size) {
      let next = nextFree(block);
      if (have - size >= MIN_SPLIT) {
        let rest = block + size;
        setBlockSize(rest, have - size);
        setNextFree(rest, next);
        next = rest;
        setBlockSize(block, size);
      }
      if (prev == 0) freeList = next; else setNextFree(prev, next);
      liveBytes += blockSize(block) - HEADER;
      return block + HEADER;
    }
    prev = block;
    block = nextFree(block);
  }

  // Bump past the last block.
  let end = <u64>top + <u64>size;
  if (end > TOP_LIMIT || !ensureCapacity(end)) return 0;
  block = top;
  top = <usize>end;
  setBlockSize(block, size);
  liveBytes += size - HEADER;
  return block + HEADER;
}

/** Returns a block from `alloc` to the allocator; 0 is ignored. */
export function free(ptr: usize): void {
  if (ptr == 0) return;
  assert((ptr & ALIGN_MASK) == 0 && ptr > __heap_base && ptr <= top, "free: pointer not from alloc");
  let block = ptr - HEADER;
  let size = blockSize(block);
  liveBytes -= size - HEADER;

  // Find the neighbours in address order.
  let prev: usize = 0;
  let next = freeList;
  while (next != 0 && next < block) {
    prev = next;
    next = nextFree(next);
  }
  assert(next != block, "free: double free");

  // Merge with the following free block, then with the preceding one.
  if (next != 0 && block + size == next) {
    size += blockSize(next);
    next = nextFree(next);
  }
  setBlockSize(block, size);
  setNextFree(block, next);
  if (prev != 0 && prev + blockSize(prev) == block) {
    setBlockSize(prev, blockSize(prev) + size);
    setNextFree(prev, next);
    block = prev;
  } else if (prev != 0) {
    setNextFree(prev, block);
  } else {
    freeList = block;
  }

  // A free block that ends at the top is given back to the bump region.
  if (block + blockSize(block) == top) {
    top = block;
    if (freeList == block) freeList = 0;
    else {
      let p = freeList;
      while (nextFree(p) != block) p = nextFree(p);
      setNextFree(p, 0);
    }
  }
}

/** Payload bytes currently allocated and not freed. */
export function allocated_bytes(): usize {
  return liveBytes;
}
