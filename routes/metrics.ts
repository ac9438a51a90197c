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
 * ```ts
 * import { Hono } from "hono";
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { GenerationService } from "../src/server/service.ts";
 * import { metricsRoutes } from "./metrics.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const app = new Hono().route("/", metricsRoutes(new GenerationService([model])));
 * (await (await app.request("/metrics")).text()).split("\n")[0];
 * // "# HELP maskgit_http_requests_total HTTP requests answered, by route and status."
 * ```
 */
export function metricsRoutes(service: GenerationService): Hono {
  return new Hono().get("/metrics", (c) =>
    c.body(service.metrics.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));
}
