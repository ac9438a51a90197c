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
 * ```ts ignore
 * const images = await decodePreview(model, event.state, 2);
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

/**
 * Samples token grids with the model's transformer and decodes them to 8-bit pictures.
 *
 * @example
 * ```ts ignore
 * const { pictures } = await render({ model, classes: ["A"], settings: { seed: 1 } });
 * ```
 */
export async function render(options: GenerateOptions): Promise<Rendering> {
  const { model, onStep, signal, previewEvery = 0 } = options;
  const { manifest } = model;
  // Settings first: a bad knob fails before any prompt is encoded.
  const count = "classes" in options ? options.classes.length : options.prompts.length;
  const settings = modelSettings(manifest, options.settings, count);
  const { predictor, images, recipes, labels, truncated } = await conditionOn(model, options);
  const frames: Picture[] = [];
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
        frames.push(tile(await decodePreview(model, event.state, images)));
      }
      await onStep?.(event);
    },
  });
  const pictures = toPictures(await model.decoder.decode(result.tokens, result.batch));
  const { tokens } = result;
  return { pictures, recipes, labels, truncated, settings: result.settings, tokens, frames };
}

/**
 * Samples, decodes and encodes PNGs (each carrying the settings that reproduce it).
 *
 * @example
 * ```ts ignore
 * const { images, settings } = await generate({ model, classes: ["seven"], settings: { seed: 3 } });
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
