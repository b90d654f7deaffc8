// PyTorch's CPU Tensor.normal_(mean, std) on a contiguous float32 tensor, bit for bit, so that a
// seeded Embedding draws the weights of torch.manual_seed(s); nn.Embedding(...). Follows ATen 1.13:
// normal_kernel and normal_fill_AVX2 / normal_fill_16_AVX2 (native/cpu/DistributionTemplates.h),
// log256_ps and sincos256_ps (native/cpu/avx_mathfun.h), normal_distribution<double>
// (core/DistributionsHelper.h) and CPUGeneratorImpl::random / random64.

/** A 32-bit MT19937 stream, as torch.manual_seed's CPU generator draws it. */
export interface UniformSource {
  /** The next 32-bit output, unsigned. */
  next(): number;
  /** (next() & 0xffffff) · 2^-24: PyTorch's uniform_real_distribution<float>(0, 1). */
  nextFloat24(): number;
}

/**
 * Fills `out` with normal(mean, std) values exactly as PyTorch fills a contiguous float32 tensor
 * from the same generator state. The generator must hold no cached Box–Muller value, as is the case
 * right after torch.manual_seed (PyTorch keeps the second value of the < 16 path in the generator
 * for its next normal_ call; `rng` has no such slot).
 * @throws RangeError when std is negative or NaN (PyTorch's message).
 */
export function normalFill(out: Float32Array, rng: UniformSource, mean: number, std: number): void {
  if (!(std >= 0)) throw new RangeError(`normal expects std >= 0.0, but found std ${std}`);
  if (out.length >= 16) fillBlocksOf16(out, rng, Math.fround(mean), Math.fround(std));
  else fillScalar(out, rng, mean, std);
}

const f = Math.fround;

// normal_fill_AVX2: every uniform first, then Box–Muller on blocks of 16; when the size is not a
// multiple of 16 the last 16 values are drawn again and transformed again (mean and std are
// float32 there, as normal_kernel casts them).
function fillBlocksOf16(out: Float32Array, rng: UniformSource, mean: number, std: number): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = rng.nextFloat24();
  for (let i = 0; i + 16 <= n; i += 16) boxMuller16(out, i, mean, std);
  if (n % 16 !== 0) {
    for (let i = n - 16; i < n; i++) out[i] = rng.nextFloat24();
    boxMuller16(out, n - 16, mean, std);
  }
}

// normal_fill_16_AVX2 lane by lane, pairing lane j with lane j + 8:
// u1 = 1 − data[j] ∈ [2^-24, 1], u2 = data[j + 8] ∈ [0, 1), radius = √(−2·log u1), θ = 2π·u2,
// data[j] = radius·cos θ·std + mean and data[j + 8] = radius·sin θ·std + mean, the last step an
// explicit FMA.
function boxMuller16(data: Float32Array, at: number, mean: number, std: number): void {
  for (let j = at; j < at + 8; j++) {
    const radius = f(Math.sqrt(f(-2 * cephesLog(f(1 - data[j])))));
    sinCos(f(TWO_PI * data[j + 8]));
    data[j] = fma32(f(radius * cosine), std, mean);
    data[j + 8] = fma32(f(radius * sine), std, mean);
  }
}

// Float32 constants of avx_mathfun.h (double literals rounded to float, as the C++ initialisers
// do) and 2π of normal_fill_AVX2 (_mm256_set1_ps(2.0f * c10::pi<double>)).
const TWO_PI = f(2 * Math.PI);
const SQRT_HALF = f(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f);
const LOG_Q1 = f(-2.1219444e-4);
const LOG_Q2 = f(0.693359375);
const MINUS_DP1 = f(-0.78515625);
const MINUS_DP2 = f(-2.4187564849853515625e-4);
const MINUS_DP3 = f(-3.77489497744594108e-8);
const SIN_P0 = f(-1.9515295891e-4);
const SIN_P1 = f(8.3321608736e-3);
const SIN_P2 = f(-1.6666654611e-1);
const COS_P0 = f(2.443315711809948e-5);
const COS_P1 = f(-1.388731625493765e-3);
const COS_P2 = f(4.166664568298827e-2);
const FOUR_OVER_PI = f(1.27323954473516);

const floatBox = new Float32Array(1);
const floatBits = new Int32Array(floatBox.buffer);

