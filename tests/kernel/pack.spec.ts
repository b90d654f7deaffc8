// pack_gate_panels, pack_gate_bias and pack_transposed against their layouts in KERNEL-ABI.md,
// float for float: every panel float and bias float is checked at the index
// the contract gives it, padding included, and nothing past the output
// changes.

import { pack_gate_bias, pack_gate_panels, pack_panels, pack_transposed } from "../../assembly/pack";
import { free } from "../../assembly/memory";
import { Gates, PANEL_WIDTH } from "../../assembly/abi";
import { GUARD, seed, fillRandom, fillBits, hashFloats, allocFloats, panelFloats } from "./util";

const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";
const GATES: i32[] = [Gates.Elman, Gates.GRU, Gates.LSTM];
const PAD = 8;

let failures = 0;

function h8Of(hidden: i32): i32 {
  return (hidden + PANEL_WIDTH - 1) / PANEL_WIDTH * PANEL_WIDTH;
}

function checkGatePanels(gates: i32, hidden: i32, cols: i32, wShift: i32): i32 {
  let n = gates * hidden * cols;
  let w = allocFloats(n, wShift);
  fillRandom(w, n);
  let h8 = h8Of(hidden);
  let floats = gates * h8 * cols;
  let base = allocFloats(floats + 2 * PAD);
  fillBits(base, floats + 2 * PAD, GUARD);
  let panels = base + (PAD << 2);
  let wHash = hashFloats(w, n);
  pack_gate_panels(panels, w, gates, hidden, cols);
  let bad = 0;
  // The contract: block b, gate g is panel b·gates + g, [cols][8]; its lane c
  // at row k is w[g·hidden + 8b + c][k], or +0 past hidden.
  for (let b = 0; b < h8 / PANEL_WIDTH; b++) {
    for (let g = 0; g < gates; g++) {
      for (let k = 0; k < cols; k++) {
        for (let c = 0; c < PANEL_WIDTH; c++) {
          let unit = b * PANEL_WIDTH + c;
          let at = ((b * gates + g) * cols + k) * PANEL_WIDTH + c;
          let want: u32 = unit < hidden ? load<u32>(w + (<usize>((g * hidden + unit) * cols + k) << 2)) : 0;
          if (load<u32>(panels + (<usize>at << 2)) != want) bad++;
        }
      }
    }
  }
  for (let i = 0; i < PAD; i++) {
    if (load<u32>(base + (<usize>i << 2)) != GUARD) bad++;
    if (load<u32>(panels + (<usize>(floats + i) << 2)) != GUARD) bad++;
  }
  if (hashFloats(w, n) != wHash) bad++;
  if (gates == Gates.Elman && bad == 0) {
    // One gate is pack_panels' layout.
    let plain = allocFloats(panelFloats(hidden, cols));
    pack_panels(plain, w, hidden, cols);
    if (hashFloats(plain, floats) != hashFloats(panels, floats)) bad++;
    free(plain);
  }
  free(w - (<usize>wShift << 2));
  free(base);
  return bad;
}

/** pack_transposed of a rows × cols weight: panel b, k-row k, lane c is w[k][8b + c], +0 past cols. */
function checkTransposed(rows: i32, cols: i32, wShift: i32): i32 {
  let n = rows * cols;
  let w = allocFloats(n, wShift);
  fillRandom(w, n);
  let floats = panelFloats(cols, rows);
  let base = allocFloats(floats + 2 * PAD);
  fillBits(base, floats + 2 * PAD, GUARD);
  let panels = base + (PAD << 2);
  let wHash = hashFloats(w, n);
  pack_transposed(panels, w, rows, cols);
  let bad = 0;
  for (let b = 0; b < h8Of(cols) / PANEL_WIDTH; b++) {
    for (let k = 0; k < rows; k++) {
      for (let c = 0; c < PANEL_WIDTH; c++) {
        let j = b * PANEL_WIDTH + c;
        let want: u32 = j < cols ? load<u32>(w + (<usize>(k * cols + j) << 2)) : 0;
        if (load<u32>(panels + (<usize>((b * rows + k) * PANEL_WIDTH + c) << 2)) != want) bad++;
      }
    }
  }
  for (let i = 0; i < PAD; i++) {
    if (load<u32>(base + (<usize>i << 2)) != GUARD) bad++;
    if (load<u32>(panels + (<usize>(floats + i) << 2)) != GUARD) bad++;
  }
  if (hashFloats(w, n) != wHash) bad++;
  free(w - (<usize>wShift << 2));
  free(base);
  return bad;
}

