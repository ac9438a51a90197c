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

/** Squared Euclidean distances between rows of `a` [n, dim] and rows of `b` [m, dim]: flat [n, m]. */
function distances(a: ArrayLike<number>, b: ArrayLike<number>, dim: number): Float64Array {
  const n = a.length / dim, m = b.length / dim;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let d = 0; d < dim; d++) {
        const diff = a[i * dim + d] - b[j * dim + d];
        sum += diff * diff;
      }
      out[i * m + j] = sum;
    }
  }
  return out;
}

/** Per row of a set, the squared distance to its k-th nearest other row. */
function kthNeighbour(features: ArrayLike<number>, dim: number, k: number): Float64Array {
  const n = features.length / dim;
  if (!Number.isInteger(n) || n <= k) {
    throw new RangeError(`need more than k = ${k} feature rows of length ${dim}, got ${n}`);
  }
  const all = distances(features, features, dim);
  return Float64Array.from({ length: n }, (_, i) => {
    const others = Array.from(all.subarray(i * n, (i + 1) * n)).filter((_, j) => j !== i);
    return others.sort((x, y) => x - y)[k - 1];
  });
}

/** Share of `probe` rows inside the manifold of `support` (some ball contains them). */
function coverage(
  support: ArrayLike<number>,
  probe: ArrayLike<number>,
  dim: number,
  k: number,
): number {
  const radii = kthNeighbour(support, dim, k);
  const between = distances(probe, support, dim);
  const m = radii.length, rows = probe.length / dim;
  let inside = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < m; j++) {
      if (between[i * m + j] <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / rows;
}

/**
 * Precision and recall of `generated` feature rows against `real` ones (flat, `dim` a row).
 *
 * @example
 * ```ts
 * import { precisionRecall } from "./manifold.ts";
 * // Real points 0, 10, …, 40 on a line; generated: two near 0, two far away (k = 1).
 * const real = Float64Array.of(0, 10, 20, 30, 40);
 * const generated = Float64Array.of(0, 1, 100, 101);
 * precisionRecall(real, generated, 1, 1); // { precision: 0.5, recall: 0.2 }
 * ```
 */
export function precisionRecall(
  real: ArrayLike<number>,
  generated: ArrayLike<number>,
  dim: number,
  k = 3,
): { precision: number; recall: number } {
  return {
    precision: coverage(real, generated, dim, k),
    recall: coverage(generated, real, dim, k),
  };
}

/**
 * The Inception-score formula on class probabilities, flat [images, classes].
 *
 * @example
 * ```ts
 * import { inceptionScore } from "./manifold.ts";
 * // Two images, each certain of a different class: exp(ln 2) = 2.
 * inceptionScore(Float64Array.of(1, 0, 0, 1), 2); // 2
 * ```
 */
export function inceptionScore(probabilities: ArrayLike<number>, classes: number): number {
  const images = probabilities.length / classes;
  const marginal = new Float64Array(classes);
  for (let i = 0; i < images; i++) {
    for (let c = 0; c < classes; c++) marginal[c] += probabilities[i * classes + c] / images;
  }
  let kl = 0;
  for (let i = 0; i < images; i++) {
    for (let c = 0; c < classes; c++) {
      const p = probabilities[i * classes + c];
      if (p > 0) kl += p * Math.log(p / marginal[c]);
    }
  }
  return Math.exp(kl / images);
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
