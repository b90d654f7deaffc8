// TF.js's wasm backend multiplies untransposed operands with XNNPACK, but a
// BatchMatMul with transposeA or transposeB takes a slow path: measured here,
// (64×256)ᵀ·(64×1024) took 54 ms with transposeA and 2 ms with the transpose
// made first. Backward passes are made of such products (dA = dY·Bᵀ,
// dB = Aᵀ·dY), so TF.js training would be measured on that slow path. This
// gives the peer its best case instead: the transposes are materialized with
// the backend's own Transpose kernel, then the fast kernel runs.

const KERNEL = "BatchMatMul";

/** Re-registers the wasm backend's BatchMatMul so that transposed operands are transposed first. Idempotent. */
export function transposeFreeMatMul(tf) {
  const original = tf.getKernel(KERNEL, "wasm");
  if (original.transposeFree) return;
  const transpose = tf.getKernel("Transpose", "wasm").kernelFunc;
  tf.unregisterKernel(KERNEL, "wasm");
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: "wasm",
    transposeFree: true,
    kernelFunc: ({ inputs, backend, attrs }) => {
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc({ inputs, backend, attrs });
      const made = [];
      const untransposed = (x, transposed) => {
        if (!transposed) return x;
        const perm = x.shape.map((_, i) => i);
        perm.splice(-2, 2, perm.length - 1, perm.length - 2);
        const t = transpose({ inputs: { x }, backend, attrs: { perm } });
        made.push(t);
        return t;
      };
      const a = untransposed(inputs.a, attrs.transposeA);
      const b = untransposed(inputs.b, attrs.transposeB);
      const out = original.kernelFunc({
        inputs: { a, b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
      for (const t of made) backend.disposeData(t.dataId);
      return out;
    },
  });
}
