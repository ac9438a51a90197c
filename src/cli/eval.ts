/**
 * `deno task eval`: class accuracy and Fréchet distance of a scheduler's images, read by the
 * model's glyph classifier.
 *
 * @module
 */

import { evaluate, loadEvaluator } from "../eval/glyphs.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../model.ts";
import {
  cliSettings,
  integerOption,
  loadOptions,
  type OptionTable,
  parseOptions,
  SAMPLER_OPTIONS,
} from "./options.ts";

const EVAL_OPTIONS = {
  ...SAMPLER_OPTIONS,
  samples: { type: "string", arg: "N", help: "images to score, at least 2 (default 620)" },
  batch: { type: "string", arg: "N", help: "images per generation (default 62)" },
  json: { type: "boolean", help: "print the report as JSON" },
} as const satisfies OptionTable;

/** Scores a scheduler's images and prints the report. */
export async function evalCommand(args: string[]): Promise<void> {
  const values = parseOptions("eval", args, EVAL_OPTIONS);
  if (!values) return;
  const settings = cliSettings(values);
  settings.seed ??= 0;
  const samples = values.samples === undefined ? 620 : integerOption("samples", values.samples, 2);
  const batch = values.batch === undefined ? 62 : integerOption("batch", values.batch, 1);
  const options = await loadOptions(values);
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, options);
  const evaluator = await loadEvaluator(model, options);
  const report = await evaluate({
    model,
    evaluator,
    settings,
    samples,
    batch,
    onBatch: (done, total) => console.error(`eval: ${done}/${total} images`),
  });
  if (values.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    [
      `${report.scheduler}, ${report.steps} steps, cfg ${report.cfg}, ${report.samples} samples (seed ${report.seed})`,
      `  class accuracy            ${percent(report.accuracy)}`,
      `  Fréchet distance          ${report.frechet.toFixed(2)}`,
      `  real-vs-real floor        ${report.frechetRealFloor.toFixed(2)}`,
      `  classifier on real fonts  ${percent(report.classifierHeldOutAccuracy)} (held-out fonts)`,
      `  time                      ${report.seconds.toFixed(1)} s`,
    ].join("\n"),
  );
}
