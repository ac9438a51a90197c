/**
 * Redis connections for the job queue (BullMQ): a start-up probe that fails fast with one
 * line, then clients that ride out lost connections with backoff.
 *
 * BullMQ runs under Deno when it is handed an ioredis client built here (its own client
 * factory does not); blocking commands need `maxRetriesPerRequest: null`.
 *
 * @module
 */

import { Redis } from "ioredis";

export type { Redis };

/** The key prefix of every queue this project makes (`maskgit:<model>:…` in Redis). */
export const PREFIX = "maskgit";

/** The URL without its password, for messages. */
function shown(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = "***";
  return copy.href.replace(/\/$/, "");
}

/**
 * Checks a `--queue` value: a `redis://` or `rediss://` URL. Throws one clear line.
 *
 * @example
 * ```ts
 * import { parseQueueUrl } from "./redis.ts";
 * parseQueueUrl("redis://127.0.0.1:6379").port; // "6379"
 * ```
 */
export function parseQueueUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--queue must be a redis:// URL, got '${value}'`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(`--queue must be a redis:// URL, got '${value}'`);
  }
  return url;
}

/**
 * Connects to Redis once, without retrying, and resolves when it answers PING; otherwise
 * throws `cannot reach Redis at URL: reason` (so a wrong address is one line, not a loop).
 *
 * @example
 * ```ts
 * import { parseQueueUrl, probeRedis } from "./redis.ts";
 * // await probeRedis(parseQueueUrl("redis://127.0.0.1:6379")); resolves where Redis runs.
 * await probeRedis(parseQueueUrl("redis://127.0.0.1:1")).catch((error) => error.message);
 * // "cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1"
 * ```
 */
export async function probeRedis(url: URL, timeoutMs = 5000): Promise<void> {
  const probe = new Redis(url.href, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The socket's error (ECONNREFUSED …) says more than connect()'s "Connection is closed".
  let cause: string | undefined;
  probe.on("error", (error: Error) => cause ??= error.message);
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new Error(`cannot reach Redis at ${shown(url)}: ${cause ?? (error as Error).message}`);
  } finally {
    probe.disconnect();
  }
}

/**
 * A client for BullMQ that reconnects with exponential backoff (0.2 s doubling to 5 s) and
 * logs each loss once per retry, so a Redis restart is a few log lines, never a crash.
 *
 * @example
 * ```ts ignore
 * const client = redisClient(parseQueueUrl("redis://127.0.0.1:6379"), console.error);
 * ```
 */
export function redisClient(url: URL, log: (line: string) => void): Redis {
  const client = new Redis(url.href, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => {
      const ms = Math.min(200 * 2 ** (times - 1), 5000);
      log(`redis: connection to ${shown(url)} lost, retrying in ${ms} ms (attempt ${times})`);
      return ms;
    },
  });
  // Errors come with each failed reconnect, which retryStrategy already logs.
  client.on("error", () => {});
  return client;
}
