/**
 * The WASM backend: onnxruntime-web, for places that cannot load native addons (edge
 * isolates, browsers, `deno serve` without FFI permission).
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import type { OnnxBackend } from "./onnx.ts";

/**
 * onnxruntime-web sessions on its WASM (CPU) execution provider. `threads` (default: every
 * core) > 1 needs SharedArrayBuffer and workers; where the platform lacks them ORT runs on one.
 * The thread count is fixed by the first session of the process.
 *
 * @example
 * ```ts ignore
 * import { wasmBackend } from "./onnx-wasm.ts";
 * const session = await wasmBackend.createSession(bytes, { threads: 1 });
 * ```
 */
export const wasmBackend: OnnxBackend = {
  name: "wasm",
  runtime: ort,
  async createSession(bytes, { threads, provider = "wasm" }) {
    if (provider !== "wasm" && provider !== "cpu") {
      throw new Error(
        `execution provider '${provider}' is not available on the wasm backend (use cpu)`,
      );
    }
    ort.env.logLevel = "fatal";
    // Set once, before the first session: the WASM module is instantiated with it.
    ort.env.wasm.numThreads = threads ?? navigator.hardwareConcurrency;
    try {
      return await ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
        logSeverityLevel: 4,
      });
    } catch (error) {
      throw new Error((error instanceof Error ? error.message : String(error)).split("\n")[0]);
    }
  },
};
