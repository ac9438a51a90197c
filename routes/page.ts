/**
 * `GET /`: the web page (one HTML file and its script, read once at start-up).
 *
 * @module
 */

import { Hono } from "hono";

const read = (name: string) => Deno.readTextFile(new URL(`./static/${name}`, import.meta.url));
const [html, script] = await Promise.all([read("index.html"), read("page.js")]);

/**
 * `GET /` and `GET /page.js`.
 *
 * @example
 * ```ts ignore
 * app.route("/", pageRoutes());
 * ```
 */
export function pageRoutes(): Hono {
  return new Hono()
    .get("/", (c) => c.html(html))
    .get(
      "/page.js",
      (c) => c.body(script, 200, { "content-type": "text/javascript; charset=utf-8" }),
    );
}
