/**
 * Edge entry: the same Hono app as `deno task serve`, on the WASM backend, with no native
 * code — for `deno serve` and edge platforms that run a module exporting `{ fetch }`.
 *
 * ```sh
 * deno serve --allow-read --allow-net edge.ts                  # models/glyphs, port 8000
 * MASKGIT_MODEL=https://host/models/glyphs deno serve --allow-read --allow-env --allow-net edge.ts
 * ```
 *
 * `MASKGIT_MODEL` names the model folder (a path or an http(s) URL; read only with
 * `--allow-env`), `MASKGIT_THREADS` the WASM threads (default 1: isolates rarely have
 * workers to spare).
 *
 * @module
 */

import { createApp } from "./routes/app.ts";
import { checkThreads } from "./src/backend/onnx.ts";
import { wasmBackend } from "./src/backend/onnx-wasm.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "./src/model.ts";
import { GenerationService } from "./src/server/service.ts";

/** An environment variable, when `--allow-env` grants it; otherwise undefined (no prompt). */
function setting(name: string): string | undefined {
  const { state } = Deno.permissions.querySync({ name: "env", variable: name });
  return state === "granted" ? Deno.env.get(name) : undefined;
}

const threads = Number(setting("MASKGIT_THREADS") ?? 1);
checkThreads(threads, "MASKGIT_THREADS"); // a typo must not start 1e6 threads, nor NaN
const model = await loadModel(setting("MASKGIT_MODEL") ?? DEFAULT_MODEL_DIR, {
  backend: wasmBackend,
  threads,
});
// One generation at a time: an isolate has one thread for JS and (by default) for WASM.
const app = createApp(new GenerationService([model], { concurrency: 1, queueSize: 4 }));

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;
