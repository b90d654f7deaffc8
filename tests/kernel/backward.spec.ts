// rnn_layer_backward, gru_layer_backward and lstm_layer_backward against a
// plain f64 reference written here: PyTorch's equations run forward from the
// same (f32) weights, inputs and initial states, then backward through time
// by the chain rule, one row and unit at a time, with the forward's own row
// order and previous-state mapping (layer.ts). The kernel runs its own
// forward (with a tape) and then its backward, as the host does.
//
// The loss is L = Σ DY·y + Σ DC·c for random DY, DC (the kernel's dy and dc
// inputs), so every output row carries a gradient, not only the final ones.
// Checked: dx, dh0, dc0 (written: their guard-filled buffers), every block
// of the gradient block (accumulated: it starts from random values) and the
// guard floats around every buffer the kernel writes. The tolerance is
// 1e-4 × the largest |reference| of each quantity: f32 rounding over these
// few steps stays near 1e-6 of it, a wrong row, unit or term is O(1) of it.
// A central finite difference of L in f64 checks the reference itself.

import { rnn_layer } from "../../assembly/rnn";
import { gru_layer } from "../../assembly/gru";
import { lstm_layer } from "../../assembly/lstm";
import { gru_layer_backward, lstm_layer_backward, rnn_layer_backward } from "../../assembly/backward";
import { pack_gate_bias, pack_gate_panels, pack_panels, pack_transposed } from "../../assembly/pack";
import { free } from "../../assembly/memory";
import { Activation, Gates, PANEL_WIDTH } from "../../assembly/abi";
import { GUARD, Tally, seed, rand, fillBits, hashFloats, allocFloats, panelFloats, sigmoidRef } from "./util";

const BUILD = ASC_FEATURE_RELAXED_SIMD ? "relaxed" : ASC_FEATURE_SIMD ? "simd" : "scalar";
const PAD = 8;
const BATCHES: i32[][] = [
  [1, 1, 1], [3, 3, 3], [5, 5], [4, 4, 4, 4], [3, 3, 2, 1], [5, 4, 4, 2, 1], [2, 1], [6],
];
const tally = new Tally();
/** checkKernel passes dx = 0 (dL/dx not wanted): its buffer must stay untouched, the rest as usual. */
let skipDx = false;

function h8Of(n: i32): i32 {
  return (n + PANEL_WIDTH - 1) / PANEL_WIDTH * PANEL_WIDTH;
}