/** One bias: `which` 0 both, 1 b_ih only, 2 b_hh only, 3 neither (null pointers). */
function checkGateBias(gates: i32, hidden: i32, which: i32): i32 {
  let n = gates * hidden;
  let bih = allocFloats(n, 1);
  let bhh = allocFloats(n, 3);
  fillRandom(bih, n);
  fillRandom(bhh, n);
  let withIh = which == 0 || which == 1;
  let withHh = which == 0 || which == 2;
  let h8 = h8Of(hidden);
  let floats = (gates == Gates.GRU ? 4 : gates) * h8;
  let base = allocFloats(floats + 2 * PAD, 1);
  fillBits(base, floats + 2 * PAD, GUARD);
  let dst = base + (PAD << 2);
  pack_gate_bias(dst, withIh ? bih : 0, withHh ? bhh : 0, gates, hidden);
  let bad = 0;
  for (let b = 0; b < h8 / PANEL_WIDTH; b++) {
    for (let g = 0; g < gates; g++) {
      for (let c = 0; c < PANEL_WIDTH; c++) {
        let unit = b * PANEL_WIDTH + c;
        let want: f32 = 0;
        if (unit < hidden) {
          let i = <usize>(g * hidden + unit) << 2;
          if (withIh) want = load<f32>(bih + i);
          // GRU's b_hn is not in the interleaved part.
          if (withHh && !(gates == Gates.GRU && g == 2)) want += load<f32>(bhh + i);
        }
        let at = (b * gates + g) * PANEL_WIDTH + c;
        if (load<u32>(dst + (<usize>at << 2)) != reinterpret<u32>(want)) bad++;
      }
    }
  }
  if (gates == Gates.GRU) {
    for (let j = 0; j < h8; j++) {
      let want: f32 = j < hidden && withHh ? load<f32>(bhh + (<usize>(2 * hidden + j) << 2)) : 0;
      if (load<u32>(dst + (<usize>(3 * h8 + j) << 2)) != reinterpret<u32>(want)) bad++;
    }
  }
  for (let i = 0; i < PAD; i++) {
    if (load<u32>(base + (<usize>i << 2)) != GUARD) bad++;
    if (load<u32>(dst + (<usize>(floats + i) << 2)) != GUARD) bad++;
  }
  free(bih - 4);
  free(bhh - 12);
  free(base - 4);
  return bad;
}

describe("pack_gate_panels (" + BUILD + ")", () => {
  it("interleaves the gates block by block, zero-pads each gate to H8, and writes nothing past the panels", () => {
    failures = 0;
    let cases = 0;
    for (let gi = 0; gi < GATES.length; gi++) {
      for (let hidden = 1; hidden <= 17; hidden++) {
        let colsList: i32[] = [0, 1, 3, 8, 13];
        for (let ci = 0; ci < colsList.length; ci++) {
          seed(<u32>((gi * 31 + hidden) * 7 + ci + 1));
          let bad = checkGatePanels(GATES[gi], hidden, colsList[ci], (hidden + ci) & 3);
          cases++;
          if (bad != 0 && failures++ < 8) {
            log<string>(BUILD + ": pack_gate_panels gates " + GATES[gi].toString() + " hidden " + hidden.toString() +
              " cols " + colsList[ci].toString() + ": " + bad.toString() + " wrong floats");
          }
        }
      }
    }
    log<string>(BUILD + ": " + cases.toString() + " pack_gate_panels cases");
    expect<i32>(failures).toBe(0);
  });
});

describe("pack_gate_bias (" + BUILD + ")", () => {
  it("sums b_ih and b_hh per gate (GRU's n gate apart, b_hn last), zero pads, and reads a null bias as zeros", () => {
    failures = 0;
    let cases = 0;
    for (let gi = 0; gi < GATES.length; gi++) {
      for (let hidden = 1; hidden <= 17; hidden++) {
        for (let which = 0; which < 4; which++) {
          seed(<u32>((gi * 31 + hidden) * 5 + which + 1));
          let bad = checkGateBias(GATES[gi], hidden, which);
          cases++;
          if (bad != 0 && failures++ < 8) {
            log<string>(BUILD + ": pack_gate_bias gates " + GATES[gi].toString() + " hidden " + hidden.toString() +
              " case " + which.toString() + ": " + bad.toString() + " wrong floats");
          }
        }
      }
    }
    log<string>(BUILD + ": " + cases.toString() + " pack_gate_bias cases");
    expect<i32>(failures).toBe(0);
  });
});

describe("pack_transposed (" + BUILD + ")", () => {
  it("packs wᵀ as pack_panels packs a cols × rows weight, zero-pads to 8 columns, writes nothing past it", () => {
    let bad = 0;
    seed(5);
    for (let rows = 0; rows <= 12; rows++) {
      for (let cols = 1; cols <= 19; cols++) bad += checkTransposed(rows, cols, (rows + cols) % 4);
    }
    expect<i32>(bad).toBe(0);
  });
});
