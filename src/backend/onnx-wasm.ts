/**
 * The WASM backend: onnxruntime-web, for places that cannot load native addons (edge
 * isolates, `deno serve` without FFI permission).
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import type { OnnxBackend } from "./onnx.ts";
import { webBackend } from "./onnx-web.ts";

/**
 * onnxruntime-web as Deno imports it (see {@link webBackend}).
 *
 * @example
 * ```ts
 * import { wasmBackend } from "./onnx-wasm.ts";
 * const bytes = await Deno.readFile("models/tiny-random/decoder.onnx");
 * const session = await wasmBackend.createSession(bytes, { threads: 1 });
 * session.outputNames; // ["image"]
 * await session.release();
 * ```
 */
export const wasmBackend: OnnxBackend = webBackend(ort);
