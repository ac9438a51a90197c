/**
 * `deno task eval`: how good are a scheduler's images? A glyph classifier trained on real
 * glyphs (shipped in `<model>/eval/`) reads generated images: the share read as the class
 * asked for, and the Fréchet distance between its penultimate features of generated and
 * of real held-out glyphs — next to the same distance for real training-font glyphs (the
 * floor a perfect generator of the training fonts would reach).
 *
 * @module
 */

import { checkSignature } from "../backend/onnx.ts";
import { render } from "../generate.ts";
import { decodePng, type Picture } from "../image.ts";
import { classNames, type LoadOptions, type Model, modelSettings, openSession } from "../model.ts";
import { ModelError } from "../model_error.ts";
import type { StepEvent } from "../sampler.ts";
import type { SettingsInput } from "../settings.ts";
import { frechetDistance, type Moments, moments, momentsOf, momentSums } from "./frechet.ts";
import type { Tally } from "./tally.ts";

const SIDE = 64;

/** Classified images: predicted class and penultimate features per image. */
export interface Reading {
  predictions: Int32Array;
  /** Flat [B, dim]. */
  features: Float32Array;
  dim: number;
}

/** The classifier and the real glyph sets of a model's `eval/` folder. */
export interface Evaluator {
  classify(pictures: Picture[]): Promise<Reading>;
  /** Features of the real held-out glyphs (fonts never seen in training). */
  heldOut: Moments;
  /** Classifier accuracy on the real held-out glyphs. */
  heldOutAccuracy: number;
  /** Fréchet distance of real training-font glyphs to the held-out ones: the floor. */
  floor: number;
}

/** One grid of glyphs, a row per font, a column per class → pictures and labels. */
async function readSheet(
  path: string,
  classes: number,
): Promise<{ pictures: Picture[]; labels: number[] }> {
  let decoded;
  try {
    decoded = decodePng(await Deno.readFile(path));
  } catch (error) {
    throw new ModelError(path, `cannot be read as a PNG (${(error as Error).message})`);
  }
  const { width, height, pixels } = decoded;
  if (width !== classes * SIDE || height % SIDE !== 0) {
    throw new ModelError(
      path,
      `must be ${classes} glyphs of ${SIDE}×${SIDE} per row, is ${width}×${height}`,
    );
  }
  const pictures: Picture[] = [];
  const labels: number[] = [];
  for (let top = 0; top < height; top += SIDE) {
    for (let label = 0; label < classes; label++) {
      const glyph = new Uint8Array(SIDE * SIDE);
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          glyph[y * SIDE + x] = pixels[4 * ((top + y) * width + label * SIDE + x)];
        }
      }
      pictures.push({ width: SIDE, height: SIDE, channels: 1, pixels: glyph });
      labels.push(label);
    }
  }
  return { pictures, labels };
}

/** How many images are read as their label. */
function hits(predictions: Int32Array, labels: readonly number[]): number {
  return labels.reduce((sum, label, i) => sum + (predictions[i] === label ? 1 : 0), 0);
}

/**
 * Loads `<model>/eval/` (classifier.onnx, held-out.png, train-sample.png) and computes the
 * real-glyph references once.
 *
 * @example
 * ```ts ignore
 * const evaluator = await loadEvaluator(model, { backend: nodeBackend, threads: 2 });
 * ```
 */
export async function loadEvaluator(
  model: Model,
  options: LoadOptions,
): Promise<Evaluator> {
  const dir = `${model.dir}/eval`;
  const classes = classNames(model.manifest).length;
  const path = `${dir}/classifier.onnx`;
  const session = await openSession(path, options);
  checkSignature(
    session,
    path,
    [{ name: "image", type: "float32", shape: [null, 1, SIDE, SIDE] }],
    [
      { name: "logits", type: "float32", shape: [null, classes] },
      { name: "features", type: "float32", shape: [null, null] },
    ],
  );
  const { Tensor } = options.backend.runtime;
  const classify = async (pictures: Picture[]): Promise<Reading> => {
    const predictions = new Int32Array(pictures.length);
    const chunks: Float32Array[] = [];
    let dim = 0;
    for (let start = 0; start < pictures.length; start += 256) {
      const batch = pictures.slice(start, start + 256);
      const input = new Float32Array(batch.length * SIDE * SIDE);
      batch.forEach((p, b) =>
        p.pixels.forEach((v, i) => input[b * SIDE * SIDE + i] = v / 127.5 - 1)
      );
      const { logits, features } = await session.run({
        image: new Tensor("float32", input, [batch.length, 1, SIDE, SIDE]),
      });
      const scores = logits.data as Float32Array;
      for (let b = 0; b < batch.length; b++) {
        let best = 0;
        for (let c = 1; c < classes; c++) {
          if (scores[b * classes + c] > scores[b * classes + best]) best = c;
        }
        predictions[start + b] = best;
      }
      dim = features.dims[1];
      chunks.push(features.data as Float32Array);
    }
    const features = new Float32Array(pictures.length * dim);
    chunks.reduce((offset, chunk) => (features.set(chunk, offset), offset + chunk.length), 0);
    return { predictions, features, dim };
  };
  const heldOutSheet = await readSheet(`${dir}/held-out.png`, classes);
  const trainSheet = await readSheet(`${dir}/train-sample.png`, classes);
  const heldOutReading = await classify(heldOutSheet.pictures);
  const trainReading = await classify(trainSheet.pictures);
  const heldOut = moments(heldOutReading.features, heldOutReading.dim);
  return {
    classify,
    heldOut,
    heldOutAccuracy: hits(heldOutReading.predictions, heldOutSheet.labels) /
      heldOutSheet.labels.length,
    floor: frechetDistance(moments(trainReading.features, trainReading.dim), heldOut),
  };
}

