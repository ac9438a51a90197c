/**
 * The Hono app: every route, the body limit, metrics and JSON errors. `deno task serve`
 * only wires it to `Deno.serve`; tests call `app.request` directly.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { matchedRoutes } from "hono/route";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HttpError } from "../src/server/service.ts";
import type { GenerationService } from "../src/server/service.ts";
import { generateRoutes } from "./generate.ts";
import { healthRoutes } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { modelRoutes } from "./models.ts";
import { openApiRoutes } from "./openapi.ts";
import { pageRoutes } from "./page.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Largest request body in bytes (default 16 KiB: a generation request is ~200 bytes). */
  maxBodyBytes?: number;
  /**
   * When set, `/v1/*` and `/metrics` need `Authorization: Bearer <apiKey>` (compared in
   * constant time); `/health`, `/ready`, the page and `/openapi.json` stay open.
   */
  apiKey?: string;
}

/** Hono's bearer-auth, answering every refusal with 401 and a JSON error. */
function requireKey(apiKey: string) {
  // What a client can send in the header at all (RFC 6750's token68).
  if (!/^[A-Za-z0-9._~+/-]+=*$/.test(apiKey)) {
    throw new RangeError("the API key must be letters, digits and . _ ~ + / - (then any =)");
  }
  const refuse = (error: string) => ({
    message: (c: Context) => c.json({ error, field: "authorization" }, 401),
  });
  return bearerAuth({
    token: apiKey,
    noAuthenticationHeader: refuse("this server needs an API key: Authorization: Bearer <key>"),
    invalidAuthenticationHeader: refuse("the Authorization header must be 'Bearer <key>'"),
    invalidToken: refuse("wrong API key"),
  });
}

/**
 * Builds the app around a service.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { GenerationService } from "../src/server/service.ts";
 * import { createApp } from "./app.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const app = createApp(new GenerationService([model]));
 * const response = await app.request("/v1/models");
 * response.status; // 200
 * ```
 */
export function createApp(service: GenerationService, options: AppOptions = {}): Hono {
  const maxSize = options.maxBodyBytes ?? 16 * 1024;
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    // The route the handler was registered under ("/v1/generate"), not the raw URL.
    const handler = matchedRoutes(c).findLast((route) => route.method !== "ALL");
    service.metrics.countRequest(handler?.path ?? "unmatched", c.res.status);
  });
  if (options.apiKey !== undefined) {
    app.use("/v1/*", requireKey(options.apiKey));
    app.use("/metrics", requireKey(options.apiKey));
  }
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize,
      onError: (c) =>
        c.json({ error: `the body is larger than ${maxSize} bytes`, field: "body" }, 413),
    }),
  );
  app.route("/", healthRoutes(service));
  app.route("/", metricsRoutes(service));
  app.route("/", modelRoutes(service));
  app.route("/", generateRoutes(service));
  app.route("/", openApiRoutes(service, { keyed: options.apiKey !== undefined }));
  app.route("/", pageRoutes());
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    if (error instanceof HttpError) {
      const body = error.field
        ? { error: error.message, field: error.field }
        : { error: error.message };
      return c.json(body, error.status as ContentfulStatusCode, error.headers);
    }
    console.error(error);
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
