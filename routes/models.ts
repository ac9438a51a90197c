/**
 * `GET /v1/models`: what each loaded model is and how it samples by default.
 *
 * @module
 */

import { Hono } from "hono";
import type { Model } from "../src/model.ts";
import type { GenerationService } from "../src/server/service.ts";
import { mergeSettings, resolveSettings } from "../src/settings.ts";

/**
 * A model's manifest summary, its defaults filled in (what a request without knobs gets).
 *
 * @example
 * ```ts ignore
 * modelSummary(model).grid; // 16
 * ```
 */
export function modelSummary(model: Model, isDefault: boolean) {
  const { name, task, description, grid, codebookSize, image, classes, defaults } = model.manifest;
  return {
    name,
    default: isDefault,
    task,
    description,
    grid,
    tokens: grid * grid,
    codebookSize,
    image,
    classes,
    defaults: resolveSettings(mergeSettings(defaults), grid * grid),
  };
}

/**
 * `GET /v1/models`.
 *
 * @example
 * ```ts ignore
 * app.route("/", modelRoutes(service));
 * ```
 */
export function modelRoutes(service: GenerationService): Hono {
  return new Hono().get("/v1/models", (c) =>
    c.json({
      models: [...service.models.values()].map((model, i) => modelSummary(model, i === 0)),
    }));
}
