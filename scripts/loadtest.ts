/**
 * `deno task loadtest`: starts `main.ts serve` on 127.0.0.1, sends it ten times the
 * requests it can hold (running + queued) with autocannon, and checks that every answer is
 * 200, 429 or 503, that its memory stays bounded, that it still answers afterwards, and that
 * SIGTERM stops it with exit code 0. Bounded in requests and in time; loopback only.
 *
 * @example
 * ```sh
 * deno task loadtest --model models/glyphs --requests 400 --json
 * ```
 *
 * @module
 */

import autocannon from "autocannon";
import { parseArgs } from "node:util";
import { spawnServer } from "./spawn_server.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/glyphs" },
    concurrency: { type: "string", default: "2" },
    queue: { type: "string", default: "8" },
    requests: { type: "string", default: "500" },
    seconds: { type: "string", default: "60" },
    steps: { type: "string", default: "8" },
    "rss-limit-mb": { type: "string", default: "512" },
    json: { type: "boolean", default: false },
  },
  strict: true,
});

const number = (name: keyof typeof values) => {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`error: --${name} must be a positive integer, got '${values[name]}'`);
    Deno.exit(1);
  }
  return value;
};
const concurrency = number("concurrency");
const queue = Number(values.queue);
const capacity = concurrency + queue;
const ROOT = new URL("..", import.meta.url).pathname;

const server = await spawnServer(
  ["run", "--allow-read", "--allow-net", "--allow-ffi", "--allow-env", "--allow-sys", "main.ts"]
    .concat(["serve", "--host", "127.0.0.1", "--port", "0", "--model", values.model!])
    .concat(["--concurrency", String(concurrency), "--queue", String(queue)]),
  ROOT,
).catch((error) => {
  console.error(`error: ${error.message}`);
  Deno.exit(1);
});
const base = server.url;

const body = JSON.stringify({ class: 1, steps: number("steps") });
const generateOnce = () =>
  fetch(`${base}v1/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  }).then(async (response) => (await response.arrayBuffer(), response.status));

/** The server's resident memory, as its own /metrics reports it (what an operator sees). */
async function rssBytes(): Promise<number> {
  const text = await fetch(`${base}metrics`).then((r) => r.text(), () => "");
  return Number(text.match(/^process_resident_memory_bytes (\d+)$/m)?.[1] ?? 0);
}

// Warm up (first runs allocate ONNX Runtime's arenas), then take the baseline.
for (let i = 0; i < 3; i++) await generateOnce();
const baseline = await rssBytes();
let peak = baseline;
let loading = true;
const sampling = (async () => {
  while (loading) {
    peak = Math.max(peak, await rssBytes());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
})();

const requests = number("requests");
const connections = Math.min(10 * capacity, requests);
// deno-lint-ignore no-explicit-any
const result: any = await new Promise((resolve, reject) => {
  const instance = autocannon({
    url: `${base}v1/generate`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    amount: requests,
    timeout: number("seconds"),
    // deno-lint-ignore no-explicit-any
  }, (error: Error | null, result: any) => error ? reject(error) : resolve(result));
  // autocannon's amount overrides its duration: bound the time here.
  const timer = setTimeout(() => instance.stop(), number("seconds") * 1000);
  instance.on("done", () => clearTimeout(timer));
});
loading = false;
await sampling;
peak = Math.max(peak, await rssBytes());

const health = await fetch(`${base}health`).then((r) => r.status, () => 0);
const after = await generateOnce().catch(() => 0);
server.process.kill("SIGTERM");
const { code } = await server.process.status;
await server.log();

const statuses: Record<string, number> = Object.fromEntries(
  Object.entries(result.statusCodeStats as Record<string, { count: number }>).map((
    [status, { count }],
  ) => [status, count]),
);
const report = {
  model: values.model,
  capacity: { concurrency, queue },
  connections,
  requests: result.requests.total as number,
  statuses,
  socketErrors: result.errors as number,
  timeouts: result.timeouts as number,
  latencyMs: { p50: result.latency.p50 as number, p99: result.latency.p99 as number },
  okPerSecond: (statuses["200"] ?? 0) / (result.duration as number),
  seconds: result.duration as number,
  rssMiB: { baseline: baseline / 2 ** 20, peak: peak / 2 ** 20 },
  afterwards: { health, generate: after },
  exitCode: code,
};

const problems: string[] = [];
for (const status of Object.keys(statuses)) {
  if (!["200", "429", "503"].includes(status)) {
    problems.push(`${statuses[status]} answers with status ${status}`);
  }
}
if (report.socketErrors > 0) problems.push(`${report.socketErrors} requests got no answer`);
if (peak - baseline > number("rss-limit-mb") * 2 ** 20) {
  problems.push(`memory grew by ${((peak - baseline) / 2 ** 20).toFixed(0)} MiB`);
}
if (health !== 200 || after !== 200) {
  problems.push(`afterwards: /health ${health}, generate ${after}`);
}
if (code !== 0) problems.push(`SIGTERM exit code ${code}`);

if (values.json) {
  console.log(JSON.stringify({ ...report, problems }, null, 2));
} else {
  const mix = Object.entries(statuses).map(([s, n]) => `${s}: ${n}`).join(", ");
  console.log(
    `${report.requests} requests over ${connections} connections in ${
      report.seconds.toFixed(1)
    } s ` +
      `(capacity ${concurrency} running + ${queue} queued)\n` +
      `statuses: ${mix}; socket errors: ${report.socketErrors}\n` +
      `latency p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms; ` +
      `${report.okPerSecond.toFixed(1)} images/s\n` +
      `RSS ${report.rssMiB.baseline.toFixed(0)} MiB before, ${
        report.rssMiB.peak.toFixed(0)
      } MiB peak\n` +
      `afterwards: /health ${health}, generate ${after}; SIGTERM exit code ${code}\n` +
      (problems.length ? `FAILED: ${problems.join("; ")}` : "ok"),
  );
}
Deno.exit(problems.length ? 1 : 0);
