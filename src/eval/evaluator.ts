/**
 * `deno task eval`: how good are a scheduler's images? A classifier trained on real images
 * of the training data (shipped in `<model>/eval/`) reads generated images: the share read
 * as the class asked for (top-1 and top-5), and the Fréchet distance between its
 * penultimate features of generated and of real held-out images — next to the same
 * distance for real training-data images (the floor a perfect generator of the training
 * data would reach). One code path for both tasks: a class model's samples ask for a class,
 * a text model's for the prompt of a class (the glyph model: characters, read on fonts never
 * trained on; the emoji model: emoji by their names, read on an emoji set never trained on).
 *
 * `eval/eval.json` names the classifier and two sheets of 64×64 cells, row-major:
 * `held_out_sheet` and `train_sample_sheet`, and may give `samples`, the default evaluation size. Cell i shows class `held_out_labels[i]`
 * (`train_sample_labels[i]`); without labels, cell i shows class i mod (number of classes),
 * a row per font. A text model's eval.json lists `classes`, the prompt of each class.
 *
 * @module
 */

import { checkSignature } from "../backend/onnx.ts";
import type { Condition } from "../condition.ts";
import { render } from "../generate.ts";
import { decodePng, type Picture } from "../image.ts";
import { classNames, type LoadOptions, type Model, modelSettings, openSession } from "../model.ts";
import { ModelError } from "../model_error.ts";
import type { StepEvent } from "../sampler.ts";
import type { SamplerSettings, SettingsInput } from "../settings.ts";
import { frechetDistance, moments } from "./frechet.ts";
import { countInside, inceptionScoreOf, inceptionSums, manifold, softmaxRows } from "./manifold.ts";
import type { Tally } from "./tally.ts";

const SIDE = 64;
/** The k of the top-k accuracy reported beside top-1. */
export const TOP_K = 5;

/** Classified images: the classes ranked highest, probabilities and penultimate features. */
export interface Reading {
  /** Flat [B, TOP_K]: per image, the TOP_K most likely classes, most likely first. */
  ranked: Int32Array;
  /** Flat [B, classes]: the classifier's softmax. */
  probabilities: Float64Array;
  /** Flat [B, dim]. */
  features: Float32Array;
  dim: number;
}

/** The figures of one set of images against the real held-out images. */
export interface Figures {
  /** Share read as the class asked for (top-1), and with it among the five most likely. */
  accuracy: number;
  top5: number;
  /** Fréchet distance of the classifier's features to the held-out images' (lower is better). */
  frechet: number;
  /** Kynkäänniemi et al.'s precision and recall (k = 3) against the held-out images. */
  precision: number;
  recall: number;
  /** exp(E KL(p(y|x) ‖ p(y))) on the classifier's probabilities (higher is better). */
  inceptionScore: number;
}

/** The classifier and the real image sets of a model's `eval/` folder. */
export interface Evaluator {
  classify(pictures: Picture[]): Promise<Reading>;
  /** The classes samples ask for, in order (sample i: `targets[i mod length]`). */
  targets: number[];
  /** The model's evaluation size: eval.json's `samples`, else 620 (10 a glyph class). */
  samples: number;
  /** What asking for class c means: `{ classes: [c] }` or `{ prompts: [its prompt] }`. */
  condition(classes: number[]): Condition;
  /**
   * What classified images asked for `labels` add to an evaluation: hit counts, the count
   * inside the real held-out images' manifold, the Inception-score sums and the features.
   */
  tally(reading: Reading, labels: readonly number[]): Tally;
  /** The figures of all the images a tally holds, against the real held-out images. */
  figures(tally: Tally): Figures;
  /** Real held-out images scored as generated ones (their accuracy is the ceiling). */
  heldOut: Figures;
  /** Real training-data images scored against the held-out ones: Fréchet is the floor. */
  trainSample: Figures;
}

interface EvalManifest {
  classifier: string;
  held_out_sheet: string;
  train_sample_sheet: string;
  held_out_labels?: number[];
  train_sample_labels?: number[];
  classes?: string[];
  samples?: number;
}

