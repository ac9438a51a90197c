/**
 * The Hono app: every route, the body limit, metrics and JSON errors. `deno task serve`
 * only wires it to `Deno.serve`; tests call `app.request` directly.
 *
 * @module
 */

import { Hono } from "hono";
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
}

/**
 * Builds the app around a service.
 *
 * @example
 * ```ts ignore
 * const app = createApp(new GenerationService([model]));
 * const response = await app.request("/v1/models");
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
  app.route("/", openApiRoutes(service));
  app.route("/", pageRoutes());
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
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
