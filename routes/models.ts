/**
 * `GET /v1/models`: what each loaded model is and how it samples by default.
 *
 * @module
 */

import { Hono } from "hono";
import { MAX_PROMPT_CHARS } from "../src/condition.ts";
import { MANIFEST_FILE, type Model, modelSettings } from "../src/model.ts";
import { type GenerationService, HttpError } from "../src/server/service.ts";

/**
 * A model's manifest summary, its defaults filled in (what a request without knobs gets).
 *
 * @example
 * ```ts ignore
 * modelSummary(model).grid; // 16
 * ```
 */
export function modelSummary(model: Model, isDefault: boolean) {
  const { manifest } = model;
  const { name, task, description, grid, codebookSize, image } = manifest;
  return {
    name,
    default: isDefault,
    task,
    description,
    grid,
    tokens: grid * grid,
    codebookSize,
    image,
    // What a request gives: one of the classes, or a prompt of up to `promptTokens` tokens.
    ...(manifest.task === "class-to-image"
      ? { classes: manifest.classes }
      : { promptTokens: manifest.text.length, maxPromptChars: MAX_PROMPT_CHARS }),
    defaults: modelSettings(manifest),
    license: manifest.license,
    attribution: manifest.attribution,
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
  return new Hono()
    .get("/v1/models", (c) =>
      c.json({
        models: [...service.models.values()].map((model, i) => modelSummary(model, i === 0)),
      }))
    // The folder's own files, for generation in the browser: only the manifest and the files
    // it names, so no other path can be read through it.
    .get("/v1/models/:name/files/:file", async (c) => {
      const model = service.models.get(c.req.param("name"));
      if (!model) throw new HttpError(404, `no model named '${c.req.param("name")}'`, "model");
      const file = c.req.param("file");
      if (![MANIFEST_FILE, ...Object.values(model.manifest.files)].includes(file)) {
        throw new HttpError(404, `model '${model.manifest.name}' has no file '${file}'`, "file");
      }
      if (/^https?:/.test(model.dir)) return c.redirect(`${model.dir}/${file}`);
      const bytes = await Deno.readFile(`${model.dir}/${file}`);
      return c.body(bytes, 200, {
        "content-type": file.endsWith(".json") ? "application/json" : "application/octet-stream",
        "cache-control": "no-cache",
      });
    });
}
