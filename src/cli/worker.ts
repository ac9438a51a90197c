/**
 * `deno task worker --queue redis://HOST:PORT`: loads the model folders, then takes their
 * generation and evaluation shards from the queue until SIGINT/SIGTERM, which let the running
 * shards finish and exit 0.
 *
 * @module
 */

import { loadModel, SHIPPED_MODEL_DIRS } from "../model.ts";
import { parseQueueUrl, probeRedis, redisClient } from "../queue/redis.ts";
import { startWorkers } from "../queue/worker.ts";
import {
  integerOption,
  loadOptions,
  type OptionTable,
  parseOptions,
  QUEUE_OPTIONS,
  SAMPLER_OPTIONS,
} from "./options.ts";

const WORKER_OPTIONS = {
  queue: { ...QUEUE_OPTIONS.queue, help: "the Redis to take shards from (required)" },
  model: {
    ...SAMPLER_OPTIONS.model,
    multiple: true,
    help: "model folder; repeat for several (default: models/glyphs and models/emoji)",
  },
  concurrency: { type: "string", arg: "N", help: "shards worked at once (default 1)" },
  "lock-duration": {
    type: "string",
    arg: "MS",
    help: "milliseconds a shard stays locked to this worker between renewals (default 60000)",
  },
  "stalled-interval": {
    type: "string",
    arg: "MS",
    help: "milliseconds between checks for stalled shards (default 30000)",
  },
  backend: SAMPLER_OPTIONS.backend,
  "decoder-backend": SAMPLER_OPTIONS["decoder-backend"],
  threads: SAMPLER_OPTIONS.threads,
  provider: SAMPLER_OPTIONS.provider,
} as const satisfies OptionTable;

/** Works until SIGINT or SIGTERM. */
export async function workerCommand(args: string[]): Promise<void> {
  const values = parseOptions("worker", args, WORKER_OPTIONS);
  if (!values) return;
  if (values.queue === undefined) throw new Error("--queue redis://HOST:PORT is required");
  const url = parseQueueUrl(values.queue);
  const positive = (name: keyof typeof values, fallback: number) => {
    const value = values[name] as string | undefined;
    return value === undefined ? fallback : integerOption(name, value, 1);
  };
  const concurrency = positive("concurrency", 1);
  const lockDuration = positive("lock-duration", 60_000);
  const stalledInterval = positive("stalled-interval", 30_000);
  await probeRedis(url);
  const load = await loadOptions(values);
  const models = [];
  for (const dir of values.model ?? SHIPPED_MODEL_DIRS) models.push(await loadModel(dir, load));
  const log = (line: string) => console.error(line);
  const workers = startWorkers(() => redisClient(url, log), models, {
    concurrency,
    lockDuration,
    stalledInterval,
    load,
    log,
  });
  const names = models.map((model) => model.manifest.name).join(", ");
  log(`worker ${Deno.pid}: taking shards of ${names} from ${url.host} (${concurrency} at a time)`);
  const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped;
  log(`worker ${Deno.pid}: stopping after the running shards`);
  await workers.close();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}
