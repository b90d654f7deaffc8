// Accuracy of the kernel's sigmoid through the harness of ulp.ts: both code
// paths against the exact sigmoid, 1 / (1 + e^{−x}) computed in f64
// (NativeMath exp, < 1 ULP of f64) and rounded to f32. The issue requires at
// most 4 ULP; subnormal results count in subnormal ULPs (2^−149).

import { BUILD, SIGN, UlpSweep, expectBoth, expectNaNBoth } from "./ulp";
import { SIGMOID, sigmoidRef } from "./util";

const CLAIMED_ULP: i64 = 4;
const ONE_BITS: u32 = 0x3F800000;
const HALF_BITS: u32 = 0x3F000000;
/** ln 2^−126: below, σ(x) is subnormal. */
const SUBNORMAL_BITS = reinterpret<u32>(<f32>-87.33654475);
/** ln 2^−150 ≈ −103.97: below, σ(x) rounds to 0. */
const ZERO_BITS = reinterpret<u32>(<f32>-103.972077);
/** σ(x) rounds to 1 from x ≈ 17.33 on (e^{−x} < 2^−25). */
const ONE_FROM_BITS = reinterpret<u32>(<f32>17.5);
/** Below |x| = 2^−26, σ(x) rounds to 1/2. */
const HALF_BELOW_BITS: u32 = 0x32800000;

function sigmoidRegion(bits: u32): i32 {
  if ((bits & SIGN) == 0) return 2;
  return bits > SUBNORMAL_BITS ? 0 : 1;
}

const sigmoid = new UlpSweep("sigmoid", SIGMOID, sigmoidRef, sigmoidRegion,
  ["x < -87.34 (subnormal results)", "-87.34 <= x < 0", "x >= 0"], 0, 1, false);

describe("sigmoid accuracy (" + BUILD + ")", () => {
  it("is within 4 ULP of the exact sigmoid over a dense sweep of finite floats", () => {
    sigmoid.reset();
    if (isDefined(SIGMOID_EXHAUSTIVE)) {
      // Opt-in (`node tests/kernel/run.mjs --exhaustive-sigmoid`, ~2 min a
      // build idle): every float with 2^−26 <= |x|, −103.97 <= x <= 17.5
      // (526 M). Outside, σ rounds to 0, 1/2 or 1 (checked by the sampled
      // sweep and the edges).
      sigmoid.sweep(HALF_BELOW_BITS, ONE_FROM_BITS, 1);
      sigmoid.sweep(HALF_BELOW_BITS | SIGN, ZERO_BITS, 1);
    } else {
      // Every 251st finite float of either sign (17 M).
      sigmoid.sweep(0, 0x7F7FFFFF, 251);
      sigmoid.sweep(SIGN, 0xFF7FFFFF, 251);
      // Where σ is neither 0, 1/2 nor 1: every 23rd (23 M).
      sigmoid.sweep(HALF_BELOW_BITS, ONE_FROM_BITS, 23);
      sigmoid.sweep(HALF_BELOW_BITS | SIGN, ZERO_BITS, 23);
      // Every float around where results turn subnormal and where they round to 0 (262 k).
      sigmoid.sweep(SUBNORMAL_BITS - 65536, SUBNORMAL_BITS + 65536, 1);
      sigmoid.sweep(ZERO_BITS - 65536, ZERO_BITS + 65536, 1);
    }
    sigmoid.flush();
    sigmoid.report("sweep of " + sigmoid.checked.toString() + " inputs");
    sigmoid.expectWithin(CLAIMED_ULP);
  });

  it("is within 4 ULP at the edges: zeros, subnormals, saturation, the steps of the reduction", () => {
    sigmoid.reset();
    let edges: u32[] = [
      0x00000000, SIGN, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000, 0x80800000,
      HALF_BELOW_BITS, HALF_BELOW_BITS | SIGN, SUBNORMAL_BITS, ZERO_BITS, ONE_FROM_BITS,
      reinterpret<u32>(<f32>-105), reinterpret<u32>(<f32>-104), reinterpret<u32>(<f32>-103),
      reinterpret<u32>(<f32>-88), reinterpret<u32>(<f32>-87), reinterpret<u32>(<f32>17),
      reinterpret<u32>(<f32>(0.5 * Math.LN2)), reinterpret<u32>(<f32>(-0.5 * Math.LN2)),
      reinterpret<u32>(<f32>(1.5 * Math.LN2)), reinterpret<u32>(<f32>(-1.5 * Math.LN2)),
      0x7F7FFFFF, 0xFF7FFFFF,
      // The largest errors of --exhaustive-sigmoid (2, 2 fused, 1 and 1 ULP).
      0xBF8CA579, 0xBF8CA59D, 0xC2AEAC7E, 0x33C00001,
    ];
    for (let i = 0; i < edges.length; i++) {
      for (let d = -2; d <= 2; d++) sigmoid.push(<u32>(<i32>edges[i] + d));
    }
    sigmoid.flush();
    sigmoid.report("edges");
    sigmoid.expectWithin(CLAIMED_ULP);
  });

  it("maps NaN to NaN, -Inf to 0, +Inf to 1, ±0 and tiny inputs to 1/2, large inputs to 0 and 1, both paths", () => {
    expectNaNBoth(0x7FC00000, SIGMOID);
    expectNaNBoth(0xFFC00000, SIGMOID);
    expectNaNBoth(0x7F800001, SIGMOID);
    expectNaNBoth(0xFF800001, SIGMOID);
    expectBoth(0xFF800000, SIGMOID, 0);               // -Inf → +0
    expectBoth(0x7F800000, SIGMOID, ONE_BITS);        // +Inf → 1
    expectBoth(0x00000000, SIGMOID, HALF_BITS);
    expectBoth(SIGN, SIGMOID, HALF_BITS);             // -0 → 1/2
    expectBoth(0x00000001, SIGMOID, HALF_BITS);       // subnormals
    expectBoth(0x807FFFFF, SIGMOID, HALF_BITS);
    expectBoth(reinterpret<u32>(<f32>1e-30), SIGMOID, HALF_BITS);
    expectBoth(reinterpret<u32>(<f32>-1e-30), SIGMOID, HALF_BITS);
    expectBoth(reinterpret<u32>(<f32>20), SIGMOID, ONE_BITS);
    expectBoth(reinterpret<u32>(<f32>1e30), SIGMOID, ONE_BITS);
    expectBoth(0x7F7FFFFF, SIGMOID, ONE_BITS);        // FLT_MAX
    expectBoth(reinterpret<u32>(<f32>-104), SIGMOID, 0);
    expectBoth(reinterpret<u32>(<f32>-1e30), SIGMOID, 0);
    expectBoth(0xFF7FFFFF, SIGMOID, 0);               // -FLT_MAX
    // The smallest positive result: σ(−103.5) = 0.80 · 2^−149 rounds to 2^−149.
    expectBoth(reinterpret<u32>(<f32>-103.5), SIGMOID, 1);
  });
});
