import { frechetDistance, moments, symmetricEigen } from "../src/eval/frechet.ts";
import { Rng } from "../src/rng.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

/** Rows of independent Gaussians with the given means and standard deviations. */
function gaussianRows(rng: Rng, rows: number, mean: number[], std: number[]): Float64Array {
  const dim = mean.length;
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dim; i++) {
      // Box–Muller from two uniforms.
      const z = Math.sqrt(-2 * Math.log(rng.uniformOpen())) * Math.cos(2 * Math.PI * rng.uniform());
      out[r * dim + i] = mean[i] + std[i] * z;
    }
  }
  return out;
}

Deno.test("Jacobi eigen-decomposition reconstructs a symmetric matrix", () => {
  const n = 6;
  const rng = new Rng(1);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.uniform() - 0.5;
  }
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += vectors[i * n + k] * values[k] * vectors[j * n + k];
      assert(Math.abs(sum - a[i * n + j]) < 1e-9);
    }
  }
});

Deno.test("Fréchet distance: 0 for the same set, closed form for diagonal Gaussians", () => {
  const rng = new Rng(2);
  const x = moments(gaussianRows(rng, 4000, [0, 1, 2], [1, 2, 0.5]), 3);
  assert(Math.abs(frechetDistance(x, x)) < 1e-9);
  // Independent dimensions: ‖μ₁ − μ₂‖² + Σ (σ₁ − σ₂)², using the sample moments.
  const y = moments(gaussianRows(rng, 4000, [1, 1, 0], [2, 2, 1]), 3);
  let expected = 0;
  for (let i = 0; i < 3; i++) {
    expected += (x.mean[i] - y.mean[i]) ** 2 +
      (Math.sqrt(x.covariance[i * 4]) - Math.sqrt(y.covariance[i * 4])) ** 2;
  }
  // Sample covariances are not exactly diagonal: allow for their small off-diagonal terms.
  assert(
    Math.abs(frechetDistance(x, y) - expected) < 0.05,
    `${frechetDistance(x, y)} vs ${expected}`,
  );
  assert(Math.abs(frechetDistance(x, y) - frechetDistance(y, x)) < 1e-6);
});

Deno.test("moments: mean and unbiased covariance; too few rows is an error", () => {
  const m = moments(Float32Array.of(1, 2, 3, 6), 2);
  assertEquals(Array.from(m.mean), [2, 4]);
  assertEquals(Array.from(m.covariance), [2, 4, 4, 8]);
  assertThrows(() => moments(Float32Array.of(1, 2), 2), /at least 2 feature rows/);
});
