/**
 * Starts a server as a child process and waits until it says where it listens: the
 * `main.ts serve` line ("listening on http://…") or `deno serve`'s ("Listening on http://…").
 * Shared by the load test and the tests that run servers as processes.
 *
 * @example
 * ```ts
 * import { spawnServer } from "./spawn_server.ts";
 * const args = ["run", "-A", "main.ts", "serve", "--model", "models/tiny-random", "--port", "0"];
 * const server = await spawnServer(args, Deno.cwd());
 * await (await fetch(`${server.url}health`)).json(); // { status: "ok" }
 * server.process.kill("SIGTERM");
 * await server.log(); // "listening on …\nshutting down: finishing 0 generation(s)\n"
 * ```
 *
 * @module
 */

/** A running server: its process, its base URL, and its whole stderr once it has exited. */
export interface SpawnedServer {
  process: Deno.ChildProcess;
  /** Base URL with a trailing slash. */
  url: string;
  /** Everything the server wrote to stderr, once it has closed it. */
  log: () => Promise<string>;
}

/** Runs `deno ARGS` in `cwd`; rejects with the server's output if it exits before listening. */
export async function spawnServer(args: string[], cwd: string): Promise<SpawnedServer> {
  const process = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const listening = /[Ll]istening on (http:\S+)/;
  let log = "";
  while (!listening.test(log)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the server did not start: ${log.trim()}`);
    log += value;
  }
  const rest = (async () => {
    for (let chunk = await lines.read(); !chunk.done; chunk = await lines.read()) {
      log += chunk.value;
    }
    return log;
  })();
  return { process, url: log.match(listening)![1], log: () => rest };
}
