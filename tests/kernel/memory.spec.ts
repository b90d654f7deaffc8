// The kernel allocator (assembly/memory.ts), which is also this test module's
// only allocator (see runtime.ts): as-pect's own objects live in its blocks.
// Checks that need a quiet allocator (baselines, adjacency) make no managed
// allocation between measuring and asserting, so they read locals only.

import { alloc, free, allocated_bytes } from "../../assembly/memory";

const MAX_BLOCKS = 512;
// Block table (pointer, size) in raw kernel memory, allocated once up front so
// it never shows up in the baselines below.
const table = alloc(MAX_BLOCKS * 8);

function ptrAt(i: i32): usize { return load<u32>(table + (<usize>i << 3)); }
function sizeAt(i: i32): usize { return load<u32>(table + (<usize>i << 3), 4); }
function setBlock(i: i32, p: usize, size: usize): void {
  store<u32>(table + (<usize>i << 3), <u32>p);
  store<u32>(table + (<usize>i << 3), <u32>size, 4);
}

let rng: u32 = 1;
/** xorshift32 in [0, n). */
function below(n: u32): u32 {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng % n;
}

/** Sizes spread over 1 .. 64 KiB, small ones more often (log-uniform-ish).
 *  Size 0 has its own tests. */
function randomSize(): usize {
  return below(1 << (below(17))) + 1;
}

function memoryBytes(): u64 {
  return <u64>memory.size() << 16;
}

/** Fills block i with bytes derived from its index, so overlapping blocks corrupt each other. */
function stamp(i: i32): void {
  let p = ptrAt(i);
  let n = sizeAt(i);
  for (let j: usize = 0; j < n; j++) store<u8>(p + j, <u8>(<usize>i * 131 + j * 7 + 1));
}

function intact(i: i32): bool {
  let p = ptrAt(i);
  let n = sizeAt(i);
  for (let j: usize = 0; j < n; j++) {
    if (load<u8>(p + j) != <u8>(<usize>i * 131 + j * 7 + 1)) return false;
  }
  return true;
}

/** A block that is non-null, 16-byte aligned and inside linear memory. */
function wellFormed(p: usize, size: usize): bool {
  return p != 0 && (p & 15) == 0 && p >= __heap_base && <u64>p + <u64>size <= memoryBytes();
}

