/**
 * Comparing ONNX Runtime outputs with the PyTorch values a build script recorded
 * (`reference.json`: every `stride`-th value of the flattened output, and its sum).
 *
 * @module
 */

import type { Model } from "../src/model.ts";
import { assert, assertEquals } from "./assert.ts";

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

/**
 * Runs a model folder's transformer and decoder on the inputs of its `reference.json`
 * through ONNX Runtime and asserts the outputs match what PyTorch gave at export.
 */
export async function assertModelMatchesReference(model: Model): Promise<void> {
  const reference = JSON.parse(await Deno.readTextFile(`${model.dir}/reference.json`));
  const { grid, codebookSize, image } = model.manifest;
  const t = reference.transformer;
  const logits = await model.predictor.predict({
    batch: 2,
    tokens: Int32Array.from(t.tokens.flat()),
    labels: Int32Array.from(t.labels),
    dropLabel: Uint8Array.from(t.drop_label, Number),
  });
  assertEquals(logits.length, 2 * grid * grid * (codebookSize + 1));
  assertMatchesReference(logits, t.logits, "logits");
  const decoded = await model.decoder.decode(Int32Array.from(reference.decoder.tokens.flat(2)), 2);
  assertEquals([decoded.batch, decoded.channels, decoded.height, decoded.width], [
    2,
    image.channels,
    image.height,
    image.width,
  ]);
  assertMatchesReference(decoded.data, reference.decoder.image, "image");
}
