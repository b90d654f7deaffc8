// rnn_layer against a scalar Elman RNN written here in f64:
//   h_t = act(W_ih·x_t + b + W_hh·h_{t−1})
// for one or two directions, tanh and relu, plain and packed (non-increasing)
// batch sizes, and hidden/input sizes around the 8-wide panels.
//
// Each output is checked against the reference step computed from the
// kernel's own previous output (teacher forcing): the f32 rounding of earlier
// steps then does not compound, so the tolerance stays the per-step GEMM
// bound, while a wrong previous row (sequence bookkeeping, the reverse
// direction's start from h0, packed batches) still shows up as an O(1) error.

import { rnn_layer } from "../../assembly/rnn";
import { pack_panels } from "../../assembly/pack";
import { free } from "../../assembly/memory";
import { GUARD, Tally, seed, fillRandom, fillBits, hashFloats, allocFloats, actRef, tolerance, panelFloats } from "./util";

const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";
const BATCHES: i32[][] = [
  [1, 1, 1], [3, 3, 3, 3], [4, 4, 4], [5, 5, 5, 5, 5], [9, 9, 9],   // plain batches
  [3, 3, 2, 1], [9, 8, 5, 4, 4, 1], [5, 1], [2, 2, 1, 1, 1], [4],   // packed, and one step
];
const HIDDEN: i32[] = [1, 7, 8, 9, 33];
const INPUTS: i32[] = [1, 5, 16];
const PAD = 8; // guard floats around y

const tally = new Tally();

function layerCase(sizes: i32[], hidden: i32, inputs: i32, dirs: i32, act: i32): string {
  return BUILD + ": rnn_layer batch sizes [" + sizes.toString() + "] hidden " + hidden.toString() +
    " inputs " + inputs.toString() + " dirs " + dirs.toString() + " act " + act.toString();
}

/** Allocates `count` packed weights (rows × cols each) one after another, as
 *  rnn_layer takes them; the unpacked copies go to `dense`. */
function packWeights(dense: usize, count: i32, rows: i32, cols: i32, scale: f32): usize {
  let n = rows * cols;
  let each = panelFloats(rows, cols);
  let packed = allocFloats(count * each);
  fillRandom(dense, count * n, scale);
  for (let d = 0; d < count; d++) {
    pack_panels(packed + (<usize>(d * each) << 2), dense + (<usize>(d * n) << 2), rows, cols);
  }
  return packed;
}