function f(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

/** A buffer of `n` floats between PAD guard floats on each side. */
class Guarded {
  base: usize;
  p: usize;
  constructor(public n: i32, shift: i32) {
    this.base = allocFloats(n + 2 * PAD, shift);
    fillBits(this.base, n + 2 * PAD, GUARD);
    this.p = this.base + (PAD << 2);
  }
  guardsIntact(): bool {
    for (let i = 0; i < PAD; i++) {
      if (load<u32>(this.base + (<usize>i << 2)) != GUARD) return false;
      if (load<u32>(this.p + (<usize>(this.n + i) << 2)) != GUARD) return false;
    }
    return true;
  }
  fill(values: StaticArray<f64>): void {
    for (let i = 0; i < this.n; i++) store<f32>(this.p + (<usize>i << 2), <f32>values[i]);
  }
}

function randomArray(n: i32, scale: f64): StaticArray<f64> {
  let a = new StaticArray<f64>(n);
  for (let i = 0; i < n; i++) a[i] = <f64>(<f32>(<f64>rand() * scale));
  return a;
}

/**
 * One layer: f64 parameters and data (values representable in f32), the f64
 * forward and backward, and the kernel's operands.
 */
class Case {
  gates: i32 = 0;
  steps: i32 = 0;
  rows: i32 = 0;
  batch0: i32 = 0;
  out: i32 = 0;
  gh: i32 = 0;
  h8: i32 = 0;
  off: StaticArray<i32> = new StaticArray<i32>(0);
  wih: StaticArray<f64> = new StaticArray<f64>(0);
  whh: StaticArray<f64> = new StaticArray<f64>(0);
  bih: StaticArray<f64> = new StaticArray<f64>(0);
  bhh: StaticArray<f64> = new StaticArray<f64>(0);
  whr: StaticArray<f64> = new StaticArray<f64>(0);
  x: StaticArray<f64> = new StaticArray<f64>(0);
  h0: StaticArray<f64> = new StaticArray<f64>(0);
  c0: StaticArray<f64> = new StaticArray<f64>(0);
  DY: StaticArray<f64> = new StaticArray<f64>(0);
  DC: StaticArray<f64> = new StaticArray<f64>(0);
  // Reference forward: per row and direction.
  y: StaticArray<f64> = new StaticArray<f64>(0);
  c: StaticArray<f64> = new StaticArray<f64>(0);
  m: StaticArray<f64> = new StaticArray<f64>(0);
  act: StaticArray<f64> = new StaticArray<f64>(0);
  hn: StaticArray<f64> = new StaticArray<f64>(0);
  // Reference gradients.
  gWih: StaticArray<f64> = new StaticArray<f64>(0);
  gWhh: StaticArray<f64> = new StaticArray<f64>(0);
  gBih: StaticArray<f64> = new StaticArray<f64>(0);
  gBhh: StaticArray<f64> = new StaticArray<f64>(0);
  gWhr: StaticArray<f64> = new StaticArray<f64>(0);
  gX: StaticArray<f64> = new StaticArray<f64>(0);
  gH0: StaticArray<f64> = new StaticArray<f64>(0);
  gC0: StaticArray<f64> = new StaticArray<f64>(0);

  constructor(
    public kind: i32, public sizes: i32[], public hidden: i32, public inputs: i32, public dirs: i32,
    public proj: i32, public ldx: i32, public activation: i32,
  ) {
    this.gates = kind;
    this.steps = sizes.length;
    this.off = new StaticArray<i32>(this.steps + 1);
    for (let t = 0; t < this.steps; t++) this.off[t + 1] = this.off[t] + sizes[t];
    this.rows = this.off[this.steps];
    this.batch0 = sizes[0];
    this.out = proj > 0 ? proj : hidden;
    this.gh = this.gates * hidden;
    this.h8 = h8Of(hidden);
    let scale = 1.0 / Math.sqrt(<f64>hidden);
    this.wih = randomArray(dirs * this.gh * inputs, scale);
    this.whh = randomArray(dirs * this.gh * this.out, scale);
    this.bih = randomArray(dirs * this.gh, scale);
    this.bhh = randomArray(dirs * this.gh, scale);
    this.whr = randomArray(dirs * proj * hidden, scale);
    this.x = randomArray(this.rows * inputs, 1);
    this.h0 = randomArray(dirs * this.batch0 * this.out, 1);
    this.c0 = randomArray(dirs * this.batch0 * hidden, 1);
    this.DY = randomArray(this.rows * dirs * this.out, 1);
    this.DC = randomArray(kind == Gates.LSTM ? this.rows * dirs * hidden : 0, 1);
    let rd = this.rows * dirs;
    this.y = new StaticArray<f64>(rd * this.out);
    this.c = new StaticArray<f64>(rd * hidden);
    this.m = new StaticArray<f64>(rd * hidden);
    this.act = new StaticArray<f64>(rd * this.gh);
    this.hn = new StaticArray<f64>(rd * hidden);
    this.gWih = new StaticArray<f64>(this.wih.length);
    this.gWhh = new StaticArray<f64>(this.whh.length);
    this.gBih = new StaticArray<f64>(this.bih.length);
    this.gBhh = new StaticArray<f64>(this.bhh.length);
    this.gWhr = new StaticArray<f64>(this.whr.length);
    this.gX = new StaticArray<f64>(this.x.length);
    this.gH0 = new StaticArray<f64>(this.h0.length);
    this.gC0 = new StaticArray<f64>(this.c0.length);
  }

  describe(): string {
    let name = this.kind == Gates.LSTM ? "lstm" : this.kind == Gates.GRU ? "gru" : "rnn";
    return BUILD + ": " + name + "_layer_backward batch sizes [" + this.sizes.toString() + "] hidden " +
      this.hidden.toString() + " inputs " + this.inputs.toString() + " dirs " + this.dirs.toString() +
      " proj " + this.proj.toString() + (this.kind == Gates.Elman ? " act " + this.activation.toString() : "");
  }

  /** Row of the previous state of sequence b at step t, direction d, or −1: its initial state. */
  prevRow(d: i32, t: i32, b: i32): i32 {
    if (d == 0) return t > 0 ? this.off[t - 1] + b : -1;
    return t + 1 < this.steps && b < this.sizes[t + 1] ? this.off[t + 1] + b : -1;
  }

  /** Value k of the previous output state of (d, t, b). */
  hPrev(d: i32, t: i32, b: i32, k: i32): f64 {
    let pr = this.prevRow(d, t, b);
    return pr >= 0 ? this.y[(pr * this.dirs + d) * this.out + k] : this.h0[(d * this.batch0 + b) * this.out + k];
  }

  cPrev(d: i32, t: i32, b: i32, j: i32): f64 {
    let pr = this.prevRow(d, t, b);
    return pr >= 0 ? this.c[(pr * this.dirs + d) * this.hidden + j] : this.c0[(d * this.batch0 + b) * this.hidden + j];
  }

  /** Step t of direction d in time order: t itself forward, steps − 1 − t reverse. */
  stepAt(d: i32, s: i32): i32 {
    return d == 0 ? s : this.steps - 1 - s;
  }

  /** The f64 forward; returns L = Σ DY·y + Σ DC·c. */
  forward(): f64 {
    let H = this.hidden;
    let gh = this.gh;
    let loss: f64 = 0;
    for (let d = 0; d < this.dirs; d++) {
      for (let s = 0; s < this.steps; s++) {
        let t = this.stepAt(d, s);
        for (let b = 0; b < this.sizes[t]; b++) {
          let row = this.off[t] + b;
          let rd = row * this.dirs + d;
          // Pre-activations: input side (with b_ih) and hidden side (with b_hh).
          for (let u = 0; u < gh; u++) {
            let unit = d * gh + u;
            let xi = this.bih[unit];
            for (let k = 0; k < this.inputs; k++) {
              xi += this.wih[unit * this.inputs + k] * this.x[row * this.inputs + k];
            }
            let hh = this.bhh[unit];
            for (let k = 0; k < this.out; k++) hh += this.whh[unit * this.out + k] * this.hPrev(d, t, b, k);
            let g = u / H;
            let j = u % H;
            if (this.kind == Gates.GRU && g == 2) {
              this.hn[rd * H + j] = hh;
              this.act[rd * gh + u] = xi; // n's input side until r is known
            } else {
              this.act[rd * gh + u] = xi + hh;
            }
          }
          for (let j = 0; j < H; j++) {
            let a = rd * gh;
            if (this.kind == Gates.Elman) {
              let v = this.act[a + j];
              let h = this.activation == Activation.Tanh ? Math.tanh(v) : v > 0 ? v : 0;
              this.act[a + j] = h;
              this.y[rd * this.out + j] = h;
            } else if (this.kind == Gates.GRU) {
              let r = sigmoidRef(this.act[a + j]);
              let z = sigmoidRef(this.act[a + H + j]);
              let n = Math.tanh(this.act[a + 2 * H + j] + r * this.hn[rd * H + j]);
              this.act[a + j] = r;
              this.act[a + H + j] = z;
              this.act[a + 2 * H + j] = n;
              this.y[rd * H + j] = (1 - z) * n + z * this.hPrev(d, t, b, j);
            } else {
              let i = sigmoidRef(this.act[a + j]);
              let fg = sigmoidRef(this.act[a + H + j]);
              let g = Math.tanh(this.act[a + 2 * H + j]);
              let o = sigmoidRef(this.act[a + 3 * H + j]);
              this.act[a + j] = i;
              this.act[a + H + j] = fg;
              this.act[a + 2 * H + j] = g;
              this.act[a + 3 * H + j] = o;
              let cn = fg * this.cPrev(d, t, b, j) + i * g;
              this.c[rd * H + j] = cn;
              this.m[rd * H + j] = o * Math.tanh(cn);
              loss += this.DC[rd * H + j] * cn;
            }
          }
          if (this.kind == Gates.LSTM) {
            for (let k = 0; k < this.out; k++) {
              let v: f64 = 0;
              if (this.proj > 0) {
                for (let j = 0; j < H; j++) v += this.whr[(d * this.proj + k) * H + j] * this.m[rd * H + j];
              } else {
                v = this.m[rd * H + k];
              }
              this.y[rd * this.out + k] = v;
            }
          }
          for (let k = 0; k < this.out; k++) loss += this.DY[rd * this.out + k] * this.y[rd * this.out + k];
        }
      }
    }
    return loss;
  }

  /** The f64 backward of the last forward(), into the g* arrays (zeroed first). */
  backward(): void {
    let H = this.hidden;
    let gh = this.gh;
    let out = this.out;
    let dirs = this.dirs;
    let zero = (a: StaticArray<f64>): void => { for (let i = 0; i < a.length; i++) a[i] = 0; };
    zero(this.gWih); zero(this.gWhh); zero(this.gBih); zero(this.gBhh); zero(this.gWhr);
    zero(this.gX); zero(this.gH0); zero(this.gC0);
    let dh = new StaticArray<f64>(this.rows * dirs * out);
    let dc = new StaticArray<f64>(this.rows * dirs * H);
    for (let i = 0; i < dh.length; i++) dh[i] = this.DY[i];
    for (let i = 0; i < this.DC.length; i++) dc[i] = this.DC[i];
    let dGi = new StaticArray<f64>(gh);
    let dGh = new StaticArray<f64>(gh);
    let dm = new StaticArray<f64>(H);
    for (let d = 0; d < dirs; d++) {
      for (let s = this.steps - 1; s >= 0; s--) {
        let t = this.stepAt(d, s);
        for (let b = 0; b < this.sizes[t]; b++) {
          let row = this.off[t] + b;
          let rd = row * dirs + d;
          let a = rd * gh;
          let pr = this.prevRow(d, t, b);
          for (let j = 0; j < H; j++) {
            if (this.kind == Gates.Elman) {
              let h = this.act[a + j];
              let slope = this.activation == Activation.Tanh ? 1 - h * h : h > 0 ? 1.0 : 0.0;
              dGi[j] = dh[rd * out + j] * slope;
              dGh[j] = dGi[j];
            } else if (this.kind == Gates.GRU) {
              let r = this.act[a + j], z = this.act[a + H + j], n = this.act[a + 2 * H + j];
              let dhj = dh[rd * H + j];
              let dn = dhj * (1 - z) * (1 - n * n);
              let dz = dhj * (this.hPrev(d, t, b, j) - n) * z * (1 - z);
              let dr = dn * this.hn[rd * H + j] * r * (1 - r);
              dGi[j] = dr; dGi[H + j] = dz; dGi[2 * H + j] = dn;
              dGh[j] = dr; dGh[H + j] = dz; dGh[2 * H + j] = dn * r;
              this.addPrevH(dh, pr, d, b, j, dhj * z);
            }
          }
          if (this.kind == Gates.LSTM) {
            for (let j = 0; j < H; j++) {
              let v: f64 = 0;
              if (this.proj > 0) {
                for (let k = 0; k < out; k++) {
                  let w = this.whr[(d * this.proj + k) * H + j];
                  v += w * dh[rd * out + k];
                  this.gWhr[(d * this.proj + k) * H + j] += dh[rd * out + k] * this.m[rd * H + j];
                }
              } else {
                v = dh[rd * out + j];
              }
              dm[j] = v;
            }
            for (let j = 0; j < H; j++) {
              let i = this.act[a + j], fg = this.act[a + H + j];
              let g = this.act[a + 2 * H + j], o = this.act[a + 3 * H + j];
              let tc = Math.tanh(this.c[rd * H + j]);
              let dct = dc[rd * H + j] + dm[j] * o * (1 - tc * tc);
              dGi[j] = dct * g * i * (1 - i);
              dGi[H + j] = dct * this.cPrev(d, t, b, j) * fg * (1 - fg);
              dGi[2 * H + j] = dct * i * (1 - g * g);
              dGi[3 * H + j] = dm[j] * tc * o * (1 - o);
              let dcp = dct * fg;
              if (pr >= 0) dc[(pr * dirs + d) * H + j] += dcp;
              else this.gC0[(d * this.batch0 + b) * H + j] += dcp;
            }
            for (let u = 0; u < gh; u++) dGh[u] = dGi[u];
          }
          for (let u = 0; u < gh; u++) {
            let unit = d * gh + u;
            this.gBih[unit] += dGi[u];
            this.gBhh[unit] += dGh[u];
            for (let k = 0; k < this.inputs; k++) {
              this.gWih[unit * this.inputs + k] += dGi[u] * this.x[row * this.inputs + k];
              this.gX[row * this.inputs + k] += this.wih[unit * this.inputs + k] * dGi[u];
            }
            for (let k = 0; k < out; k++) {
              this.gWhh[unit * out + k] += dGh[u] * this.hPrev(d, t, b, k);
              this.addPrevH(dh, pr, d, b, k, this.whh[unit * out + k] * dGh[u]);
            }
          }
        }
      }
    }
  }

  addPrevH(dh: StaticArray<f64>, pr: i32, d: i32, b: i32, k: i32, v: f64): void {
    if (pr >= 0) dh[(pr * this.dirs + d) * this.out + k] += v;
    else this.gH0[(d * this.batch0 + b) * this.out + k] += v;
  }
}

/** Packs the directions of a dense [dirs][rows][cols] weight one after another with `pack`. */
function packEach(dense: StaticArray<f64>, dirs: i32, rows: i32, cols: i32, each: i32, transposed: bool,
                  gates: i32): usize {
  let n = rows * cols;
  let tmp = allocFloats(max(dirs * n, 1));
  for (let i = 0; i < dirs * n; i++) store<f32>(tmp + (<usize>i << 2), <f32>dense[i]);
  let packed = allocFloats(dirs * each);
  for (let d = 0; d < dirs; d++) {
    let dst = packed + (<usize>(d * each) << 2);
    let src = tmp + (<usize>(d * n) << 2);
    if (transposed) pack_transposed(dst, src, rows, cols);
    else if (gates == 0) pack_panels(dst, src, rows, cols);
    else pack_gate_panels(dst, src, gates, rows / gates, cols);
  }
  free(tmp);
  return packed;
}

/** Compares `n` kernel floats at p with ref + start (start: the gradient block's initial values, or none). */
function compare(C: Case, what: string, p: usize, ref: StaticArray<f64>, start: usize): void {
  let scale: f64 = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  let tol = 1e-4 * scale + 1e-30;
  let bad = 0;
  for (let i = 0; i < ref.length; i++) {
    let want = ref[i] + (start != 0 ? f(start, i) : 0);
    let got = f(p, i);
    if (!tally.within(got, want, tol + (start != 0 ? 1e-7 * Math.abs(want) : 0))) {
      if (bad++ == 0 && tally.failed()) {
        log<string>(C.describe() + ": " + what + "[" + i.toString() + "] = " + got.toString() + ", reference " +
          want.toString() + ", tolerance " + tol.toString());
      }
    }
  }
}

/** Runs the kernel's forward (with a tape) and backward on C and checks everything against the reference. */
function checkKernel(C: Case): void {
  C.forward();
  C.backward();
  tally.cases++;
  let dirs = C.dirs;
  let H = C.hidden;
  let out = C.out;
  let gh = C.gh;
  let gates = C.gates;
  let rows = C.rows;
  let h8 = C.h8;
  let bsp = allocFloats(C.steps);
  for (let t = 0; t < C.steps; t++) store<i32>(bsp + (<usize>t << 2), C.sizes[t]);
  let x = allocFloats(rows * C.ldx, 1);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < C.ldx; k++) {
      store<f32>(x + (<usize>(r * C.ldx + k) << 2), k < C.inputs ? <f32>C.x[r * C.inputs + k] : <f32>rand());
    }
  }
  let h0 = new Guarded(C.h0.length, 2);
  h0.fill(C.h0);
  let c0 = new Guarded(C.c0.length, 3);
  c0.fill(C.c0);
  // Forward operands, packed as the forward takes them.
  let wihP = packEach(C.wih, dirs, gh, C.inputs, gates * h8 * C.inputs, false, gates);
  let whhP = packEach(C.whh, dirs, gh, out, gates * h8 * out, false, gates);
  let biasStride = gates == Gates.Elman ? h8 : 4 * h8;
  let biasP = allocFloats(dirs * biasStride);
  let bTmp = allocFloats(2 * dirs * gh);
  for (let i = 0; i < dirs * gh; i++) {
    store<f32>(bTmp + (<usize>i << 2), <f32>C.bih[i]);
    store<f32>(bTmp + (<usize>(dirs * gh + i) << 2), <f32>C.bhh[i]);
  }
  for (let d = 0; d < dirs; d++) {
    pack_gate_bias(biasP + (<usize>(d * biasStride) << 2), bTmp + (<usize>(d * gh) << 2),
                   bTmp + (<usize>((dirs + d) * gh) << 2), gates, H);
  }
  let whrP: usize = 0;
  let mScratch: usize = 0;
  if (C.proj > 0) {
    whrP = packEach(C.whr, dirs, C.proj, H, panelFloats(C.proj, H), false, 0);
    mScratch = allocFloats(dirs * C.batch0 * h8);
  }
  let p = allocFloats(rows * dirs * gates * h8);
  let y = allocFloats(rows * dirs * out);
  let c = allocFloats(rows * dirs * H);
  let tape = allocFloats(rows * dirs * 4 * h8);
  if (gates == Gates.Elman) {
    rnn_layer(y, x, C.ldx, C.inputs, p, wihP, biasP, whhP, h0.p, bsp, C.steps, H, dirs, C.activation);
  } else if (gates == Gates.GRU) {
    gru_layer(y, x, C.ldx, C.inputs, p, wihP, biasP, whhP, h0.p, bsp, C.steps, H, dirs, tape);
  } else {
    lstm_layer(y, c, x, C.ldx, C.inputs, p, wihP, biasP, whhP, whrP, mScratch, h0.p, c0.p, bsp, C.steps, H, C.proj,
               dirs, tape);
  }
  // Backward operands.
  let wtIh = packEach(C.wih, dirs, gh, C.inputs, h8Of(C.inputs) * gh, true, 0);
  let wtHh = packEach(C.whh, dirs, gh, out, h8Of(out) * gh, true, 0);
  let wtHr: usize = C.proj > 0 ? packEach(C.whr, dirs, C.proj, H, h8 * C.proj, true, 0) : 0;
  let dy = new Guarded(rows * dirs * out, 1);
  dy.fill(C.DY);
  let dc = new Guarded(gates == Gates.LSTM ? rows * dirs * H : 0, 2);
  dc.fill(C.DC);
  let dg = new Guarded(rows * dirs * (2 * gates + 1) * h8, 0);
  let dx = new Guarded(rows * C.inputs, 3);
  let dh0 = new Guarded(C.h0.length, 1);
  let dc0 = new Guarded(C.c0.length, 2);
  let gradFloats = dirs * gh * (C.inputs + out + 2) + dirs * C.proj * H;
  let grads = new Guarded(gradFloats, 1);
  let start = allocFloats(gradFloats);
  for (let i = 0; i < gradFloats; i++) store<f32>(start + (<usize>i << 2), rand());
  memory.copy(grads.p, start, <usize>gradFloats << 2);
  let inHash = hashFloats(x, rows * C.ldx) ^ hashFloats(y, rows * dirs * out) ^ hashFloats(h0.base, h0.n + 2 * PAD) ^
    hashFloats(wtIh, dirs * h8Of(C.inputs) * gh) ^ hashFloats(wtHh, dirs * h8Of(out) * gh) ^
    hashFloats(tape, rows * dirs * 4 * h8) ^ hashFloats(c, rows * dirs * H) ^ hashFloats(c0.base, c0.n + 2 * PAD);
  let dxp: usize = skipDx ? 0 : dx.p;
  if (gates == Gates.Elman) {
    rnn_layer_backward(dxp, dy.p, dg.p, x, C.ldx, C.inputs, y, h0.p, dh0.p, wtIh, wtHh, grads.p, bsp, C.steps, H,
                       dirs, C.activation);
  } else if (gates == Gates.GRU) {
    gru_layer_backward(dxp, dy.p, dg.p, x, C.ldx, C.inputs, y, h0.p, dh0.p, tape, wtIh, wtHh, grads.p, bsp,
                       C.steps, H, dirs);
  } else {
    lstm_layer_backward(dxp, dy.p, dc.p, dg.p, x, C.ldx, C.inputs, y, c, h0.p, c0.p, dh0.p, dc0.p, tape, wtIh,
                        wtHh, wtHr, grads.p, bsp, C.steps, H, C.proj, dirs);
  }
  if (!skipDx) {
    compare(C, "dx", dx.p, C.gX, 0);
  } else {
    let untouched = true;
    for (let i = 0; i < dx.n; i++) if (load<u32>(dx.p + (<usize>i << 2)) != GUARD) untouched = false;
    if (!untouched && tally.failed()) log<string>(C.describe() + ": dx written though dx = 0");
  }
  compare(C, "dh0", dh0.p, C.gH0, 0);
  if (gates == Gates.LSTM) compare(C, "dc0", dc0.p, C.gC0, 0);
  let at = grads.p;
  let from = start;
  let blocks: StaticArray<f64>[] = [C.gWih, C.gWhh, C.gBih, C.gBhh, C.gWhr];
  let names: string[] = ["dW_ih", "dW_hh", "db_ih", "db_hh", "dW_hr"];
  for (let i = 0; i < blocks.length; i++) {
    compare(C, names[i], at, blocks[i], from);
    at += <usize>blocks[i].length << 2;
    from += <usize>blocks[i].length << 2;
  }
  let guards = dy.guardsIntact() && dc.guardsIntact() && dg.guardsIntact() && dx.guardsIntact() &&
    dh0.guardsIntact() && dc0.guardsIntact() && grads.guardsIntact();
  if (!guards && tally.failed()) log<string>(C.describe() + ": wrote outside an output");
  if (gates != Gates.LSTM) {
    let untouched = true;
    for (let i = 0; i < dc0.n; i++) if (load<u32>(dc0.p + (<usize>i << 2)) != GUARD) untouched = false;
    if (!untouched && tally.failed()) log<string>(C.describe() + ": dc0 written");
  }
  let after = hashFloats(x, rows * C.ldx) ^ hashFloats(y, rows * dirs * out) ^ hashFloats(h0.base, h0.n + 2 * PAD) ^
    hashFloats(wtIh, dirs * h8Of(C.inputs) * gh) ^ hashFloats(wtHh, dirs * h8Of(out) * gh) ^
    hashFloats(tape, rows * dirs * 4 * h8) ^ hashFloats(c, rows * dirs * H) ^ hashFloats(c0.base, c0.n + 2 * PAD);
  if (after != inHash && tally.failed()) log<string>(C.describe() + ": an input buffer changed");
  free(bsp); free(x - 4); free(h0.base - 8); free(c0.base - 12); free(wihP); free(whhP); free(biasP); free(bTmp);
  if (C.proj > 0) { free(whrP); free(mScratch); free(wtHr); }
  free(p); free(y); free(c); free(tape); free(wtIh); free(wtHh);
  free(dy.base - 4); free(dc.base - 8); free(dg.base); free(dx.base - 12); free(dh0.base - 4); free(dc0.base - 8);
  free(grads.base - 4); free(start);
}

