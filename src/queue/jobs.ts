/**
 * The queue's jobs: how a command's work splits into shards of consecutive seeds, their
 * stable ids, and what a worker does with each — the same `generate()` / evaluation code as a
 * local run, so the images are byte-identical and the figures the same.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Condition } from "../condition.ts";
import { type Evaluator, tallySamples } from "../eval/evaluator.ts";
import { encodeTally, type TallyJson } from "../eval/tally.ts";
import { writeAtomically } from "../files.ts";
import { generate } from "../generate.ts";
import type { Model } from "../model.ts";
import type { SamplerSettings } from "../settings.ts";

/** A generation shard: images [first, first + paths.length) of a command, written by the worker. */
export type GenerateJob = Condition & {
  model: string;
  /** Every knob resolved, `seed` being this shard's first image's seed. */
  settings: SamplerSettings;
  /** Where each image goes: absolute paths on the file system every machine shares. */
  paths: string[];
};

/** An evaluation shard: samples [start, start + count) scored by the worker. */
export interface EvalJob {
  model: string;
  /** Every knob resolved, `seed` being sample 0's seed (sample i uses seed + i). */
  settings: SamplerSettings;
  start: number;
  count: number;
  /** Images per transformer batch. */
  batch: number;
}

/** What a worker returns for a generation shard (the images are on disk). */
export interface GenerateResult {
  images: number;
  seconds: number;
}

/** One job to run on the queue, with the id that makes a re-run find it again. */
export interface Shard<Data> {
  /** Stable: derived from the job's data, so the same command gives the same ids. */
  id: string;
  name: "generate" | "eval";
  data: Data;
  /** Images it makes, for the progress bar. */
  images: number;
  /** How messages name it: `glyphs seeds 64-127`. */
  label: string;
}

/** Job ids may not contain ':' (BullMQ's key separator); model names cannot hold one. */
function shard<Data>(
  name: Shard<Data>["name"],
  model: string,
  first: number,
  images: number,
  data: Data,
): Shard<Data> {
  const hash = createHash("sha256").update(JSON.stringify([name, data])).digest("hex");
  const seeds = `${first}-${first + images - 1}`;
  return {
    id: `${name}-${model}-${seeds}-${hash.slice(0, 16)}`,
    name,
    data,
    images,
    label: `${model} seeds ${seeds}`,
  };
}

/** Shard k of `total` items in shards of `size`: [start, end). */
function ranges(total: number, size: number): [number, number][] {
  return Array.from(
    { length: Math.ceil(total / size) },
    (_, k) => [k * size, Math.min(total, (k + 1) * size)],
  );
}

/**
 * Splits a generation (one condition and path per image; image i uses seed + i) into shards
 * of `size` consecutive images.
 *
 * @example
 * ```ts
 * import { resolveSettings } from "../settings.ts";
 * import { planGenerate } from "./jobs.ts";
 * const paths = ["/out/A.png", "/out/B.png", "/out/C.png"];
 * const settings = resolveSettings({ seed: 0 });
 * const shards = planGenerate("glyphs", { classes: ["A", "B", "C"] }, settings, paths, 2);
 * shards.map((s) => s.label); // ["glyphs seeds 0-1", "glyphs seeds 2-2"]
 * ```
 */
export function planGenerate(
  model: string,
  condition: Condition,
  settings: SamplerSettings,
  paths: string[],
  size: number,
): Shard<GenerateJob>[] {
  return ranges(paths.length, size).map(([start, end]) => {
    const slice = "classes" in condition ? { classes: condition.classes.slice(start, end) } : {
      prompts: condition.prompts.slice(start, end),
      ...(condition.negativePrompt === undefined
        ? {}
        : { negativePrompt: condition.negativePrompt }),
    };
    const data = {
      model,
      ...slice,
      settings: { ...settings, seed: settings.seed + start },
      paths: paths.slice(start, end),
    };
    return shard("generate", model, settings.seed + start, end - start, data);
  });
}

/**
 * Splits an evaluation of `samples` images into shards of `size` consecutive samples. The
 * ids do not depend on `samples`, so a larger run re-uses a smaller one's finished shards.
 *
 * @example
 * ```ts
 * import { resolveSettings } from "../settings.ts";
 * import { planEval } from "./jobs.ts";
 * planEval("glyphs", resolveSettings({ seed: 0 }), 620, 62, 62).length; // 10
 * ```
 */
export function planEval(
  model: string,
  settings: SamplerSettings,
  samples: number,
  batch: number,
  size: number,
): Shard<EvalJob>[] {
  return ranges(samples, size).map(([start, end]) =>
    shard("eval", model, settings.seed + start, end - start, {
      model,
      settings,
      start,
      count: end - start,
      batch,
    })
  );
}

/**
 * A worker's part of a generation shard: the local run's `generate()`, then an atomic write
 * of its images (a retried shard rewrites the same bytes under the same names).
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadModel, modelSettings } from "../model.ts";
 * import { planGenerate, runGenerateJob } from "./jobs.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const dir = await Deno.makeTempDir();
 * const settings = modelSettings(model.manifest, { seed: 0 });
 * const [job] = planGenerate("tiny-random", { classes: [1] }, settings, [`${dir}/1.png`], 64);
 * // A worker reports progress with job.updateProgress(images):
 * (await runGenerateJob(model, job.data, () => {})).images; // 1, written to dir/1.png
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runGenerateJob(
  model: Model,
  data: GenerateJob,
  onProgress: (images: number) => void,
): Promise<GenerateResult> {
  const started = performance.now();
  const { model: _, paths, settings, ...condition } = data;
  const result = await generate({
    model,
    ...condition,
    settings,
    onStep: ({ step, steps }) => onProgress(paths.length * (step + 1) / steps),
  });
  await writeAtomically(result.images.map((bytes, i) => ({ path: paths[i], bytes })));
  return { images: paths.length, seconds: (performance.now() - started) / 1000 };
}

/**
 * A worker's part of an evaluation shard: its samples' tally, as compact JSON.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadEvaluator } from "../eval/evaluator.ts";
 * import { loadModel, modelSettings } from "../model.ts";
 * import { planEval, runEvalJob } from "./jobs.ts";
 * const model = await loadModel("models/glyphs", { backend: nodeBackend });
 * const evaluator = await loadEvaluator(model, { backend: nodeBackend });
 * const [job] = planEval("glyphs", modelSettings(model.manifest, { steps: 2 }), 4, 4, 4);
 * const tally = await runEvalJob(model, evaluator, job.data, () => {});
 * tally.counts.samples; // 4
 * ```
 */
export async function runEvalJob(
  model: Model,
  evaluator: Evaluator,
  data: EvalJob,
  onProgress: (images: number) => void,
): Promise<TallyJson> {
  const { settings, start, count, batch } = data;
  // Reported after each step too (not just each batch): the worker renews its lock then.
  let done = 0;
  const onBatch = (images: number) => onProgress(done = images);
  const options = { model, evaluator, settings, samples: count, batch, onBatch };
  return encodeTally(
    await tallySamples({ ...options, onStep: () => onProgress(done) }, start, count),
  );
}
