/**
 * The web page's in-browser generation: the same `loadModel` and `generate` as the CLI and
 * the server, on onnxruntime-web loaded by the page. `deno task build:web` bundles this
 * module (our code only; onnxruntime-web stays a separate file the server hands out).
 *
 * @example
 * ```ts
 * // The page imports "/vendor/onnxruntime-web/ort.wasm.bundle.min.mjs" instead, and loads
 * // the model from `${location.origin}/v1/models/glyphs/files`.
 * import * as ort from "onnxruntime-web";
 * import { generate, loadModel, webBackend } from "./browser.ts";
 * const model = await loadModel("models/glyphs", { backend: webBackend(ort), threads: 1 });
 * const { images } = await generate({ model, classes: ["A"], settings: { seed: 3, steps: 8 } });
 * images.length; // 1
 * ```
 *
 * @module
 */

export { webBackend } from "./backend/onnx-web.ts";
export { decodePreview, generate } from "./generate.ts";
export { encodePng, tile } from "./image.ts";
export { apiName, knobSettings } from "./knobs.ts";
export { loadModel } from "./model.ts";
