/**
 * A private `redis-server` for the queue tests, on a free 127.0.0.1 port, and worker
 * processes around it. Without redis-server the tests skip on a dev machine and say why;
 * under `CI=true` they run and fail.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * True when `redis-server` runs, or under `CI=true` (where its absence must fail the tests,
 * not skip them); otherwise says which tests skip and why.
 */
export async function hasRedis(what: string): Promise<boolean> {
  const ready = await new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
    .output().then((result) => result.success, () => false);
  if (Deno.env.get("CI") === "true") return true;
  if (!ready) {
    console.log(`${what} skipped: redis-server missing (apt-get install -y redis-server)`);
  }
  return ready;
}

/** Rejects with `what` when `promise` takes longer than `ms`: every wait in the tests ends. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A running redis-server: its URL, and `stop()` (by its PID). */
export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server without persistence on a free port; resolves once it answers. */
export async function startRedis(): Promise<TestRedis> {
  const port = freePort();
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    throw new Error("redis-server missing (apt-get install -y redis-server)");
  }
  const url = `redis://127.0.0.1:${port}`;
  await within(
    10_000,
    "redis-server to accept connections",
    (async () => {
      for (;;) {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    })(),
  );
  return {
    url,
    stop: async () => {
      process.kill("SIGKILL");
      await process.status;
    },
  };
}

/** A worker process: its PID, and everything it logged once it has exited. */
export interface TestWorker {
  process: Deno.ChildProcess;
  log: () => Promise<string>;
}

/** Starts `main.ts worker` and resolves once it takes shards. */
export async function startWorker(url: string, args: string[]): Promise<TestWorker> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "worker", "--queue", url, ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  await within(
    120_000,
    "a worker to start",
    (async () => {
      while (!log.includes("taking shards")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`the worker did not start: ${log.trim()}`);
        log += value;
      }
    })(),
  );
  const rest = (async () => {
    for (let chunk = await lines.read(); !chunk.done; chunk = await lines.read()) {
      log += chunk.value;
    }
    return log;
  })();
  return { process, log: () => rest };
}
