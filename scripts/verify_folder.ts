/**
 * Checks a model folder's ONNX graphs against the PyTorch outputs in its reference.json and
 * prints the errors; exits 1 above `--max-error` (default 1e-4) relative. `scripts/convert.py`
 * runs it after writing a folder, `scripts/quantize.py` to report what int8 changed.
 *
 * @example
 * ```sh
 * deno run -A scripts/verify_folder.ts /tmp/maskgit-v2-small-256 [--max-error 1e-4]
 * ```
 *
 * @module
 */

import { loadBackend } from "../src/backend/mod.ts";
import { loadModel } from "../src/model.ts";
import { compareWithReference } from "../src/reference.ts";

const [folder, flag, value] = Deno.args;
const maxError = flag === "--max-error" ? Number(value) : 1e-4;
if (!folder || !(maxError > 0)) {
  console.error("usage: deno run -A scripts/verify_folder.ts MODEL_DIR [--max-error X]");
  Deno.exit(2);
}
try {
  const model = await loadModel(folder, { backend: await loadBackend("node") });
  const { logits, image, hidden, pooled } = await compareWithReference(model);
  const outputs = Object.entries({
    "text hidden states": hidden,
    "text pooled": pooled,
    logits,
    image,
  })
    .filter((entry): entry is [string, typeof logits] => entry[1] !== undefined);
  for (const [what, d] of outputs) {
    console.log(
      `${what}: max abs error ${d.maxAbs.toExponential(2)}, max relative error ` +
        `${d.maxRel.toExponential(2)} (ONNX Runtime vs PyTorch, ${d.size} values)`,
    );
  }
  const bad = outputs.some(([, d]) => !(d.maxRel <= maxError && d.sumRel <= maxError));
  if (bad) console.error(`error: the ONNX graphs do not reproduce PyTorch within ${maxError}`);
  Deno.exit(bad ? 1 : 0);
} catch (error) {
  console.error(`error: ${(error as Error).message.split("\n")[0]}`);
  Deno.exit(1);
}
