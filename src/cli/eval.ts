/**
 * `deno task eval`: top-1/top-5 accuracy and Fréchet distance of a scheduler's images, read
 * by the model's evaluation classifier (glyph classes, or emoji for their prompts).
 *
 * @module
 */

import { evalReport, type Figures, loadEvaluator, tallySamples } from "../eval/evaluator.ts";
import { decodeTally, mergeTallies, type TallyJson } from "../eval/tally.ts";
import { DEFAULT_MODEL_DIR, loadModel, modelSettings } from "../model.ts";
import { runOnQueue } from "../queue/coordinator.ts";
import { planEval } from "../queue/jobs.ts";
import {
  cliSettings,
  integerOption,
  loadOptions,
  type OptionTable,
  parseOptions,
  QUEUE_OPTIONS,
  queueChoice,
  SAMPLER_OPTIONS,
} from "./options.ts";

const EVAL_OPTIONS = {
  ...SAMPLER_OPTIONS,
  ...QUEUE_OPTIONS,
  samples: {
    type: "string",
    arg: "N",
    help: "images to score, at least 2 (default: the model's eval.json, 620 for glyphs)",
  },
  batch: { type: "string", arg: "N", help: "images per generation (default 62)" },
  json: { type: "boolean", help: "print the report as JSON" },
} as const satisfies OptionTable;

/** Scores a scheduler's images and prints the report. */
export async function evalCommand(args: string[]): Promise<void> {
  const values = parseOptions("eval", args, EVAL_OPTIONS);
  if (!values) return;
  const settings = cliSettings(values);
  settings.seed ??= 0;
  const given = values.samples === undefined
    ? undefined
    : integerOption("samples", values.samples, 2);
  const batch = values.batch === undefined ? 62 : integerOption("batch", values.batch, 1);
  const queue = queueChoice(values, batch);
  const options = await loadOptions(values);
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, options);
  const evaluator = await loadEvaluator(model, options);
  const samples = given ?? evaluator.samples;
  const run = {
    model,
    evaluator,
    settings,
    samples,
    batch,
    onBatch: (done: number, total: number) => console.error(`eval: ${done}/${total} images`),
  };
  const started = performance.now();
  let tally;
  if (queue) {
    // Workers tally shards of consecutive samples; merged, they are the local run's tally.
    const { name } = model.manifest;
    const shards = planEval(
      name,
      modelSettings(model.manifest, settings),
      samples,
      batch,
      queue.shardSize,
    );
    const tallies = await runOnQueue<TallyJson>(queue.url, name, shards, queue);
    tally = tallies.map(decodeTally).reduce(mergeTallies);
  } else {
    tally = await tallySamples(run, 0, samples);
  }
  const report = evalReport(run, tally, (performance.now() - started) / 1000);
  if (values.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  const { realHeldOut: held, realTrainSample: train } = report;
  const row = (name: string, f: (x: Figures) => string) =>
    `  ${name.padEnd(16)}${f(report).padStart(11)}${f(held).padStart(15)}${f(train).padStart(15)}`;
  console.log(
    [
      `${report.scheduler}, ${report.steps} steps, cfg ${report.cfg}, ${report.samples} samples (seed ${report.seed})`,
      `  ${"".padEnd(16)}${"generated".padStart(11)}${"real held-out".padStart(15)}${
        "real training".padStart(15)
      }`,
      row("top-1 accuracy", (x) => percent(x.accuracy)),
      row("top-5 accuracy", (x) => percent(x.top5)),
      row("Fréchet ↓", (x) => x.frechet.toFixed(2)),
      row("precision", (x) => percent(x.precision)),
      row("recall", (x) => percent(x.recall)),
      row("IS analogue", (x) => x.inceptionScore.toFixed(2)),
      `  time ${
        report.seconds.toFixed(1)
      } s; real held-out: the accuracy ceiling; real training vs held-out: the Fréchet floor`,
    ].join("\n"),
  );
}
