/**
 * Activation ranges for static int8 (`scripts/quantize.py` runs this): generates with a model
 * folder whose transformer and decoder also output the activations to be quantized, or their
 * smallest and largest values (outputs whose names end in `/calibrate`), through the real sampler
 * and its default settings, and writes the smallest and largest value each took over every call
 * as JSON `{ NAME: [min, max] }`. Class models draw every class in turn; text models the prompts
 * given (default: a few of everyday words).
 *
 * ```sh
 * deno run --allow-all scripts/calibrate.ts MODEL_DIR OUT.json [IMAGES=32] [PROMPT …]
 * ```
 *
 * @module
 */

import { nodeBackend } from "../src/backend/onnx-node.ts";
import type { OnnxBackend } from "../src/backend/onnx.ts";
import { generate } from "../src/generate.ts";
import { loadModel, type Manifest } from "../src/model.ts";

const PROMPTS = ["red apple", "smiling face", "a dog", "blue heart", "flag", "sun", "a house"];
const SUFFIX = "/calibrate";

/**
 * The conditions of `count` everyday images for a model: its classes in turn, or `prompts` (by
 * default a few everyday ones) in turn.
 *
 * @example
 * ```ts ignore
 * everyday(model.manifest, 3); // { classes: [0, 1, 2] } for a class model
 * ```
 */
export function everyday(
  manifest: Manifest,
  count: number,
  prompts: string[] = PROMPTS,
): { classes: number[] } | { prompts: string[] } {
  return "classes" in manifest
    ? { classes: Array.from({ length: count }, (_, i) => i % manifest.classes.length) }
    : { prompts: Array.from({ length: count }, (_, i) => prompts[i % prompts.length]) };
}

if (import.meta.main) {
  const USAGE = "usage: calibrate.ts MODEL_DIR OUT.json [IMAGES=32] [PROMPT …]";
  if (Deno.args.some((arg) => arg === "--help" || arg === "-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const [dir, out, images = "32", ...given] = Deno.args;
  if (!dir || !out || !(Number(images) >= 1)) {
    console.error(USAGE);
    Deno.exit(2);
  }

  const ranges: Record<string, [number, number]> = {};
  /** The native backend, with every session's `/calibrate` outputs folded into `ranges`. */
  const recording: OnnxBackend = {
    ...nodeBackend,
    async createSession(model, options) {
      const session = await nodeBackend.createSession(model, options);
      const run = session.run.bind(session);
      session.run = async (feeds: Parameters<typeof run>[0]) => {
        const outputs = await run(feeds);
        for (const [name, tensor] of Object.entries(outputs)) {
          if (!name.endsWith(SUFFIX)) continue;
          const range = ranges[name.slice(0, -SUFFIX.length)] ??= [Infinity, -Infinity];
          for (const value of tensor.data as Float32Array) {
            if (value < range[0]) range[0] = value;
            if (value > range[1]) range[1] = value;
          }
        }
        return outputs;
      };
      return session;
    },
  };

  const model = await loadModel(dir, { backend: recording });
  const count = Number(images);
  await generate({
    model,
    ...everyday(model.manifest, count, given.length ? given : PROMPTS),
    batch: 8,
  });
  if (Object.keys(ranges).length === 0) {
    console.error(`error: ${dir}: the model has no '${SUFFIX}' outputs to calibrate on`);
    Deno.exit(1);
  }
  await Deno.writeTextFile(out, JSON.stringify(ranges) + "\n");
  console.log(`${out}: ranges of ${Object.keys(ranges).length} activations over ${count} images`);
  Deno.exit(0);
}
