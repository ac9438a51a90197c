/**
 * `deno task serve`: loads the model folders, then serves the Hono app with `Deno.serve`.
 * SIGINT/SIGTERM stop new connections, let running generations finish, and exit 0.
 *
 * @module
 */

import { createApp } from "../../routes/app.ts";
import { loadModel, SHIPPED_MODEL_DIRS } from "../model.ts";
import { parseQueueUrl, probeRedis, redisClient } from "../queue/redis.ts";
import { queueGenerator } from "../queue/serve.ts";
import { GenerationService } from "../server/service.ts";
import { integerOption, loadOptions, parseArgs } from "./options.ts";

const SERVE_OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  model: { type: "string", multiple: true },
  concurrency: { type: "string" },
  queue: { type: "string" },
  "queue-size": { type: "string" },
  timeout: { type: "string" },
  "max-count": { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  provider: { type: "string" },
} as const;

/** Serves until SIGINT or SIGTERM. */
export async function serveCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: SERVE_OPTIONS, strict: true });
  const optional = (name: keyof typeof values, min: number) => {
    const value = values[name] as string | undefined;
    if (value === undefined) return undefined;
    const number = integerOption(name, value);
    if (number < min) throw new Error(`--${name} must be at least ${min}, got ${number}`);
    return number;
  };
  const port = optional("port", 0) ?? 8787;
  if (port > 65535) throw new Error(`--port must be from 0 to 65535, got ${port}`);
  const timeout = optional("timeout", 1);
  // `--queue redis://…` sends the generations to workers; `--queue N`, the older spelling of
  // `--queue-size N`, still sets how many may wait.
  const redis = /^rediss?:/i.test(values.queue ?? "") ? parseQueueUrl(values.queue!) : undefined;
  if (redis) await probeRedis(redis);
  const queueSize = optional(redis || values.queue === undefined ? "queue-size" : "queue", 0);
  const load = await loadOptions(values);
  const models = [];
  for (const dir of values.model ?? SHIPPED_MODEL_DIRS) models.push(await loadModel(dir, load));
  const service = new GenerationService(models, {
    concurrency: optional("concurrency", 1),
    queueSize,
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    maxCount: optional("max-count", 1),
  }, redis && queueGenerator(redisClient(redis, (line) => console.error(line))));
  const app = createApp(service);
  const server = Deno.serve({
    port,
    hostname: values.host ?? "127.0.0.1",
    onListen: ({ hostname, port }) => {
      const names = [...service.models.keys()].join(", ");
      console.error(
        `listening on http://${hostname}:${port}/ (models: ${names}; ` +
          `${service.limiter.concurrency} at a time, ${service.limiter.queueSize} queued` +
          `${redis ? `, run by the workers of ${redis.host}` : ""})`,
      );
    },
  }, app.fetch);
  const stop = () => {
    if (service.draining) return;
    service.draining = true;
    const running = service.limiter.inFlight + service.limiter.queued;
    console.error(`shutting down: finishing ${running} generation(s)`);
    server.shutdown();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}
