/**
 * `deno task eval`: top-1/top-5 accuracy and Fréchet distance of a scheduler's images, read
 * by the model's evaluation classifier (glyph classes, or emoji for their prompts).
 *
 * @module
 */

import { evaluate, loadEvaluator } from "../eval/evaluator.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../model.ts";
import { cliSettings, integerOption, loadOptions, parseArgs, SAMPLER_OPTIONS } from "./options.ts";

/** Scores a scheduler's images and prints the report. */
export async function evalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...SAMPLER_OPTIONS,
      samples: { type: "string" },
      batch: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  const settings = cliSettings(values);
  settings.seed ??= 0;
  const given = values.samples === undefined ? undefined : integerOption("samples", values.samples);
  const batch = values.batch === undefined ? 62 : integerOption("batch", values.batch);
  if (given !== undefined && given < 2) {
    throw new Error(`--samples must be at least 2, got ${given}`);
  }
  if (batch < 1) throw new Error(`--batch must be at least 1, got ${batch}`);
  const options = await loadOptions(values);
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, options);
  const evaluator = await loadEvaluator(model, options);
  const samples = given ?? evaluator.samples;
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
      `  accuracy (top-1 / top-5)  ${percent(report.accuracy)} / ${percent(report.top5)}`,
      `  real held-out images      ${percent(report.classifierHeldOutAccuracy)} / ${
        percent(report.classifierHeldOutTop5)
      } (the ceiling)`,
      `  Fréchet distance          ${report.frechet.toFixed(2)}`,
      `  real-vs-real floor        ${report.frechetRealFloor.toFixed(2)}`,
      `  time                      ${report.seconds.toFixed(1)} s`,
    ].join("\n"),
  );
}
