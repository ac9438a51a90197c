// edge.ts under `deno serve` with no FFI permission: the WASM backend, no native code at all.
import { loadBackend } from "../src/backend/mod.ts";
import { generate } from "../src/generate.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../src/model.ts";
import { spawnServer } from "../scripts/spawn_server.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Runs `deno serve edge.ts` with read and net permissions only (loading any native addon
 * would need --allow-ffi and fail), hands its URL to `use`, then stops it.
 */
async function withEdgeServer(use: (url: string) => Promise<void>): Promise<void> {
  const server = await spawnServer(
    ["serve", "--host", "127.0.0.1", "--port", "0", "--allow-read", "--allow-net", "edge.ts"],
    ROOT,
  );
  try {
    await use(server.url);
  } finally {
    server.process.kill("SIGTERM");
    await server.process.status;
    await server.log();
  }
}

Deno.test({
  name: "edge: deno serve edge.ts without --allow-ffi serves the native run's PNG",
  sanitizeResources: false,
  async fn() {
    await withEdgeServer(async (url) => {
      const response = await fetch(`${url}v1/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ class: "K", seed: 12 }),
      });
      assertEquals(response.status, 200);
      const native = await loadModel(DEFAULT_MODEL_DIR, { backend: await loadBackend("node") });
      const expected = await generate({ model: native, classes: ["K"], settings: { seed: 12 } });
      assertEquals(new Uint8Array(await response.arrayBuffer()), expected.images[0]);
      const page = await fetch(url);
      assert((await page.text()).includes("halton-maskgit"));
      const bad = await fetch(`${url}v1/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ class: "K", steps: 0 }),
      });
      assertEquals([bad.status, (await bad.json()).field], [400, "steps"]);
    });
  },
});

Deno.test({
  name: "edge: under a long generation /health answers, a burst gets 429s, a hang-up cancels",
  sanitizeResources: false,
  async fn() {
    await withEdgeServer(async (url) => {
      const post = (body: unknown, signal?: AbortSignal) =>
        fetch(`${url}v1/generate`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal,
        });
      const metric = async (name: string) => {
        const text = await (await fetch(`${url}metrics`)).text();
        return Number(text.match(new RegExp(`^${name} (\\d+)`, "m"))?.[1]);
      };
      const waitFor = async (what: string, ok: () => Promise<boolean>, seconds: number) => {
        const deadline = Date.now() + seconds * 1000;
        while (!(await ok())) {
          const metrics = await (await fetch(`${url}metrics`)).text();
          assert(Date.now() < deadline, `${what} within ${seconds} s\n${metrics}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      // Hundreds of WASM forwards: far longer than any single step.
      const hangUp = new AbortController();
      const long = post({ class: "K", steps: 256, count: 2 }, hangUp.signal).catch(() => null);
      await waitFor(
        "the long generation starts",
        async () => await metric("maskgit_in_flight") === 1,
        60,
      );
      const started = performance.now();
      assertEquals((await fetch(`${url}health`)).status, 200);
      const latency = performance.now() - started;
      assert(latency < 3000, `/health took ${latency.toFixed(0)} ms during a generation`);
      // One running, four queued (the edge's limits): the rest of a burst of 8 is refused.
      const burst = Array.from({ length: 8 }, () => post({ class: "A", steps: 2 }));
      await waitFor("the queue fills", async () => await metric("maskgit_queue_depth") === 4, 30);
      hangUp.abort();
      await long;
      await waitFor(
        "the hung-up generation is cancelled",
        async () => await metric("maskgit_generations_cancelled_total") === 1,
        30,
      );
      const statuses = await Promise.all(burst.map(async (r) => {
        const response = await r;
        await response.arrayBuffer();
        return response.status;
      }));
      assertEquals(statuses.filter((s) => s === 429).length, 4, String(statuses));
      assertEquals(statuses.filter((s) => s === 200).length, 4, String(statuses));
    });
  },
});

Deno.test("edge: a bad MASKGIT_THREADS stops start-up, naming the variable", async () => {
  for (const value of ["1000000", "0", "two"]) {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["serve", "--port", "0", "--allow-read", "--allow-net", "--allow-env", "edge.ts"],
      cwd: ROOT,
      env: { MASKGIT_THREADS: value, NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert(result.code !== 0, value);
    assert(stderr.includes("MASKGIT_THREADS must be an integer from 1 to"), stderr);
  }
});
