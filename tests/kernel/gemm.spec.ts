// pack_panels and gemm against plain references computed here in f64.
//
// gemm: y[r][c] = act(init[r][c] + Σ_k a[r][k]·W[c][k]) with W (cols × depth,
// PyTorch layout) packed by pack_panels. Sizes sweep the tails of every
// microkernel (rows not multiples of 4, cols not multiples of 8 or 16, odd
// depth for the k-unrolled-by-two loops), strides longer than the rows,
// ldinit = 0 (a bias broadcast to every row), unaligned y/a/init, and all
// three activation codes. Every cell of y's buffer outside the written rows
// and columns (before, after, and in the stride gaps) must keep its guard bits,
// and a, W's panels and init must be left unchanged.

import { PACK_FLOATS, gemm, gemmDeep } from "../../assembly/gemm";
import { pack_panels } from "../../assembly/pack";
import { free } from "../../assembly/memory";
import { GUARD, Tally, seed, fillRandom, fillBits, hashFloats, allocFloats, actRef, tolerance, panelFloats } from "./util";

const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";
const COLS: i32[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 31, 33, 64, 129];
const DEPTHS: i32[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64, 129];
const MAX_ROWS = 9;
const PAD = 8; // guard floats before and after y

const tally = new Tally();
/** checkGemm calls gemmDeep (the backward's chunked gemm, identity only) instead of gemm. */
let deep = false;

function gemmCase(rows: i32, cols: i32, depth: i32, variant: i32, act: i32): string {
  return BUILD + ": gemm rows " + rows.toString() + " cols " + cols.toString() + " depth " +
    depth.toString() + " variant " + variant.toString() + " act " + act.toString();
}

/** Packs W (cols × depth, `wShift` floats off alignment) and checks every panel float. */
function checkPack(cols: i32, depth: i32, wShift: i32): void {
  let n = cols * depth;
  let w = allocFloats(n, wShift);
  fillRandom(w, n);
  let floats = panelFloats(cols, depth);
  let panels = allocFloats(floats + 2 * PAD);
  fillBits(panels, floats + 2 * PAD, GUARD);
  let p = panels + (PAD << 2);         // 16-byte aligned: PAD is a multiple of 4
  let wHash = hashFloats(w, n);
  pack_panels(p, w, cols, depth);
  tally.cases++;
  let bad = 0;
  for (let i = 0; i < floats; i++) {
    // Float i is panel i / (8·depth), row k of that panel, lane c.
    let panel = i / (8 * depth);
    let k = (i / 8) % depth;
    let c = panel * 8 + (i & 7);
    let want: u32 = c < cols ? load<u32>(w + (<usize>(c * depth + k) << 2)) : 0; // +0 padding
    if (load<u32>(p + (<usize>i << 2)) != want) bad++;
  }
  for (let i = 0; i < PAD; i++) {
    if (load<u32>(panels + (<usize>i << 2)) != GUARD) bad++;
    if (load<u32>(p + (<usize>(floats + i) << 2)) != GUARD) bad++;
  }
  if (hashFloats(w, n) != wHash) bad++;
  if (bad != 0 && tally.failed()) {
    log<string>(BUILD + ": pack_panels cols " + cols.toString() + " depth " + depth.toString() + ": " + bad.toString() + " wrong floats");
  }
  free(w - (<usize>wShift << 2));
  free(panels);
}

/**
 * One gemm call and its checks. Strides are variant 0: tight (ldinit = the
 * padded row), 1: longer than the rows and ldinit = cols + 3 (rows of init
 * overlap the previous row's padding, which the kernel may read but must not
 * use), 2: ldinit = 0. Variants 1 and 2 also shift y, a and init off
 * 16-byte alignment; 3: init = 0 (zeros, no bias), y a row longer than cols.
 */
