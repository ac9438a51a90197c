/**
 * How close an int8 decoder decodes to float32 (`scripts/quantize.py` runs this as its gate):
 * the float32 model folder generates IMAGES token grids (its default sampler, seeds from 1000, so
 * not the calibration's images), both folders' decoders decode them, and the 8-bit pictures are
 * compared. Prints one line per folder pair, then a JSON line `{"worst": dB, "mean": dB}` (null
 * where every pixel is equal).
 *
 * ```sh
 * deno run --allow-all scripts/decoder_psnr.ts FLOAT_DIR INT8_DIR [IMAGES=8]
 * ```
 *
 * @module
 */

import { nodeBackend } from "../src/backend/onnx-node.ts";
import { generate } from "../src/generate.ts";
import { toPictures } from "../src/image.ts";
import { loadModel } from "../src/model.ts";
import { everyday } from "./calibrate.ts";

/**
 * PSNR in dB of two 8-bit pixel arrays of the same length; `Infinity` when equal.
 *
 * @example
 * ```ts ignore
 * psnr(Uint8Array.of(0, 0), Uint8Array.of(0, 1)); // 10·log10(255² / 0.5) ≈ 51.1
 * ```
 */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  let squares = 0;
  for (let i = 0; i < a.length; i++) squares += (a[i] - b[i]) ** 2;
  return squares === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / squares);
}

if (import.meta.main) {
  const USAGE = "usage: decoder_psnr.ts FLOAT_DIR INT8_DIR [IMAGES=8]";
  if (Deno.args.some((arg) => arg === "--help" || arg === "-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const [floatDir, int8Dir, images = "8"] = Deno.args;
  if (!floatDir || !int8Dir || !(Number(images) >= 1)) {
    console.error(USAGE);
    Deno.exit(2);
  }
  const reference = await loadModel(floatDir, { backend: nodeBackend });
  const int8 = await loadModel(int8Dir, { backend: nodeBackend });
  const count = Number(images);
  const { tokens } = await generate({
    model: reference,
    ...everyday(reference.manifest, count),
    settings: { seed: 1000 },
    batch: 4,
  });
  const [floats, ints] = await Promise.all(
    [reference, int8].map(async (model) => toPictures(await model.decoder.decode(tokens, count))),
  );
  const values = floats.map((picture, i) => psnr(picture.pixels, ints[i].pixels));
  const worst = Math.min(...values);
  // The mean of the squared errors, as one PSNR over every image.
  const mean = -10 * Math.log10(values.reduce((sum, v) => sum + 10 ** (-v / 10), 0) / count);
  const dB = (v: number) => Number.isFinite(v) ? Number(v.toFixed(2)) : null;
  console.log(
    `decoder PSNR, ${int8Dir} vs ${floatDir} on ${count} generated grids: worst ${
      dB(worst) ?? "identical"
    } dB, all images ${dB(mean) ?? "identical"} dB`,
  );
  console.log(JSON.stringify({ worst: dB(worst), mean: dB(mean) }));
  Deno.exit(0);
}
