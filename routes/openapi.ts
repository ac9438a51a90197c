/**
 * `GET /openapi.json`: the API described in OpenAPI 3.1, its sampler knobs taken from the
 * same table the server validates with.
 *
 * @module
 */

import { Hono } from "hono";
import { MAX_PROMPT_CHARS } from "../src/condition.ts";
import { apiName, type Knob, KNOBS } from "../src/knobs.ts";
import type { GenerationService } from "../src/server/service.ts";

const KIND_SCHEMA: Record<Knob["kind"], object> = {
  integer: { type: "integer", minimum: 0 },
  number: { type: "number" },
  string: { type: "string" },
  boolean: { type: "boolean" },
};

const ERROR = {
  description: "An error; `field` names the request field at fault when there is one.",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["error"],
        properties: { error: { type: "string" }, field: { type: "string" } },
      },
    },
  },
};

/** What the document says about access. */
export interface OpenApiOptions {
  /** The server needs `Authorization: Bearer <key>` on `/v1/*` and `/metrics` (`--api-key`). */
  keyed?: boolean;
}

/**
 * The OpenAPI document for a server with these limits.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { GenerationService } from "../src/server/service.ts";
 * import { openApiDocument } from "./openapi.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const service = new GenerationService([model]);
 * openApiDocument(service, { keyed: true }).paths["/v1/generate"];
 * // { post: { operationId: "generate", summary: "Generate images", … } }
 * ```
 */
export function openApiDocument(service: GenerationService, options: OpenApiOptions = {}) {
  const request = {
    type: "object",
    // A class-to-image model takes `class`, a text-to-image model `prompt` (GET /v1/models: task).
    oneOf: [{ required: ["class"] }, { required: ["prompt"] }],
    additionalProperties: false,
    properties: {
      model: { type: "string", description: "model name (GET /v1/models); default: the first" },
      class: {
        oneOf: [{ type: "string" }, { type: "integer", minimum: 0 }],
        description: "class-to-image models: class name, or index into the model's classes",
      },
      prompt: {
        type: "string",
        maxLength: MAX_PROMPT_CHARS,
        description: "text-to-image models: the prompt (cut to the model's token length; " +
          "the answer then says truncated: true)",
      },
      negative_prompt: {
        type: "string",
        maxLength: MAX_PROMPT_CHARS,
        description: "text-to-image models: conditions the unconditional half of guidance " +
          "instead of the model's null condition",
      },
      count: {
        type: "integer",
        minimum: 1,
        maximum: service.maxCount,
        description: "images to generate; image b uses seed + b",
      },
      ...Object.fromEntries(
        KNOBS.map((knob) => [apiName(knob), { ...KIND_SCHEMA[knob.kind], description: knob.help }]),
      ),
    },
  };
  const generation = {
    type: "object",
    properties: {
      model: { type: "string" },
      class: { type: "string", description: "class-to-image models" },
      label: { type: "integer", description: "class-to-image models" },
      prompt: { type: "string", description: "text-to-image models" },
      negative_prompt: { type: "string" },
      truncated: { type: "boolean", description: "present (true) when the prompt was cut" },
      seed: { type: "integer", description: "seed of image 0; repeat it to get the same images" },
      settings: { type: "object", description: "every sampler knob as used" },
      images: { type: "array", items: { type: "string", contentEncoding: "base64" } },
    },
  };
  // The keyed routes inherit the root's `security`; the probes stay open on every server.
  const unauthorized = options.keyed
    ? { "401": { ...ERROR, description: "Missing or wrong API key." } }
    : {};
  const open = { security: [] };
  const errors = {
    ...unauthorized,
    "400": ERROR,
    "404": ERROR,
    "413": ERROR,
    "415": ERROR,
    "429": { ...ERROR, description: "Queue full; retry after the Retry-After header's seconds." },
    "503": { ...ERROR, description: "Timed out, or shutting down." },
  };
  const body = { required: true, content: { "application/json": { schema: request } } };
  return {
    openapi: "3.1.0",
    info: {
      title: "halton-maskgit",
      version: "0.1.0",
      description: "Class-to-image and text-to-image generation with MaskGIT and the Halton " +
        "scheduler.",
    },
    // Relative: the document describes the server that serves it, at whatever address.
    servers: [{ url: "/", description: "this server" }],
    ...(options.keyed
      ? {
        components: {
          securitySchemes: {
            apiKey: {
              type: "http",
              scheme: "bearer",
              description: "The key the server was started with (`deno task serve --api-key`).",
            },
          },
        },
        security: [{ apiKey: [] }],
      }
      : { security: [] }),
    paths: {
      "/health": {
        get: {
          operationId: "health",
          summary: "Process alive",
          ...open,
          responses: { "200": { description: "ok" } },
        },
      },
      "/ready": {
        get: {
          operationId: "ready",
          summary: "Models loaded and accepting work",
          ...open,
          responses: { "200": { description: "ready" }, "503": { description: "shutting down" } },
        },
      },
      "/metrics": {
        get: {
          operationId: "metrics",
          summary: "Prometheus metrics",
          responses: { "200": { description: "text" }, ...unauthorized },
        },
      },
      "/v1/models": {
        get: {
          operationId: "listModels",
          summary: "Loaded models and their defaults",
          responses: { "200": { description: "models" }, ...unauthorized },
        },
      },
      "/v1/generate": {
        post: {
          operationId: "generate",
          summary: "Generate images",
          requestBody: body,
          responses: {
            "200": {
              description:
                "A PNG (several images: tiled into one), or JSON with `Accept: application/json`. " +
                "The `x-seed` header gives the seed used.",
              content: {
                "image/png": { schema: { type: "string", contentMediaType: "image/png" } },
                "application/json": { schema: generation },
              },
            },
            ...errors,
          },
        },
      },
      "/v1/generate/stream": {
        post: {
          operationId: "generateStream",
          summary: "Generate with progress as Server-Sent Events",
          description:
            "Events: `start` {model, class or prompt, seed, steps, tokens, queued}; `step` {step, steps, " +
            "known, tokens, preview?} where preview is a base64 PNG every `preview_every` steps; `done` " +
            "(the JSON of /v1/generate); `error` {error, status}.",
          requestBody: {
            ...body,
            content: {
              "application/json": {
                schema: {
                  ...request,
                  properties: {
                    ...request.properties,
                    preview_every: { type: "integer", minimum: 0, description: "0 = no previews" },
                  },
                },
              },
            },
          },
          responses: { "200": { description: "text/event-stream" }, ...errors },
        },
      },
    },
  };
}

/**
 * `GET /openapi.json`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { GenerationService } from "../src/server/service.ts";
 * import { openApiRoutes } from "./openapi.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const service = new GenerationService([model]);
 * const app = new Hono().route("/", openApiRoutes(service, { keyed: false }));
 * (await (await app.request("/openapi.json")).json()).openapi; // "3.1.0"
 * ```
 */
export function openApiRoutes(service: GenerationService, options: OpenApiOptions = {}): Hono {
  const document = openApiDocument(service, options);
  return new Hono().get("/openapi.json", (c) => c.json(document));
}
