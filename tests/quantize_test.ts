// The int8 variant (scripts/quantize.py): a separate folder whose transformer runs int8
// matrix products, within a few per cent of the float32 logits, and that generates.
import { main } from "../main.ts";
import { loadBackend } from "../src/backend/mod.ts";
import { loadModel } from "../src/model.ts";
import { compareWithReference } from "../src/reference.ts";
import { assert, assertEquals } from "./assert.ts";
import { needing } from "./needs.ts";
import { python, torchMissing } from "./python.ts";

const STANDIN = new URL("../models/tiny-random", import.meta.url).pathname;
const noTorch = await torchMissing();

Deno.test(needing(noTorch, {
  name: "quantize: the int8 variant loads, stays close to float32, selects positions, generates",
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      const out = `${work}/int8`;
      const made = await python(["scripts/quantize.py", "--model", STANDIN, "--out", out]);
      assertEquals(made.code, 0, made.stderr);
      const model = await loadModel(out, { backend: await loadBackend("node") });
      assertEquals(model.manifest.name, "tiny-random-int8");
      assert(model.transformer.selectsPositions);
      const onnx = new TextDecoder("latin1").decode(await Deno.readFile(`${out}/transformer.onnx`));
      assert(onnx.includes("MatMulInteger") && onnx.includes("DynamicQuantizeLinear"));
      // reference.json holds the float32 outputs: the error is what int8 changed.
      const { logits, image } = await compareWithReference(model);
      assert(logits.maxRel > 1e-4 && logits.maxRel < 0.1, JSON.stringify(logits));
      assert(image.maxRel < 1e-4, "the decoder stays float32");
      const png = `${work}/a.png`;
      assertEquals(await main(["generate", "--model", out, "--out", png, "--quiet"]), 0);
      assert((await Deno.stat(png)).size > 0);
      // An existing output folder is refused with one line, and left alone.
      const again = await python(["scripts/quantize.py", "--model", STANDIN, "--out", out]);
      assertEquals([again.code, again.stderr.trim()], [1, `error: ${out}: already exists`]);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));
