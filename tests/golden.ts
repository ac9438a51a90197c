/**
 * The runs whose tokens are pinned by tests/fixtures/golden-tokens.json (see
 * scripts/record_golden.ts): each scheduler, a fixed seed and batch, on both shipped folders.
 *
 * @module
 */

import { loadBackend } from "../src/backend/mod.ts";
import { render } from "../src/generate.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../src/model.ts";
import { SCHEDULER_NAMES } from "../src/scheduler/mod.ts";

/** FNV-1a over the token values: a short, stable fingerprint of a token grid batch. */
export function fingerprint(tokens: Int32Array): string {
  let hash = 0x811c9dc5;
  for (const token of tokens) {
    for (let shift = 0; shift < 32; shift += 8) {
      hash ^= (token >>> shift) & 0xff;
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  }
  return hash.toString(16).padStart(8, "0");
}

/** `{ "<model> <scheduler>": fingerprint }` for the pinned runs. */
export async function goldenRuns(): Promise<Record<string, string>> {
  const backend = await loadBackend("node");
  const folders = [DEFAULT_MODEL_DIR, new URL("../models/tiny-random", import.meta.url).pathname];
  const runs: Record<string, string> = {};
  for (const folder of folders) {
    const model = await loadModel(folder, { backend });
    for (const scheduler of SCHEDULER_NAMES) {
      const { tokens } = await render({
        model,
        classes: [0, 1, 2, 3],
        settings: { scheduler, seed: 42, steps: 12 },
      });
      runs[`${model.manifest.name} ${scheduler}`] = fingerprint(tokens);
    }
  }
  return runs;
}
