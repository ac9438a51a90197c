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
 * ```ts
 * import { Hono } from "hono";
 * import { nodeBackend } from "../src/backend/onnx-node.ts";
 * import { loadModel } from "../src/model.ts";
 * import { GenerationService } from "../src/server/service.ts";
 * import { healthRoutes } from "./health.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const app = new Hono().route("/", healthRoutes(new GenerationService([model])));
 * await (await app.request("/ready")).json(); // { status: "ready", models: ["tiny-random"] }
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
