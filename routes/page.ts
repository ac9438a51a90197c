/**
 * `GET /`: the web page, its script, and what in-browser generation loads: our sampler
 * bundle (`deno task build:web`) and onnxruntime-web's WASM build from node_modules.
 *
 * @module
 */

import { Hono } from "hono";
import { HttpError } from "../src/server/service.ts";

const read = (name: string) => Deno.readTextFile(new URL(`./static/${name}`, import.meta.url));
const [html, script] = await Promise.all([read("index.html"), read("page.js")]);

/**
 * The files of onnxruntime-web's `dist/` that in-browser generation loads (and all that
 * `deno task compile` keeps of the package).
 */
export const ORT_WEB_FILES = [
  "ort.wasm.bundle.min.mjs",
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.wasm",
];

/** Files served as they are, from where they live; nothing else is reachable. */
const FILES: Record<string, URL> = {
  "/dist/maskgit.js": new URL("./static/dist/maskgit.js", import.meta.url),
  ...Object.fromEntries(ORT_WEB_FILES.map((name) => [
    `/vendor/onnxruntime-web/${name}`,
    new URL(`../node_modules/onnxruntime-web/dist/${name}`, import.meta.url),
  ])),
};

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  wasm: "application/wasm",
};

/**
 * `GET /`, `GET /page.js`, `GET /dist/maskgit.js` and `GET /vendor/onnxruntime-web/…`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { pageRoutes } from "./page.ts";
 * const app = new Hono().route("/", pageRoutes());
 * (await app.request("/")).headers.get("content-type"); // "text/html; charset=UTF-8"
 * ```
 */
export function pageRoutes(): Hono {
  const app = new Hono()
    // Cross-origin isolation gives the page SharedArrayBuffer, which in-browser generation
    // needs (imagescript's PNG writer and onnxruntime-web's threads use it); every resource
    // the page loads is same-origin, so nothing else is affected.
    .get("/", (c) =>
      c.html(html, 200, {
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
      }))
    .get("/page.js", (c) => c.body(script, 200, { "content-type": TYPES.js }));
  for (const [path, url] of Object.entries(FILES)) {
    app.get(path, async (c) => {
      const bytes = await Deno.readFile(url).catch(() => {
        const hint = path.startsWith("/dist/") ? " (run deno task build:web)" : "";
        throw new HttpError(404, `${path} is not available on this server${hint}`);
      });
      return c.body(bytes, 200, { "content-type": TYPES[path.split(".").pop()!] });
    });
  }
  return app;
}
