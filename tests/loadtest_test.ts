// The loopback load script against a real server process, small and bounded.
import { assert, assertEquals } from "./assert.ts";

Deno.test("loadtest: 10× capacity gets only 200/429/503, memory bounded, server alive", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-net=127.0.0.1", "--allow-run", "--allow-env"]
      .concat(["--allow-sys", "scripts/loadtest.ts", "--model", "models/tiny-random"])
      .concat(["--concurrency", "1", "--queue", "2", "--requests", "150", "--seconds", "30"])
      .concat(["--json"]),
    cwd: root,
    stderr: "inherit",
  }).output();
  const report = JSON.parse(new TextDecoder().decode(result.stdout));
  assertEquals(report.problems, []);
  assertEquals(result.code, 0);
  assertEquals(report.connections, 30);
  assert(report.statuses["200"] > 0 && report.statuses["429"] > 0, JSON.stringify(report.statuses));
  assertEquals(report.afterwards, { health: 200, generate: 200 });
  assertEquals(report.exitCode, 0);
});
