// Embedding lookup.

import { inMemory } from "./contract";

/**
 * y[i, :] = table[indices[i], :] for i < n. y: n × dim f32, table: rows of
 * `dim` f32, contiguous, any 4-byte alignment; indices: n × i32, each a valid
 * row of the table (validated by the host). Caller-owned; y does not overlap
 * table. A plain loop, not memory.copy: the scalar build must not need the
 * bulk-memory feature that runtimes without SIMD may lack.
 */
export function gather_rows(y: usize, table: usize, indices: usize, n: i32, dim: i32): void {
  assert(n >= 0 && dim >= 0, "gather_rows: n and dim must be >= 0");
  assert(inMemory(indices, <u64>n << 2), "gather_rows: indices out of bounds");
  assert(inMemory(y, <u64>n * <u64>dim << 2), "gather_rows: y out of bounds");
  let rowB = <usize>dim << 2;
  for (let i = 0; i < n; i++) {
    let index = load<i32>(indices + (<usize>i << 2));
    assert(index >= 0 && inMemory(table + <usize>index * rowB, rowB), "gather_rows: index out of the table");
    let src = table + <usize>index * rowB;
    let dst = y + <usize>i * rowB;
    let k: usize = 0;
    if (ASC_FEATURE_SIMD) {
      for (; k + 16 <= rowB; k += 16) v128.store(dst + k, v128.load(src + k));
    }
    for (; k < rowB; k += 4) store<u32>(dst + k, load<u32>(src + k));
  }
}
