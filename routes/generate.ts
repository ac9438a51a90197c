/**
 * `POST /v1/generate` (PNG or JSON) and `POST /v1/generate/stream` (Server-Sent Events):
 * both validate the body, queue the work and call the same `generate()` as the CLI.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { decodePreview, type Generation } from "../src/generate.ts";
import { encodePng, tile } from "../src/image.ts";
import type { Recipe } from "../src/condition.ts";
import { type Model, resolveClass } from "../src/model.ts";
import {
  type GenerationRequest,
  type GenerationService,
  HttpError,
} from "../src/server/service.ts";

/** A class as the model names it (the request may give its index). */
function classLabel(model: Model, value: string | number): string {
  const { manifest } = model;
  return manifest.task === "class-to-image"
    ? manifest.classes[resolveClass(manifest.classes, value)]
    : String(value);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Reads a JSON body: 415 unless it says JSON, 400 when it does not parse. */
async function readJson(c: Context): Promise<unknown> {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "send the body as JSON (content-type: application/json)", "body");
  }
  try {
    return JSON.parse(await c.req.text());
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON (${(error as Error).message})`, "body");
  }
}

/**
 * What a request is conditioned on, as the API names it: `class` and `label`, or `prompt`
 * (and `negative_prompt`, and `truncated: true` when the prompt was cut to the model's length).
 */
function conditionOf(recipe: Recipe, label?: number, truncated?: boolean) {
  if ("class" in recipe) return { class: recipe.class, label };
  return {
    prompt: recipe.prompt,
    ...(recipe.negativePrompt === undefined ? {} : { negative_prompt: recipe.negativePrompt }),
    ...(truncated ? { truncated: true } : {}),
  };
}

/** The JSON description of a finished generation: enough to reproduce every image. */
function describe(request: GenerationRequest, result: Generation) {
  return {
    model: request.model.manifest.name,
    ...conditionOf(result.recipes[0], result.labels?.[0], result.truncated[0]),
    seed: result.settings.seed,
    settings: result.settings,
    images: result.images.map(base64),
  };
}

/**
 * Both generation endpoints.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { GenerationService } from "../src/server/service.ts";
 * import { generateRoutes } from "./generate.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const app = new Hono().route("/", generateRoutes(new GenerationService([model])));
 * const headers = { "content-type": "application/json" };
 * const body = JSON.stringify({ class: 1, seed: 3, steps: 4 });
 * const response = await app.request("/v1/generate", { method: "POST", headers, body });
 * [response.headers.get("content-type"), response.headers.get("x-seed")]; // ["image/png", "3"]
 * ```
 */
export function generateRoutes(service: GenerationService): Hono {
  return new Hono()
    .post("/v1/generate", async (c) => {
      const request = service.parse(await readJson(c));
      const result = await service.submit(request, { signal: c.req.raw.signal });
      if (/application\/json/i.test(c.req.header("accept") ?? "")) {
        return c.json(describe(request, result));
      }
      // Several images without JSON: one PNG of them all, tiled.
      const png = result.images.length === 1 ? result.images[0] : result.grid!;
      return c.body(png as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "image/png",
        "x-seed": String(result.settings.seed),
        "x-images": String(result.images.length),
        ...(result.truncated[0] ? { "x-prompt-truncated": "true" } : {}),
      });
    })
    .post("/v1/generate/stream", async (c) => {
      const request = service.parse(await readJson(c));
      const { model, resolved, previewEvery, condition } = request;
      const { grid } = model.manifest;
      const aborted = new AbortController();
      const signal = AbortSignal.any([c.req.raw.signal, aborted.signal]);
      const queued = service.limiter.queued;
      // Submitted before the stream opens, so a full queue is a plain 429, not an event.
      let send: (event: string, data: unknown) => Promise<void> = () => Promise.resolve();
      const work = service.submit(request, {
        signal,
        onStep: async (event) => {
          const step = event.step + 1;
          const data: Record<string, unknown> = {
            step,
            steps: event.steps,
            known: event.known,
            tokens: event.tokens,
          };
          if (previewEvery > 0 && (step % previewEvery === 0 || step === event.steps)) {
            const previews = await decodePreview(model, event.state, request.count);
            data.preview = base64(encodePng(tile(previews)));
          }
          await send("step", data);
        },
      });
      work.catch(() => {}); // awaited inside the stream; this only marks it handled early
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => aborted.abort(new Error("client closed the stream")));
        send = (event, data) => stream.writeSSE({ event, data: JSON.stringify(data) });
        await send("start", {
          model: model.manifest.name,
          ...("classes" in condition
            ? { class: classLabel(model, condition.classes[0]) }
            : { prompt: condition.prompts[0] }),
          seed: resolved.seed,
          steps: resolved.steps,
          tokens: grid * grid,
          queued,
        });
        try {
          await send("done", describe(request, await work));
        } catch (error) {
          const status = error instanceof HttpError ? error.status : 500;
          if (status === 499) return; // nobody is listening
          if (status === 500) console.error(error);
          await send("error", { error: (error as Error).message, status });
        }
      });
    });
}
