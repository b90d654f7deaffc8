// The write guard: set_write_window accepts only a live block's payload
// (memory.ts), checkWrite traps on any span outside it (contract.ts), and the
// size helpers the exports compute their spans with never wrap.

import { alloc, free, inWriteWindow, set_write_window } from "../../assembly/memory";
import { NO_WINDOW, checkWrite, floatBytes, guardedRows, panelFloats } from "../../assembly/contract";

/** Operands of the trapping calls below (closures passed to toThrow capture nothing). */
let target: usize = 0;
let targetBytes: u64 = 0;

describe("set_write_window", () => {
  it("opens exactly the payload of a live block: the request rounded up to 16 bytes", () => {
    let p = alloc(100);
    set_write_window(p);
    let whole = inWriteWindow(p, 112);
    let tail = inWriteWindow(p + 108, 4);
    let pastEnd = inWriteWindow(p, 113);
    let beforeStart = inWriteWindow(p - 4, 8);
    let header = inWriteWindow(p - 16, 4);
    free(p);
    expect<bool>(whole).toBe(true);
    expect<bool>(tail).toBe(true);
    expect<bool>(pastEnd).toBe(false);
    expect<bool>(beforeStart).toBe(false);
    expect<bool>(header).toBe(false);
  });

  it("leaves the window empty for a freed block, and freeing the window's block empties it", () => {
    let p = alloc(64);
    set_write_window(p);
    let open = inWriteWindow(p, 64);
    free(p);
    let afterFree = inWriteWindow(p, 4);
    set_write_window(p);
    let freed = inWriteWindow(p, 4);
    expect<bool>(open).toBe(true);
    expect<bool>(afterFree).toBe(false);
    expect<bool>(freed).toBe(false);
  });

  it("refuses an interior pointer, even one whose preceding 16 bytes copy a live block's header", () => {
    let p = alloc(256);
    set_write_window(p);
    set_write_window(p + 64);
    let interior = inWriteWindow(p + 64, 4);
    memory.copy(p + 48, p - 16, 16);
    set_write_window(p + 64);
    let forged = inWriteWindow(p + 64, 4);
    let stillLive = inWriteWindow(p, 4);
    free(p);
    expect<bool>(interior).toBe(false);
    expect<bool>(forged).toBe(false);
    expect<bool>(stillLive).toBe(false);
  });

  it("refuses 0, a misaligned pointer, and pointers past the allocator's top or past memory", () => {
    let p = alloc(32);
    let refused = 0;
    let candidates: usize[] = [0, 16, p + 4, <usize>(<u64>memory.size() << 16) + 16, 0xFFFFFFF0];
    for (let i = 0; i < candidates.length; i++) {
      set_write_window(p);
      set_write_window(candidates[i]);
      if (!inWriteWindow(p, 4) && !inWriteWindow(candidates[i], 4)) refused++;
    }
    free(p);
    expect<i32>(refused).toBe(candidates.length);
  });

  it("refuses the remainder of a split free block whose header bytes, old payload, mimic a live tag", () => {
    // Blocks larger than any hole as-pect leaves, so both are bump-allocated
    // one after the other and the first one's split is where we expect it.
    let size: usize = 96 << 10;
    let big = alloc(size);
    let above = alloc(size);
    let liveTag = load<u32>(big - 8) ^ <u32>(big - 16);
    // The rest of big after alloc(size - 4096): its header at big + size - 4096.
    let rest = big + size - 4096;
    let restSize: u32 = 4096; // the 96 KiB + 16 block less the 92 KiB + 16 taken
    store<u32>(rest, restSize);
    store<u32>(rest, <u32>rest ^ liveTag, 8);
    store<u32>(rest, restSize ^ liveTag, 12);
    free(big);
    let small = alloc(size - 4096);
    set_write_window(rest + 16);
    let accepted = inWriteWindow(rest + 16, 4);
    free(small);
    free(above);
    expect<usize>(small).toBe(big);
    expect<bool>(accepted).toBe(false);
  });
});

describe("checkWrite", () => {
  it("passes a span inside the window and a 0-byte span anywhere", () => {
    let p = alloc(64);
    set_write_window(p);
    checkWrite(p, 64);
    checkWrite(p + 32, 32);
    checkWrite(0, 0);
    checkWrite(0xFFFFFFF0, 0);
    free(p);
    expect<bool>(true).toBe(true);
  });

  it("traps on a span that runs one byte past the window, starts before it, or has a huge length", () => {
    target = alloc(64);
    set_write_window(target);
    expect(() => { checkWrite(target, 65); }).toThrow();
    expect(() => { checkWrite(target - 4, 4); }).toThrow();
    expect(() => { checkWrite(target + 4, u64.MAX_VALUE); }).toThrow();
    expect(() => { checkWrite(target + 64, 1); }).toThrow();
    free(target);
  });

  it("traps on every span when the window is empty", () => {
    target = alloc(64);
    set_write_window(0);
    expect(() => { checkWrite(target, 4); }).toThrow();
    free(target);
  });
});

describe("free", () => {
  // A double free is pinned in tests/node/kernel-guard.test.mjs: here as-pect's
  // own objects, carved from kernel blocks, would take the freed block back.
  it("traps on an interior pointer, and the block stays live", () => {
    target = alloc(64);
    expect(() => { free(target + 16); }).toThrow();
    set_write_window(target);
    let stillLive = inWriteWindow(target, 64);
    free(target);
    expect<bool>(stillLive).toBe(true);
  });
});

describe("guard sizes", () => {
  it("floatBytes saturates instead of wrapping", () => {
    let m = <u64>i32.MAX_VALUE;
    expect<bool>(floatBytes(m, m, m) >= NO_WINDOW).toBe(true);
    expect<bool>(floatBytes(NO_WINDOW, m, m) >= NO_WINDOW).toBe(true);
    expect<u64>(floatBytes(3, 5, 7)).toBe(420);
    expect<u64>(floatBytes(1 << 20, 1 << 10)).toBe(NO_WINDOW);
  });

  it("panelFloats rounds up in 64 bits", () => {
    expect<u64>(panelFloats(0)).toBe(0);
    expect<u64>(panelFloats(9)).toBe(16);
    expect<u64>(panelFloats(i32.MAX_VALUE)).toBe(0x80000000);
  });

  it("guardedRows sums batch sizes without wrap and refuses increasing or non-positive ones", () => {
    target = alloc(16);
    let valid: i32[] = [3, 3, 2, 1];
    for (let i = 0; i < 4; i++) store<i32>(target + (<usize>i << 2), valid[i]);
    let rows = guardedRows(target, 4);
    store<i32>(target, i32.MAX_VALUE);
    store<i32>(target + 4, i32.MAX_VALUE);
    store<i32>(target + 8, i32.MAX_VALUE);
    let huge = guardedRows(target, 3);
    store<i32>(target + 4, 0);
    let zero = guardedRows(target, 2);
    store<i32>(target, 1);
    store<i32>(target + 4, 2);
    let increasing = guardedRows(target, 2);
    free(target);
    expect<u64>(rows).toBe(9);
    expect<u64>(huge).toBe(NO_WINDOW); // an i32 sum would have wrapped to 2147483645
    expect<u64>(zero).toBe(NO_WINDOW);
    expect<u64>(increasing).toBe(NO_WINDOW);
  });
});
