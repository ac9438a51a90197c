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
 * ```ts
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { modelSummary } from "./models.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * modelSummary(model, true).grid; // 16
 * modelSummary(model, true).defaults.scheduler; // "halton": model.json sets only steps and cfg
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
    precision: manifest.precision ?? "fp32",
    license: manifest.license,
    attribution: manifest.attribution,
  };
}

/**
 * `GET /v1/models`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { GenerationService } from "../src/server/service.ts";
 * import { modelRoutes } from "./models.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const app = new Hono().route("/", modelRoutes(new GenerationService([model])));
 * (await (await app.request("/v1/models")).json()).models[0].name; // "tiny-random"
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
