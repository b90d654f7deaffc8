// lstm_layer and gru_layer against scalar cells written here in f64, with
// PyTorch's equations and weights in PyTorch's layout, packed by
// pack_gate_panels / pack_gate_bias / pack_panels as the host does. Sizes
// sweep hidden 1..17 (tails of the 8-unit blocks), inputs 1..20, batches 1..9
// plain and packed (non-increasing), one and two directions, LSTM with and
// without projection, with and without biases.
//
// Each output is checked against the reference step computed from the
// kernel's own previous h and c (teacher forcing), so f32 rounding does not
// compound over steps while a wrong previous row (the reverse direction's
// start, packed batches) still shows as an O(1) error. The tolerance
// propagates the f32 dot-product bound of each gate pre-activation and 8 ULP
// per σ/tanh (the kernel's are ≤ 4) through the cell's equations, × 2.
//
// Every case runs twice, with a training tape and without: y and c must be
// the same bits, and the tape (activated gates; GRU's W_hn h + b_hn) must
// match the reference's gates within their own bounds.

import { PACK_FLOATS } from "../../assembly/gemm";
import { lstm_layer } from "../../assembly/lstm";
import { gru_layer } from "../../assembly/gru";
import { pack_gate_bias, pack_gate_panels, pack_panels } from "../../assembly/pack";
import { alloc, free } from "../../assembly/memory";
import { Gates, PANEL_WIDTH } from "../../assembly/abi";
import { GUARD, Tally, U32, seed, fillRandom, fillBits, hashFloats, allocFloats, panelFloats, sigmoidRef } from "./util";

const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";
const BATCHES: i32[][] = [
  [1, 1, 1], [2, 2], [3, 3, 3], [4, 4, 4], [5, 5], [7, 7, 7], [9, 9, 9],  // plain batches
  [3, 3, 2, 1], [9, 8, 5, 4, 4, 1], [5, 1], [2, 2, 1, 1, 1], [6],         // packed, and one step
];
const PAD = 8; // guard floats around y and c

const tally = new Tally();

function h8Of(hidden: i32): i32 {
  return (hidden + PANEL_WIDTH - 1) / PANEL_WIDTH * PANEL_WIDTH;
}

