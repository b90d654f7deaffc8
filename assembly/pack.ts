// Operand packing for the GEMM microkernels. Weights, once per load: a PyTorch
// weight (outputs × inputs, row-major) becomes column panels
// [ceil(outputs/8)][inputs][8], after XNNPACK's goi packing for NR = 8 (without
// the bias, which the kernels take separately). The left operand, per call:
// rows interleaved four at a time, [ceil(rows/4)][depth][4] (MR = 4).

import { aligned16, inMemory } from "./contract";

/** Floats taken by the panels of a `rows` × `cols` weight. */
export function packed_floats(rows: i32, cols: i32): i32 {
  return ((rows + 7) >> 3) * 8 * cols;
}

/**
 * Packs `w` (rows × cols f32, row-major, any 4-byte alignment, caller-owned)
 * into `panels` (packed_floats(rows, cols) f32, 16-byte aligned, caller-owned);
 * columns past `rows` in the last panel are zero.
 */
export function pack_panels(panels: usize, w: usize, rows: i32, cols: i32): void {
  assert(aligned16(panels), "pack_panels: panels must be 16-byte aligned");
  assert(rows > 0 && cols >= 0, "pack_panels: rows must be > 0 and cols >= 0");
  assert(inMemory(w, <u64>rows * <u64>cols << 2), "pack_panels: w out of bounds");
  assert(inMemory(panels, <u64>packed_floats(rows, cols) << 2), "pack_panels: panels out of bounds");
  let dst = panels;
  for (let j = 0; j < rows; j += 8) {
    for (let k = 0; k < cols; k++) {
      for (let c = 0; c < 8; c++) {
        let r = j + c;
        let v: f32 = r < rows ? load<f32>(w + ((<usize>r * <usize>cols + <usize>k) << 2)) : 0;
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/**
 * Packs `rows` rows of `a` (f32, row stride `lda` floats, first `depth` used,
 * 4-byte aligned) into `dst` (ceil(rows/4)·depth·4 f32, caller-owned) as
 * [ceil(rows/4)][depth][4]: per k, one float from each of four rows; rows
 * past `rows` in the last group are zero.
 */
export function packRows4(dst: usize, a: usize, lda: i32, rows: i32, depth: i32): void {
  let ldaB = <usize>lda << 2;
  let kEnd = <usize>depth << 2;
  for (let r = 0; r < rows; r += 4) {
    let a0 = a + <usize>r * ldaB;
    let m = min(4, rows - r);
    if (m == 4) {
      let a1 = a0 + ldaB;
      let a2 = a1 + ldaB;
      let a3 = a2 + ldaB;
      for (let k: usize = 0; k < kEnd; k += 4) {
        store<f32>(dst, load<f32>(a0 + k));
        store<f32>(dst, load<f32>(a1 + k), 4);
        store<f32>(dst, load<f32>(a2 + k), 8);
        store<f32>(dst, load<f32>(a3 + k), 12);
        dst += 16;
      }
    } else {
      for (let k: usize = 0; k < kEnd; k += 4) {
        for (let i = 0; i < 4; i++) {
          store<f32>(dst, i < m ? load<f32>(a0 + <usize>i * ldaB + k) : 0);
          dst += 4;
        }
      }
    }
  }
}
