/**
 * The Fréchet distance between two sets of feature vectors (FID's formula, any features):
 * ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½), with Tr((Σ₁Σ₂)^½) computed as the sum of the square
 * roots of the eigenvalues of the symmetric matrix Σ₁^½ Σ₂ Σ₁^½ (same spectrum).
 *
 * @module
 */

/** Mean and covariance (unbiased, n − 1) of `rows` vectors of length `dim`, row-major. */
export interface Moments {
  dim: number;
  mean: Float64Array;
  covariance: Float64Array;
}

/**
 * What the moments of feature rows are made from: the row count, the mean and the scatter
 * Σ (x − μ)(x − μ)ᵀ. Sums of disjoint row sets merge exactly ({@link mergeMomentSums}), so
 * shards of one evaluation can be scored apart and combined.
 */
export interface MomentSums {
  rows: number;
  dim: number;
  mean: Float64Array;
  /** Row-major [dim, dim]. */
  scatter: Float64Array;
}

/**
 * Count, mean and scatter of feature rows (two passes: the mean, then the centred products).
 *
 * @example
 * ```ts
 * import { momentSums } from "./frechet.ts";
 * const sums = momentSums(Float32Array.of(0, 0, 2, 2), 2);
 * Array.from(sums.scatter); // [2, 2, 2, 2]
 * ```
 */
export function momentSums(features: ArrayLike<number>, dim: number): MomentSums {
  const rows = features.length / dim;
  if (!Number.isInteger(rows)) {
    throw new RangeError(`${features.length} values are not rows of length ${dim}`);
  }
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let i = 0; i < dim; i++) mean[i] += features[r * dim + i];
  if (rows > 0) mean.forEach((v, i) => mean[i] = v / rows);
  const scatter = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dim; i++) centred[i] = features[r * dim + i] - mean[i];
    for (let i = 0; i < dim; i++) {
      const ci = centred[i];
      for (let j = i; j < dim; j++) scatter[i * dim + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < i; j++) scatter[i * dim + j] = scatter[j * dim + i];
  }
  return { rows, dim, mean, scatter };
}

/**
 * The sums of two disjoint row sets, as if computed over their union (Chan, Golub and
 * LeVeque's pairwise update: the same numbers up to floating-point summation order).
 *
 * @example
 * ```ts
 * import { mergeMomentSums, momentSums } from "./frechet.ts";
 * const merged = mergeMomentSums(momentSums([0, 0], 2), momentSums([2, 2], 2));
 * Array.from(merged.scatter); // [2, 2, 2, 2], as momentSums([0, 0, 2, 2], 2)
 * ```
 */
export function mergeMomentSums(a: MomentSums, b: MomentSums): MomentSums {
  if (a.dim !== b.dim) throw new RangeError(`feature sizes differ: ${a.dim} and ${b.dim}`);
  const { dim } = a;
  const rows = a.rows + b.rows;
  if (a.rows === 0 || b.rows === 0) return a.rows === 0 ? b : a;
  const delta = b.mean.map((v, i) => v - a.mean[i]);
  const mean = a.mean.map((v, i) => v + delta[i] * b.rows / rows);
  const weight = a.rows * b.rows / rows;
  const scatter = a.scatter.map((v, k) =>
    v + b.scatter[k] + delta[Math.floor(k / dim)] * delta[k % dim] * weight
  );
  return { rows, dim, mean, scatter };
}

/**
 * Mean and unbiased covariance from moment sums.
 *
 * @example
 * ```ts
 * import { momentSums, momentsOf } from "./frechet.ts";
 * Array.from(momentsOf(momentSums([0, 0, 2, 2], 2)).covariance); // [2, 2, 2, 2]
 * ```
 */
export function momentsOf(sums: MomentSums): Moments {
  const { rows, dim, mean, scatter } = sums;
  if (rows < 2) {
    throw new RangeError(
      `need at least 2 feature rows of length ${dim}, got ${rows * dim} values`,
    );
  }
  return { dim, mean, covariance: scatter.map((v) => v / (rows - 1)) };
}

/**
 * Mean and covariance of feature rows.
 *
 * @example
 * ```ts
 * import { moments } from "./frechet.ts";
 * const m = moments(Float32Array.of(0, 0, 2, 2), 2);
 * Array.from(m.mean); // [1, 1]
 * Array.from(m.covariance); // [2, 2, 2, 2]
 * ```
 */
export function moments(features: ArrayLike<number>, dim: number): Moments {
  return momentsOf(momentSums(features, dim));
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
 * Returns eigenvalues and the eigenvectors as the columns of a row-major matrix.
 *
 * @example
 * ```ts
 * import { symmetricEigen } from "./frechet.ts";
 * symmetricEigen(Float64Array.of(2, 1, 1, 2), 2).values; // ≈ [1, 3] (in some order)
 * ```
 */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/**
 * The Fréchet distance between two Gaussians fitted to feature sets.
 *
 * @example
 * ```ts
 * import { frechetDistance, moments } from "./frechet.ts";
 * const a = moments(Float32Array.of(0, 0, 1, 1, 2, 0), 2);
 * frechetDistance(a, a); // ≈ 0
 * ```
 */
export function frechetDistance(x: Moments, y: Moments): number {
  const n = x.dim;
  if (y.dim !== n) throw new RangeError(`feature sizes differ: ${n} and ${y.dim}`);
  const { values, vectors } = symmetricEigen(x.covariance, n);
  // Σx^½ = V diag(√λ) Vᵀ (negative round-off eigenvalues clipped to 0).
  const scaled = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      scaled[i * n + j] = vectors[i * n + j] * Math.sqrt(Math.max(values[j], 0));
    }
  }
  const root = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += scaled[i * n + k] * vectors[j * n + k];
      root[i * n + j] = sum;
    }
  }
  const middle = multiply(multiply(root, y.covariance, n), root, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const mean = (middle[i * n + j] + middle[j * n + i]) / 2;
      middle[i * n + j] = middle[j * n + i] = mean;
    }
  }
  const traceRoot = symmetricEigen(middle, n).values.reduce(
    (s, v) => s + Math.sqrt(Math.max(v, 0)),
    0,
  );
  let distance = 0;
  for (let i = 0; i < n; i++) {
    distance += (x.mean[i] - y.mean[i]) ** 2 + x.covariance[i * n + i] + y.covariance[i * n + i];
  }
  return distance - 2 * traceRoot;
}