function checkGemm(rows: i32, cols: i32, depth: i32, w: usize, panels: usize, variant: i32, act: i32): void {
  let padded = (cols + 7) & ~7;
  let ldy = variant == 0 ? cols : variant == 1 ? cols + 3 : cols + 1;
  let lda = variant == 1 ? depth + 5 : depth;
  let ldinit = variant == 0 ? padded : variant == 1 ? cols + 3 : 0;
  let zeroInit = variant == 3;
  let shift = variant & 3;           // y and a: floats off 16-byte alignment
  let initShift = (variant * 3) & 3; // init: 0, 3, 2

  let aLen = rows * lda;
  let a = allocFloats(aLen, shift);
  fillRandom(a, aLen);
  let initRows = ldinit == 0 ? 1 : rows;
  let initLen = initRows == 0 ? 0 : (initRows - 1) * ldinit + padded;
  let init = allocFloats(initLen, initShift);
  fillRandom(init, initLen);
  let yLen = rows * ldy + 2 * PAD;
  let yBase = allocFloats(yLen, shift);
  fillBits(yBase, yLen, GUARD);
  let y = yBase + (PAD << 2);
  let aHash = hashFloats(a, aLen);
  let iHash = hashFloats(init, initLen);
  let pHash = hashFloats(panels, panelFloats(cols, depth));

  if (deep) gemmDeep(y, ldy, a, lda, panels, zeroInit ? 0 : init, ldinit, rows, depth, cols);
  else gemm(y, ldy, a, lda, panels, zeroInit ? 0 : init, ldinit, rows, depth, cols, act);
  tally.cases++;

  let guardsHit = 0;
  for (let i = 0; i < yLen; i++) {
    let j = i - PAD;                   // index relative to y
    let r = j >= 0 ? j / ldy : -1;
    let c = j >= 0 ? j % ldy : -1;
    let got = load<u32>(yBase + (<usize>i << 2));
    if (r < 0 || r >= rows || c >= cols) {
      if (got != GUARD) guardsHit++;
      continue;
    }
    let u: f64 = zeroInit ? 0 : load<f32>(init + (<usize>(r * ldinit + c) << 2));
    let mag = Math.abs(u);
    for (let k = 0; k < depth; k++) {
      let p = <f64>load<f32>(a + (<usize>(r * lda + k) << 2)) * <f64>load<f32>(w + (<usize>(c * depth + k) << 2));
      u += p;
      mag += Math.abs(p);
    }
    let ref = actRef(u, act);
    let y32 = <f64>reinterpret<f32>(got);
    let tol = tolerance(depth, mag, ref, act);
    if (!tally.within(y32, ref, tol)) {
      if (tally.failed()) {
        log<string>(gemmCase(rows, cols, depth, variant, act) + ": y[" + r.toString() + "][" + c.toString() +
          "] = " + y32.toString() + ", reference " + ref.toString() + ", tolerance " + tol.toString());
      }
    }
  }
  if (guardsHit != 0 && tally.failed()) {
    log<string>(gemmCase(rows, cols, depth, variant, act) + ": " + guardsHit.toString() + " floats outside the output changed");
  }
  if ((hashFloats(a, aLen) != aHash || hashFloats(init, initLen) != iHash ||
      hashFloats(panels, panelFloats(cols, depth)) != pHash) && tally.failed()) {
    log<string>(gemmCase(rows, cols, depth, variant, act) + ": an input buffer changed");
  }
  free(a - (<usize>shift << 2));
  free(init - (<usize>initShift << 2));
  free(yBase - (<usize>shift << 2));
}

describe("pack_panels (" + BUILD + ")", () => {
  it("lays W out as [ceil(cols/8)][depth][8] with +0 padding and writes nothing past the panels", () => {
    tally.reset();
    for (let i = 0; i < COLS.length; i++) {
      for (let j = 0; j < DEPTHS.length; j++) {
        seed(<u32>(i * 131 + j + 1));
        checkPack(COLS[i], DEPTHS[j], (i + j) & 3);
      }
    }
    log<string>(BUILD + ": " + tally.cases.toString() + " pack_panels cases");
    expect<i32>(tally.failures).toBe(0);
  });
});

/** Every stride variant and activation for one shape, with fresh random W. */
function checkShape(rows: i32, cols: i32, depth: i32): void {
  seed(<u32>((rows * 1009 + cols) * 1013 + depth + 1));
  let w = allocFloats(cols * depth, 1);
  fillRandom(w, cols * depth);
  let panels = allocFloats(panelFloats(cols, depth));
  pack_panels(panels, w, cols, depth);
  for (let variant = 0; variant < 4; variant++) {
    for (let act = 0; act < 3; act++) checkGemm(rows, cols, depth, w, panels, variant, act);
  }
  free(w - 4);
  free(panels);
}

