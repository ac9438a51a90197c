/**
 * The command's side of a queued run: put the shards on the model's queue (or find them
 * there again), follow them to the end, and hand back their results in shard order.
 *
 * @module
 */

import { Queue } from "bullmq";
import { countBar } from "../progress.ts";
import type { Shard } from "./jobs.ts";
import { parseQueueUrl, PREFIX, probeRedis, type Redis, redisClient } from "./redis.ts";

/** Options of {@link runShards}. */
export interface RunShardsOptions {
  /** Tries per shard before the command fails (a worker's death counts as one). */
  attempts: number;
  /** Images done over all shards (running shards count their progress so far). */
  onProgress?: (done: number, total: number, shardsDone: number) => void;
  /** How often the shards' states are read (default 500 ms). */
  pollMs?: number;
}

/** Finished jobs stay a week: long enough for a killed command to be re-run and re-attach. */
const KEEP = { age: 7 * 24 * 3600 };

/**
 * Runs shards on the queue named after the model and resolves with their results in order.
 * Shards already finished (an earlier run of the same command) are not redone; ones that had
 * failed are tried again. Rejects naming the shard when one fails `attempts` times.
 *
 * States are polled rather than followed as events: a poll cannot miss a job that finished
 * before it looked, and it survives reconnects without bookkeeping.
 *
 * @example
 * ```ts ignore
 * const results = await runShards(client, "glyphs", shards, { attempts: 3 });
 * ```
 */
export async function runShards<Result>(
  client: Redis,
  queueName: string,
  shards: Shard<unknown>[],
  options: RunShardsOptions,
): Promise<Result[]> {
  const { attempts, onProgress, pollMs = 500 } = options;
  const queue = new Queue(queueName, { connection: client, prefix: PREFIX });
  try {
    // An id already on the queue (a re-run) is left as it is: BullMQ ignores the duplicate.
    await queue.addBulk(shards.map((shard) => ({
      name: shard.name,
      data: shard.data,
      opts: { jobId: shard.id, attempts, removeOnComplete: KEEP, removeOnFail: KEEP },
    })));
    // Shards that failed in an earlier run get their full number of tries again.
    await Promise.all(shards.map(async (shard) => {
      if ((await queue.getJobState(shard.id)) !== "failed") return;
      await (await queue.getJob(shard.id))?.retry("failed", { resetAttemptsMade: true });
    }));
    const total = shards.reduce((sum, shard) => sum + shard.images, 0);
    const results = new Map<string, Result>();
    for (;;) {
      const pending = shards.filter((shard) => !results.has(shard.id));
      const states = await Promise.all(pending.map((shard) => queue.getJobState(shard.id)));
      const running = new Map<string, number>();
      await Promise.all(pending.map(async (shard, i) => {
        if (states[i] === "unknown") {
          throw new Error(`shard ${shard.label} is no longer on the queue; run again`);
        }
        if (!["completed", "failed", "active"].includes(states[i])) return;
        const job = (await queue.getJob(shard.id))!;
        if (states[i] === "completed") {
          results.set(shard.id, job.returnvalue as Result);
        } else if (states[i] === "failed") {
          throw new Error(
            `shard ${shard.label} failed ${job.attemptsMade} time(s): ${job.failedReason}`,
          );
        } else if (typeof job.progress === "number") {
          running.set(shard.id, Math.min(job.progress, shard.images));
        }
      }));
      let done = [...running.values()].reduce((sum, images) => sum + images, 0);
      for (const shard of shards) if (results.has(shard.id)) done += shard.images;
      onProgress?.(Math.floor(done), total, results.size);
      if (results.size === shards.length) return shards.map((shard) => results.get(shard.id)!);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    await queue.close();
  }
}

/**
 * A command's queued run from start to end: checks that Redis answers (one line and exit 1
 * when it does not), runs the shards on the model's queue with a progress bar over all their
 * images, and disconnects.
 *
 * @example
 * ```ts ignore
 * const results = await runOnQueue("redis://127.0.0.1:6379", "glyphs", shards, { attempts: 3 });
 * ```
 */
export async function runOnQueue<Result>(
  queueUrl: string,
  queueName: string,
  shards: Shard<unknown>[],
  options: { attempts: number; quiet?: boolean },
): Promise<Result[]> {
  const url = parseQueueUrl(queueUrl);
  await probeRedis(url);
  const client = redisClient(url, (line) => console.error(line));
  const bar = options.quiet ? undefined : countBar(`queue ${queueName}`, "images");
  try {
    return await runShards<Result>(client, queueName, shards, {
      attempts: options.attempts,
      onProgress: (done, total, finished) =>
        bar?.(done, total, `${finished}/${shards.length} shards`),
    });
  } finally {
    client.disconnect();
  }
}