/** One sheet of 64×64 cells → pictures and their classes. */
async function readSheet(
  path: string,
  channels: 1 | 3,
  classes: number,
  labels: number[] | undefined,
): Promise<{ pictures: Picture[]; labels: number[] }> {
  let decoded;
  try {
    decoded = decodePng(await Deno.readFile(path));
  } catch (error) {
    throw new ModelError(path, `cannot be read as a PNG (${(error as Error).message})`);
  }
  const { width, height, pixels } = decoded;
  const cells = (width / SIDE) * (height / SIDE);
  if (width % SIDE !== 0 || height % SIDE !== 0 || cells === 0) {
    throw new ModelError(path, `must be a grid of ${SIDE}×${SIDE} cells, is ${width}×${height}`);
  }
  const cellLabels = labels ?? Array.from({ length: cells }, (_, i) => i % classes);
  if (labels ? labels.length > cells : cells % classes !== 0) {
    throw new ModelError(path, `has ${cells} cells for ${cellLabels.length} labelled images`);
  }
  const columns = width / SIDE;
  const pictures = cellLabels.map((_, i) => {
    const [top, left] = [Math.floor(i / columns) * SIDE, (i % columns) * SIDE];
    const cell = new Uint8Array(SIDE * SIDE * channels);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        for (let c = 0; c < channels; c++) {
          cell[(y * SIDE + x) * channels + c] = pixels[4 * ((top + y) * width + left + x) + c];
        }
      }
    }
    return { width: SIDE, height: SIDE, channels, pixels: cell };
  });
  return { pictures, labels: cellLabels };
}

/** How many images have their class among their `k` most likely (k ≤ TOP_K). */
function hits(reading: Reading, labels: readonly number[], k: number): number {
  let count = 0;
  labels.forEach((label, i) => {
    if (reading.ranked.subarray(i * TOP_K, i * TOP_K + k).includes(label)) count++;
  });
  return count;
}

