// gather_rows: y[i, :] = table[indices[i], :], bit for bit, rows written in
// order with repeats, the first and last table rows, dims that are not
// multiples of 4, and n = 0 writing nothing.

import { gather_rows } from "../../assembly/gather";
import { free } from "../../assembly/memory";
import { GUARD, seed, fillRandom, fillBits, hashFloats, allocFloats } from "./util";

const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";
const PAD = 8;

/** Gathers n rows of a `rows` × dim table by a fixed pseudo-random index pattern; returns wrong floats. */
function checkGather(rows: i32, dim: i32, n: i32): i32 {
  let table = allocFloats(rows * dim, 1);
  fillRandom(table, rows * dim);
  let indices = allocFloats(n);
  for (let i = 0; i < n; i++) {
    // First row, last row, then a spread with repeats.
    let index = i == 0 ? 0 : i == 1 ? rows - 1 : (i * 7 + 3) % rows;
    store<i32>(indices + (<usize>i << 2), index);
  }
  let yLen = n * dim + 2 * PAD;
  let base = allocFloats(yLen, 3);
  fillBits(base, yLen, GUARD);
  let y = base + (PAD << 2);
  let inHash = hashFloats(table, rows * dim) ^ hashFloats(indices, n);
  gather_rows(y, table, indices, n, dim);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    let index = load<i32>(indices + (<usize>i << 2));
    for (let k = 0; k < dim; k++) {
      if (load<u32>(y + (<usize>(i * dim + k) << 2)) != load<u32>(table + (<usize>(index * dim + k) << 2))) bad++;
    }
  }
  for (let i = 0; i < PAD; i++) {
    if (load<u32>(base + (<usize>i << 2)) != GUARD) bad++;
    if (load<u32>(y + (<usize>(n * dim + i) << 2)) != GUARD) bad++;
  }
  if ((hashFloats(table, rows * dim) ^ hashFloats(indices, n)) != inHash) bad++;
  free(table - 4);
  free(indices);
  free(base - 12);
  return bad;
}

describe("gather_rows (" + BUILD + ")", () => {
  it("copies the indexed table rows in order, repeats included, and writes nothing else", () => {
    let failures = 0;
    let dims: i32[] = [1, 3, 4, 5, 8, 17, 64];
    let counts: i32[] = [0, 1, 2, 9, 40];
    for (let di = 0; di < dims.length; di++) {
      for (let ci = 0; ci < counts.length; ci++) {
        seed(<u32>(di * 11 + ci + 1));
        let bad = checkGather(13, dims[di], counts[ci]);
        if (bad != 0 && failures++ < 8) {
          log<string>(BUILD + ": gather_rows dim " + dims[di].toString() + " n " + counts[ci].toString() + ": " +
            bad.toString() + " wrong floats");
        }
      }
    }
    expect<i32>(failures).toBe(0);
  });
});
