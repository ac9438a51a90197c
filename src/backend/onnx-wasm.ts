/**
 * The WASM backend: onnxruntime-web, for places that cannot load native addons (edge
 * isolates, `deno serve` without FFI permission). Where the platform has Web Workers its
 * one-thread sessions (edge.ts's default) run in one (`onnx-worker.ts`), so a forward pass
 * never holds the event loop; other sessions run on the caller's thread.
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import type { OnnxBackend } from "./onnx.ts";
import { webBackend } from "./onnx-web.ts";
import { workerBackend } from "./onnx-worker.ts";

/**
 * onnxruntime-web as Deno imports it (see {@link webBackend}), in a worker where there is one.
 *
 * @example
 * ```ts ignore
 * import { wasmBackend } from "./onnx-wasm.ts";
 * const session = await wasmBackend.createSession(bytes, { threads: 1 });
 * ```
 */
export const wasmBackend: OnnxBackend = typeof Worker === "function"
  ? workerBackend(ort, new URL("./wasm-worker.ts", import.meta.url), webBackend(ort))
  : webBackend(ort);
