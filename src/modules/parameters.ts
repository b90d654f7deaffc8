// Parameters shared by RNN and RNNCell: PyTorch's default initialisation and
// the packing of weights into the kernel's panel layout.

import type { Kernel } from "../runtime/kernel.js";
import type { MT19937 } from "../core/random.js";

/** A parameter's PyTorch name and shape. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * PyTorch's reset_parameters: init.uniform_(p, −1/√H, 1/√H) on every parameter
 * in registration order from one generator stream. from + u·(to − from) is
 * exact in doubles, so one fround reproduces the single rounding of
 * PyTorch's fused (AVX2) uniform_ kernel bit for bit.
 */
export function uniformInit(
  specs: readonly ParameterSpec[], hiddenSize: number, rng: MT19937,
): Map<string, Float32Array> {
  const stdv = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
  const from = Math.fround(-stdv);
  const range = Math.fround(stdv) - from;
  const params = new Map<string, Float32Array>();
  for (const spec of specs) {
    const values = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = rng.nextFloat24() * range + from;
    params.set(spec.name, values);
  }
  return params;
}

/**
 * Packs a PyTorch weight (rows × cols, row-major) into panels at `panels`,
 * staging it through `staging` (at least rows·cols floats of kernel memory).
 */
export function packWeight(
  kernel: Kernel, panels: number, staging: number, weight: Float32Array, rows: number, cols: number,
): void {
  kernel.write(staging, weight);
  kernel.exports.pack_panels(panels, staging, rows, cols);
}

/** n rounded up to a multiple of 8 (the panel width). */
export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}
