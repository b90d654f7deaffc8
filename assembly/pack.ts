// Weight packing, done once per load: a PyTorch weight (outputs × inputs,
// row-major) becomes column panels [ceil(outputs/8)][inputs][8] — the layout the
// GEMM microkernels stream, after XNNPACK's goi packing for NR = 8 (without the
// bias, which the kernels take separately).

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
