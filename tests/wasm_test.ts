// The WASM backend (onnxruntime-web) against the native one: same tokens, same PNG bytes.
import { main } from "../main.ts";
import { loadBackend } from "../src/backend/mod.ts";
import { loadOptions } from "../src/cli/options.ts";
import { generate } from "../src/generate.ts";
import { DEFAULT_MODEL_DIR, loadModel, ModelError } from "../src/model.ts";
import { SCHEDULER_NAMES } from "../src/scheduler/mod.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { assertSelectedLogitsMatch } from "./reference.ts";

const native = await loadModel(DEFAULT_MODEL_DIR, { backend: await loadBackend("node") });
const wasm = await loadModel(DEFAULT_MODEL_DIR, { backend: await loadBackend("wasm") });

Deno.test("wasm: 20 seeds × 3 schedulers give the native backend's tokens and PNG bytes", async () => {
  // One batch of 20 images: image b uses seed 100 + b, each with its own class.
  const classes = Array.from({ length: 20 }, (_, b) => (b * 3) % 62);
  for (const scheduler of SCHEDULER_NAMES) {
    const settings = { scheduler, seed: 100, steps: 8 };
    const a = await generate({ model: native, classes, settings });
    const b = await generate({ model: wasm, classes, settings });
    assertEquals(b.tokens, a.tokens, scheduler);
    assertEquals(b.images, a.images, scheduler);
  }
});

Deno.test("wasm: a transformer with a positions input selects on WASM too, with native's tokens", async () => {
  const standin = new URL("../models/tiny-random", import.meta.url).pathname;
  const [onNative, onWasm] = await Promise.all(
    (["node", "wasm"] as const).map(async (name) =>
      loadModel(standin, { backend: await loadBackend(name) })
    ),
  );
  assert(onWasm.transformer.selectsPositions);
  await assertSelectedLogitsMatch(onWasm);
  for (const scheduler of SCHEDULER_NAMES) {
    const settings = { scheduler, seed: 7, steps: 12 };
    const a = await generate({ model: onNative, classes: [0, 1, 2, 3], settings });
    const b = await generate({ model: onWasm, classes: [0, 1, 2, 3], settings });
    assertEquals(b.tokens, a.tokens, scheduler);
  }
});

Deno.test("wasm: the CLI's --backend wasm and --decoder-backend wasm write the native run's bytes", async () => {
  const out = await Deno.makeTempDir();
  try {
    const args = ["generate", "--class", "1", "--seed", "3", "--quiet", "--out"];
    assertEquals(await main([...args, `${out}/w.png`, "--backend", "wasm"]), 0);
    assertEquals(await main([...args, `${out}/d.png`, "--decoder-backend", "wasm"]), 0);
    assertEquals(await main([...args, `${out}/n.png`]), 0);
    assertEquals(await Deno.readFile(`${out}/w.png`), await Deno.readFile(`${out}/n.png`));
    assertEquals(await Deno.readFile(`${out}/d.png`), await Deno.readFile(`${out}/n.png`));
    assertEquals(await main([...args, `${out}/x.png`, "--backend", "tpu"]), 1);
    assertEquals(await main([...args, `${out}/x.png`, "--decoder-backend", "tpu"]), 1);
    await assertRejects(
      () => loadOptions({ "decoder-backend": "tpu" }),
      /--decoder-backend must be one of node, wasm, got 'tpu'/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("wasm: a broken or mismatched model file is named, as on the native backend", async () => {
  const standin = new URL("../models/tiny-random", import.meta.url).pathname;
  const backend = await loadBackend("wasm");
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([8, 1, 2]), /transformer\.onnx: is not a usable ONNX model/],
    [
      await Deno.readFile(new URL("fixtures/wrong-names.onnx", import.meta.url)),
      /transformer\.onnx: has no input 'tokens' \(its inputs: ids, labels, drop_label\)/,
    ],
  ];
  for (const [bytes, message] of cases) {
    const dir = await Deno.makeTempDir();
    try {
      for (const file of ["model.json", "decoder.onnx"]) {
        await Deno.copyFile(`${standin}/${file}`, `${dir}/${file}`);
      }
      await Deno.writeFile(`${dir}/transformer.onnx`, bytes);
      const error = await loadModel(dir, { backend }).then(() => undefined, (e) => e);
      assert(error instanceof ModelError, String(error));
      assert(message.test(error.message), error.message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
