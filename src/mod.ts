/**
 * halton-maskgit: MaskGIT sampling with the Halton scheduler, for Deno.
 *
 * The facade: load a model folder once, then generate from classes (class-to-image models) or
 * prompts (text-to-image models); the lower layers (Halton order, schedules, the sampling loop,
 * the schedulers) are exported too.
 *
 * @example
 * ```ts
 * import { generate, loadBackend, loadModel } from "./mod.ts";
 * const model = await loadModel("models/glyphs", { backend: await loadBackend("node") });
 * const { images } = await generate({ model, classes: ["A"], settings: { seed: 1 } });
 * images.length; // 1: a 64×64 PNG of an "A"
 * // A text-to-image folder takes prompts instead:
 * // await generate({ model: emoji, prompts: ["red apple"], settings: { seed: 1 } });
 * ```
 *
 * @example
 * ```ts
 * import { haltonOrder } from "./mod.ts";
 * haltonOrder(16).length; // 256
 * ```
 *
 * @module
 */

export * from "./halton.ts";
export * from "./rng.ts";
export * from "./schedule.ts";
export * from "./settings.ts";
export * from "./sampler.ts";
export * from "./scheduler/mod.ts";
export { type Condition, type Conditioning, conditionOn, type Recipe } from "./condition.ts";
export { generate, type GenerateOptions, type Generation, render } from "./generate.ts";
export {
  type ClassManifest,
  loadModel,
  type LoadOptions,
  type Manifest,
  type Model,
  ModelError,
  modelSettings,
  type TextManifest,
} from "./model.ts";
export { loadBackend } from "./backend/mod.ts";