/** One evaluation run. */
export interface EvalOptions {
  model: Model;
  evaluator: Evaluator;
  /** Scheduler, steps, guidance…; `seed` is the seed of sample 0 (sample i uses seed + i). */
  settings: SettingsInput;
  /** Number of images; sample i asks for class i mod (number of classes). */
  samples: number;
  /** Images per transformer batch. */
  batch?: number;
  onBatch?: (done: number, total: number) => void;
  onStep?: (event: StepEvent) => void;
}

/** What `deno task eval --json` prints. */
export interface EvalReport {
  scheduler: string;
  steps: number;
  samples: number;
  seed: number;
  cfg: number;
  /** Share of generated images the classifier reads as the class asked for. */
  accuracy: number;
  /** Fréchet distance, generated vs real held-out glyphs. */
  frechet: number;
  /** Fréchet distance, real training-font glyphs vs real held-out glyphs. */
  frechetRealFloor: number;
  /** Classifier accuracy on the real held-out glyphs. */
  classifierHeldOutAccuracy: number;
  seconds: number;
}

/**
 * Generates and scores samples [start, start + count) of an evaluation (sample i asks for
 * class i mod the number of classes, with seed + i): the counts and feature sums its figures
 * are made from. Shards of one run, scored apart (`--queue`), merge into the whole run's tally.
 *
 * @example
 * ```ts ignore
 * const tally = await tallySamples({ model, evaluator, settings: { seed: 0 }, samples: 620 }, 0, 62);
 * tally.counts.hits; // images read as the class asked for
 * ```
 */
export async function tallySamples(
  options: EvalOptions,
  start: number,
  count: number,
): Promise<Tally> {
  const { model, evaluator, batch = 62, onBatch, onStep } = options;
  const classes = classNames(model.manifest).length;
  const seed = options.settings.seed ?? 0;
  const pictures: Picture[] = [];
  const labels: number[] = [];
  for (let first = start; first < start + count; first += batch) {
    const wanted = Array.from(
      { length: Math.min(batch, start + count - first) },
      (_, b) => (first + b) % classes,
    );
    const rendering = await render({
      model,
      classes: wanted,
      settings: { ...options.settings, seed: seed + first },
      onStep,
    });
    pictures.push(...rendering.pictures);
    labels.push(...wanted);
    onBatch?.(pictures.length, count);
  }
  const reading = await evaluator.classify(pictures);
  return {
    counts: { samples: count, hits: hits(reading.predictions, labels) },
    moments: { features: momentSums(reading.features, reading.dim) },
  };
}

/**
 * The report of an evaluation from the tally of all its samples.
 *
 * @example
 * ```ts ignore
 * const report = evalReport(options, await tallySamples(options, 0, options.samples), 12.5);
 * ```
 */
export function evalReport(options: EvalOptions, tally: Tally, seconds: number): EvalReport {
  const { model, evaluator, samples } = options;
  const used = modelSettings(model.manifest, options.settings);
  return {
    scheduler: used.scheduler,
    steps: used.steps,
    samples,
    seed: options.settings.seed ?? 0,
    cfg: used.cfg,
    accuracy: tally.counts.hits / tally.counts.samples,
    frechet: frechetDistance(momentsOf(tally.moments.features), evaluator.heldOut),
    frechetRealFloor: evaluator.floor,
    classifierHeldOutAccuracy: evaluator.heldOutAccuracy,
    seconds,
  };
}

/**
 * Generates `samples` images (10 per class for 620 samples on the 62 glyph classes) and
 * scores them.
 *
 * @example
 * ```ts ignore
 * const report = await evaluate({ model, evaluator, settings: { scheduler: "halton", steps: 32 }, samples: 620 });
 * ```
 */
export async function evaluate(options: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const tally = await tallySamples(options, 0, options.samples);
  return evalReport(options, tally, (performance.now() - started) / 1000);
}
