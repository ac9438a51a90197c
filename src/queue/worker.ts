/**
 * The worker's side: one BullMQ worker per loaded model, taking that model's shards.
 *
 * @module
 */

import { type Job, Worker } from "bullmq";
import { type Evaluator, loadEvaluator } from "../eval/evaluator.ts";
import type { LoadOptions, Model } from "../model.ts";
import { type EvalJob, type GenerateJob, runEvalJob, runGenerateJob } from "./jobs.ts";
import { PREFIX, type Redis } from "./redis.ts";
import { runServeJob, type ServeJob } from "./serve.ts";

/** Options of {@link startWorkers}. */
export interface WorkerOptions {
  /** Shards run at once per model. */
  concurrency: number;
  /** Milliseconds a shard's lock lasts unless renewed: a dead worker's shard waits this long. */
  lockDuration: number;
  /** Milliseconds between checks for shards whose worker died. */
  stalledInterval: number;
  /** How evaluators (classifiers) are loaded, on the first eval shard of a model. */
  load: LoadOptions;
  log: (line: string) => void;
}

/** Running workers; `close()` lets the running shards finish, then stops. */
export interface Workers {
  close(): Promise<void>;
}

/** Progress goes to Redis at most this often: a step is milliseconds on small models. */
const PROGRESS_MS = 250;

/**
 * Reports a shard's progress and renews its lock between steps as well: forward passes hold
 * the event loop, so BullMQ's renewal timer can fire too late on a loaded machine (seen here:
 * "could not renew lock", the shard taken for stalled and made again until it failed).
 */
function reporter(job: Job, token: string | undefined, lockDuration: number) {
  let last = 0, renewed = performance.now();
  return (images: number) => {
    const now = performance.now();
    if (token && now - renewed > lockDuration / 4) {
      renewed = now;
      job.extendLock(token, lockDuration).catch(() => {});
    }
    if (now - last < PROGRESS_MS) return;
    last = now;
    // Progress is advisory: a lost update must not fail the shard.
    job.updateProgress(images).catch(() => {});
  };
}

/**
 * Starts taking shards of each model from the queue named after it.
 *
 * @example
 * ```ts ignore
 * const workers = startWorkers(() => redisClient(url, console.error), [model], {
 *   concurrency: 1, lockDuration: 60_000, stalledInterval: 30_000, load, log: console.error,
 * });
 * await workers.close();
 * ```
 */
export function startWorkers(
  connect: () => Redis,
  models: readonly Model[],
  options: WorkerOptions,
): Workers {
  const { concurrency, lockDuration, stalledInterval, load, log } = options;
  const clients: Redis[] = [];
  const running = new Set<Promise<unknown>>();
  const workers = models.map((model) => {
    const { name } = model.manifest;
    let evaluator: Promise<Evaluator> | undefined;
    const client = clients[clients.push(connect()) - 1];
    const process = async (job: Job, token?: string) => {
      const progress = reporter(job, token, lockDuration);
      if (job.name === "generate") {
        const result = await runGenerateJob(model, job.data as GenerateJob, progress);
        log(`${job.id}: ${result.images} image(s) in ${result.seconds.toFixed(1)} s`);
        return result;
      }
      if (job.name === "eval") {
        evaluator ??= loadEvaluator(model, load);
        return runEvalJob(model, await evaluator, job.data as EvalJob, progress);
      }
      if (job.name === "serve") {
        // Every step goes out: the server streams them to its client.
        return runServeJob(
          model,
          job.data as ServeJob,
          client,
          job.id!,
          (s) => job.updateProgress(s),
        );
      }
      throw new Error(`unknown job kind '${job.name}'`);
    };
    const worker = new Worker(name, (job: Job, token?: string) => {
      const work = process(job, token);
      running.add(work);
      return work.finally(() => running.delete(work));
    }, {
      connection: client,
      prefix: PREFIX,
      // Names the worker in Redis (CLIENT LIST, a job's processedBy): which machine had a shard.
      name: `${Deno.hostname()}-${Deno.pid}`,
      concurrency,
      lockDuration,
      stalledInterval,
      // A shard whose worker died is retried; `attempts` (set by the command) bounds the rest.
      maxStalledCount: 3,
    });
    worker.on("failed", (job, error) => log(`${job?.id}: failed: ${error.message}`));
    // While Redis is away the same error repeats every retry: log each new one once.
    let last = "";
    worker.on("error", (error) => {
      if (error.message !== last) log(`worker: ${error.message}`);
      last = error.message;
    });
    return worker;
  });
  return {
    close: async () => {
      const closed = Promise.all(workers.map((worker) => worker.close()));
      await Promise.allSettled(running);
      // With Redis away, close() waits for it forever: the shards in hand are done, so give
      // it a few seconds to hand their results back, then go (unfinished shards are retried).
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise((resolve) => timer = setTimeout(resolve, 10_000))]);
      clearTimeout(timer);
      // BullMQ leaves connections it was handed open.
      for (const client of clients) client.disconnect();
    },
  };
}