function f(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

/** Checks one output of `quantity` (h, c, ...) at step t, row, direction d, unit j; logs the first few failures. */
function check(L: Layer, quantity: string, got: f64, ref: f64, tol: f64, t: i32, row: i32, d: i32, j: i32): void {
  if (!tally.within(got, ref, tol) && tally.failed()) {
    log<string>(L.describe() + ": " + quantity + " step " + t.toString() + " row " + row.toString() + " dir " +
      d.toString() + " unit " + j.toString() + " = " + got.toString() + ", reference " + ref.toString() +
      ", tolerance " + tol.toString());
  }
}

/** Allowed error of σ(u) or tanh(u) from an argument error e: slope × e plus 8 ULP of the result. */
function sigmoidError(e: f64, value: f64): f64 {
  return e * 0.25 + 8 * U32 * value;
}
function tanhError(e: f64, value: f64): f64 {
  return e + 8 * U32 * Math.abs(value) + 1e-37;
}

/** The operands of one layer call, dense (PyTorch layout) and packed. */
class Layer {
  gates: i32;
  steps: i32;
  rows: i32 = 0;
  batch0: i32;
  h8: i32;
  out: i32;
  bsp: usize;
  off: StaticArray<i32>;
  x: usize;
  wih: usize; whh: usize; whr: usize; bih: usize; bhh: usize;  // dense, per direction one after another
  wihP: usize; whhP: usize; whrP: usize; biasP: usize;          // packed
  h0: usize; c0: usize; p: usize; m: usize; tape: usize;
  yBase: usize; cBase: usize; y: usize; c: usize;
  inHash: u32 = 0;

  constructor(
    gates: i32, public sizes: i32[], public hidden: i32, public inputs: i32, public dirs: i32,
    public proj: i32, public ldx: i32, public withBias: bool,
  ) {
    this.gates = gates;
    this.steps = sizes.length;
    this.off = new StaticArray<i32>(sizes.length + 1);
    this.bsp = allocFloats(this.steps);
    for (let t = 0; t < this.steps; t++) {
      store<i32>(this.bsp + (<usize>t << 2), sizes[t]);
      this.off[t + 1] = this.off[t] + sizes[t];
    }
    this.rows = this.off[this.steps];
    this.batch0 = sizes[0];
    this.h8 = h8Of(hidden);
    this.out = proj > 0 ? proj : hidden;
    let gh = gates * hidden;
    let scale = <f32>(1.0 / Math.sqrt(<f64>hidden)); // PyTorch's init range
    this.x = allocFloats(this.rows * ldx, 1);
    fillRandom(this.x, this.rows * ldx);
    this.wih = allocFloats(dirs * gh * inputs, 1);
    this.whh = allocFloats(dirs * gh * this.out, 2);
    this.bih = allocFloats(dirs * gh, 3);
    this.bhh = allocFloats(dirs * gh, 1);
    fillRandom(this.wih, dirs * gh * inputs, scale);
    fillRandom(this.whh, dirs * gh * this.out, scale);
    fillRandom(this.bih, dirs * gh, withBias ? scale : 0);
    fillRandom(this.bhh, dirs * gh, withBias ? scale : 0);
    let gh8 = gates * this.h8;
    this.wihP = allocFloats(dirs * gh8 * inputs);
    this.whhP = allocFloats(dirs * gh8 * this.out);
    this.biasP = allocFloats(dirs * 4 * this.h8);
    for (let d = 0; d < dirs; d++) {
      pack_gate_panels(this.wihP + (<usize>(d * gh8 * inputs) << 2), this.wih + (<usize>(d * gh * inputs) << 2),
                       gates, hidden, inputs);
      pack_gate_panels(this.whhP + (<usize>(d * gh8 * this.out) << 2), this.whh + (<usize>(d * gh * this.out) << 2),
                       gates, hidden, this.out);
      pack_gate_bias(this.biasP + (<usize>(d * 4 * this.h8) << 2),
                     withBias ? this.bih + (<usize>(d * gh) << 2) : 0, withBias ? this.bhh + (<usize>(d * gh) << 2) : 0,
                     gates, hidden);
    }
    this.whr = 0;
    this.whrP = 0;
    this.m = 0;
    if (proj > 0) {
      this.whr = allocFloats(dirs * proj * hidden, 1);
      fillRandom(this.whr, dirs * proj * hidden, scale);
      let each = panelFloats(proj, hidden);
      this.whrP = allocFloats(dirs * each);
      for (let d = 0; d < dirs; d++) {
        pack_panels(this.whrP + (<usize>(d * each) << 2), this.whr + (<usize>(d * proj * hidden) << 2), proj, hidden);
      }
      this.m = allocFloats(dirs * this.batch0 * this.h8);
    }
    this.h0 = allocFloats(dirs * this.batch0 * this.out, 2);
    this.c0 = allocFloats(dirs * this.batch0 * hidden, 3);
    fillRandom(this.h0, dirs * this.batch0 * this.out);
    fillRandom(this.c0, dirs * this.batch0 * hidden, 2);
    this.p = allocFloats(this.rows * dirs * gh8);
    this.tape = allocFloats(this.rows * dirs * 4 * this.h8);
    let yLen = this.rows * dirs * this.out + 2 * PAD;
    let cLen = this.rows * dirs * hidden + 2 * PAD;
    this.yBase = allocFloats(yLen, 1);
    this.cBase = allocFloats(cLen, 2);
    fillBits(this.yBase, yLen, GUARD);
    fillBits(this.cBase, cLen, GUARD);
    this.y = this.yBase + (PAD << 2);
    this.c = this.cBase + (PAD << 2);
    this.inHash = this.inputsHash();
  }

  /** Hash of every buffer the kernel may only read. */
  inputsHash(): u32 {
    let dirs = this.dirs;
    let gh8 = this.gates * this.h8;
    let h = hashFloats(this.x, this.rows * this.ldx) ^ hashFloats(this.bsp, this.steps) ^
      hashFloats(this.wihP, dirs * gh8 * this.inputs) ^ hashFloats(this.whhP, dirs * gh8 * this.out) ^
      hashFloats(this.biasP, dirs * 4 * this.h8) ^ hashFloats(this.h0, dirs * this.batch0 * this.out);
    if (this.gates == Gates.LSTM) h ^= hashFloats(this.c0, dirs * this.batch0 * this.hidden);
    if (this.proj > 0) h ^= hashFloats(this.whrP, dirs * panelFloats(this.proj, this.hidden));
    return h;
  }

  describe(): string {
    return BUILD + ": " + (this.gates == Gates.LSTM ? "lstm_layer" : "gru_layer") + " batch sizes [" +
      this.sizes.toString() + "] hidden " + this.hidden.toString() + " inputs " + this.inputs.toString() +
      " ldx " + this.ldx.toString() + " dirs " + this.dirs.toString() + " proj " + this.proj.toString() +
      (this.withBias ? "" : " no bias");
  }

  /** The previous-state row of sequence b at step t, direction d: its
   *  neighbouring step's row, or the initial state (`ld` floats a row, `width` per direction). */
  previous(y: usize, init: usize, ld: i32, width: i32, d: i32, t: i32, b: i32): usize {
    if (d == 0 && t > 0) return y + (<usize>((this.off[t - 1] + b) * ld + d * width) << 2);
    if (d == 1 && t + 1 < this.steps && b < this.sizes[t + 1]) {
      return y + (<usize>((this.off[t + 1] + b) * ld + d * width) << 2);
    }
    return init + (<usize>((d * this.batch0 + b) * width) << 2);
  }

  /** Pre-activation of gate g, unit j: its value, and its f32 error bound in `bound`. */
  preActivation(d: i32, g: i32, j: i32, row: i32, hPrev: usize, withHidden: bool, withInput: bool): f64 {
    let gh = this.gates * this.hidden;
    let unit = d * gh + g * this.hidden + j;
    let u: f64 = 0;
    let mag: f64 = 0;
    let terms = 0;
    if (withInput) {
      u = f(this.bih, unit) + (withHidden ? f(this.bhh, unit) : 0);
      mag = Math.abs(u);
      for (let i = 0; i < this.inputs; i++) {
        let q = f(this.wih, unit * this.inputs + i) * f(this.x, row * this.ldx + i);
        u += q;
        mag += Math.abs(q);
      }
      terms += this.inputs + 2;
    }
    if (withHidden) {
      if (!withInput) {
        u = f(this.bhh, unit);
        mag = Math.abs(u);
      }
      for (let k = 0; k < this.out; k++) {
        let q = f(this.whh, unit * this.out + k) * f(hPrev, k);
        u += q;
        mag += Math.abs(q);
      }
      terms += this.out + 1;
    }
    bound = <f64>(2 * terms) * U32 * mag;
    return u;
  }

  free(): void {
    free(this.bsp);
    free(this.x - 4);
    free(this.wih - 4);
    free(this.whh - 8);
    free(this.bih - 12);
    free(this.bhh - 4);
    free(this.wihP);
    free(this.whhP);
    free(this.biasP);
    if (this.proj > 0) {
      free(this.whr - 4);
      free(this.whrP);
      free(this.m);
    }
    free(this.h0 - 8);
    free(this.c0 - 12);
    free(this.p);
    free(this.tape);
    free(this.yBase - 4);
    free(this.cBase - 8);
  }

  /** Guards around y (and c) intact, inputs unchanged. */
  checkUntouched(): void {
    let hit = 0;
    let yEnd = this.y + (<usize>(this.rows * this.dirs * this.out) << 2);
    let cEnd = this.c + (<usize>(this.rows * this.dirs * this.hidden) << 2);
    for (let i = 0; i < PAD; i++) {
      let o = <usize>i << 2;
      if (load<u32>(this.yBase + o) != GUARD || load<u32>(yEnd + o) != GUARD) hit++;
      if (load<u32>(this.cBase + o) != GUARD || load<u32>(cEnd + o) != GUARD) hit++;
    }
    if (hit != 0 && tally.failed()) log<string>(this.describe() + ": " + hit.toString() + " guard floats changed");
    if (this.gates == Gates.GRU) {
      // gru_layer has no c: its buffer must be untouched altogether.
      let untouched = true;
      for (let i = 0; i < this.rows * this.dirs * this.hidden; i++) {
        if (load<u32>(this.c + (<usize>i << 2)) != GUARD) untouched = false;
      }
      if (!untouched && tally.failed()) log<string>(this.describe() + ": c written");
    }
    if (this.inputsHash() != this.inHash && tally.failed()) log<string>(this.describe() + ": an input buffer changed");
  }

  /** Hash of the outputs y and c, guards included. */
  outputsHash(): u32 {
    return hashFloats(this.yBase, this.rows * this.dirs * this.out + 2 * PAD) ^
      hashFloats(this.cBase, this.rows * this.dirs * this.hidden + 2 * PAD);
  }

  /** Checks that the run without a tape (`run(0)`) stored the same bits as the run with one. */
  checkSameWithoutTape(withTape: u32): void {
    if (this.outputsHash() != withTape && tally.failed()) {
      log<string>(this.describe() + ": outputs differ with and without a tape");
    }
  }

  /** The tape's gate g, unit j of `row`, direction d. */
  taped(row: i32, d: i32, g: i32, j: i32): f64 {
    return f(this.tape, (row * this.dirs + d) * 4 * this.h8 + g * this.h8 + j);
  }
}

/** Error bound of the last preActivation (a module global: AS has no out-parameters). */
let bound: f64 = 0;

function checkLstm(L: Layer): void {
  let hidden = L.hidden;
  let proj = L.proj;
  lstm_layer(L.y, L.c, L.x, L.ldx, L.inputs, L.p, L.wihP, L.biasP, L.whhP, L.whrP, L.m, L.h0, L.c0, L.bsp,
             L.steps, hidden, proj, L.dirs, 0);
  let withoutTape = L.outputsHash();
  lstm_layer(L.y, L.c, L.x, L.ldx, L.inputs, L.p, L.wihP, L.biasP, L.whhP, L.whrP, L.m, L.h0, L.c0, L.bsp,
             L.steps, hidden, proj, L.dirs, L.tape);
  L.checkSameWithoutTape(withoutTape);
  tally.cases++;
  let ldy = L.dirs * L.out;
  let ldc = L.dirs * hidden;
  let mv = alloc(<usize>hidden << 3);   // o ⊙ tanh(c') per unit, f64
  let me = alloc(<usize>hidden << 3);   // its error bound
  for (let d = 0; d < L.dirs; d++) {
    for (let t = 0; t < L.steps; t++) {
      for (let b = 0; b < L.sizes[t]; b++) {
        let row = L.off[t] + b;
        let hPrev = L.previous(L.y, L.h0, ldy, L.out, d, t, b);
        let cPrev = L.previous(L.c, L.c0, ldc, hidden, d, t, b);
        for (let j = 0; j < hidden; j++) {
          let ui = L.preActivation(d, 0, j, row, hPrev, true, true);
          let ei = bound;
          let uf = L.preActivation(d, 1, j, row, hPrev, true, true);
          let ef = bound;
          let ug = L.preActivation(d, 2, j, row, hPrev, true, true);
          let eg = bound;
          let uo = L.preActivation(d, 3, j, row, hPrev, true, true);
          let eo = bound;
          let i = sigmoidRef(ui), fg = sigmoidRef(uf), g = Math.tanh(ug), o = sigmoidRef(uo);
          ei = sigmoidError(ei, i);
          ef = sigmoidError(ef, fg);
          eg = tanhError(eg, g);
          eo = sigmoidError(eo, o);
          check(L, "tape i", L.taped(row, d, 0, j), i, 2 * ei + 1e-37, t, row, d, j);
          check(L, "tape f", L.taped(row, d, 1, j), fg, 2 * ef + 1e-37, t, row, d, j);
          check(L, "tape g", L.taped(row, d, 2, j), g, 2 * eg + 1e-37, t, row, d, j);
          check(L, "tape o", L.taped(row, d, 3, j), o, 2 * eo + 1e-37, t, row, d, j);
          let cp = f(cPrev, j);
          let cn = fg * cp + i * g;
          let ec = ef * Math.abs(cp) + ei * Math.abs(g) + i * eg + ei * eg + 4 * U32 * (Math.abs(fg * cp) + Math.abs(i * g));
          let tc = Math.tanh(cn);
          let etc = tanhError(ec, tc);
          let h = o * tc;
          let eh = eo * Math.abs(tc) + o * etc + eo * etc + 2 * U32 * Math.abs(h);
          check(L, "c", f(L.c, row * ldc + d * hidden + j), cn, 2 * ec + 1e-37, t, row, d, j);
          if (proj == 0) {
            check(L, "h", f(L.y, row * ldy + d * hidden + j), h, 2 * eh + 1e-37, t, row, d, j);
          } else {
            store<f64>(mv + (<usize>j << 3), h);
            store<f64>(me + (<usize>j << 3), eh);
          }
        }
        for (let k = 0; k < proj; k++) {
          let v: f64 = 0;
          let mag: f64 = 0;
          let e: f64 = 0;
          for (let j = 0; j < hidden; j++) {
            let w = f(L.whr, (d * proj + k) * hidden + j);
            let q = w * load<f64>(mv + (<usize>j << 3));
            v += q;
            mag += Math.abs(q);
            e += Math.abs(w) * load<f64>(me + (<usize>j << 3));
          }
          e += <f64>(2 * (hidden + 1)) * U32 * mag;
          check(L, "projected h", f(L.y, row * ldy + d * proj + k), v, 2 * e + 1e-37, t, row, d, k);
        }
      }
    }
  }
  free(mv);
  free(me);
  L.checkUntouched();
}

function checkGru(L: Layer): void {
  let hidden = L.hidden;
  gru_layer(L.y, L.x, L.ldx, L.inputs, L.p, L.wihP, L.biasP, L.whhP, L.h0, L.bsp, L.steps, hidden, L.dirs, 0);
  let withoutTape = L.outputsHash();
  gru_layer(L.y, L.x, L.ldx, L.inputs, L.p, L.wihP, L.biasP, L.whhP, L.h0, L.bsp, L.steps, hidden, L.dirs, L.tape);
  L.checkSameWithoutTape(withoutTape);
  tally.cases++;
  let ldy = L.dirs * hidden;
  for (let d = 0; d < L.dirs; d++) {
    for (let t = 0; t < L.steps; t++) {
      for (let b = 0; b < L.sizes[t]; b++) {
        let row = L.off[t] + b;
        let hPrev = L.previous(L.y, L.h0, ldy, hidden, d, t, b);
        for (let j = 0; j < hidden; j++) {
          let ur = L.preActivation(d, 0, j, row, hPrev, true, true);
          let er = bound;
          let uz = L.preActivation(d, 1, j, row, hPrev, true, true);
          let ez = bound;
          let pn = L.preActivation(d, 2, j, row, hPrev, false, true);
          let epn = bound;
          let hn = L.preActivation(d, 2, j, row, hPrev, true, false);
          let ehn = bound;
          let r = sigmoidRef(ur), z = sigmoidRef(uz);
          er = sigmoidError(er, r);
          ez = sigmoidError(ez, z);
          let inner = pn + r * hn;
          let einner = epn + er * Math.abs(hn) + r * ehn + er * ehn + 2 * U32 * (Math.abs(pn) + Math.abs(r * hn));
          let n = Math.tanh(inner);
          let en = tanhError(einner, n);
          check(L, "tape r", L.taped(row, d, 0, j), r, 2 * er + 1e-37, t, row, d, j);
          check(L, "tape z", L.taped(row, d, 1, j), z, 2 * ez + 1e-37, t, row, d, j);
          check(L, "tape n", L.taped(row, d, 2, j), n, 2 * en + 1e-37, t, row, d, j);
          check(L, "tape hn", L.taped(row, d, 3, j), hn, 2 * ehn + 1e-37, t, row, d, j);
          let hp = f(hPrev, j);
          let h = (1 - z) * n + z * hp;
          let eh = en + ez * Math.abs(hp - n) + z * en + ez * en +
                   4 * U32 * (Math.abs(n) + Math.abs(hp - n) + Math.abs(z * (hp - n)));
          check(L, "h", f(L.y, row * ldy + d * hidden + j), h, 2 * eh + 1e-37, t, row, d, j);
        }
      }
    }
  }
  L.checkUntouched();
}

/** The sweep: every hidden size 1..17 against every batch pattern, with inputs,
 *  strides, directions, projection and bias varied along the grid. */
function sweep(gates: i32): void {
  for (let hidden = 1; hidden <= 17; hidden++) {
    for (let s = 0; s < BATCHES.length; s++) {
      let k = hidden * 13 + s * 7;
      let inputs = 1 + k % 20;
      let dirs = 1 + (hidden + s) % 2;
      let proj = gates == Gates.LSTM && (k % 3) == 1 ? 1 + k % 11 : 0;
      let ldx = inputs + k % 3;
      let withBias = (k % 5) != 0;
      seed(<u32>(gates * 1000 + hidden * 31 + s + 1));
      let L = new Layer(gates, BATCHES[s], hidden, inputs, dirs, proj, ldx, withBias);
      if (gates == Gates.LSTM) checkLstm(L);
      else checkGru(L);
      L.free();
    }
  }
}

describe("lstm_layer (" + BUILD + ")", () => {
  it("matches an f64 LSTM: hidden 1..17, inputs 1..20, plain and packed batches, uni/bi, proj, no bias", () => {
    tally.reset();
    sweep(Gates.LSTM);
    log<string>(tally.summary(BUILD, "lstm_layer"));
    expect<i32>(tally.failures).toBe(0);
  });

  it("matches with wide states: several 8-unit blocks and row blocks, and states deeper than the pack buffer", () => {
    tally.reset();
    // hidden 40 (5 blocks) over 9 rows in one block of 4-row tiles; a
    // projection of PACK_FLOATS / 8 − 96 packs 8 rows a block: 9 rows take
    // two blocks; one deeper than PACK_FLOATS / 4 takes the row kernels for
    // every row.
    let cases_: i32[][] = [[40, 0, 1], [40, 21, 2], [3, PACK_FLOATS / 8 - 96, 1], [2, PACK_FLOATS / 4 + 8, 2]];
    for (let i = 0; i < cases_.length; i++) {
      let c = cases_[i];
      seed(<u32>(7 + i));
      let L = new Layer(Gates.LSTM, [9, 9, 6], c[0], 5, c[2], c[1], 6, true);
      checkLstm(L);
      L.free();
    }
    log<string>(tally.summary(BUILD, "lstm_layer"));
    expect<i32>(tally.failures).toBe(0);
  });
});

describe("gru_layer (" + BUILD + ")", () => {
  it("matches an f64 GRU: hidden 1..17, inputs 1..20, plain and packed batches, uni/bi, no bias", () => {
    tally.reset();
    sweep(Gates.GRU);
    log<string>(tally.summary(BUILD, "gru_layer"));
    expect<i32>(tally.failures).toBe(0);
  });

  it("matches with wide states: several 8-unit blocks over 4-row tiles and their tails", () => {
    tally.reset();
    let hiddens: i32[] = [40, 33];
    for (let i = 0; i < hiddens.length; i++) {
      seed(<u32>(17 + i));
      let L = new Layer(Gates.GRU, [9, 7, 6, 2], hiddens[i], 12, 1 + i, 0, 12, true);
      checkGru(L);
      L.free();
    }
    log<string>(tally.summary(BUILD, "gru_layer"));
    expect<i32>(tally.failures).toBe(0);
  });
});
