/**
 * The paper's other columns, on any classifier's outputs.
 *
 * **Precision and recall** (Kynkäänniemi et al., 2019): each set of feature vectors stands for
 * a manifold, the union of balls around its vectors whose radius is the distance to the
 * vector's k-th nearest neighbour in its own set (k = 3, as in their reference code).
 * Precision is the share of generated vectors inside the real manifold (are the images
 * realistic?); recall is the share of real vectors inside the generated manifold (is the
 * variety of the real images covered?).
 *
 * **Inception-score analogue**: exp(E_x KL(p(y|x) ‖ p(y))), with p(y|x) the evaluation
 * classifier's class probabilities for image x and p(y) their mean over the images: high
 * when each image is read confidently as one class and the images spread over many classes.
 *
 * @module
 */

/** Squared Euclidean distance between row i of `a` and row j of `b` (rows of `dim`). */
function distance(
  a: ArrayLike<number>,
  i: number,
  b: ArrayLike<number>,
  j: number,
  dim: number,
): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) {
    const diff = a[i * dim + d] - b[j * dim + d];
    sum += diff * diff;
  }
  return sum;
}

/**
 * Per row of a set, the squared distance to its k-th nearest other row. Row by row, keeping
 * the k nearest so far: memory stays O(rows), not O(rows²) (50,000 samples would need 20 GB).
 */
function kthNeighbour(features: ArrayLike<number>, dim: number, k: number): Float64Array {
  const n = features.length / dim;
  if (!Number.isInteger(n) || n <= k) {
    throw new RangeError(`need more than k = ${k} feature rows of length ${dim}, got ${n}`);
  }
  const nearest = new Float64Array(k);
  return Float64Array.from({ length: n }, (_, i) => {
    nearest.fill(Infinity);
    for (let j = 0; j < n; j++) {
      const d = j === i ? Infinity : distance(features, i, features, j, dim);
      if (d >= nearest[k - 1]) continue;
      let at = k - 1;
      for (; at > 0 && nearest[at - 1] > d; at--) nearest[at] = nearest[at - 1];
      nearest[at] = d;
    }
    return nearest[k - 1];
  });
}

/** A set of feature rows as a manifold: each row's ball has its k-th nearest neighbour's radius. */
export interface Manifold {
  /** Flat [rows, dim]. */
  support: ArrayLike<number>;
  dim: number;
  /** Per row, the squared radius of its ball. */
  radii: Float64Array;
}

/**
 * The manifold of feature rows (k = 3 by default): computed once, probed many times.
 *
 * @example
 * ```ts
 * import { manifold } from "./manifold.ts";
 * Array.from(manifold(Float64Array.of(0, 10, 20, 30, 40), 1, 1).radii); // [100, 100, 100, 100, 100]
 * ```
 */
export function manifold(support: ArrayLike<number>, dim: number, k = 3): Manifold {
  return { support, dim, radii: kthNeighbour(support, dim, k) };
}

/**
 * How many `probe` rows lie inside the manifold (in some ball): a count, so the counts of
 * disjoint probe sets add up.
 *
 * @example
 * ```ts
 * import { countInside, manifold } from "./manifold.ts";
 * countInside(manifold(Float64Array.of(0, 10, 20, 30, 40), 1, 1), Float64Array.of(0, 1, 100)); // 2
 * ```
 */
export function countInside(of: Manifold, probe: ArrayLike<number>): number {
  const { support, dim, radii } = of;
  let inside = 0;
  for (let i = 0; i < probe.length / dim; i++) {
    for (let j = 0; j < radii.length; j++) {
      if (distance(probe, i, support, j, dim) <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside;
}

/**
 * What the Inception-score analogue of a set of images is made from: Σ_x p(y|x) per class and
 * Σ_x Σ_y p log p. Both are sums over images, so the sums of disjoint sets add up.
 */
export interface InceptionSums {
  images: number;
  /** Σ_x p(y|x), one entry a class. */
  marginal: Float64Array;
  /** Σ_x Σ_y p(y|x) log p(y|x) (minus the images' summed entropy). */
  plogp: number;
}

/**
 * The sums of class probabilities, flat [images, classes], that {@link inceptionScoreOf} needs.
 *
 * @example
 * ```ts
 * import { inceptionSums } from "./manifold.ts";
 * const sums = inceptionSums(Float64Array.of(1, 0, 0.5, 0.5), 2);
 * Array.from(sums.marginal); // [1.5, 0.5]; sums.plogp is 2 · 0.5 · ln 0.5
 * ```
 */
export function inceptionSums(probabilities: ArrayLike<number>, classes: number): InceptionSums {
  const images = probabilities.length / classes;
  const marginal = new Float64Array(classes);
  let plogp = 0;
  for (let i = 0; i < images; i++) {
    for (let c = 0; c < classes; c++) {
      const p = probabilities[i * classes + c];
      marginal[c] += p;
      if (p > 0) plogp += p * Math.log(p);
    }
  }
  return { images, marginal, plogp };
}

/**
 * exp(E_x KL(p(y|x) ‖ p(y))) from {@link inceptionSums}: the mean KL is
 * (Σ p log p − Σ_y S_y log(S_y / N)) / N, with S_y = Σ_x p(y|x) and N images.
 *
 * @example
 * ```ts
 * import { inceptionScoreOf, inceptionSums } from "./manifold.ts";
 * inceptionScoreOf(inceptionSums(Float64Array.of(1, 0, 0, 1), 2)); // 2
 * ```
 */
export function inceptionScoreOf(sums: InceptionSums): number {
  const { images, marginal, plogp } = sums;
  let cross = 0;
  for (const total of marginal) if (total > 0) cross += total * Math.log(total / images);
  return Math.exp((plogp - cross) / images);
}

/**
 * Softmax of logit rows, flat [rows, classes] → probabilities in float64.
 *
 * @example
 * ```ts
 * import { softmaxRows } from "./manifold.ts";
 * Array.from(softmaxRows(Float32Array.of(0, 0, 5, 5), 2)); // [0.5, 0.5, 0.5, 0.5]
 * ```
 */
export function softmaxRows(logits: ArrayLike<number>, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    let max = -Infinity, sum = 0;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]);
    for (let c = 0; c < classes; c++) {
      sum += out[r * classes + c] = Math.exp(logits[r * classes + c] - max);
    }
    for (let c = 0; c < classes; c++) out[r * classes + c] /= sum;
  }
  return out;
}