/** The `k` largest scores' indices, largest first. */
function rank(scores: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let c = 0; c < scores.length; c++) {
    let at = best.length;
    while (at > 0 && scores[c] > scores[best[at - 1]]) at--;
    if (at < k) {
      best.splice(at, 0, c);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

async function readEvalManifest(path: string): Promise<EvalManifest> {
  let json;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new ModelError(path, `cannot be read (${(error as Error).message})`);
  }
  for (const key of ["classifier", "held_out_sheet", "train_sample_sheet"]) {
    if (typeof json[key] !== "string") throw new ModelError(path, `needs "${key}" (a file name)`);
  }
  return json;
}

/**
 * Loads `<model>/eval/` (eval.json, the classifier and the two sheets) and computes the
 * real-image references once.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadModel } from "../model.ts";
 * import { loadEvaluator } from "./evaluator.ts";
 * const model = await loadModel("models/glyphs", { backend: nodeBackend });
 * const evaluator = await loadEvaluator(model, { backend: nodeBackend, threads: 2 });
 * evaluator.heldOut.accuracy; // 0.99…: the classifier on the real held-out glyphs
 * ```
 */
export async function loadEvaluator(
  model: Model,
  options: LoadOptions,
): Promise<Evaluator> {
  const dir = `${model.dir}/eval`;
  const manifest = await readEvalManifest(`${dir}/eval.json`);
  const text = model.manifest.task === "text-to-image";
  const prompts = manifest.classes;
  if (text && !(Array.isArray(prompts) && prompts.every((p) => typeof p === "string"))) {
    throw new ModelError(`${dir}/eval.json`, `needs "classes": the prompt of each class`);
  }
  const classes = text ? prompts!.length : classNames(model.manifest).length;
  const channels = model.manifest.image.channels;
  const path = `${dir}/${manifest.classifier}`;
  const session = await openSession(path, options);
  checkSignature(
    session,
    path,
    [{ name: "image", type: "float32", shape: [null, channels, SIDE, SIDE] }],
    [
      { name: "logits", type: "float32", shape: [null, classes] },
      { name: "features", type: "float32", shape: [null, null] },
    ],
  );
  const { Tensor } = options.backend.runtime;
  const plane = SIDE * SIDE;
  const classify = async (pictures: Picture[]): Promise<Reading> => {
    const ranked = new Int32Array(pictures.length * TOP_K);
    const probabilities = new Float64Array(pictures.length * classes);
    const chunks: Float32Array[] = [];
    let dim = 0;
    for (let start = 0; start < pictures.length; start += 256) {
      const batch = pictures.slice(start, start + 256);
      // Interleaved pixels → planar [B, C, 64, 64] in [−1, 1].
      const input = new Float32Array(batch.length * channels * plane);
      batch.forEach((p, b) =>
        p.pixels.forEach((v, i) =>
          input[(b * channels + (i % channels)) * plane + Math.floor(i / channels)] = v / 127.5 - 1
        )
      );
      const { logits, features } = await session.run({
        image: new Tensor("float32", input, [batch.length, channels, SIDE, SIDE]),
      });
      const scores = logits.data as Float32Array;
      probabilities.set(softmaxRows(scores, classes), start * classes);
      for (let b = 0; b < batch.length; b++) {
        ranked.set(
          rank(scores.subarray(b * classes, (b + 1) * classes), TOP_K),
          (start + b) * TOP_K,
        );
      }
      dim = features.dims[1];
      chunks.push(features.data as Float32Array);
    }
    const features = new Float32Array(pictures.length * dim);
    chunks.reduce((offset, chunk) => (features.set(chunk, offset), offset + chunk.length), 0);
    return { ranked, probabilities, features, dim };
  };
  const heldOutSheet = await readSheet(
    `${dir}/${manifest.held_out_sheet}`,
    channels,
    classes,
    manifest.held_out_labels,
  );
  const trainSheet = await readSheet(
    `${dir}/${manifest.train_sample_sheet}`,
    channels,
    classes,
    manifest.train_sample_labels,
  );
  const heldOutReading = await classify(heldOutSheet.pictures);
  const trainReading = await classify(trainSheet.pictures);
  const heldOutMoments = moments(heldOutReading.features, heldOutReading.dim);
  const real = manifold(heldOutReading.features, heldOutReading.dim);
  const tally = (reading: Reading, labels: readonly number[]): Tally => {
    const { marginal, plogp } = inceptionSums(reading.probabilities, classes);
    return {
      counts: {
        samples: labels.length,
        top1: hits(reading, labels, 1),
        top5: hits(reading, labels, TOP_K),
        inReal: countInside(real, reading.features),
        plogp,
      },
      sums: { probabilities: marginal },
      rows: { features: { dim: reading.dim, data: reading.features } },
    };
  };
  // Precision is a count per image; recall needs every generated row (their manifold).
  const figures = ({ counts, sums, rows }: Tally): Figures => {
    const { dim, data } = rows.features;
    return {
      accuracy: counts.top1 / counts.samples,
      top5: counts.top5 / counts.samples,
      frechet: frechetDistance(moments(data, dim), heldOutMoments),
      precision: counts.inReal / counts.samples,
      recall: countInside(manifold(data, dim), heldOutReading.features) /
        heldOutSheet.labels.length,
      inceptionScore: inceptionScoreOf({
        images: counts.samples,
        marginal: sums.probabilities,
        plogp: counts.plogp,
      }),
    };
  };
  return {
    classify,
    // Class models ask for every class in turn; text models for the held-out sheet's emoji.
    targets: manifest.held_out_labels ?? Array.from({ length: classes }, (_, c) => c),
    samples: manifest.samples ?? 620,
    condition: (wanted) => text ? { prompts: wanted.map((c) => prompts![c]) } : { classes: wanted },
    tally,
    figures,
    heldOut: figures(tally(heldOutReading, heldOutSheet.labels)),
    trainSample: figures(tally(trainReading, trainSheet.labels)),
  };
}

/** One evaluation run. */
export interface EvalOptions {
  model: Model;
  evaluator: Evaluator;
  /** Scheduler, steps, guidance…; `seed` is the seed of sample 0 (sample i uses seed + i). */
  settings: SettingsInput;
  /** Number of images; sample i asks for class `evaluator.targets[i mod length]`. */
  samples: number;
  /** Images per transformer batch. */
  batch?: number;
  onBatch?: (done: number, total: number) => void;
  onStep?: (event: StepEvent) => void;
}

/** What `deno task eval --json` prints: the figures of the generated images, and references. */
export interface EvalReport extends Figures {
  scheduler: string;
  steps: number;
  samples: number;
  seed: number;
  cfg: number;
  /** Every setting used, the model's defaults filled in. */
  settings: SamplerSettings;
  /** Real held-out images scored the same way: accuracy is the ceiling, the rest are real values. */
  realHeldOut: Figures;
  /** Real training-data images against the held-out ones: Fréchet is the floor. */
  realTrainSample: Figures;
  seconds: number;
}

/**
 * Generates and classifies samples [start, start + count) of an evaluation (sample i asks
 * for `evaluator.targets[i mod length]`, with seed + i): their tally. Shards of one run,
 * scored apart (`eval --queue`), merge into the tally of the whole run.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadModel } from "../model.ts";
 * import { loadEvaluator, tallySamples } from "./evaluator.ts";
 * const model = await loadModel("models/glyphs", { backend: nodeBackend });
 * const evaluator = await loadEvaluator(model, { backend: nodeBackend });
 * const options = { model, evaluator, settings: { seed: 0, steps: 2 }, samples: 620 };
 * const tally = await tallySamples(options, 0, 4); // samples 0–3 of the 620
 * tally.counts.top1; // 4: images read as the class asked for
 * ```
 */
export async function tallySamples(
  options: EvalOptions,
  start: number,
  count: number,
): Promise<Tally> {
  const { model, evaluator, batch = 62, onBatch, onStep } = options;
  const { targets } = evaluator;
  const seed = options.settings.seed ?? 0;
  const pictures: Picture[] = [];
  const labels: number[] = [];
  for (let first = start; first < start + count; first += batch) {
    const wanted = Array.from(
      { length: Math.min(batch, start + count - first) },
      (_, b) => targets[(first + b) % targets.length],
    );
    const rendering = await render({
      model,
      ...evaluator.condition(wanted),
      settings: { ...options.settings, seed: seed + first },
      onStep,
    });
    pictures.push(...rendering.pictures);
    labels.push(...wanted);
    onBatch?.(pictures.length, count);
  }
  return evaluator.tally(await evaluator.classify(pictures), labels);
}

/**
 * The report of an evaluation from the tally of all its samples, however it was made.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadModel } from "../model.ts";
 * import { evalReport, loadEvaluator, tallySamples } from "./evaluator.ts";
 * const model = await loadModel("models/glyphs", { backend: nodeBackend });
 * const evaluator = await loadEvaluator(model, { backend: nodeBackend });
 * const options = { model, evaluator, settings: { steps: 2 }, samples: 4 };
 * const report = evalReport(options, await tallySamples(options, 0, options.samples), 12.5);
 * [report.scheduler, report.steps, report.seconds]; // ["halton", 2, 12.5]
 * ```
 */
export function evalReport(options: EvalOptions, tally: Tally, seconds: number): EvalReport {
  const { model, evaluator, samples } = options;
  const seed = options.settings.seed ?? 0;
  const settings = modelSettings(model.manifest, { ...options.settings, seed });
  return {
    scheduler: settings.scheduler,
    steps: settings.steps,
    samples,
    seed,
    cfg: settings.cfg,
    settings,
    ...evaluator.figures(tally),
    realHeldOut: evaluator.heldOut,
    realTrainSample: evaluator.trainSample,
    seconds,
  };
}

/**
 * Generates `samples` images (glyphs: 10 per class for 620 samples on the 62 classes) and
 * scores them.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadModel } from "../model.ts";
 * import { evaluate, loadEvaluator } from "./evaluator.ts";
 * const model = await loadModel("models/glyphs", { backend: nodeBackend });
 * const evaluator = await loadEvaluator(model, { backend: nodeBackend });
 * // deno task eval's default run is 620 samples of 32 steps; a quick one:
 * const report = await evaluate({ model, evaluator, settings: { steps: 2 }, samples: 4 });
 * report.accuracy; // 1: all 4 read as the glyph asked for
 * ```
 */
export async function evaluate(options: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const tally = await tallySamples(options, 0, options.samples);
  return evalReport(options, tally, (performance.now() - started) / 1000);
}
