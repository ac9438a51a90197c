/**
 * Measures the three schedulers on a model with an `eval/` folder and writes
 * docs/results.json plus one image grid per scheduler (same seeds and classes) under
 * docs/images/. `deno task results [--model DIR] [--samples 620] [--steps 8,16,32]`.
 *
 * @module
 */

import { parseArgs } from "../src/cli/options.ts";
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { type EvalReport, evaluate, loadEvaluator } from "../src/eval/glyphs.ts";
import { writeAtomically } from "../src/files.ts";
import { render } from "../src/generate.ts";
import { encodePng, tile } from "../src/image.ts";
import { classNames, DEFAULT_MODEL_DIR, loadModel } from "../src/model.ts";
import { SCHEDULER_NAMES } from "../src/scheduler/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    samples: { type: "string" },
    steps: { type: "string" },
    out: { type: "string" },
  },
  strict: true,
});
const samples = Number(values.samples ?? 620);
const stepCounts = (values.steps ?? "8,16,32").split(",").map(Number);
const out = values.out ?? "docs";
const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, { backend: nodeBackend });
const evaluator = await loadEvaluator(model, { backend: nodeBackend });

const reports: EvalReport[] = [];
for (const steps of stepCounts) {
  for (const scheduler of SCHEDULER_NAMES) {
    const report = await evaluate({
      model,
      evaluator,
      samples,
      settings: { scheduler, steps, seed: 0 },
    });
    reports.push(report);
    console.error(
      `${scheduler} ${steps} steps: accuracy ${report.accuracy.toFixed(3)}, ` +
        `Fréchet ${report.frechet.toFixed(2)} (${report.seconds.toFixed(0)} s)`,
    );
  }
}

// One grid per scheduler: every class once, seeds 0…61, the largest step count.
const classes = classNames(model.manifest).map((_, i) => i);
const grids = await Promise.all(SCHEDULER_NAMES.map(async (scheduler) => {
  const { pictures } = await render({
    model,
    classes,
    settings: { scheduler, steps: Math.max(...stepCounts), seed: 0 },
  });
  return { path: `${out}/images/grid-${scheduler}.png`, bytes: encodePng(tile(pictures, 2, 16)) };
}));
await Deno.mkdir(`${out}/images`, { recursive: true });
const summary = {
  model: model.manifest.name,
  samples,
  classifierHeldOutAccuracy: evaluator.heldOutAccuracy,
  frechetRealFloor: evaluator.floor,
  reports,
};
await writeAtomically([
  ...grids,
  {
    path: `${out}/results.json`,
    bytes: new TextEncoder().encode(JSON.stringify(summary, null, 1) + "\n"),
  },
]);
console.log(
  [
    "| scheduler | steps | accuracy | Fréchet |",
    "| --- | --- | --- | --- |",
    ...reports.map((r) =>
      `| ${r.scheduler} | ${r.steps} | ${(100 * r.accuracy).toFixed(1)}% | ${
        r.frechet.toFixed(2)
      } |`
    ),
    `| real training-font glyphs (floor) | – | – | ${evaluator.floor.toFixed(2)} |`,
  ].join("\n"),
);
