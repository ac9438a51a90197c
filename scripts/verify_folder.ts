/**
 * Checks a model folder's ONNX graphs against the PyTorch outputs in its reference.json and
 * prints the errors; exits 1 above 1e-4 relative. `scripts/convert.py` runs it after writing a
 * folder.
 *
 * @example
 * ```sh
 * deno run -A scripts/verify_folder.ts /tmp/maskgit-v2-small-256
 * ```
 *
 * @module
 */

import { loadBackend } from "../src/backend/mod.ts";
import { loadModel } from "../src/model.ts";
import { compareWithReference } from "../src/reference.ts";

const folder = Deno.args[0];
if (!folder) {
  console.error("usage: deno run -A scripts/verify_folder.ts MODEL_DIR");
  Deno.exit(2);
}
try {
  const model = await loadModel(folder, { backend: await loadBackend("node") });
  const { logits, image } = await compareWithReference(model);
  const line = (what: string, d: typeof logits) =>
    `${what}: max abs error ${d.maxAbs.toExponential(2)}, max relative error ` +
    `${d.maxRel.toExponential(2)} (ONNX Runtime vs PyTorch, ${d.size} values)`;
  console.log(line("logits", logits));
  console.log(line("image", image));
  const bad = [logits, image].some((d) => !(d.maxRel <= 1e-4 && d.sumRel <= 1e-4));
  if (bad) console.error("error: the ONNX graphs do not reproduce PyTorch within 1e-4");
  Deno.exit(bad ? 1 : 0);
} catch (error) {
  console.error(`error: ${(error as Error).message.split("\n")[0]}`);
  Deno.exit(1);
}