// log256_ps for one lane. GCC builds the AVX2 kernels with -mfma and contracts the intrinsics'
// multiply-adds into FMAs; which ones are fused, and in what order, is read off the disassembly of
// PyTorch 1.13's libtorch_cpu.so (Debian), and bit-identity depends on it. The input is in
// [2^-24, 1], so log256_ps's clamp of denormals and its NaN mask for x ≤ 0 never act and are left out.
function cephesLog(u: number): number {
  floatBox[0] = u;
  const bits = floatBits[0];
  let e = f((bits >>> 23) - 0x7f + 1);
  floatBits[0] = (bits & ~0x7f800000) | 0x3f000000; // mantissa scaled into [0.5, 1)
  let x = floatBox[0];
  const below = x < SQRT_HALF; // then e -= 1 and x = 2x − 1, else x = x − 1
  const tmp = below ? x : 0;
  x = f(x - 1);
  if (below) e = f(e - 1);
  x = f(x + tmp);
  const z = f(x * x);
  let y = LOG_P[0];
  for (let k = 1; k < LOG_P.length; k++) y = fma32(y, x, LOG_P[k]);
  y = f(y * x);
  y = fma32(y, z, f(e * LOG_Q1));
  y = fma32(-z, 0.5, y);
  x = f(x + y);
  return fma32(e, LOG_Q2, x);
}

let sine = 0;
let cosine = 0;

// sincos256_ps for one lane, θ ∈ [0, 2π); sets `sine` and `cosine`. Same FMA contraction as
// cephesLog. Cephes's reduction: j = (⌊θ·4/π⌋ + 1) & ~1, x = θ − j·π/4 in three parts, then the
// sine or cosine polynomial by j & 2 and the signs by j & 4.
function sinCos(theta: number): void {
  let j = Math.trunc(f(theta * FOUR_OVER_PI));
  j = (j + 1) & ~1;
  let x = fma32(j, MINUS_DP1, theta);
  x = fma32(j, MINUS_DP2, x);
  x = fma32(j, MINUS_DP3, x);
  const z = f(x * x);
  let yc = fma32(z, COS_P0, COS_P1);
  yc = fma32(z, yc, COS_P2);
  yc = f(z * yc);
  yc = fma32(yc, z, -f(z * 0.5));
  yc = f(yc + 1);
  let ys = fma32(SIN_P0, z, SIN_P1);
  ys = fma32(z, ys, SIN_P2);
  ys = f(z * ys);
  ys = fma32(ys, x, x);
  // The kernel selects by masking and adds the masked-out +0, which turns a −0 into +0.
  const sinPoly = (j & 2) === 0;
  const s = (sinPoly ? ys : yc) + 0;
  const c = (sinPoly ? yc : ys) + 0;
  sine = (j & 4) !== 0 ? -s : s;
  cosine = (~(j - 2) & 4) !== 0 ? -c : c;
}

// fma(a, b, c) of float32 values rounded once to float32. a·b is exact in a double (24 + 24
// significant bits), and a + b as a double is s + err exactly (TwoSum); rounding s to float32 is
// then correct unless s lies exactly halfway between two floats, where err breaks the tie.
function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const pPart = s - c;
  const err = p - pPart + (c - (s - pPart));
  const r = f(s);
  if (err === 0 || r === s) return r;
  const other = 2 * s - r; // the float on s's other side, if s is halfway
  if (f(other) !== other) return r;
  return err > 0 === r > s ? r : other;
}

// normal_kernel below 16 values: normal_distribution<double> per element, each pair of values from
// two random64 draws (u1, u2), r = √(−2·log(1 − u2)), θ = 2π·u1; r·cos θ is returned and r·sin θ
// kept for the next element (the generator's cached double normal sample). The value is
// fma(z, std, mean) in doubles (GCC contracts it), then rounded to float32. Math.log/sin/cos and
// glibc's may differ in the last double bit, which moves the float32 only within 2^-29 of a
// rounding boundary.
function fillScalar(out: Float32Array, rng: UniformSource, mean: number, std: number): void {
  let cached: number | null = null;
  for (let i = 0; i < out.length; i++) {
    let z: number;
    if (cached !== null) {
      z = cached;
      cached = null;
    } else {
      const u1 = uniform53(rng);
      const u2 = uniform53(rng);
      const r = Math.sqrt(-2 * Math.log(1 - u2));
      const theta = 2 * Math.PI * u1;
      cached = r * Math.sin(theta);
      z = r * Math.cos(theta);
    }
    out[i] = fma64(z, std, mean);
  }
}

// uniform_real_distribution<double>(0, 1) on random64(): the first 32-bit draw is the high word,
// and the low 53 bits of the pair times 2^-53.
function uniform53(rng: UniformSource): number {
  const high = rng.next();
  const low = rng.next();
  return ((high & 0x1fffff) * 0x100000000 + low) * 2 ** -53;
}

// fma(a, b, c) in doubles: the product's rounding error by Veltkamp–Dekker splitting, the sum's by
// TwoSum, added back in one final rounding.
function fma64(a: number, b: number, c: number): number {
  const p = a * b;
  const [aHigh, aLow] = split(a);
  const [bHigh, bLow] = split(b);
  const pErr = aHigh * bHigh - p + aHigh * bLow + aLow * bHigh + aLow * bLow;
  const s = p + c;
  const pPart = s - c;
  const sErr = p - pPart + (c - (s - pPart));
  return s + (sErr + pErr);
}

function split(a: number): [number, number] {
  const t = 134217729 * a; // 2^27 + 1
  const high = t - (t - a);
  return [high, a - high];
}
