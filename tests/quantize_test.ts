// The int8 variant (scripts/quantize.py): a separate folder whose transformer runs int8
// matrix products and whose decoder runs int8 convolutions at calibrated fixed scales, within a
// few per cent of the float32 logits and 40 dB of its images, and whose images do not depend on
// the batch.
import { main } from "../main.ts";
import { loadBackend } from "../src/backend/mod.ts";
import { generate } from "../src/generate.ts";
import { loadModel } from "../src/model.ts";
import { compareWithReference } from "../src/reference.ts";
import { assert, assertEquals } from "./assert.ts";
import { needing } from "./needs.ts";
import { psnr } from "../scripts/decoder_psnr.ts";
import { python, torchMissing } from "./python.ts";

const STANDIN = new URL("../models/tiny-random", import.meta.url).pathname;
const noTorch = await torchMissing();

Deno.test(needing(noTorch, {
  name:
    "quantize: the int8 variant loads, stays close to float32, selects positions, generates, batch-free",
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      const out = `${work}/int8`;
      const made = await python(["scripts/quantize.py", "--model", STANDIN, "--out", out]);
      assertEquals(made.code, 0, made.stderr);
      const gate = made.stdout.match(/decoder convolutions int8 \(worst image ([\d.]+) dB\)/);
      assert(gate && Number(gate[1]) >= 40, made.stdout);
      const model = await loadModel(out, { backend: await loadBackend("node") });
      assertEquals([model.manifest.name, model.manifest.precision], ["tiny-random-int8", "int8"]);
      assert(model.transformer.selectsPositions);
      const onnx = new TextDecoder("latin1").decode(await Deno.readFile(`${out}/transformer.onnx`));
      assert(onnx.includes("MatMulIntegerToFloat") && onnx.includes("QuantizeLinear"));
      assert(!onnx.includes("DynamicQuantizeLinear"), "scales are fixed at export");
      // reference.json holds the float32 outputs: the error is what int8 changed.
      const { logits, image } = await compareWithReference(model);
      assert(logits.maxRel > 1e-4 && logits.maxRel < 0.1, JSON.stringify(logits));
      const decoder = new TextDecoder("latin1").decode(await Deno.readFile(`${out}/decoder.onnx`));
      assert(decoder.includes("DequantizeLinear"), "the decoder's convolutions are int8");
      assert(image.maxRel > 1e-4 && image.maxRel < 0.1, JSON.stringify(image));
      const png = `${work}/a.png`;
      assertEquals(await main(["generate", "--model", out, "--out", png, "--quiet"]), 0);
      assert((await Deno.stat(png)).size > 0);
      // Fixed scales: the same seed gives the same tokens and bytes alone and at any place in
      // batches of 2, 4 and 8, on both backends (per-call scales made an image depend on its batch).
      for (const name of ["node", "wasm"]) {
        const onBackend = await loadModel(out, { backend: await loadBackend(name) });
        const settings = { seed: 40, steps: 6 };
        const alone = await Promise.all(
          Array.from(
            { length: 8 },
            (_, b) =>
              generate({
                model: onBackend,
                classes: [b % 4],
                settings: { ...settings, seed: 40 + b },
              }),
          ),
        );
        for (const size of [2, 4, 8]) {
          const classes = Array.from({ length: size }, (_, b) => b % 4);
          const batch = await generate({ model: onBackend, classes, settings });
          const cells = batch.tokens.length / size;
          for (let b = 0; b < size; b++) {
            const where = `${name}, image ${b} of ${size}`;
            assertEquals(batch.tokens.slice(b * cells, (b + 1) * cells), alone[b].tokens, where);
            assertEquals(batch.images[b], alone[b].images[0], where);
          }
        }
      }
      // An existing output folder is refused with one line, and left alone.
      const again = await python(["scripts/quantize.py", "--model", STANDIN, "--out", out]);
      assertEquals([again.code, again.stderr.trim()], [1, `error: ${out}: already exists`]);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));

Deno.test("quantize: the decoder gate's PSNR is over 8-bit pixels, infinite when equal", () => {
  assertEquals(psnr(Uint8Array.of(7, 9), Uint8Array.of(7, 9)), Infinity);
  // One pixel of two off by one: mean squared error 0.5.
  const dB = psnr(Uint8Array.of(0, 0), Uint8Array.of(0, 1));
  assert(Math.abs(dB - 10 * Math.log10(255 * 255 / 0.5)) < 1e-12, String(dB));
  assert(psnr(Uint8Array.of(0), Uint8Array.of(255)) === 0);
});
