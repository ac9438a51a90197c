// Generation and evaluation through Redis + BullMQ workers: the same bytes and figures as a
// local run, and nothing lost or made twice when a worker or the command dies.
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { main } from "../main.ts";
import { createApp } from "../routes/app.ts";
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { loadModel } from "../src/model.ts";
import { queueGenerator } from "../src/queue/serve.ts";
import { GenerationService } from "../src/server/service.ts";
import { runShards } from "../src/queue/coordinator.ts";
import { PREFIX } from "../src/queue/redis.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { freePort, hasRedis, startRedis, startWorker, type TestWorker, within } from "./redis.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const STANDIN = `${ROOT}models/tiny-random`;
const ready = await hasRedis("queue tests");
// Shorter lock and stall times than the defaults: a killed worker's shard is taken again within
// 20 s, yet a live worker on a loaded machine (renewing between steps) keeps its lock.
const FAST = ["--lock-duration", "15000", "--stalled-interval", "5000"];
const WORKER = ["--model", STANDIN, "--threads", "1", ...FAST];

/** Runs `main.ts ARGS` as a process (killable, unlike main()); resolves when it exits. */
function command(args: string[]) {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = process.output().then((result) => ({
    code: result.code,
    stdout: new TextDecoder().decode(result.stdout),
    stderr: new TextDecoder().decode(result.stderr),
  }));
  return { process, output };
}

/** main(ARGS) in this process, its stdout and stderr captured. */
async function inProcess(args: string[]) {
  const [log, error] = [console.log, console.error];
  const stdout: string[] = [], stderr: string[] = [];
  console.log = (text: string) => stdout.push(text);
  console.error = (text: string) => stderr.push(text);
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

async function stopAll(workers: TestWorker[]): Promise<void> {
  for (const { process } of workers) {
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
    await process.status;
  }
}

/** A private Redis, `count` workers on it and a client on the stand-in's queue; `stop()` ends all. */
async function standIn(count: number, workerArgs: string[]) {
  const redis = await startRedis();
  const workers = await Promise.all(
    Array.from({ length: count }, () => startWorker(redis.url, workerArgs)),
  );
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue("tiny-random", { connection: client, prefix: PREFIX });
  const stop = async () => {
    await queue.close();
    client.disconnect();
    await stopAll(workers);
    await redis.stop();
  };
  return { url: redis.url, workers, client, queue, stop };
}

async function pngs(folder: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(folder)) {
    if (entry.name.endsWith(".png")) {
      files.set(entry.name, await Deno.readFile(`${folder}/${entry.name}`));
    }
  }
  return files;
}

/** Polls `check` every 100 ms until it gives a value, for at most `ms`. */
function until<T>(ms: number, what: string, check: () => Promise<T | undefined>): Promise<T> {
  return within(
    ms,
    what,
    (async () => {
      for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })(),
  );
}

const GENERATE = [
  "generate",
  ...["--model", STANDIN, "--class", "one,two,three", "--count", "16", "--seed", "5"],
  ...["--threads", "1", "--quiet"],
];

Deno.test({
  name: "queue: 3 workers, 24 shards, one SIGKILLed mid-shard: every image once, local bytes",
  ignore: !ready,
  fn: async () => {
    const { url, workers, queue, stop } = await standIn(3, WORKER);
    const [out, local] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const queued = command([
        ...GENERATE,
        "--out",
        out,
        "--queue",
        url,
        "--shard-size",
        "2",
      ]);
      // Kill worker 0 while it holds a shard (taken is enough: its lock is what must expire).
      const victim = `${Deno.hostname()}-${workers[0].process.pid}`;
      let finished = false;
      queued.output.finally(() => finished = true);
      const killed = await until(180_000, "worker 0 to hold a shard", async () => {
        if (finished) throw new Error("the run ended before worker 0 was seen holding a shard");
        const active = await queue.getActive();
        return active.find((job) => job.processedBy === victim)?.id;
      });
      workers[0].process.kill("SIGKILL");
      const { code, stdout, stderr } = await within(300_000, "the queued run", queued.output);
      assertEquals(code, 0, stderr);
      assertEquals(stdout.trim().split("\n").length, 48);

      const shard = (await queue.getJob(killed!))!;
      assertEquals(await shard.getState(), "completed");
      assert(shard.processedBy !== victim, `${killed} was finished by a survivor`);

      assertEquals((await inProcess([...GENERATE, "--out", local])).code, 0);
      const [made, expected] = [await pngs(out), await pngs(local)];
      expected.delete([...expected.keys()].find((name) => name.endsWith("-grid.png"))!);
      assertEquals([...made.keys()].sort(), [...expected.keys()].sort());
      for (const [name, bytes] of expected) assertEquals(made.get(name), bytes, name);
      assertEquals([...Deno.readDirSync(out)].length, 48, "no temporaries left behind");

      // SIGTERM lets a worker finish what it holds and exit 0.
      for (const worker of workers.slice(1)) worker.process.kill("SIGTERM");
      for (const worker of workers.slice(1)) {
        assertEquals((await within(60_000, "a worker to stop", worker.process.status)).code, 0);
      }
    } finally {
      await stop();
      await Deno.remove(out, { recursive: true });
      await Deno.remove(local, { recursive: true });
    }
  },
});

