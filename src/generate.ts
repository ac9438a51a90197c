/**
 * The facade the CLI and the server both call: classes or prompts + settings → PNG images.
 *
 * @module
 */

import { type Condition, conditionOn, type Recipe } from "./condition.ts";
import { encodeGif, encodePng, type Picture, shadeMasked, tile, toPictures } from "./image.ts";
import { type Model, modelSettings } from "./model.ts";
import { sample, type StepEvent } from "./sampler.ts";
import type { SamplerSettings, SettingsInput } from "./settings.ts";

/**
 * What to generate: a model, what each image is conditioned on — `classes` (one name or
 * index per image) for a class model, `prompts` (one per image) and an optional
 * `negativePrompt` for a text model — and the knobs.
 */
export type GenerateOptions = Condition & {
  model: Model;
  /** Overrides of the model's default settings. */
  settings?: SettingsInput;
  onStep?: (event: StepEvent) => void | Promise<void>;
  signal?: AbortSignal;
  /** Record a preview every this many steps (plus the last) as an animated GIF; 0 = none. */
  previewEvery?: number;
  /** Images sampled at once (default: all); later batches continue the seeds. */
  batch?: number;
};

/** The generated images and everything needed to reproduce them. */
export interface Generation {
  /** PNG bytes, one per image; image b used seed settings.seed + b. */
  images: Uint8Array[];
  /** All images tiled into one PNG (only when there are several). */
  grid?: Uint8Array;
  /** Animated GIF of the intermediate steps (only when previews were asked for). */
  gif?: Uint8Array;
  /** What each image was conditioned on (recorded in its PNG too). */
  recipes: Recipe[];
  /** Class models: the class index per image. */
  labels?: number[];
  /** Text models: true for images whose prompt was cut to the model's length. */
  truncated: boolean[];
  /** The settings used, defaults filled in. */
  settings: SamplerSettings;
  /** Final token grids, flat [B, N]. */
  tokens: Int32Array;
}

/**
 * Decodes token grids that may still hold masked positions: masked cells are decoded
 * as token 0 and then painted gray.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { decodePreview } from "./generate.ts";
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const state = new Int32Array(2 * 256).fill(model.manifest.maskId); // 2 grids, all masked
 * (await decodePreview(model, state, 2)).map((p) => p.pixels[0]); // [96, 96]: gray
 * ```
 */
export async function decodePreview(
  model: Model,
  state: Int32Array,
  batch: number,
): Promise<Picture[]> {
  const { codebookSize, grid } = model.manifest;
  const tokens = grid * grid;
  const masked = state.map((t) => t >= codebookSize ? 1 : 0);
  const decodable = state.map((t) => t >= codebookSize ? 0 : t);
  const pictures = toPictures(await model.decoder.decode(decodable, batch));
  return pictures.map((picture, b) =>
    shadeMasked(picture, masked.subarray(b * tokens, (b + 1) * tokens), grid)
  );
}

/** Decoded pictures with their conditions, settings and tokens (before PNG encoding). */
export interface Rendering {
  pictures: Picture[];
  recipes: Recipe[];
  labels?: number[];
  truncated: boolean[];
  settings: SamplerSettings;
  tokens: Int32Array;
  /** Tiled previews of the intermediate steps, when asked for. */
  frames: Picture[];
}

/** What images `first` … `first + size − 1` of a condition are conditioned on. */
function slice(condition: Condition, first: number, size: number): Condition {
  if ("classes" in condition) return { classes: condition.classes.slice(first, first + size) };
  const prompts = condition.prompts.slice(first, first + size);
  return { ...condition, prompts };
}

/**
 * Samples token grids with the model's transformer and decodes them to 8-bit pictures,
 * `batch` images at a time (default: all at once), so memory follows the batch, not the
 * number of images. Image b uses seed + b however the images are batched.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { render } from "./generate.ts";
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const { pictures } = await render({ model, classes: ["one"], settings: { seed: 1 } });
 * pictures[0].width; // 64
 * ```
 */
export async function render(options: GenerateOptions): Promise<Rendering> {
  const { manifest } = options.model;
  const count = "classes" in options ? options.classes.length : options.prompts.length;
  // Settings first: a bad knob fails before any prompt is encoded.
  const settings = modelSettings(manifest, options.settings, count);
  const size = options.batch ?? count;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`batch must be an integer ≥ 1, got ${size}`);
  }
  const parts: Omit<Rendering, "frames">[] = [];
  const previews: Picture[][] = []; // per recorded step, every image's preview so far
  for (let first = 0; first < Math.max(count, 1); first += size) {
    const part = await renderBatch({
      ...options,
      ...slice(options, first, size),
      settings: { ...options.settings, seed: settings.seed + first },
    });
    part.previews.forEach((pictures, i) => (previews[i] ??= []).push(...pictures));
    parts.push(part);
  }
  const labels = parts.flatMap((part) => part.labels ?? []);
  const tokens = new Int32Array(parts.reduce((sum, part) => sum + part.tokens.length, 0));
  let offset = 0;
  for (const part of parts) {
    tokens.set(part.tokens, offset);
    offset += part.tokens.length;
  }
  return {
    pictures: parts.flatMap((part) => part.pictures),
    recipes: parts.flatMap((part) => part.recipes),
    labels: parts[0].labels === undefined ? undefined : labels,
    truncated: parts.flatMap((part) => part.truncated),
    settings: parts[0].settings,
    tokens,
    frames: previews.map((pictures) => tile(pictures)),
  };
}

/** One batch of {@link render}: its pictures, and the previews of each recorded step. */
async function renderBatch(
  options: GenerateOptions,
): Promise<Omit<Rendering, "frames"> & { previews: Picture[][] }> {
  const { model, onStep, signal, previewEvery = 0 } = options;
  const { manifest } = model;
  const settings = modelSettings(manifest, options.settings);
  const { predictor, images, recipes, labels, truncated } = await conditionOn(model, options);
  const previews: Picture[][] = [];
  const result = await sample({
    predictor,
    grid: manifest.grid,
    codebookSize: manifest.codebookSize,
    maskId: manifest.maskId,
    images,
    settings,
    signal,
    onStep: async (event) => {
      const last = event.step === event.steps - 1;
      if (previewEvery > 0 && ((event.step + 1) % previewEvery === 0 || last)) {
        previews.push(await decodePreview(model, event.state, images));
      }
      await onStep?.(event);
    },
  });
  const pictures = toPictures(await model.decoder.decode(result.tokens, result.batch));
  const { tokens } = result;
  return { pictures, recipes, labels, truncated, settings: result.settings, tokens, previews };
}

/**
 * Samples, decodes and encodes PNGs (each carrying the settings that reproduce it).
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { generate } from "./generate.ts";
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const { images, settings } = await generate({ model, classes: ["seven"], settings: { seed: 3 } });
 * [images.length, settings.steps]; // [1, 16]: the model's default steps
 * ```
 */
export async function generate(options: GenerateOptions): Promise<Generation> {
  const { pictures, recipes, labels, truncated, settings, tokens, frames } = await render(options);
  const describe = (b: number) => ({
    Software: "halton-maskgit",
    Source: options.model.manifest.name,
    Comment: JSON.stringify({ ...recipes[b], ...settings, seed: settings.seed + b }),
  });
  return {
    images: pictures.map((picture, b) => encodePng(picture, describe(b))),
    grid: pictures.length > 1 ? encodePng(tile(pictures)) : undefined,
    gif: frames.length > 0 ? await encodeGif(frames) : undefined,
    recipes,
    labels,
    truncated,
    settings,
    tokens,
  };
}
