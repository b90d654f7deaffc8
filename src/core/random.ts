// MT19937, the generator behind torch.manual_seed on CPU, so that seeded
// initialisation reproduces PyTorch's weights bit for bit.

/** Mersenne Twister MT19937 (32-bit outputs), seeded like init_genrand. */
export class MT19937 {
  private readonly state = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    const s = this.state;
    s[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = s[i - 1] ^ (s[i - 1] >>> 30);
      // 1812433253 * prev mod 2^32, split to stay exact in doubles.
      s[i] = ((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + i;
    }
  }

  /** The next 32-bit output as an unsigned integer. */
  next(): number {
    if (this.index >= 624) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 24 random bits, as PyTorch's float32 uniform_ draws it. */
  nextFloat24(): number {
    return (this.next() & 0xffffff) * 2 ** -24;
  }

  private twist(): void {
    const s = this.state;
    for (let i = 0; i < 624; i++) {
      const y = (s[i] & 0x80000000) | (s[(i + 1) % 624] & 0x7fffffff);
      s[i] = s[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }
}

/**
 * The low 32 bits of a seed, as torch.manual_seed keeps them (negative seeds
 * wrap modulo 2^64 first, which leaves the same low bits).
 * @throws TypeError unless `seed` is a safe integer or a bigint.
 */
export function seed32(seed: number | bigint, what = "seed"): number {
  if (typeof seed === "bigint") return Number(BigInt.asUintN(32, seed));
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new TypeError(`${what} should be an integer, got ${typeof seed === "number" ? seed : typeof seed}`);
  }
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

/** A fresh random 32-bit seed. */
export function randomSeed(): number {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0];
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}