function checkLayer(sizes: i32[], hidden: i32, inputs: i32, dirs: i32, act: i32, ldx: i32): void {
  let steps = sizes.length;
  let rows = 0;
  let bsp = allocFloats(steps);            // i32 batch sizes
  for (let t = 0; t < steps; t++) {
    store<i32>(bsp + (<usize>t << 2), sizes[t]);
    rows += sizes[t];
  }
  let batch0 = sizes[0];
  let hidden8 = (hidden + 7) & ~7;
  let ldy = dirs * hidden;
  let scale = <f32>(1.0 / Math.sqrt(<f64>hidden)); // PyTorch's init range

  let x = allocFloats(rows * ldx, 1);
  fillRandom(x, rows * ldx);
  let wih = allocFloats(dirs * hidden * inputs);   // dense, for the reference
  let whh = allocFloats(dirs * hidden * hidden);
  let wihP = packWeights(wih, dirs, hidden, inputs, scale);
  let whhP = packWeights(whh, dirs, hidden, hidden, scale);
  let bias = allocFloats(dirs * hidden8);
  fillBits(bias, dirs * hidden8, 0);                // zero padded, as the contract asks
  for (let d = 0; d < dirs; d++) fillRandom(bias + (<usize>(d * hidden8) << 2), hidden, scale);
  let h0 = allocFloats(dirs * batch0 * hidden, 2);
  fillRandom(h0, dirs * batch0 * hidden);
  let p = allocFloats(rows * dirs * hidden8);
  let yLen = rows * ldy + 2 * PAD;
  let yBase = allocFloats(yLen, 3);
  fillBits(yBase, yLen, GUARD);
  let y = yBase + (PAD << 2);
  let inHash = hashFloats(x, rows * ldx) ^ hashFloats(h0, dirs * batch0 * hidden) ^
    hashFloats(wihP, dirs * panelFloats(hidden, inputs)) ^ hashFloats(whhP, dirs * panelFloats(hidden, hidden)) ^
    hashFloats(bias, dirs * hidden8) ^ hashFloats(bsp, steps);

  rnn_layer(y, x, ldx, inputs, p, wihP, bias, whhP, h0, bsp, steps, hidden, dirs, act);
  tally.cases++;

  // Row offsets of each step.
  let off = new StaticArray<i32>(steps + 1);
  for (let t = 0; t < steps; t++) off[t + 1] = off[t] + sizes[t];

  for (let d = 0; d < dirs; d++) {
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < sizes[t]; b++) {
        let row = off[t] + b;
        // The previous state of sequence b in direction d: the forward
        // direction comes from step t − 1, the reverse one from step t + 1,
        // and a sequence starts from h0 where it has no such step.
        let prev: usize;
        if (d == 0 && t > 0) {
          prev = y + (<usize>((off[t - 1] + b) * ldy) << 2);
        } else if (d == 1 && t + 1 < steps && b < sizes[t + 1]) {
          prev = y + (<usize>((off[t + 1] + b) * ldy + hidden) << 2);
        } else {
          prev = h0 + (<usize>((d * batch0 + b) * hidden) << 2);
        }
        for (let j = 0; j < hidden; j++) {
          let u: f64 = load<f32>(bias + (<usize>(d * hidden8 + j) << 2));
          let mag = Math.abs(u);
          for (let i = 0; i < inputs; i++) {
            let q = <f64>load<f32>(wih + (<usize>((d * hidden + j) * inputs + i) << 2)) *
                    <f64>load<f32>(x + (<usize>(row * ldx + i) << 2));
            u += q;
            mag += Math.abs(q);
          }
          for (let k = 0; k < hidden; k++) {
            let q = <f64>load<f32>(whh + (<usize>((d * hidden + j) * hidden + k) << 2)) *
                    <f64>load<f32>(prev + (<usize>k << 2));
            u += q;
            mag += Math.abs(q);
          }
          let ref = actRef(u, act);
          let got = <f64>load<f32>(y + (<usize>(row * ldy + d * hidden + j) << 2));
          if (!tally.within(got, ref, tolerance(inputs + hidden + 1, mag, ref, act))) {
            if (tally.failed()) {
              log<string>(layerCase(sizes, hidden, inputs, dirs, act) + ": step " + t.toString() + " row " +
                row.toString() + " dir " + d.toString() + " unit " + j.toString() + " = " + got.toString() +
                ", reference " + ref.toString());
            }
          }
        }
      }
    }
  }
  let guardsHit = 0;
  for (let i = 0; i < PAD; i++) {
    if (load<u32>(yBase + (<usize>i << 2)) != GUARD) guardsHit++;
    if (load<u32>(y + (<usize>(rows * ldy + i) << 2)) != GUARD) guardsHit++;
  }
  if (guardsHit != 0 && tally.failed()) {
    log<string>(layerCase(sizes, hidden, inputs, dirs, act) + ": " + guardsHit.toString() + " guard floats around y changed");
  }
  let inHashAfter = hashFloats(x, rows * ldx) ^ hashFloats(h0, dirs * batch0 * hidden) ^
    hashFloats(wihP, dirs * panelFloats(hidden, inputs)) ^ hashFloats(whhP, dirs * panelFloats(hidden, hidden)) ^
    hashFloats(bias, dirs * hidden8) ^ hashFloats(bsp, steps);
  if (inHashAfter != inHash && tally.failed()) log<string>(layerCase(sizes, hidden, inputs, dirs, act) + ": an input buffer changed");

  free(bsp);
  free(x - 4);
  free(wih);
  free(whh);
  free(wihP);
  free(whhP);
  free(bias);
  free(h0 - 8);
  free(p);
  free(yBase - 12);
}

describe("rnn_layer (" + BUILD + ")", () => {
  it("matches a scalar RNN: uni/bi, tanh/relu, plain and packed batches", () => {
    tally.reset();
    for (let s = 0; s < BATCHES.length; s++) {
      for (let h = 0; h < HIDDEN.length; h++) {
        for (let i = 0; i < INPUTS.length; i++) {
          for (let dirs = 1; dirs <= 2; dirs++) {
            for (let act = 1; act <= 2; act++) {
              seed(<u32>(((s * 7 + h) * 5 + i) * 4 + dirs * 2 + act));
              // x rows: tight, or with a stride longer than the row.
              checkLayer(BATCHES[s], HIDDEN[h], INPUTS[i], dirs, act, INPUTS[i] + (s + h + i) % 3);
            }
          }
        }
      }
    }
    log<string>(tally.summary(BUILD, "rnn_layer"));
    expect<i32>(tally.failures).toBe(0);
  });
});
