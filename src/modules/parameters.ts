// Parameters of every module: PyTorch's names and shapes, and its seeded
// initialisation drawn from one MT19937 stream in registration order.

import type { MT19937 } from "../core/random.js";

/** A parameter's PyTorch name and shape. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Elements of a parameter. */
function sizeOf(spec: ParameterSpec): number {
  let n = 1;
  for (const s of spec.shape) n *= s;
  return n;
}

/**
 * PyTorch's `init.uniform_(p, −bound, bound)` for float32, value by value in
 * row-major order: from + u·(to − from) with from, to rounded to float32 is
 * exact in doubles, so one rounding to float32 reproduces the single rounding
 * of PyTorch's fused (AVX2) uniform_ kernel bit for bit.
 */
export function uniformFill(values: Float32Array, bound: number, rng: MT19937): void {
  const from = Math.fround(-bound);
  const range = Math.fround(bound) - from;
  for (let i = 0; i < values.length; i++) values[i] = rng.nextFloat24() * range + from;
}

/**
 * The recurrent modules' reset_parameters: every parameter from
 * U(−1/√H, 1/√H), in registration order, from one stream.
 */
export function recurrentInit(
  specs: readonly ParameterSpec[],
  hiddenSize: number,
  rng: MT19937,
): Map<string, Float32Array> {
  const bound = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
  const params = new Map<string, Float32Array>();
  for (const spec of specs) {
    const values = new Float32Array(sizeOf(spec));
    uniformFill(values, bound, rng);
    params.set(spec.name, values);
  }
  return params;
}
