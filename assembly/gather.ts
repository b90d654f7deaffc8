// Embedding lookup.

import { inMemory } from "./contract";

/**
 * y[i, :] = table[indices[i], :] for i < n. y: n × dim f32, table: rows of
 * `dim` f32, contiguous; indices: n × i32, each a valid row of the table
 * (validated by the host). Caller-owned; y does not overlap table.
 */
export function gather_rows(y: usize, table: usize, indices: usize, n: i32, dim: i32): void {
  assert(n >= 0 && dim >= 0, "gather_rows: n and dim must be >= 0");
  assert(inMemory(indices, <u64>n << 2), "gather_rows: indices out of bounds");
  assert(inMemory(y, <u64>n * <u64>dim << 2), "gather_rows: y out of bounds");
  let rowB = <usize>dim << 2;
  for (let i = 0; i < n; i++) {
    let index = load<i32>(indices + (<usize>i << 2));
    assert(index >= 0 && inMemory(table + <usize>index * rowB, rowB), "gather_rows: index out of the table");
    memory.copy(y + <usize>i * rowB, table + <usize>index * rowB, rowB);
  }
}
