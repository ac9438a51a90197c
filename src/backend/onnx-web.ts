/**
 * onnxruntime-web sessions (WASM execution provider) for a given copy of the package: the
 * one Deno imports (`onnx-wasm.ts`), or the one a web page loads from the server.
 *
 * @module
 */

import type * as OrtWeb from "onnxruntime-web";
import type { OnnxBackend } from "./onnx.ts";

/** The onnxruntime-web module, however it was loaded. */
export type OrtWebModule = typeof OrtWeb;

/**
 * A backend on an onnxruntime-web module. `threads` (default: every core) > 1 needs
 * SharedArrayBuffer and workers; where the platform lacks them ORT runs on one. The thread
 * count is fixed by the first session of the process (or page).
 *
 * @example
 * ```ts
 * // A page imports the copy the server hands out: /vendor/onnxruntime-web/ort.wasm.bundle.min.mjs
 * import * as ort from "onnxruntime-web";
 * import { webBackend } from "./onnx-web.ts";
 * webBackend(ort).name; // "wasm"
 * ```
 */
export function webBackend(ort: OrtWebModule): OnnxBackend {
  return {
    name: "wasm",
    runtime: ort,
    async createSession(model, { threads, provider = "wasm", externalData }) {
      if (provider !== "wasm" && provider !== "cpu") {
        throw new Error(
          `execution provider '${provider}' is not available on the wasm backend (use cpu)`,
        );
      }
      ort.env.logLevel = "fatal";
      ort.env.wasm.numThreads = threads ?? navigator.hardwareConcurrency;
      try {
        if (typeof model === "string") throw new Error("the wasm backend opens model bytes");
        return await ort.InferenceSession.create(model, {
          executionProviders: ["wasm"],
          graphOptimizationLevel: "all",
          logSeverityLevel: 4,
          externalData,
        });
      } catch (error) {
        throw new Error((error instanceof Error ? error.message : String(error)).split("\n")[0]);
      }
    },
  };
}
