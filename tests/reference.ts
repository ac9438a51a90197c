/**
 * Comparing ONNX Runtime outputs with the PyTorch values a build script recorded
 * (`reference.json`: every `stride`-th value of the flattened output, and its sum).
 *
 * @module
 */

import { assert } from "./assert.ts";

/** Every `stride`-th value of a flattened tensor, and the sum of all of it. */
export interface Strided {
  stride: number;
  values: number[];
  sum: number;
}

/** Asserts max |actual − expected| ≤ 1e-4 on the recorded values, and the sums agree. */
export function assertMatchesReference(
  actual: Float32Array,
  expected: Strided,
  what: string,
): void {
  const diff = expected.values.reduce(
    (max, value, i) => Math.max(max, Math.abs(actual[i * expected.stride] - value)),
    0,
  );
  assert(diff <= 1e-4, `${what}: max abs diff ${diff}`);
  const sum = actual.reduce((a, b) => a + b, 0);
  assert(Math.abs(sum - expected.sum) <= 1e-4 * Math.max(1, Math.abs(expected.sum)), `${what} sum`);
}
