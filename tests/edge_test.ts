// edge.ts under `deno serve` with no FFI permission: the WASM backend, no native code at all.
import { loadBackend } from "../src/backend/mod.ts";
import { generate } from "../src/generate.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../src/model.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test({
  name: "edge: deno serve edge.ts without --allow-ffi serves the native run's PNG",
  sanitizeResources: false,
  async fn() {
    const root = new URL("..", import.meta.url).pathname;
    const server = new Deno.Command(Deno.execPath(), {
      // Read and net only: loading any native addon would need --allow-ffi and fail.
      args: [
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--allow-read",
        "--allow-net",
        "edge.ts",
      ],
      cwd: root,
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    try {
      const output = server.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let log = "";
      while (!/Listening on (http:\S+)/.test(log)) {
        const { value, done } = await output.read();
        if (done) throw new Error(`edge.ts did not start: ${log}`);
        log += value;
      }
      const url = log.match(/Listening on (http:\S+)/)![1];
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
      output.cancel();
    } finally {
      server.kill("SIGTERM");
      await server.status;
    }
  },
});
