/**
 * The one seam between what a user asks for and the sampler: a generation is conditioned on a
 * class per image (class-to-image models) or a prompt per image (text-to-image models). Both
 * become a {@link Predictor} made for the batch, so the sampling loop and the guidance formula
 * stay one for both tasks; the unconditional half of guidance is the model's null condition
 * (a dropped label; the empty prompt's encoding or zeros; or a negative prompt).
 *
 * @module
 */

import type { TextEncoding } from "./backend/onnx.ts";
import { type Model, resolveClass, type TextManifest } from "./model.ts";
import type { Predictor, PredictorInput } from "./sampler.ts";
import { SettingError } from "./settings.ts";

/** What to condition each image on: a class, or a prompt (and one negative prompt). */
export type Condition =
  | { classes: readonly (string | number)[] }
  | { prompts: readonly string[]; negativePrompt?: string };

/** What one image was conditioned on, as its PNG recipe and the HTTP API report it. */
export type Recipe = { class: string } | { prompt: string; negativePrompt?: string };

/** A batch's conditions, ready to sample. */
export interface Conditioning {
  /** Images in the batch. */
  images: number;
  /** Serves exactly this batch: row r is image `image[r]`, conditional or not. */
  predictor: Predictor;
  /** Per image. */
  recipes: Recipe[];
  /** Class models: the class index per image. */
  labels?: number[];
  /** Text models: true for images whose prompt was cut to the manifest's length. */
  truncated: boolean[];
}

/** Longest prompt accepted, in characters (a model keeps only its first L token ids anyway). */
export const MAX_PROMPT_CHARS = 2000;

/**
 * Checks a condition against the model's task before any work: a prompt for a class model,
 * a class for a text model, a non-string or over-long prompt, an unknown class — each a
 * {@link SettingError} naming the field ("class", "prompt", "negative_prompt").
 *
 * @example
 * ```ts
 * import { checkCondition } from "./condition.ts";
 * import { parseManifest } from "./model.ts";
 * const manifest = parseManifest(await Deno.readTextFile("models/tiny-amused/model.json"), "");
 * checkCondition(manifest, { prompts: ["a red apple"] }); // fine: a text model takes prompts
 * // checkCondition(manifest, { classes: [1] }) throws: give a prompt, not a class
 * ```
 */
export function checkCondition(manifest: Model["manifest"], condition: Condition): void {
  const count = "classes" in condition ? condition.classes.length : condition.prompts.length;
  if (count === 0) throw new SettingError("class", "give at least one class or prompt");
  if (manifest.task === "class-to-image") {
    if (!("classes" in condition)) {
      throw new SettingError(
        "prompt",
        `model '${manifest.name}' is class-to-image: give a class, not a prompt`,
      );
    }
    condition.classes.forEach((c) => resolveClass(manifest.classes, c));
    return;
  }
  if (!("prompts" in condition)) {
    throw new SettingError(
      "class",
      `model '${manifest.name}' is text-to-image: give a prompt, not a class`,
    );
  }
  const check = (field: string, prompt: unknown) => {
    if (typeof prompt !== "string") {
      throw new SettingError(field, `${field} must be a string, got ${JSON.stringify(prompt)}`);
    }
    if (prompt.length > MAX_PROMPT_CHARS) {
      throw new SettingError(
        field,
        `${field} must be at most ${MAX_PROMPT_CHARS} characters, got ${prompt.length}`,
      );
    }
  };
  condition.prompts.forEach((prompt) => check("prompt", prompt));
  if (condition.negativePrompt !== undefined) check("negative_prompt", condition.negativePrompt);
}

/**
 * Prepares a batch's conditions: resolves classes, or tokenizes and encodes each distinct
 * prompt once (one text-encoder call), and returns the predictor the sampler drives.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { conditionOn } from "./condition.ts";
 * import { loadModel } from "./model.ts";
 * import { sample } from "./sampler.ts";
 * const model = await loadModel("models/tiny-amused", { backend: nodeBackend });
 * const { predictor, images } = await conditionOn(model, { prompts: ["a red apple"] });
 * const { tokens } = await sample({ predictor, images, grid: 16, codebookSize: 256, maskId: 319 });
 * tokens.length; // 256
 * ```
 */