Deno.test({
  name: "queue: a killed command re-run re-attaches and no finished shard is made again",
  ignore: !ready,
  fn: async () => {
    // The default lock: with no worker killed here, a short one would only risk a busy
    // machine's shard being taken for stalled and made twice.
    const { url, workers, queue, stop } = await standIn(1, ["--model", STANDIN, "--threads", "1"]);
    const out = await Deno.makeTempDir();
    const args = [...GENERATE, "--out", out, "--queue", url, "--shard-size", "4"];
    try {
      const first = command(args);
      await until(
        120_000,
        "2 finished shards",
        async () => (await queue.getCompletedCount()) >= 2 ? true : undefined,
      );
      first.process.kill("SIGKILL");
      await within(30_000, "the killed command to exit", first.output);
      const again = await within(240_000, "the re-run", command(args).output);
      assertEquals(again.code, 0, again.stderr);
      assertEquals((await pngs(out)).size, 48);
      workers[0].process.kill("SIGTERM");
      const log = await within(60_000, "the worker to stop", workers[0].log());
      const made = log.match(/^generate-\S+: \d+ image/gm)!;
      assertEquals(made.length, 12, "each of the 12 shards made once");
    } finally {
      await stop();
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "queue: a shard failing `attempts` times fails the run, naming the shard",
  ignore: !ready,
  fn: async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const workerClient = client.duplicate();
    const tries = new Map<string, number>();
    const worker = new Worker("toy", (job) => {
      tries.set(job.id!, (tries.get(job.id!) ?? 0) + 1);
      if (job.id === "bad") throw new Error("disk full");
      return Promise.resolve({ images: 1 });
    }, { connection: workerClient, prefix: PREFIX });
    const shard = (id: string) => ({
      id,
      name: "generate" as const,
      data: {},
      images: 1,
      label: id,
    });
    try {
      await assertRejects(
        () => runShards(client, "toy", [shard("good"), shard("bad")], { attempts: 2, pollMs: 50 }),
        /shard bad failed 2 time\(s\): disk full/,
      );
      assertEquals(Object.fromEntries(tries), { good: 1, bad: 2 });
      // A re-run gives the failed shard its tries again and leaves the finished one alone.
      await assertRejects(
        () => runShards(client, "toy", [shard("good"), shard("bad")], { attempts: 2, pollMs: 50 }),
        /shard bad failed/,
      );
      assertEquals(Object.fromEntries(tries), { good: 1, bad: 4 });
    } finally {
      await worker.close();
      workerClient.disconnect();
      client.disconnect();
      await redis.stop();
    }
  },
});

Deno.test("queue: Redis unreachable or a bad URL: one line, exit 1, for the command and a worker", async () => {
  const url = `redis://127.0.0.1:${freePort()}`;
  for (
    const args of [
      [...GENERATE, "--out", "/tmp", "--queue", url],
      ["worker", "--queue", url, "--model", STANDIN],
    ]
  ) {
    const { code, stderr } = await within(30_000, args[0], inProcess(args));
    assertEquals(code, 1);
    assertEquals(stderr.length, 1);
    assert(stderr[0].startsWith(`error: cannot reach Redis at ${url}: `), stderr[0]);
  }
  const bad = await inProcess([...GENERATE, "--queue", "http://example.com"]);
  assertEquals([bad.code, bad.stderr], [1, [
    "error: --queue must be a redis:// URL, got 'http://example.com'",
  ]]);
  const stray = await inProcess([...GENERATE, "--shard-size", "4"]);
  assertEquals([stray.code, stray.stderr], [1, [
    "error: --shard-size and --attempts go with --queue",
  ]]);
});

Deno.test({
  name: "queue: eval --queue gives the local run's figures, class and text model alike",
  ignore: !ready,
  fn: async () => {
    const redis = await startRedis();
    // The default models: glyphs (classes) and emoji (prompts, through the evaluator's condition).
    const workers = [await startWorker(redis.url, ["--threads", "1"])];
    // Shards against batches of another size: the batches differ from the local run's, the
    // images not.
    const runs = [
      [["--steps", "4", "--samples", "23", "--batch", "8", "--seed", "11"], "5"],
      [["--model", `${ROOT}models/emoji`, "--steps", "2", "--samples", "7", "--batch", "4"], "3"],
    ] as const;
    try {
      for (const [settings, shardSize] of runs) {
        const args = ["eval", ...settings, "--json", "--threads", "1"];
        const local = await within(240_000, "eval", inProcess(args));
        assertEquals(local.code, 0, local.stderr.join("\n"));
        const queued = await within(
          240_000,
          "eval --queue",
          inProcess([...args, "--queue", redis.url, "--shard-size", shardSize]),
        );
        assertEquals(queued.code, 0, queued.stderr.join("\n"));
        const [a, b] = [JSON.parse(local.stdout[0]), JSON.parse(queued.stdout[0])];
        // Every figure; the classifier reads a shard at a time there and all at once here, so
        // allow the last bits of its features to differ (and the IS sums' order).
        for (
          const key of ["accuracy", "top5", "frechet", "precision", "recall", "inceptionScore"]
        ) {
          assert(
            Math.abs(a[key] - b[key]) <= 1e-9 * Math.abs(a[key]),
            `${settings[0]} ${key}: ${a[key]} vs ${b[key]}`,
          );
          delete a[key], delete b[key];
        }
        // The rest (settings, samples, the real images' references) exactly.
        for (const report of [a, b]) delete report.seconds;
        assertEquals(b, a);
      }
    } finally {
      await stopAll(workers);
      await redis.stop();
    }
  },
});

Deno.test({
  name: "queue: serve --queue answers with the in-process bytes, streams, and 429s past its queue",
  ignore: !ready,
  fn: async () => {
    const { client, stop } = await standIn(1, ["--model", STANDIN, "--threads", "1"]);
    const model = await loadModel(STANDIN, { backend: nodeBackend, threads: 1 });
    const limits = { concurrency: 1, queueSize: 1 };
    const local = createApp(new GenerationService([model], limits));
    const queued = createApp(new GenerationService([model], limits, queueGenerator(client)));
    const post = (app: typeof local, body: unknown, path = "/v1/generate") =>
      app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const bytes = async (response: Response) => new Uint8Array(await response.arrayBuffer());
    try {
      const body = { class: "seven", seed: 9, count: 2 };
      const [a, b] = [await post(local, body), await post(queued, body)];
      assertEquals([a.status, b.status], [200, 200]);
      assertEquals(await bytes(b), await bytes(a));

      const stream =
        await (await post(queued, { class: 2, preview_every: 4 }, "/v1/generate/stream"))
          .text();
      assert(/event: step/.test(stream) && /"preview":"/.test(stream), stream.slice(0, 300));
      assert(/event: done/.test(stream), stream.slice(-300));

      // One running, one waiting, the third turned away at once.
      const three = [0, 1, 2].map(() => post(queued, { class: 1, steps: 64 }));
      const statuses = (await within(120_000, "3 requests", Promise.all(three))).map((r) =>
        r.status
      );
      assertEquals(statuses.sort(), [200, 200, 429]);
    } finally {
      await stop();
    }
  },
});

Deno.test({
  name: "queue: serve --queue drops a waiting job and stops a running one when its client hangs up",
  ignore: !ready,
  fn: async () => {
    const { client, queue, stop } = await standIn(1, ["--model", STANDIN, "--threads", "1"]);
    const model = await loadModel(STANDIN, { backend: nodeBackend, threads: 1 });
    // Two requests in flight for the server, one worker: one job runs, the other waits.
    const service = new GenerationService([model], { concurrency: 2 }, queueGenerator(client));
    const app = createApp(service);
    const post = async (body: unknown, signal: AbortSignal) =>
      await app.request("/v1/generate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
      });
    try {
      const [first, second] = [new AbortController(), new AbortController()];
      const long = { class: "one", steps: 256, count: 4 };
      const answers = [post(long, first.signal), post(long, second.signal)].map((answer) =>
        answer.catch(() => null)
      );
      const [running, waiting] = await until(60_000, "one job running, one waiting", async () => {
        const active = await queue.getJobs(["active"]);
        const step = (active[0]?.progress as { step?: number } | undefined)?.step ?? 0;
        const waiting = await queue.getJobs(["waiting"]);
        return active.length === 1 && step >= 1 && waiting.length === 1
          ? [active[0], waiting[0]]
          : undefined;
      });
      // Both clients hang up. The job behind has not started: it leaves the queue. The running
      // one stops at its next step: it fails with the reason, far short of its 256 steps.
      const waitingId = waiting.id!;
      assert(waitingId !== running.id);
      second.abort();
      first.abort();
      await until(
        30_000,
        "the waiting job removed",
        async () => (await queue.getJob(waitingId)) === undefined ? true : undefined,
      );
      const stopped = await until(60_000, "the running job stopped", async () => {
        const job = await queue.getJob(running.id!);
        return job && await job.getState() === "failed" ? job : undefined;
      });
      assert(/closed the request/.test(stopped.failedReason), stopped.failedReason);
      assert((stopped.progress as { step: number }).step < 256, JSON.stringify(stopped.progress));
      await Promise.all(answers);
      assertEquals(service.limiter.inFlight, 0);
      // The worker is free again for the next client.
      const next = await within(
        60_000,
        "a request after the hang-ups",
        post({ class: "two", steps: 4 }, new AbortController().signal),
      );
      assertEquals(next.status, 200);
    } finally {
      await stop();
    }
  },
});
