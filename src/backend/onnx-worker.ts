/**
 * onnxruntime-web sessions hosted in a Web Worker (`wasm-worker.ts`): the caller's thread only
 * posts feeds and receives outputs, so a long forward pass leaves its event loop free. The
 * worker runs the same onnxruntime-web build as the in-thread backend: same numbers, same bytes.
 *
 * @module
 */

import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";
import type { OnnxBackend, OrtRuntime, Session, SessionOptions } from "./onnx.ts";

/** A tensor as it crosses to and from the worker. */
export interface WireTensor {
  type: OrtTensor.Type;
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  dims: readonly number[];
}

/** What the worker is asked to do. */
export type WireAsk =
  | {
    op: "create";
    model: Uint8Array;
    options: SessionOptions & { externalData?: { path: string; data: Uint8Array }[] };
  }
  | { op: "run"; key: number; feeds: Record<string, WireTensor> }
  | { op: "release"; key: number };

/** A request as posted: the ask and the id its answer carries. */
export type WireRequest = WireAsk & { id: number };

interface Created {
  key: number;
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: readonly InferenceSession.ValueMetadata[];
  outputMetadata: readonly InferenceSession.ValueMetadata[];
}

/** One worker and the requests it has not answered yet. */
class WorkerHost {
  #worker: Worker;
  #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #nextId = 0;

  constructor(url: URL) {
    this.#worker = new Worker(url, { type: "module" });
    this.#worker.onmessage = (
      { data }: MessageEvent<{ id: number; result?: unknown; error?: string }>,
    ) => {
      const pending = this.#pending.get(data.id)!;
      this.#pending.delete(data.id);
      if (data.error !== undefined) pending.reject(new Error(data.error));
      else pending.resolve(data.result);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      const error = new Error(`the WASM worker failed: ${event.message}`);
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
  }

  /** Ends the worker; what it had not answered fails. */
  terminate() {
    this.#worker.terminate();
    const error = new Error("the WASM backend was closed");
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  ask<T>(request: WireAsk): Promise<T> {
    const id = this.#nextId++;
    const answer = new Promise<T>((resolve, reject) =>
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
    );
    this.#worker.postMessage({ ...request, id });
    return answer;
  }
}

/**
 * A backend whose one-thread sessions live in a worker running `workerUrl` (`wasm-worker.ts`);
 * sessions of more threads open on `inThread`. onnxruntime-web's own thread pool inside our
 * worker hung on a graph with external weights (seen here), and one thread is what an isolate
 * has (edge.ts's default). `runtime` builds the tensors handed back, as `inThread`'s would be.
 *
 * @example
 * ```ts ignore
 * import * as ort from "onnxruntime-web";
 * const url = new URL("./wasm-worker.ts", import.meta.url);
 * const backend = workerBackend(ort, url, webBackend(ort));
 * const session = await backend.createSession(bytes, { threads: 1 });
 * ```
 */
export function workerBackend(
  runtime: OrtRuntime,
  workerUrl: URL,
  inThread: OnnxBackend,
): OnnxBackend {
  let host: WorkerHost | undefined;
  return {
    name: "wasm",
    runtime,
    async createSession(model, options) {
      if (options.threads !== 1) return inThread.createSession(model, options);
      if (typeof model === "string") throw new Error("the wasm backend opens model bytes");
      host ??= new WorkerHost(workerUrl);
      const worker = host;
      // Only what a session needs crosses over (callers may pass more, e.g. their backend).
      const { threads, provider, externalData } = options;
      const created = await worker.ask<Created>({
        op: "create",
        model,
        options: { threads, provider, externalData },
      });
      const session: Session = {
        inputNames: created.inputNames,
        outputNames: created.outputNames,
        inputMetadata: created.inputMetadata,
        outputMetadata: created.outputMetadata,
        async run(feeds) {
          const wire = Object.fromEntries(
            Object.entries(feeds).map((
              [name, t],
            ) => [name, { type: t.type, data: t.data, dims: t.dims } as WireTensor]),
          );
          const outputs = await worker.ask<Record<string, WireTensor>>({
            op: "run",
            key: created.key,
            feeds: wire,
          });
          return Object.fromEntries(
            Object.entries(outputs).map((
              [name, t],
            ) => [name, new runtime.Tensor(t.type as "float32", t.data as Float32Array, t.dims)]),
          );
        },
        release: () => worker.ask<void>({ op: "release", key: created.key }),
      };
      return session;
    },
    close() {
      host?.terminate();
      host = undefined;
    },
  };
}
