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
  const rows = features.length / dim;
  if (!Number.isInteger(rows) || rows < 2) {
    throw new RangeError(
      `need at least 2 feature rows of length ${dim}, got ${features.length} values`,
    );
  }
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let i = 0; i < dim; i++) mean[i] += features[r * dim + i];
  mean.forEach((v, i) => mean[i] = v / rows);
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dim; i++) centred[i] = features[r * dim + i] - mean[i];
    for (let i = 0; i < dim; i++) {
      const ci = centred[i];
      for (let j = i; j < dim; j++) covariance[i * dim + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      covariance[i * dim + j] /= rows - 1;
      covariance[j * dim + i] = covariance[i * dim + j];
    }
  }
  return { dim, mean, covariance };
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
  // A distance: rounding can take two equal sets a hair below zero.
  return Math.max(0, distance - 2 * traceRoot);
}
