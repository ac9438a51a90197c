// edge.ts under `deno serve` with no FFI permission: the WASM backend, no native code at all.
import { loadBackend } from "../src/backend/mod.ts";
import { generate } from "../src/generate.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../src/model.ts";
import { spawnServer } from "../scripts/spawn_server.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test({
  name: "edge: deno serve edge.ts without --allow-ffi serves the native run's PNG",
  sanitizeResources: false,
  async fn() {
    const root = new URL("..", import.meta.url).pathname;
    // Read and net only: loading any native addon would need --allow-ffi and fail.
    const server = await spawnServer(
      ["serve", "--host", "127.0.0.1", "--port", "0", "--allow-read", "--allow-net", "edge.ts"],
      root,
    );
    const { url } = server;
    try {
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
    } finally {
      server.process.kill("SIGTERM");
      await server.process.status;
      await server.log();
    }
  },
});
