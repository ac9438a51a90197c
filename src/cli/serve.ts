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
import {
  integerOption,
  loadOptions,
  type OptionTable,
  parseOptions,
  SAMPLER_OPTIONS,
} from "./options.ts";

const SERVE_OPTIONS = {
  port: { type: "string", arg: "N", help: "port, 0 to 65535 (default 8787; 0: any free one)" },
  host: { type: "string", arg: "ADDR", help: "address to listen on (default 127.0.0.1)" },
  model: {
    ...SAMPLER_OPTIONS.model,
    multiple: true,
    help: "model folder; repeat to serve several (default: models/glyphs and models/emoji)",
  },
  concurrency: { type: "string", arg: "N", help: "generations at once (default: one per core)" },
  queue: {
    type: "string",
    arg: "redis://H:P",
    help: "generate on workers (deno task worker); a number N is read as --queue-size N",
  },
  "queue-size": {
    type: "string",
    arg: "N",
    help: "requests waiting before 429 (default 4 × concurrency)",
  },
  timeout: { type: "string", arg: "S", help: "seconds a request may take (default 120)" },
  "max-count": { type: "string", arg: "N", help: "most images per request (default 16)" },
  "api-key": {
    type: "string",
    arg: "KEY",
    help: "require 'Authorization: Bearer KEY' on /v1/* and /metrics (or MASKGIT_API_KEY)",
  },
  backend: SAMPLER_OPTIONS.backend,
  "decoder-backend": SAMPLER_OPTIONS["decoder-backend"],
  threads: SAMPLER_OPTIONS.threads,
  provider: SAMPLER_OPTIONS.provider,
} as const satisfies OptionTable;

/** Addresses only this machine can reach. */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Serves until SIGINT or SIGTERM. */
export async function serveCommand(args: string[]): Promise<void> {
  const values = parseOptions("serve", args, SERVE_OPTIONS);
  if (!values) return;
  const optional = (name: keyof typeof values, min: number, max?: number) => {
    const value = values[name] as string | undefined;
    return value === undefined ? undefined : integerOption(name, value, min, max);
  };
  const port = optional("port", 0, 65535) ?? 8787;
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
  const apiKey = values["api-key"] ?? Deno.env.get("MASKGIT_API_KEY");
  const app = createApp(service, { apiKey });
  const hostname = values.host ?? "127.0.0.1";
  if (apiKey === undefined && !LOOPBACK.test(hostname)) {
    console.error(
      `warning: listening on ${hostname} without --api-key: anyone who reaches this port ` +
        "can run generations on this machine",
    );
  }
  const server = Deno.serve({
    port,
    hostname,
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
