// Linear-memory allocator for the host: first-fit over an address-ordered free
// list with coalescing, bump allocation past the last block, memory.grow on
// demand. It never traps: a request that cannot be met returns 0, so the host
// can raise a RangeError and keep the instance usable.
//
// Block layout: a 16-byte header (u32 size of the whole block, u32 next free
// block or 0, two u32 live tags) followed by the payload. Block sizes are
// multiples of 16, so every payload is 16-byte aligned. The live tags (the
// block's address and size, each xor LIVE_TAG) are set by alloc and cleared
// by free and on every free block, so a pointer can be checked to be a live
// block's payload in O(1): free refuses anything else, and so does the write
// window, the one block a kernel export may write (set_write_window).

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
/** The write window [windowStart, windowEnd): a live block's payload, or empty (0, 0). */
let windowStart: usize = 0;
let windowEnd: usize = 0;
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

/** Xored into a live block's address and size to form its two tags ("live"). */
// @ts-ignore: decorator
@inline const LIVE_TAG: u32 = 0x6576696C;

/** Tags `block` (size already set) as handed out. */
// @ts-ignore: decorator
@inline function markLive(block: usize): void {
  store<u32>(block, <u32>block ^ LIVE_TAG, 8);
  store<u32>(block, <u32>blockSize(block) ^ LIVE_TAG, 12);
}

/** Clears the live tags of `block` (free, or a free remainder whose header bytes may be old payload). */
// @ts-ignore: decorator
@inline function clearLive(block: usize): void {
  store<u64>(block, 0, 8);
}

/**
 * Whether `ptr` is the payload of a block handed out by alloc and not freed:
 * inside the allocated region, aligned, tagged with its own address and a
 * size that ends at or below `top`.
 */
function isLive(ptr: usize): bool {
  if ((ptr & ALIGN_MASK) != 0 || ptr <= __heap_base || ptr > top) return false;
  let block = ptr - HEADER;
  let size = blockSize(block);
  return load<u32>(block, 8) == (<u32>block ^ LIVE_TAG) && load<u32>(block, 12) == (<u32>size ^ LIVE_TAG) &&
    size >= HEADER && <u64>block + <u64>size <= <u64>top;
}

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
        clearLive(rest);
        next = rest;
        setBlockSize(block, size);
      }
      if (prev == 0) freeList = next; else setNextFree(prev, next);
      liveBytes += blockSize(block) - HEADER;
      markLive(block);
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
  markLive(block);
  return block + HEADER;
}

/**
 * Returns a block from `alloc` to the allocator; 0 is ignored. Anything but a
 * live block (a double free, an interior pointer) traps in every build before
 * anything is written: relinking it would hand out memory that is in use.
 */
export function free(ptr: usize): void {
  if (ptr == 0) return;
  assert((ptr & ALIGN_MASK) == 0 && ptr > __heap_base && ptr <= top, "free: pointer not from alloc");
  if (!isLive(ptr)) unreachable();
  let block = ptr - HEADER;
  let size = blockSize(block);
  liveBytes -= size - HEADER;
  clearLive(block);
  if (ptr == windowStart) setWindow(0, 0);

  // Find the neighbours in address order.
  let prev: usize = 0;
  let next = freeList;
  while (next != 0 && next < block) {
    prev = next;
    next = nextFree(next);
  }

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

// @ts-ignore: decorator
@inline function setWindow(start: usize, end: usize): void {
  windowStart = start;
  windowEnd = end;
}

/**
 * Names the one block the next kernel calls may write: the payload of `ptr`
 * if it is a live block from alloc, else nothing (the window is empty and
 * every write traps). Freeing the block empties the window.
 */
export function set_write_window(ptr: usize): void {
  if (isLive(ptr)) setWindow(ptr, ptr - HEADER + blockSize(ptr - HEADER));
  else setWindow(0, 0);
}

/** Whether [ptr, ptr + bytes) lies inside the write window, compared without wrap for any `bytes`. */
// @ts-ignore: decorator
@inline export function inWriteWindow(ptr: usize, bytes: u64): bool {
  return ptr >= windowStart && ptr <= windowEnd && bytes <= <u64>(windowEnd - ptr);
}
