// The serve command as a process: start-up errors, and SIGTERM finishing in-flight work.
import { spawnServer } from "../scripts/spawn_server.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const STANDIN = `${ROOT}models/tiny-random`;
const PERMISSIONS = ["--allow-read", "--allow-net", "--allow-ffi", "--allow-env", "--allow-sys"];

function deno(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Starts `main.ts serve` on a free port; resolves once it listens. */
function startServer(extra: string[] = []) {
  const args = ["run", ...PERMISSIONS, "main.ts", "serve", "--port", "0", "--model", STANDIN];
  return spawnServer([...args, ...extra], ROOT);
}

Deno.test("serve: SIGTERM stops accepting, finishes the running generation, exits 0", async () => {
  const server = await startServer();
  const ready = await fetch(`${server.url}ready`);
  assertEquals((await ready.json()).status, "ready");
  const running = fetch(`${server.url}v1/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ class: 1, seed: 3, steps: 256, count: 4 }),
  });
  // Wait (30 s at most) until the generation has started, then ask the server to stop.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const metrics = await (await fetch(`${server.url}metrics`)).text();
    if (metrics.includes("maskgit_in_flight 1")) break;
    assert(Date.now() < deadline, "the generation did not start within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  server.process.kill("SIGTERM");
  const response = await running;
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "image/png");
  assert((await response.arrayBuffer()).byteLength > 100);
  const status = await server.process.status;
  assertEquals(status.code, 0);
  assert((await server.log()).includes("shutting down: finishing 1 generation(s)"));
});

Deno.test("serve: a model folder that cannot load stops start-up with one line", async () => {
  const broken = await Deno.makeTempDir();
  try {
    await Deno.copyFile(`${STANDIN}/model.json`, `${broken}/model.json`);
    await Deno.writeFile(`${broken}/transformer.onnx`, new Uint8Array([1, 2, 3]));
    for (
      const [folder, message] of [
        ["/nonexistent/model", "/nonexistent/model: model folder not found"],
        [broken, `${broken}/transformer.onnx: is not a usable ONNX model`],
      ]
    ) {
      const result = await deno(["run", ...PERMISSIONS, "main.ts", "serve", "--model", folder])
        .output();
      const stderr = new TextDecoder().decode(result.stderr).trim();
      assertEquals(result.code, 1);
      assertEquals(stderr.split("\n").length, 1, stderr);
      assert(stderr.startsWith(`error: ${message}`), stderr);
    }
  } finally {
    await Deno.remove(broken, { recursive: true });
  }
});

Deno.test("serve: bad options are refused before anything loads", async () => {
  const cases: [string[], string][] = [
    [["--port", "70000"], "--port must be an integer from 0 to 65535, got '70000'"],
    [["--concurrency", "0"], "--concurrency must be an integer ≥ 1, got '0'"],
    [["--timeout", "soon"], "--timeout must be an integer ≥ 1, got 'soon'"],
    [["--threads", "1000000"], "--threads must be an integer from 1 to"],
    [["--colour", "red"], "unknown option '--colour' ('deno task serve --help'"],
  ];
  for (const [args, message] of cases) {
    const result = await deno(["run", ...PERMISSIONS, "main.ts", "serve", ...args]).output();
    assertEquals(result.code, 1);
    assert(new TextDecoder().decode(result.stderr).includes(message), message);
  }
});

Deno.test("serve: listening beyond loopback without an API key prints a warning", async () => {
  for (const [extra, warned] of [[[], true], [["--api-key", "k"], false]] as const) {
    const server = await startServer(["--host", "0.0.0.0", ...extra]);
    server.process.kill("SIGTERM");
    await server.process.status;
    const log = await server.log();
    assertEquals(log.includes("warning: listening on 0.0.0.0 without --api-key"), warned, log);
  }
});

Deno.test("halton needs no permissions (ONNX Runtime is loaded only by commands that use it)", async () => {
  const result = await deno(["run", "main.ts", "halton", "--grid", "4"]).output();
  assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
  assertEquals(JSON.parse(new TextDecoder().decode(result.stdout)).length, 16);
});
