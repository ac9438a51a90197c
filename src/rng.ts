/**
 * A small seeded random generator, identical on every platform.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna) — 128 bits of state in four 32-bit words,
 * advanced with 32-bit integer operations only (`Math.imul`, shifts, xor), so the stream
 * of integers is bit-identical in any JavaScript engine. The state is filled from the seed
 * with SplitMix32. Uniform floats take 53 bits from two outputs. Gumbel draws use
 * `Math.log`, which V8 (Deno, Node, Chromium) implements with the same fdlibm port on
 * every platform.
 *
 * @module
 */

const TWO_POW_32 = 2 ** 32;
const TWO_POW_53 = 2 ** 53;

/** The four 32-bit state words of a generator, for saving and restoring. */
export type RngState = [number, number, number, number];

/** One categorical draw: the index chosen, its probability and the distribution's entropy. */
export interface Draw {
  token: number;
  probability: number;
  /** Entropy (nats) of the tempered, truncated distribution the token was drawn from. */
  entropy: number;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Seeded generator: uniform, integer, Gumbel and categorical draws.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(42);
 * const u = rng.uniform(); // in [0, 1)
 * const g = rng.gumbel(); // mean ≈ 0.5772 over many draws
 * const { token } = rng.categorical(Float32Array.of(0, 1, 2), 1); // 0, 1 or 2
 * ```
 */
export class Rng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;
  #scratch = new Float64Array(0);
  #topIndex = new Int32Array(0);
  #topValues = new Float64Array(0);

  /** `seed`: any safe integer ≥ 0 (both 32-bit halves feed the state). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be an integer from 0 to 2^53 − 1, got ${seed}`);
    }
    let mix = seed >>> 0;
    const high = Math.floor(seed / TWO_POW_32) >>> 0;
    const splitmix = () => {
      mix = (mix + 0x9e3779b9) | 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.#s0 = splitmix();
    this.#s1 = splitmix();
    mix ^= high;
    this.#s2 = splitmix();
    this.#s3 = splitmix();
  }

  /** The current state (restore it with {@link Rng.fromState}). */
  get state(): RngState {
    return [this.#s0 >>> 0, this.#s1 >>> 0, this.#s2 >>> 0, this.#s3 >>> 0];
  }

  /**
   * A generator continuing from a saved state.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const a = new Rng(1);
   * const b = Rng.fromState(a.state);
   * a.nextUint32() === b.nextUint32(); // true
   * ```
   */
  static fromState(state: RngState): Rng {
    if (state.every((word) => (word | 0) === 0)) {
      throw new RangeError("xoshiro128** state must not be all zero");
    }
    const rng = new Rng(0);
    [rng.#s0, rng.#s1, rng.#s2, rng.#s3] = state.map((word) => word | 0);
    return rng;
  }

  /** The next 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9);
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 2 ** 26 + low) / TWO_POW_53;
  }

  /** Uniform in the open interval (0, 1): never 0, so its logarithm is finite. */
  uniformOpen(): number {
    return this.uniform() + 0.5 / TWO_POW_53;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the incomplete last block). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`int(n) needs an integer n from 1 to 2^32, got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard Gumbel draw −log(−log U): the noise of Gumbel-max sampling, mean γ ≈ 0.5772. */
  gumbel(): number {
    return -Math.log(-Math.log(this.uniformOpen()));
  }

  /** Shuffles `values` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const swap = values[i];
      values[i] = values[j];
      values[j] = swap;
    }
    return values;
  }

  /**
   * Draws an index from softmax(logits · beta), restricted to the `topK` largest logits
   * when 0 < topK < logits.length (ties keep the lower index). One uniform per draw
   * (inverse CDF). `beta` is the inverse temperature (see `inverseTemperature`).
   * Returns the index, its probability and the entropy of the tempered, truncated
   * distribution.
   */
  categorical(logits: ArrayLike<number>, beta: number, topK = 0): Draw {
    const size = logits.length;
    if (size === 0) throw new RangeError("categorical needs at least one logit");
    if (!(beta > 0) || !Number.isFinite(beta)) {
      throw new RangeError(`inverse temperature must be a finite number > 0, got ${beta}`);
    }
    if (!(topK > 0 && topK < size)) return this.#softmaxDraw(logits, size, beta);
    // Top-k: the same draw over the k largest logits, copied out largest first.
    const top = this.#topK(logits, topK);
    if (this.#topValues.length < topK) this.#topValues = new Float64Array(topK);
    const values = this.#topValues;
    for (let i = 0; i < topK; i++) values[i] = logits[top[i]];
    const drawn = this.#softmaxDraw(values, topK, beta);
    drawn.token = top[drawn.token];
    return drawn;
  }

  /**
   * The inverse-CDF draw from softmax(values[0..count) · beta). Indexes the array directly
   * (no per-element indirection): for the Confidence scheduler this runs over the whole
   * codebook at every masked position, and is most of the sampling time.
   */
  #softmaxDraw(values: ArrayLike<number>, count: number, beta: number): Draw {
    let max = -Infinity;
    for (let i = 0; i < count; i++) max = Math.max(max, values[i]);
    if (this.#scratch.length < count) this.#scratch = new Float64Array(count);
    const weights = this.#scratch;
    let sum = 0;
    let weighted = 0; // Σ w·x, for the entropy log Σw − Σ w·x / Σw (x = scaled logit)
    for (let i = 0; i < count; i++) {
      const x = (values[i] - max) * beta;
      const w = Math.exp(x);
      weights[i] = w;
      sum += w;
      weighted += w * x;
    }
    if (!(sum >= 1) || !Number.isFinite(sum)) {
      throw new RangeError("logits contain NaN or infinite values");
    }
    const target = this.uniform() * sum;
    let cumulative = 0;
    let chosen = count - 1;
    for (let i = 0; i < count; i++) {
      cumulative += weights[i];
      if (target < cumulative) {
        chosen = i;
        break;
      }
    }
    // Float rounding can leave target just above the last sum: take the last non-zero weight.
    while (weights[chosen] === 0 && chosen > 0) chosen--;
    const entropy = Math.max(0, Math.log(sum) - weighted / sum);
    return { token: chosen, probability: weights[chosen] / sum, entropy };
  }

  /** Indices of the k largest values, largest first (insertion into a sorted buffer). */
  #topK(values: ArrayLike<number>, k: number): Int32Array {
    if (this.#topIndex.length < k) this.#topIndex = new Int32Array(k);
    const top = this.#topIndex;
    let filled = 0;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (filled === k && !(value > values[top[k - 1]])) continue;
      let j = filled < k ? filled++ : k - 1;
      while (j > 0 && value > values[top[j - 1]]) {
        top[j] = top[j - 1];
        j--;
      }
      top[j] = i;
    }
    return top.subarray(0, k);
  }
}
