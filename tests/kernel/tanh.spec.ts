// Accuracy of the kernel's tanh (and relu's special values), through the
// harness of ulp.ts: both code paths against Math.tanh rounded to f32.
//
// tanh: the issue requires, and assembly/activation.ts claims, at most 4 ULP
// over all finite floats. The reference is AssemblyScript's NativeMath tanh
// on f64 (musl's, < 1 ULP of f64) rounded to f32.

import { Activation } from "../../assembly/abi";
import { BUILD, SIGN, UlpSweep, applyTo, expectBoth, expectNaNBoth, viaScalar, viaV128 } from "./ulp";

const TANH = Activation.Tanh;
const RELU = Activation.Relu;
const ONE_BITS: u32 = 0x3F800000;
// tanhV reduces 2|x| = k·ln2 + r; k steps from 0 to 1 at |x| = ln2/4 and from
// 1 to 2 at 3·ln2/4. Below the first, expm1 is the polynomial alone; above, it
// is rebuilt from 2^k, where cancellation could hide.
const K1_BITS = reinterpret<u32>(<f32>(0.25 * Math.LN2));
const K2_BITS = reinterpret<u32>(<f32>(0.75 * Math.LN2));
const CLAIMED_ULP: i64 = 4; // the bound stated in assembly/activation.ts

function tanhRef(x: f64): f64 {
  return Math.tanh(x);
}

function tanhRegion(bits: u32): i32 {
  return (bits & ~SIGN) >= K1_BITS ? 1 : 0;
}

const tanh = new UlpSweep("tanh", TANH, tanhRef, tanhRegion, ["k = 0", "k >= 1"], -1, 1, true);

describe("tanh accuracy (" + BUILD + ")", () => {
  it("is within the claimed ULP of Math.tanh over a dense sweep of finite floats", () => {
    tanh.reset();
    if (isDefined(TANH_EXHAUSTIVE)) {
      // Opt-in (`node tests/kernel/run.mjs --exhaustive-tanh`, ~30 s a build idle):
      // every float with 1e-5 <= |x| <= 9.2 (166 M). Below, m/(m + 2) has
      // settled to its small-x rounding (sampled below); above, tanh rounds
      // to ±1: this range holds every large error.
      tanh.sweep(0x3727C5AC, 0x41133333, 1);
    } else {
      // Every 251st positive finite float (8.6 M), each with its negative.
      tanh.sweep(0, 0x7F7FFFFF, 251);
      // Where the result is far from both 0 and 1, 1e-3 <= |x| <= 9.2: every 23rd (4.7 M).
      tanh.sweep(0x3A83126F, 0x41133333, 23);
      // Around the first two steps of k: every float (262 k).
      tanh.sweep(K1_BITS - 65536, K1_BITS + 65536, 1);
      tanh.sweep(K2_BITS - 65536, K2_BITS + 65536, 1);
      // [0, 1e-3], subnormals included: every 997th (1 M).
      tanh.sweep(0, 0x3A83126F, 997);
    }
    tanh.flush();
    tanh.report("sweep of " + tanh.checked.toString() + " inputs");
    tanh.expectWithin(CLAIMED_ULP);
  });

  it("is within the claimed ULP at the edges and at known worst cases", () => {
    tanh.reset();
    tanh.push(0x00000000);              // 0 (and -0)
    tanh.push(0x00000001);              // smallest subnormal
    tanh.push(0x007FFFFF);              // largest subnormal
    tanh.push(0x00800000);              // FLT_MIN
    for (let d = -4; d <= 4; d++) {     // the first two steps of k ± 4 ULP
      tanh.push(<u32>(<i32>K1_BITS + d));
      tanh.push(<u32>(<i32>K2_BITS + d));
    }
    tanh.push(reinterpret<u32>(<f32>9.5));   // the saturation clamp
    tanh.push(reinterpret<u32>(<f32>9));
    tanh.push(reinterpret<u32>(<f32>10));
    tanh.push(reinterpret<u32>(<f32>20));
    tanh.push(0x7F7FFFFF);              // FLT_MAX
    // The largest errors: of the sampled sweep, and of --exhaustive-tanh (2 ULP).
    tanh.push(0x3954a4f6);              // 0.00020279348
    tanh.push(0x38f398c3);              // 0.00011615597
    tanh.push(0x3e317273);              // 0.17328815, just past the first step of k
    tanh.push(reinterpret<u32>(<f32>0.5)); // 21 pairs: the chunk call ends with a 2-lane scalar tail
    tanh.flush();
    tanh.report("edges");
    tanh.expectWithin(CLAIMED_ULP);
  });

  it("keeps the sign of zero, maps ±Inf to ±1 exactly and NaN to NaN, both paths", () => {
    expectBoth(0x00000000, TANH, 0x00000000);
    expectBoth(0x80000000, TANH, 0x80000000);       // -0 stays -0
    expectBoth(0x7F800000, TANH, ONE_BITS);          // +Inf → 1
    expectBoth(0xFF800000, TANH, ONE_BITS | SIGN);   // -Inf → -1
    expectNaNBoth(0x7FC00000, TANH);
    expectNaNBoth(0xFFC00000, TANH);
    expectNaNBoth(0x7F800001, TANH);
  });
});

describe("relu (" + BUILD + ")", () => {
  it("keeps -0 and NaN, zeroes negatives, passes positives, both paths", () => {
    expectBoth(0x80000000, RELU, 0x80000000);       // relu(-0) = -0, as in PyTorch
    expectBoth(0x00000000, RELU, 0x00000000);
    expectNaNBoth(0x7FC00000, RELU);
    expectNaNBoth(0xFFC00000, RELU);
    expectBoth(reinterpret<u32>(<f32>-1), RELU, 0);  // +0
    expectBoth(0xFF800000, RELU, 0);                 // -Inf → +0
    expectBoth(0x80000001, RELU, 0);                 // -subnormal → +0
    expectBoth(0x7F800000, RELU, 0x7F800000);        // +Inf
    expectBoth(reinterpret<u32>(<f32>1), RELU, reinterpret<u32>(<f32>1));
    // A sweep of bit patterns: positives pass unchanged, negatives give +0.
    let wrong = 0;
    for (let b: u64 = 0; b <= 0x7F7FFFFF; b += 65521) {
      let x = <u32>b;
      if (viaV128(x, RELU) != x || viaScalar(x, RELU) != x) wrong++;
      let want: u32 = x == 0 ? SIGN : 0;
      if (viaV128(x | SIGN, RELU) != want || viaScalar(x | SIGN, RELU) != want) wrong++;
    }
    expect<i32>(wrong).toBe(0);
  });

  it("is applied to every element of a call with a tail", () => {
    // 7 elements: one v128 group and a 3-element scalar tail, mixed signs.
    let y = applyTo([0, -1, 2, -3, 4, -5, 6], RELU);
    let wrong = 0;
    for (let i = 0; i < 7; i++) {
      if (load<f32>(y + (<usize>i << 2)) != (i & 1 ? <f32>0 : <f32>i)) wrong++;
    }
    expect<i32>(wrong).toBe(0);
  });
});
