// The kernel's ABI constants: the one source for the kernel (assembly/) and
// the host (src/), which imports this file. Plain enums and untyped integer
// constants only, so that it is valid AssemblyScript and TypeScript alike.

/** Activation codes taken by the GEMM epilogue. */
export const enum Activation { Identity = 0, Tanh = 1, Relu = 2 }

/** Columns per packed weight panel (the GEMM tile's NR): hidden sizes are padded to a multiple. */
export const PANEL_WIDTH = 8;

/** Byte alignment of every panel and of the scratch the kernel reads with v128 loads. */
export const ALIGNMENT = 16;

/** Gates per hidden unit of each recurrent cell kind, in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n). */
export const enum Gates { Elman = 1, GRU = 3, LSTM = 4 }

/** Which build a kernel is, as its `kernel_build()` export reports it (from the compiler's feature flags). */
export const enum Build { Scalar = 0, Simd = 1, Relaxed = 2 }

/**
 * Multiply-adds from which a part of a layer call is split across threads
 * (threaded builds; `threads_tune` overrides them): one step of one direction,
 * the input projection, a bidirectional layer's two directions; and one step
 * where the calling thread may only spin (a browser's main thread), which pays
 * a sleeping helper's wake-up at every step. A projection that is the only
 * part to split wakes the helper threads for it alone: it splits from
 * ProjectionAlone (bench/results/threads.md: 2.1 M and 6.3 M multiply-adds,
 * S1's and GRU-S1's, ran 12% and 3% slower on two threads than on one).
 */
export const enum SplitMacs {
  Step = 65536, Projection = 262144, ProjectionAlone = 16777216, Directions = 65536, SpinningStep = 1048576,
}