describe("alloc/free", () => {
  // Keep this test first: nothing has been freed yet, so the free list is
  // empty and alloc(0) is bump-allocated as the topmost block, whose payload
  // pointer (block + 16-byte header) equals the allocator's top.
  it("frees an alloc(0) block that is the topmost block", () => {
    let baseline = allocated_bytes();
    let z = alloc(0);
    let ok = z != 0 && (z & 15) == 0;
    free(z);
    let after = allocated_bytes();
    expect<bool>(ok).toBe(true);
    expect<usize>(after).toBe(baseline);
  });

  it("returns 16-byte aligned blocks inside memory for every size, alloc(0) included", () => {
    let baseline = allocated_bytes();
    let bad = 0;
    let n = 0;
    for (let size: usize = 0; size <= 300; size++) setBlock(n++, alloc(size), size);
    for (let s = 9; s <= 20; s++) {            // 2^s − 1, 2^s, 2^s + 1 up to 1 MiB
      for (let d = -1; d <= 1; d++) {
        let size = <usize>((1 << s) + d);
        setBlock(n++, alloc(size), size);
      }
    }
    for (let i = 0; i < n; i++) if (!wellFormed(ptrAt(i), sizeAt(i))) bad++;
    // alloc(0) blocks are distinct from each other and from everything else.
    let zeroA = ptrAt(0);
    let distinct = true;
    for (let i = 1; i < n; i++) if (ptrAt(i) == zeroA) distinct = false;
    for (let i = 0; i < n; i++) free(ptrAt(i));
    free(0);                                   // ignored
    let after = allocated_bytes();
    expect<i32>(bad).toBe(0);
    expect<bool>(distinct).toBe(true);
    expect<usize>(after).toBe(baseline);
  });

  it("never hands out overlapping blocks, also when reusing freed ones", () => {
    let baseline = allocated_bytes();
    rng = 12345;
    let count = 400;
    for (let i = 0; i < count; i++) {
      let size = below(5000);
      setBlock(i, alloc(size), size);
      stamp(i);
    }
    let broken = 0;
    for (let i = 0; i < count; i++) if (!intact(i)) broken++;
    // Free every other block, then refill the holes with other sizes (first
    // fit splits them) and check every live block again.
    for (let i = 0; i < count; i += 2) free(ptrAt(i));
    for (let i = 0; i < count; i += 2) {
      let size = below(6000);
      setBlock(i, alloc(size), size);
      stamp(i);
    }
    let malformed = 0;
    for (let i = 0; i < count; i++) {
      if (!intact(i)) broken++;
      if (!wellFormed(ptrAt(i), sizeAt(i))) malformed++;
    }
    for (let i = 0; i < count; i++) free(ptrAt(i));
    let after = allocated_bytes();
    expect<i32>(broken).toBe(0);
    expect<i32>(malformed).toBe(0);
    expect<usize>(after).toBe(baseline);
  });

  it("coalesces freed neighbours: the next, the previous, both", () => {
    let baseline = allocated_bytes();
    let size: usize = 96 << 10;   // larger than any hole as-pect leaves: bump-allocated
    let wrong = 0;
    for (let order = 0; order < 4; order++) {
      let a = alloc(size), b = alloc(size), c = alloc(size), d = alloc(size);
      let stride = b - a;         // block size including the header
      if (c - b != stride || d - c != stride) { wrong += 100; break; } // not adjacent
      let got: usize = 0;
      if (order == 0) {           // b merges into the free a before it
        free(a); free(b);
        got = alloc(stride + stride / 2);
      } else if (order == 1) {    // a merges with the free b after it
        free(b); free(a);
        got = alloc(stride + stride / 2);
      } else if (order == 2) {    // b merges with both free neighbours
        free(a); free(c); free(b);
        got = alloc(2 * stride + stride / 2);
      } else {                    // all four, d last
        free(a); free(c); free(b); free(d);
        got = alloc(3 * stride + stride / 2);
      }
      // Only a merged block can serve the request at a; otherwise it lands
      // past d.
      if (got != a) wrong++;
      free(got);
      if (order < 2) free(c);
      if (order < 3) free(d);
    }
    let after = allocated_bytes();
    expect<i32>(wrong).toBe(0);
    expect<usize>(after).toBe(baseline);
  });

  it("gives a freed topmost block back to the bump region", () => {
    // Larger than all of memory, so larger than any free block: x is
    // bump-allocated at the top. Once x is freed, a still larger request fits
    // at x only if the bump region restarts there.
    let size = <usize>memory.size() << 16;
    let x = alloc(size);
    free(x);
    let z = alloc(size + 4096);
    free(z);
    expect<bool>(x != 0).toBe(true);
    expect<usize>(z).toBe(x);
  });

  it("reuses freed memory: thousands of alloc/free cycles do not grow memory", () => {
    let baseline = allocated_bytes();
    // 16 fixed sizes, allocated in a rotated order and freed in one of three
    // orders: all 48 combinations occur in the first 48 cycles, so memory
    // must stop growing after them.
    let sizes = table + (MAX_BLOCKS - 16) * 8;   // spare table space for the sizes
    rng = 777;
    for (let k = 0; k < 16; k++) store<u32>(sizes + (<usize>k << 2), <u32>randomSize());
    let unbalanced = 0;
    let pagesAfterWarmup = 0;
    for (let cycle = 0; cycle < 3000; cycle++) {
      for (let k = 0; k < 16; k++) {
        let s = <usize>load<u32>(sizes + (<usize>((k + cycle) & 15) << 2));
        setBlock(k, alloc(s), s);
      }
      let how = cycle % 3;
      for (let k = 0; k < 16; k++) {
        let i = how == 0 ? k : how == 1 ? 15 - k : (k * 7) & 15; // forward, backward, scattered
        free(ptrAt(i));
      }
      if (allocated_bytes() != baseline) unbalanced++;
      if (cycle == 47) pagesAfterWarmup = memory.size();
    }
    let pagesEnd = memory.size();

    // Random interleaving: up to 64 live blocks of 0 .. 64 KiB, 20000 steps.
    // Memory may hold at most the peak live bytes several times over.
    let live = 0;
    let liveBytes: usize = 0;
    let peak: usize = 0;
    let broken = 0;
    let pagesBefore = memory.size();
    for (let step = 0; step < 20000; step++) {
      if (live == 64 || (live > 0 && below(2) == 0)) {
        let i = <i32>below(<u32>live);
        if (!intactEnds(i)) broken++;
        free(ptrAt(i));
        liveBytes -= sizeAt(i);
        live--;
        setBlock(i, ptrAt(live), sizeAt(live));
      } else {
        let s = randomSize();
        setBlock(live, alloc(s), s);
        stampEnds(live);
        liveBytes += s;
        live++;
        if (liveBytes > peak) peak = liveBytes;
      }
    }
    for (let i = 0; i < live; i++) {
      if (!intactEnds(i)) broken++;
      free(ptrAt(i));
    }
    let grownBytes = <u64>(memory.size() - pagesBefore) << 16;
    let after = allocated_bytes();

    expect<i32>(unbalanced).toBe(0);
    expect<i32>(pagesEnd).toBe(pagesAfterWarmup);
    expect<i32>(broken).toBe(0);
    expect<u64>(grownBytes).toBeLessThanOrEqual(<u64>peak * 4);
    expect<usize>(after).toBe(baseline);
  });

  it("fills memory to the last byte without handing out any byte twice", () => {
    // Greedy fill, the biggest blocks first, down to alloc(0)'s 16-byte
    // blocks, so the bump pointer reaches 4 GiB exactly when the engine grants
    // it. Blocks are checked pairwise by address only: their pages stay untouched.
    let baseline = allocated_bytes();
    let count = 0;
    let runaway = false;
    let bytes: u64 = 0x100000000 - memoryBytes();
    while (!runaway) {
      let request = <usize>min<u64>(bytes, 0xFFFF0000);
      let got = 0;
      for (let p = alloc(request); p != 0; p = alloc(request)) {
        if (count == MAX_BLOCKS || ++got > 64) { runaway = true; break; }
        setBlock(count++, p, request);
      }
      if (bytes == 0) break;
      bytes = bytes > 16 ? bytes >> 1 : 0;
    }
    let overlaps = 0;
    let malformed = 0;
    for (let i = 0; i < count; i++) {
      if (!wellFormed(ptrAt(i), sizeAt(i))) malformed++;
      for (let j = 0; j < i; j++) {
        let ei = <u64>ptrAt(i) + <u64>max<usize>(sizeAt(i), 1);
        let ej = <u64>ptrAt(j) + <u64>max<usize>(sizeAt(j), 1);
        if (<u64>ptrAt(i) < ej && <u64>ptrAt(j) < ei) overlaps++;
      }
    }
    let full = memoryBytes();
    for (let i = count - 1; i >= 0; i--) free(ptrAt(i));
    let after = allocated_bytes();
    log<string>(count.toString() + " blocks filled memory to " + full.toString() + " bytes");
    expect<bool>(runaway).toBe(false);
    expect<i32>(malformed).toBe(0);
    expect<i32>(overlaps).toBe(0);
    expect<usize>(after).toBe(baseline);
  });

  it("returns 0 for huge requests without trapping, and keeps working", () => {
    let baseline = allocated_bytes();
    let pages = memory.size();
    let a = alloc(0xFFFFFFFF);
    let b = alloc(0xFFFFFFF0);      // would wrap around 2^32 when rounded up
    let c = alloc(0xFFFF0000);
    let pagesAfter = memory.size();
    let afterRefused = allocated_bytes();

    // 3.9e9 bytes fit below 4 GiB, so an engine may grant them (V8 does, up to
    // 65536 pages) or refuse; either way there is no trap, and a second one
    // cannot fit while the first is live.
    let big = alloc(3900000000);
    let big2 = alloc(3900000000);
    let bigOk = big == 0 || wellFormed(big, 3900000000);
    let bigPages = memory.size();
    free(big);
    let afterBig = allocated_bytes();

    // Still usable afterwards.
    let p = alloc(1000);
    let ok = wellFormed(p, 1000);
    if (ok) {
      memory.fill(p, 0x5A, 1000);
      ok = load<u8>(p) == 0x5A && load<u8>(p + 999) == 0x5A;
    }
    free(p);
    let afterSmall = allocated_bytes();

    log<string>("alloc(3.9e9) " + (big == 0 ? "returned 0" : "succeeded, memory grew to " + bigPages.toString() + " pages"));
    expect<usize>(a).toBe(0);
    expect<usize>(b).toBe(0);
    expect<usize>(c).toBe(0);
    expect<i32>(pagesAfter).toBe(pages);
    expect<usize>(afterRefused).toBe(baseline);
    expect<bool>(bigOk).toBe(true);
    expect<usize>(big2).toBe(0);
    expect<usize>(afterBig).toBe(baseline);
    expect<bool>(ok).toBe(true);
    expect<usize>(afterSmall).toBe(baseline);
  });
});

/** Writes the block index into the first and last 4 bytes (blocks ≥ 8 bytes). */
function stampEnds(i: i32): void {
  let n = sizeAt(i);
  if (n < 8) return;
  let p = ptrAt(i);
  store<u32>(p, <u32>p);
  store<u32>(p + n - 4, <u32>p ^ 0xFFFFFFFF);
}

function intactEnds(i: i32): bool {
  let n = sizeAt(i);
  if (n < 8) return true;
  let p = ptrAt(i);
  return load<u32>(p) == <u32>p && load<u32>(p + n - 4) == (<u32>p ^ 0xFFFFFFFF);
}

afterAll(() => {
  free(table);
});
