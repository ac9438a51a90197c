/**
 * `GET /metrics` in the Prometheus text format.
 *
 * @module
 */

import { Hono } from "hono";
import type { GenerationService } from "../src/server/service.ts";

/**
 * `GET /metrics`.
 *
 * @example
 * ```ts ignore
 * app.route("/", metricsRoutes(service));
 * ```
 */
export function metricsRoutes(service: GenerationService): Hono {
  return new Hono().get("/metrics", (c) =>
    c.body(service.metrics.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));
}
