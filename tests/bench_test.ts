import { main } from "../main.ts";
import { loadBackend } from "../src/backend/mod.ts";
import { sgemmRate, stats, timeGeneration, transformerFlops } from "../src/bench.ts";
import { loadModel } from "../src/model.ts";
import { assert, assertEquals } from "./assert.ts";
import { needing } from "./needs.ts";
import { convertRandom, torchMissing } from "./python.ts";

const STANDIN = new URL("../models/tiny-random", import.meta.url).pathname;

Deno.test("bench: median and range", () => {
  assertEquals(stats([5]), { median: 5, min: 5, max: 5 });
  assertEquals(stats([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
});

Deno.test("bench: a generation's parts add up, one forward per step, guidance doubles the rows", async () => {
  const backend = await loadBackend("node");
  const model = await loadModel(STANDIN, { backend, threads: 1 });
  const started = performance.now();
  const split = await timeGeneration(model, 3, { steps: 6, cfg: 2, seed: 1 });
  const wall = performance.now() - started;
  assertEquals(split.forwards, 6);
  assertEquals(split.rows, 6 * 2 * 3);
  // The stand-in selects positions: each position's logits once per row (of 2 × 3) in the run.
  assertEquals(split.positions, 2 * 3 * model.manifest.grid ** 2);
  for (const part of [split.forward, split.decode, split.encode]) assert(part > 0);
  // The timed parts do not overlap (other = total − parts ≥ 0), and the total is no more
  // than the clock outside saw.
  assert(split.other >= 0, `parts exceed the total by ${-split.other} ms`);
  assert(split.total <= wall, `total ${split.total} ms, wall ${wall} ms`);
  assertEquals((await timeGeneration(model, 2, { steps: 4, cfg: 0 })).rows, 4 * 2);
  const rate = await sgemmRate(backend, 128, 2, 1);
  assert(rate > 0.1 && Number.isFinite(rate), `${rate} GFLOP/s`);
});

Deno.test("bench: the command runs, and refuses bad options with one line", async () => {
  const args = ["bench", "--model", STANDIN, "--steps", "4", "--runs", "1"];
  assertEquals(await main([...args, "--batch", "1,2", "--json"]), 0);
  assertEquals(await main([...args, "--batch", "0"]), 1);
  assertEquals(await main([...args, "--runs", "x"]), 1);
});

Deno.test("bench: FLOPs run count every row, less the head where no logits were asked", () => {
  const flops = { transformer: 1000, decoder: 1, head: 30 };
  assertEquals(transformerFlops(flops, 16, { rows: 4, positions: 64 }), 4000);
  assertEquals(transformerFlops(flops, 16, { rows: 4, positions: 8 }), 4000 - 30 * 56);
  assertEquals(transformerFlops({ transformer: 1000 }, 16, { rows: 4, positions: 64 }), 4000);
  // Selected positions without the head's FLOPs: unknown rather than overstated.
  assertEquals(transformerFlops({ transformer: 1000 }, 16, { rows: 4, positions: 8 }), undefined);
  assertEquals(transformerFlops(undefined, 16, { rows: 4, positions: 64 }), undefined);
});

Deno.test("bench: a manifest's flops must be positive numbers when given", async () => {
  const { parseManifest } = await import("../src/model.ts");
  const text = await Deno.readTextFile(`${STANDIN}/model.json`);
  assert(parseManifest(text, "model.json").flops!.transformer > 0);
  const json = JSON.parse(text);
  json.flops.transformer = -1;
  let message = "";
  try {
    parseManifest(JSON.stringify(json), "model.json");
  } catch (error) {
    message = (error as Error).message;
  }
  assert(message.includes("field 'flops.transformer' must be a number > 0"), message);
});

const noTorch = await torchMissing();

Deno.test(needing(noTorch, {
  name: "bench: --torch runs the PyTorch reference on the folder's own checkpoints",
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      const { checkpoints, model } = await convertRandom(work, "v2", 16);
      const args = [
        "bench",
        "--model",
        model,
        "--steps",
        "4",
        "--runs",
        "1",
        "--batch",
        "1",
      ];
      const reference = ["--torch", checkpoints, "--family", "v2", "--torch-heads", "4"];
      assertEquals(await main([...args, ...reference, "--json"]), 0);
      assertEquals(await main([...args, "--torch", `${work}/missing`]), 1);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));

Deno.test(needing(noTorch, {
  name: "bench: --family glyphs runs PyTorch on the shipped folder's own weights, checked first",
  async fn() {
    const glyphs = new URL("../models/glyphs", import.meta.url).pathname;
    const args = ["bench", "--model", glyphs, "--steps", "2", "--runs", "1", "--batch", "1"];
    const reference = ["--torch", glyphs, "--family", "glyphs"];
    assertEquals(await main([...args, ...reference, "--json"]), 0);
    // Read back into a module with the wrong head count, the weights do not reproduce
    // reference.json: the reference refuses to time it.
    assertEquals(await main([...args, ...reference, "--torch-heads", "8"]), 1);
  },
}));
