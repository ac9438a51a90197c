/**
 * Asserting that a model folder's ONNX graphs reproduce the PyTorch outputs recorded in its
 * `reference.json` (see src/reference.ts).
 *
 * @module
 */

import type { Model } from "../src/model.ts";
import { compareWithReference } from "../src/reference.ts";
import { assert, assertEquals } from "./assert.ts";

/**
 * Asserts logits and decoded images within `tolerance` (max abs error relative to the
 * output's largest value, and relative sums), and the decoded image's shape.
 */
export async function assertModelMatchesReference(model: Model, tolerance = 1e-4): Promise<void> {
  const { logits, image, shape } = await compareWithReference(model);
  const { grid, codebookSize, image: size } = model.manifest;
  assert(logits.size >= 2 * grid * grid * codebookSize, `logits: ${logits.size} values`);
  assertEquals(shape, [2, size.channels, size.height, size.width]);
  for (const [what, d] of [["logits", logits], ["image", image]] as const) {
    assert(d.maxRel <= tolerance && d.sumRel <= tolerance, `${what}: ${JSON.stringify(d)}`);
  }
}
