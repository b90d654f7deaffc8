// Seeded randomness for tests: a deterministic PRNG and random tensors.
import { Tensor } from "wasm-rnn";

/** Deterministic PRNG (mulberry32): a function returning floats in [0, 1). */
export function makeRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor of uniform values in [-scale, scale). */
export function randomTensor(shape, random, scale = 1) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (random() * 2 - 1) * scale;
  return new Tensor(data, shape);
}
