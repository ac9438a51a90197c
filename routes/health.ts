/**
 * Liveness and readiness: `/health` answers while the process runs, `/ready` while it has
 * models loaded and is not shutting down.
 *
 * @module
 */

import { Hono } from "hono";
import type { GenerationService } from "../src/server/service.ts";

/**
 * `GET /health` and `GET /ready`.
 *
 * @example
 * ```ts ignore
 * app.route("/", healthRoutes(service));
 * ```
 */
export function healthRoutes(service: GenerationService): Hono {
  return new Hono()
    .get("/health", (c) => c.json({ status: "ok" }))
    .get(
      "/ready",
      (c) =>
        service.draining
          ? c.json({ status: "shutting down" }, 503)
          : c.json({ status: "ready", models: [...service.models.keys()] }),
    );
}
