// WebAssembly feature probes: tiny modules that validate only where a feature
// exists. Validation compiles nothing, so it is allowed even where runtime
// compilation is not (Cloudflare Workers).

/**
 * (module (func (result v128)
 *   i32.const 0  i8x16.splat  i8x16.popcnt))
 */
// biome-ignore format: laid out one wasm section a line
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // code
]);

/**
 * (module (func (result v128)
 *   i32.const 0  i8x16.splat  i32.const 0  i8x16.splat  i32.const 0  i8x16.splat
 *   f32x4.relaxed_madd))
 */
// biome-ignore format: laid out one wasm section a line
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x13, 0x01, 0x11, 0x00,
  0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f,
  0xfd, 0x85, 0x02, 0x0b,
]);

/** The kernel builds, fastest first. */
export type Backend = "relaxed" | "simd" | "scalar";

/** All release backends, fastest first. */
export const BACKENDS: readonly Backend[] = ["relaxed", "simd", "scalar"];

/** Which WebAssembly features this runtime validates. */
export interface Features {
  simd: boolean;
  relaxedSimd: boolean;
}

/** Probes the runtime's WebAssembly features. */
export function detectFeatures(): Features {
  return {
    simd: WebAssembly.validate(SIMD_PROBE),
    relaxedSimd: WebAssembly.validate(RELAXED_SIMD_PROBE),
  };
}

/** The fastest backend the features allow. */
export function bestBackend(features: Features): Backend {
  if (features.relaxedSimd && features.simd) return "relaxed";
  return features.simd ? "simd" : "scalar";
}
