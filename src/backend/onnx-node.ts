/**
 * The native backend: onnxruntime-node (CPU; CUDA only where its provider binaries exist).
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import type { OnnxBackend } from "./onnx.ts";

/** First line of an error message: ORT appends long native traces. */
function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

/**
 * onnxruntime-node sessions. Asking for a provider other than "cpu" that this install
 * lacks (CUDA needs binaries that its install script downloads) fails with one line.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./onnx-node.ts";
 * const bytes = await Deno.readFile("models/tiny-random/decoder.onnx");
 * const session = await nodeBackend.createSession(bytes, { threads: 2 });
 * session.inputNames; // ["tokens"]
 * await session.release();
 * ```
 */
export const nodeBackend: OnnxBackend = {
  name: "node",
  runtime: ort,
  opensFiles: true,
  async createSession(model, { threads, provider = "cpu" }) {
    const known = ort.listSupportedBackends().map((b) => b.name);
    if (!known.includes(provider)) {
      throw new Error(
        `execution provider '${provider}' is not supported by onnxruntime-node ` +
          `(supported: ${known.join(", ")})`,
      );
    }
    // Failures come back as one-line errors; keep ORT's own multi-line log off stderr.
    ort.env.logLevel = "fatal";
    try {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        intraOpNumThreads: threads ?? navigator.hardwareConcurrency,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        logSeverityLevel: 4,
      };
      return await (typeof model === "string"
        ? ort.InferenceSession.create(model, options)
        : ort.InferenceSession.create(model, options));
    } catch (error) {
      const reason = firstLine(error);
      if (provider !== "cpu" && !/protobuf|model/i.test(reason)) {
        throw new Error(
          `execution provider '${provider}' is unavailable here (${reason}); ` +
            `onnxruntime-node downloads its ${provider} binaries at install time — use --provider cpu`,
        );
      }
      throw new Error(reason);
    }
  },
};
