/**
 * Backends by name. Each is imported only when asked for, so the WASM backend runs where the
 * native addon cannot even be loaded (no FFI permission, edge isolates).
 *
 * @module
 */

import type { OnnxBackend } from "./onnx.ts";

/** The backends `--backend` accepts. */
export const BACKEND_NAMES = ["node", "wasm"] as const;
/** One of {@link BACKEND_NAMES}. */
export type BackendName = typeof BACKEND_NAMES[number];

/**
 * Loads a backend by name: "node" (onnxruntime-node, native, the default) or "wasm"
 * (onnxruntime-web). Throws one line, naming `option`, for any other name.
 *
 * @example
 * ```ts
 * import { loadBackend } from "./mod.ts";
 * const backend = await loadBackend("wasm");
 * backend.name; // "wasm"
 * ```
 */
export async function loadBackend(
  name: string = "node",
  option = "backend",
): Promise<OnnxBackend> {
  if (name === "node") return (await import("./onnx-node.ts")).nodeBackend;
  if (name === "wasm") return (await import("./onnx-wasm.ts")).wasmBackend;
  throw new Error(`--${option} must be one of ${BACKEND_NAMES.join(", ")}, got '${name}'`);
}
