/**
 * Asserting that a model folder's ONNX graphs reproduce the PyTorch outputs recorded in its
 * `reference.json` (see src/reference.ts).
 *
 * @module
 */

import { conditionOn } from "../src/condition.ts";
import type { Model } from "../src/model.ts";
import { compareWithReference } from "../src/reference.ts";
import { assert, assertEquals } from "./assert.ts";

/**
 * Asserts logits and decoded images within `tolerance` (max abs error relative to the
 * output's largest value, and relative sums), and the decoded image's shape.
 */
export async function assertModelMatchesReference(model: Model, tolerance = 1e-4): Promise<void> {
  const { logits, image, hidden, pooled, shape } = await compareWithReference(model);
  const { manifest } = model;
  const { grid, codebookSize, image: size } = manifest;
  assert(logits.size >= 2 * grid * grid * codebookSize, `logits: ${logits.size} values`);
  assertEquals(shape, [2, size.channels, size.height, size.width]);
  if (manifest.task === "text-to-image") {
    assert(hidden !== undefined, "a text model's reference checks its text encoder");
    assertEquals(pooled !== undefined, manifest.text.pooled !== undefined);
  }
  const outputs = Object.entries({ logits, image, hidden, pooled });
  for (const [what, d] of outputs) {
    if (d === undefined) continue;
    assert(d.maxRel <= tolerance && d.sumRel <= tolerance, `${what}: ${JSON.stringify(d)}`);
  }
}

/**
 * Asserts that a transformer with a `positions` input gives, at any positions asked for, exactly
 * the logits it gives there when computing every position (different positions per row, the
 * unconditional rows included), so selecting cannot change a sampled token.
 */
export async function assertSelectedLogitsMatch(model: Model): Promise<void> {
  const { manifest } = model;
  const { grid, codebookSize } = manifest;
  const cells = grid * grid;
  const rows = 4;
  const condition = manifest.task === "class-to-image"
    ? { classes: [0, 1 % manifest.classes.length] }
    : { prompts: ["a red apple", "a blue flag"] };
  const { predictor } = await conditionOn(model, condition);
  const input = {
    batch: rows,
    tokens: Int32Array.from({ length: rows * cells }, (_, i) => (i * 7) % (codebookSize + 1)),
    image: Int32Array.of(0, 1, 0, 1),
    unconditional: Uint8Array.of(0, 0, 1, 1),
  };
  const full = await predictor.predict(input);
  const vocab = full.length / (rows * cells);
  for (const per of [1, 5, cells]) {
    const positions = Int32Array.from(
      { length: rows * per },
      (_, i) => ((i % per) * 37 + Math.floor(i / per) * 5) % cells,
    );
    const selected = await predictor.predict({ ...input, positions });
    assertEquals(selected.length, rows * per * vocab);
    for (let slot = 0; slot < rows * per; slot++) {
      const row = Math.floor(slot / per);
      const at = (row * cells + positions[slot]) * vocab;
      assertEquals(
        selected.subarray(slot * vocab, (slot + 1) * vocab),
        full.subarray(at, at + vocab),
        `logits at position ${positions[slot]} of row ${row}, ${per} per row`,
      );
    }
  }
}
