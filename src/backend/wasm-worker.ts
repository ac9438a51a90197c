/**
 * The Web Worker that hosts the WASM backend's sessions (`onnx-worker.ts` talks to it), so
 * that a forward pass — tens of milliseconds to seconds of WASM — never holds the caller's
 * event loop: a server keeps answering `/health`, refusing with 429 and noticing hang-ups.
 *
 * Messages in: `create` (model bytes and options), `run` (a session's feeds), `release`.
 * Messages out: `{ id, result }` or `{ id, error }` (one line).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import * as ort from "onnxruntime-web";
import { webBackend } from "./onnx-web.ts";
import type { WireRequest, WireTensor } from "./onnx-worker.ts";

const backend = webBackend(ort);
const sessions = new Map<number, ort.InferenceSession>();
let nextKey = 0;

function toWire(tensor: ort.Tensor): WireTensor {
  return { type: tensor.type, data: tensor.data as WireTensor["data"], dims: tensor.dims };
}

/**
 * The output arrays' memory that can be handed over rather than copied: each array's own
 * buffer, never a view into a larger (or shared) one such as the WASM heap.
 */
function owned(outputs: unknown): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const { data } of Object.values(outputs as Record<string, WireTensor>)) {
    const buffer = data.buffer;
    if (buffer instanceof ArrayBuffer && data.byteLength === buffer.byteLength) buffers.add(buffer);
  }
  return [...buffers];
}

async function handle(request: WireRequest): Promise<unknown> {
  switch (request.op) {
    case "create": {
      const session = await backend.createSession(request.model, request.options);
      const key = nextKey++;
      sessions.set(key, session as ort.InferenceSession);
      const { inputNames, outputNames, inputMetadata, outputMetadata } = session;
      return { key, inputNames, outputNames, inputMetadata, outputMetadata };
    }
    case "run": {
      const feeds = Object.fromEntries(
        Object.entries(request.feeds).map((
          [name, t],
        ) => [name, new ort.Tensor(t.type as "float32", t.data as Float32Array, t.dims)]),
      );
      const outputs = await sessions.get(request.key)!.run(feeds);
      return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, toWire(t)]));
    }
    case "release":
      await sessions.get(request.key)?.release();
      sessions.delete(request.key);
      return null;
  }
}

self.onmessage = async ({ data }: MessageEvent<WireRequest>) => {
  try {
    const result = await handle(data);
    self.postMessage({ id: data.id, result }, { transfer: data.op === "run" ? owned(result) : [] });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    self.postMessage({ id: data.id, error: message.split("\n")[0] });
  }
};