/** The sweep of one kind: hidden 1, 3, 8, 13, 17 × the batch patterns, inputs, dirs and proj varied. */
function sweep(kind: i32): void {
  let hiddens: i32[] = [1, 3, 8, 13, 17];
  for (let hi = 0; hi < hiddens.length; hi++) {
    let hidden = hiddens[hi];
    for (let s = 0; s < BATCHES.length; s++) {
      let k = hidden * 7 + s * 5;
      let inputs = 1 + k % 11;
      let ldx = inputs + k % 2;
      for (let dirs = 1; dirs <= 2; dirs++) {
        let proj = kind == Gates.LSTM && hidden > 1 && (s + dirs) % 2 == 1 ? 1 + k % (hidden - 1) : 0;
        let act = kind == Gates.Elman && (s + hidden) % 2 == 1 ? Activation.Relu : Activation.Tanh;
        seed(<u32>(kind * 1000 + hidden * 37 + s * 3 + dirs));
        checkKernel(new Case(kind, BATCHES[s], hidden, inputs, dirs, proj, ldx, act));
      }
    }
  }
}

/** Checks the reference's gradients of C against central differences of its loss. */
function checkReference(C: Case): void {
  C.forward();
  C.backward();
  let arrays: StaticArray<f64>[] = [C.wih, C.whh, C.bih, C.bhh, C.whr, C.x, C.h0, C.c0];
  let grads: StaticArray<f64>[] = [C.gWih, C.gWhh, C.gBih, C.gBhh, C.gWhr, C.gX, C.gH0, C.gC0];
  let names: string[] = ["W_ih", "W_hh", "b_ih", "b_hh", "W_hr", "x", "h0", "c0"];
  let eps = 1e-6;
  for (let a = 0; a < arrays.length; a++) {
    let v = arrays[a];
    if (a == 7 && C.kind != Gates.LSTM) continue;
    for (let i = 0; i < v.length; i += 1 + v.length / 7) {
      let keep = v[i];
      v[i] = keep + eps;
      let up = C.forward();
      v[i] = keep - eps;
      let down = C.forward();
      v[i] = keep;
      let fd = (up - down) / (2 * eps);
      tally.cases++;
      let g = grads[a][i];
      if (!tally.within(g, fd, 1e-6 * (1 + Math.abs(fd))) && tally.failed()) {
        log<string>(C.describe() + ": reference d/d" + names[a] + "[" + i.toString() + "] = " + g.toString() +
          ", finite difference " + fd.toString());
      }
    }
  }
}

