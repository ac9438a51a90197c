/**
 * `deno task eval`: class accuracy and Fréchet distance of a scheduler's images, read by the
 * model's glyph classifier.
 *
 * @module
 */

import { evaluate, loadEvaluator } from "../eval/glyphs.ts";
import { DEFAULT_MODEL_DIR, loadModel, modelSettings } from "../model.ts";
import { runOnQueue } from "../queue/coordinator.ts";
import { mergeEvalReport, planEval } from "../queue/jobs.ts";
import type { TallyJson } from "../eval/tally.ts";
import {
  cliSettings,
  integerOption,
  loadOptions,
  parseArgs,
  QUEUE_OPTIONS,
  queueChoice,
  SAMPLER_OPTIONS,
} from "./options.ts";

/** Scores a scheduler's images and prints the report. */
export async function evalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...SAMPLER_OPTIONS,
      ...QUEUE_OPTIONS,
      samples: { type: "string" },
      batch: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  const settings = cliSettings(values);
  settings.seed ??= 0;
  const samples = values.samples === undefined ? 620 : integerOption("samples", values.samples);
  const batch = values.batch === undefined ? 62 : integerOption("batch", values.batch);
  if (samples < 2) throw new Error(`--samples must be at least 2, got ${samples}`);
  if (batch < 1) throw new Error(`--batch must be at least 1, got ${batch}`);
  const queue = queueChoice(values, batch);
  const options = await loadOptions(values);
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, options);
  const evaluator = await loadEvaluator(model, options);
  let report;
  if (queue) {
    // Workers score shards of consecutive samples; their tallies merge into the whole run's.
    const started = performance.now();
    const resolved = modelSettings(model.manifest, settings);
    const { name } = model.manifest;
    const shards = planEval(name, resolved, samples, batch, queue.shardSize);
    const tallies = await runOnQueue<TallyJson>(queue.url, name, shards, queue);
    const seconds = (performance.now() - started) / 1000;
    report = mergeEvalReport(model, evaluator, resolved, samples, tallies, seconds);
  } else {
    report = await evaluate({
      model,
      evaluator,
      settings,
      samples,
      batch,
      onBatch: (done, total) => console.error(`eval: ${done}/${total} images`),
    });
  }
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
