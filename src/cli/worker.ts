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
import { integerOption, loadOptions, parseArgs } from "./options.ts";

const WORKER_OPTIONS = {
  queue: { type: "string" },
  model: { type: "string", multiple: true },
  concurrency: { type: "string" },
  "lock-duration": { type: "string" },
  "stalled-interval": { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  provider: { type: "string" },
} as const;

/** Works until SIGINT or SIGTERM. */
export async function workerCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: WORKER_OPTIONS, strict: true });
  if (values.queue === undefined) throw new Error("--queue redis://HOST:PORT is required");
  const url = parseQueueUrl(values.queue);
  const positive = (name: keyof typeof values, fallback: number) => {
    const value = values[name] as string | undefined;
    const number = value === undefined ? fallback : integerOption(name, value);
    if (number < 1) throw new Error(`--${name} must be at least 1, got ${number}`);
    return number;
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