describe("layer backward: the f64 reference (" + BUILD + ")", () => {
  it("matches central differences of its own loss for each kind (bidirectional, packed, LSTM with projection)", () => {
    tally.reset();
    seed(99);
    checkReference(new Case(Gates.Elman, [3, 2, 1], 5, 4, 2, 0, 4, Activation.Tanh));
    checkReference(new Case(Gates.Elman, [3, 2, 1], 5, 4, 2, 0, 4, Activation.Relu));
    checkReference(new Case(Gates.GRU, [3, 2, 1], 5, 4, 2, 0, 4, Activation.Tanh));
    checkReference(new Case(Gates.LSTM, [3, 2, 1], 5, 4, 2, 0, 4, Activation.Tanh));
    checkReference(new Case(Gates.LSTM, [3, 2, 1], 5, 4, 2, 3, 4, Activation.Tanh));
    log<string>(tally.summary(BUILD, "finite-difference"));
    expect<i32>(tally.failures).toBe(0);
  });
});

describe("rnn_layer_backward (" + BUILD + ")", () => {
  it("matches the f64 reference: hidden 1..17, plain and packed batches, uni/bi, tanh and relu", () => {
    tally.reset();
    sweep(Gates.Elman);
    log<string>(tally.summary(BUILD, "rnn_layer_backward"));
    expect<i32>(tally.failures).toBe(0);
  });
});