describe("gemm (" + BUILD + ")", () => {
  it("matches the f64 reference and writes only its rows × cols, all sizes, strides and acts", () => {
    tally.reset();
    for (let i = 0; i < COLS.length; i++) {
      for (let j = 0; j < DEPTHS.length; j++) {
        for (let rows = 0; rows <= MAX_ROWS; rows++) checkShape(rows, COLS[i], DEPTHS[j]);
      }
    }
    log<string>(tally.summary(BUILD, "gemm"));
    expect<i32>(tally.failures).toBe(0);
  });

  it("does the same across row blocks and depth chunks of A (many rows, or a deep A)", () => {
    // gemmTiles packs A in chunks of at most CHUNK = PACK_FLOATS / 4 columns
    // (a chunk after the first adds onto y, only the last applies act) and
    // blocks of max(4, (PACK_FLOATS / chunk) & ~3) rows: these shapes give
    // one chunk in blocks of 124 (+6) and 8 (+8+5) rows; two chunks in blocks
    // of 4 (+4+1); three chunks (the last of 16 columns) in blocks of 4 (+3).
    // Their last groups take the padded 3-row tile and the 1- and 2-row kernels.
    tally.reset();
    const CHUNK = PACK_FLOATS / 4;
    let cols: i32[] = [1, 9, 17, 33];
    for (let i = 0; i < cols.length; i++) {
      checkShape(130, cols[i], PACK_FLOATS / 128 + 1);
      checkShape(21, cols[i], PACK_FLOATS / 8 - 96);
      checkShape(9, cols[i], CHUNK + CHUNK / 4);
      checkShape(7, cols[i], 2 * CHUNK + 16);
    }
    log<string>(tally.summary(BUILD, "gemm"));
    expect<i32>(tally.failures).toBe(0);
  });
});

/** gemmDeep with init = y (y += a·W, as backward accumulates dL/dh): y's old values plus the f64 product. */
function checkAccumulate(rows: i32, cols: i32, depth: i32, w: usize, panels: usize): void {
  let ldy = cols + 2;
  let a = allocFloats(rows * depth, 1);
  fillRandom(a, rows * depth);
  let y = allocFloats(rows * ldy, 3);
  fillRandom(y, rows * ldy);
  let y0 = allocFloats(rows * ldy);
  memory.copy(y0, y, <usize>(rows * ldy) << 2);
  gemmDeep(y, ldy, a, depth, panels, y, ldy, rows, depth, cols);
  tally.cases++;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < ldy; c++) {
      let at = <usize>(r * ldy + c) << 2;
      let u = <f64>load<f32>(y0 + at);
      if (c >= cols) {
        if (load<u32>(y + at) != load<u32>(y0 + at) && tally.failed()) {
          log<string>(BUILD + ": gemmDeep wrote past cols");
        }
        continue;
      }
      let mag = Math.abs(u);
      for (let k = 0; k < depth; k++) {
        let q = <f64>load<f32>(a + (<usize>(r * depth + k) << 2)) * <f64>load<f32>(w + (<usize>(c * depth + k) << 2));
        u += q;
        mag += Math.abs(q);
      }
      let got = <f64>load<f32>(y + at);
      if (!tally.within(got, u, tolerance(depth, mag, u, 0)) && tally.failed()) {
        log<string>(BUILD + ": gemmDeep += rows " + rows.toString() + " cols " + cols.toString() + " depth " +
          depth.toString() + ": y[" + r.toString() + "][" + c.toString() + "] = " + got.toString() + ", reference " +
          u.toString());
      }
    }
  }
  free(a - 4);
  free(y - 12);
  free(y0);
}

describe("gemmDeep (" + BUILD + ")", () => {
  it("matches gemm's reference over 1 to 5 depth chunks in row blocks of 64 and their tails, init = y too", () => {
    // Chunks are max(PACK_FLOATS / 64, PACK_FLOATS / rows rounded up to 4) deep.
    tally.reset();
    deep = true;
    let shapes: i32[][] = [[3, 9, 700], [5, 17, 1100], [70, 5, 1500], [130, 12, 2100], [2, 9, 600], [1, 3, 40]];
    for (let i = 0; i < shapes.length; i++) {
      let rows = shapes[i][0], cols = shapes[i][1], depth = shapes[i][2];
      seed(<u32>(i + 71));
      let w = allocFloats(cols * depth, 1);
      fillRandom(w, cols * depth);
      let panels = allocFloats(panelFloats(cols, depth));
      pack_panels(panels, w, cols, depth);
      for (let variant = 0; variant < 4; variant++) checkGemm(rows, cols, depth, w, panels, variant, 0);
      checkAccumulate(rows, cols, depth, w, panels);
      free(w - 4);
      free(panels);
    }
    deep = false;
    log<string>(tally.summary(BUILD, "gemmDeep"));
    expect<i32>(tally.failures).toBe(0);
  });
});