export async function conditionOn(model: Model, condition: Condition): Promise<Conditioning> {
  const { manifest } = model;
  checkCondition(manifest, condition);
  if (manifest.task === "class-to-image") {
    const { classes } = condition as { classes: readonly (string | number)[] };
    const labels = classes.map((c) => resolveClass(manifest.classes, c));
    const predictor: Predictor = {
      selectsPositions: model.transformer.selectsPositions,
      predict: ({ batch, tokens, image, unconditional, positions }) =>
        model.transformer.run({
          batch,
          tokens,
          positions,
          labels: Int32Array.from(image, (b) => labels[b]),
          dropLabel: unconditional,
        }),
    };
    return {
      images: labels.length,
      predictor,
      labels,
      recipes: labels.map((label) => ({ class: manifest.classes[label] })),
      truncated: labels.map(() => false),
    };
  }
  const { prompts, negativePrompt } = condition as { prompts: string[]; negativePrompt?: string };
  const distinct = [...new Set(prompts)];
  const { encoding, truncated } = await encodePrompts(model, distinct);
  const nul = negativePrompt === undefined
    ? await nullCondition(model)
    : (await encodePrompts(model, [negativePrompt])).encoding;
  const row = prompts.map((prompt) => distinct.indexOf(prompt));
  return {
    images: prompts.length,
    predictor: promptPredictor(model, manifest, encoding, nul, row),
    recipes: prompts.map((prompt) =>
      negativePrompt === undefined ? { prompt } : {
        prompt,
        negativePrompt,
      }
    ),
    truncated: row.map((r) => truncated[r]),
  };
}

/** Token ids of several prompts, encoded in one text-encoder call. */
async function encodePrompts(
  model: Model,
  prompts: readonly string[],
): Promise<{ encoding: TextEncoding; truncated: boolean[] }> {
  const { tokenizer, encoder } = model.prompts!;
  const tokenized = prompts.map((prompt) => tokenizer.encode(prompt));
  const length = (model.manifest as TextManifest).text.length;
  const ids = new Int32Array(prompts.length * length);
  tokenized.forEach((t, i) => ids.set(t.ids, i * length));
  return {
    encoding: await encoder.encode(ids, prompts.length),
    truncated: tokenized.map((t) => t.truncated),
  };
}

/** Each loaded model's null condition, made once: the empty prompt's encoding, or zeros. */
const NULL_CONDITIONS = new WeakMap<Model, Promise<TextEncoding>>();

function nullCondition(model: Model): Promise<TextEncoding> {
  let made = NULL_CONDITIONS.get(model);
  if (!made) {
    const { text } = model.manifest as TextManifest;
    made = text.null === "zeros"
      ? Promise.resolve({
        hidden: new Float32Array(text.length * text.width),
        pooled: text.pooled === undefined ? undefined : new Float32Array(text.pooled),
      })
      : encodePrompts(model, [""]).then((encoded) => encoded.encoding);
    // A failed encoding is not kept: the next request tries again.
    made.catch(() => NULL_CONDITIONS.delete(model));
    NULL_CONDITIONS.set(model, made);
  }
  return made;
}

/**
 * The predictor of a prompt batch: each row gets its image's encoding (rows of `cond`, picked
 * by `row`) or the null one, and the manifest's micro-conditioning.
 */
function promptPredictor(
  model: Model,
  manifest: TextManifest,
  cond: TextEncoding,
  nul: TextEncoding,
  row: number[],
): Predictor {
  const { length, width, pooled: pooledWidth = 0 } = manifest.text;
  const hiddenSize = length * width;
  const pick = (input: PredictorInput, size: number, source: (e: TextEncoding) => Float32Array) => {
    const out = new Float32Array(input.batch * size);
    for (let r = 0; r < input.batch; r++) {
      const from = input.unconditional[r] ? source(nul) : source(cond);
      const at = input.unconditional[r] ? 0 : row[input.image[r]] * size;
      out.set(from.subarray(at, at + size), r * size);
    }
    return out;
  };
  const micro = manifest.microConds;
  return {
    selectsPositions: model.transformer.selectsPositions,
    predict: (input) =>
      model.transformer.run({
        batch: input.batch,
        tokens: input.tokens,
        positions: input.positions,
        text: pick(input, hiddenSize, (e) => e.hidden),
        pooled: pooledWidth > 0 ? pick(input, pooledWidth, (e) => e.pooled!) : undefined,
        microConds: micro && Float32Array.from({ length: input.batch * 5 }, (_, i) => micro[i % 5]),
      }),
  };
}