describe("gru_layer_backward (" + BUILD + ")", () => {
  it("matches the f64 reference: hidden 1..17, plain and packed batches, uni/bi", () => {
    tally.reset();
    sweep(Gates.GRU);
    log<string>(tally.summary(BUILD, "gru_layer_backward"));
    expect<i32>(tally.failures).toBe(0);
  });
});

describe("lstm_layer_backward (" + BUILD + ")", () => {
  it("matches the f64 reference: hidden 1..17, plain and packed batches, uni/bi, with and without projection", () => {
    tally.reset();
    sweep(Gates.LSTM);
    log<string>(tally.summary(BUILD, "lstm_layer_backward"));
    expect<i32>(tally.failures).toBe(0);
  });
});

describe("layer backward, wide states (" + BUILD + ")", () => {
  it("matches the f64 reference with several 8-unit blocks, 4-row tiles and their tails, and a wide projection", () => {
    tally.reset();
    seed(1234);
    let sizes: i32[] = [9, 9, 7, 3];
    checkKernel(new Case(Gates.Elman, sizes, 40, 33, 2, 0, 35, Activation.Tanh));
    checkKernel(new Case(Gates.GRU, sizes, 37, 20, 2, 0, 20, Activation.Tanh));
    checkKernel(new Case(Gates.LSTM, sizes, 40, 12, 2, 21, 13, Activation.Tanh));
    checkKernel(new Case(Gates.LSTM, [6, 6, 6], 33, 9, 1, 0, 9, Activation.Tanh));
    log<string>(tally.summary(BUILD, "wide layer backward"));
    expect<i32>(tally.failures).toBe(0);
  });
});

describe("layer backward without dx (" + BUILD + ")", () => {
  it("skips dL/dx when dx = 0 and computes every other gradient as usual", () => {
    tally.reset();
    skipDx = true;
    seed(4321);
    checkKernel(new Case(Gates.Elman, [3, 3, 2, 1], 13, 7, 2, 0, 7, Activation.Relu));
    checkKernel(new Case(Gates.GRU, [3, 3, 2, 1], 13, 7, 2, 0, 8, Activation.Tanh));
    checkKernel(new Case(Gates.LSTM, [3, 3, 2, 1], 13, 7, 2, 5, 7, Activation.Tanh));
    skipDx = false;
    log<string>(tally.summary(BUILD, "layer backward without dx"));
    expect<i32>(tally.failures).toBe(0);
  });
});
