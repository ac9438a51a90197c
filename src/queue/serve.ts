/**
 * `serve --queue`: the HTTP server's generations run as jobs on the model's queue. The
 * server keeps its own limits (concurrency, queue, timeout → 429/503); a worker runs the same
 * `generate()` and returns the PNGs; a client that hangs up cancels its job.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Queue } from "bullmq";
import type { Condition } from "../condition.ts";
import { generate, type Generation } from "../generate.ts";
import type { Model } from "../model.ts";
import type { StepEvent } from "../sampler.ts";
import type { SettingsInput } from "../settings.ts";
import type { Generator } from "../server/service.ts";
import { PREFIX, type Redis } from "./redis.ts";

/** A server request as a job; `previews` asks for the token state with each step. */
export type ServeJob = Condition & { settings: SettingsInput; previews: boolean };

/** A {@link Generation} as JSON: bytes as base64. */
interface GenerationJson extends Omit<Generation, "images" | "grid" | "gif" | "tokens"> {
  images: string[];
  grid?: string;
  tokens: string;
}

/** A job's step, as progress: the sampler's counts, and the token state for previews. */
type Step = Pick<StepEvent, "step" | "steps" | "known" | "tokens"> & { state?: string };

const base64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
const int32 = (values: Int32Array) =>
  base64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
// Copies into a fresh buffer, so the bytes are aligned for an Int32Array view.
const bytes = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
const fromInt32 = (text: string) => new Int32Array(bytes(text).buffer);

/** Where a server asks a worker to stop a job whose client has gone. */
const cancelKey = (id: string) => `${PREFIX}:cancel:${id}`;

/** Server jobs are kept an hour after they end: their result is read once, at once. */
const KEEP = { age: 3600 };

/**
 * A worker's part of a server job: `generate()` with every step reported, stopped between
 * steps once the server has asked (the client hung up).
 *
 * @example
 * ```ts ignore
 * return runServeJob(model, job.data, client, job.id!, (step) => job.updateProgress(step));
 * ```
 */
export async function runServeJob(
  model: Model,
  data: ServeJob,
  client: Redis,
  id: string,
  onStep: (step: Step) => Promise<unknown>,
): Promise<GenerationJson> {
  const { settings, previews, ...condition } = data;
  const stop = new AbortController();
  const result = await generate({
    model,
    ...condition,
    settings,
    signal: stop.signal,
    onStep: async ({ step, steps, known, tokens, state }) => {
      await onStep({ step, steps, known, tokens, ...(previews ? { state: int32(state) } : {}) });
      if (await client.exists(cancelKey(id))) {
        stop.abort(new Error("the client closed the request"));
      }
    },
  });
  const { images, grid, tokens, gif: _, ...rest } = result;
  return {
    ...rest,
    images: images.map(base64),
    grid: grid && base64(grid),
    tokens: int32(tokens),
  };
}

/**
 * The server's {@link Generator} for `serve --queue`: adds a job to the model's queue and
 * follows it (polling every `pollMs`; steps between two polls arrive as one step event).
 *
 * @example
 * ```ts ignore
 * const service = new GenerationService(models, limits, queueGenerator(redisClient(url, log)));
 * ```
 */
export function queueGenerator(client: Redis, pollMs = 50): Generator {
  const queues = new Map<string, Queue>();
  return async (request, { signal, onStep }) => {
    const { name } = request.model.manifest;
    if (!queues.has(name)) {
      queues.set(name, new Queue(name, { connection: client, prefix: PREFIX }));
    }
    const queue = queues.get(name)!;
    const previews = request.previewEvery > 0;
    const data: ServeJob = { ...request.condition, settings: request.settings, previews };
    const job = await queue.add("serve", data, {
      jobId: `serve-${crypto.randomUUID()}`,
      removeOnComplete: KEEP,
      removeOnFail: KEEP,
    });
    let reported = -1;
    try {
      for (;;) {
        signal.throwIfAborted();
        const state = await job.getState();
        const current = (await queue.getJob(job.id!))!;
        const step = current.progress as Step | number;
        if (typeof step === "object" && step.step > reported && onStep) {
          reported = step.step;
          const state = step.state === undefined ? new Int32Array(0) : fromInt32(step.state);
          await onStep({ ...step, choices: [], state });
        }
        if (state === "completed") return decode(current.returnvalue as GenerationJson);
        if (state === "failed") throw new Error(`worker: ${current.failedReason}`);
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    } catch (error) {
      if (signal.aborted) {
        // Waiting: drop it; running: the worker stops at its next step.
        await job.remove().catch(() => client.set(cancelKey(job.id!), "1", "EX", 3600));
      }
      throw error;
    }
  };
}

function decode(json: GenerationJson): Generation {
  return {
    ...json,
    images: json.images.map(bytes),
    grid: json.grid === undefined ? undefined : bytes(json.grid),
    tokens: fromInt32(json.tokens),
  };
}
