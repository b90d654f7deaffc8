// The kernel says which of the three builds it is, so that the host can check a
// kernel the user supplied against the build the user named: every build has
// the same imports and exports.

import { Build } from "./abi";

/** This build's code (abi.ts Build). */
export function kernel_build(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? Build.Relaxed : ASC_FEATURE_SIMD ? Build.Simd : Build.Scalar;
}
