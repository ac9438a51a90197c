/**
 * Measures the schedulers on a model with an `eval/` folder and writes
 * `<out>/results-<model>.json` plus one image grid per scheduler variant (same seeds and
 * classes or prompts) under `<out>/images/<model>/`, and prints the table as Markdown.
 *
 *   deno task results [--model DIR] [--samples N] [--steps 8,16,32] [--variants a,b]
 *                     [--spread-steps 8] [--out docs]
 *
 * A variant is a list of command-line knobs, so each cell is reproduced exactly by
 * `deno task eval --model DIR <the variant's knobs> --steps S --samples N --seed 0`.
 * `--spread-steps` runs every variant again at those step counts with the next N seeds
 * (`--seed N`: other images, the same classes or prompts), to show how far a figure moves
 * with the seeds alone.
 *
 * @module
 */

import { cliSettings, parseArgs, parseOptions, SAMPLER_OPTIONS } from "../src/cli/options.ts";
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { type EvalReport, evaluate, type Figures, loadEvaluator } from "../src/eval/evaluator.ts";
import { writeAtomically } from "../src/files.ts";
import { render } from "../src/generate.ts";
import { encodePng, tile } from "../src/image.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../src/model.ts";

/** The scheduler variants compared, as the knobs that select them. */
const VARIANTS: Record<string, string[]> = {
  // The paper's Halton: one order for every image (explicit, as a model may default to rolling it).
  halton: ["--scheduler", "halton", "--no-randomize"],
  // The official demo's Halton: the order rolled by a random offset per image.
  "halton-randomized": ["--scheduler", "halton", "--randomize"],
  // The official Confidence sampler's defaults (arccos counts, linear Gumbel noise).
  confidence: ["--scheduler", "confidence"],
  // aMused's own rules (README, "aMused's own sampler, as knobs"), at the model's guidance.
  "confidence-amused": [
    ...["--scheduler", "confidence", "--count-mode", "amused", "--noise", "linear"],
    ...["--noise-temperature", "2", "--cfg-ramp", "constant", "--temperature", "1", "--top-k", "0"],
  ],
  random: ["--scheduler", "random"],
};

/** The text models' grid: everyday prompts, the same for every variant. */
const GRID_PROMPTS = [
  "red apple",
  "grinning face",
  "thumbs up",
  "cat face",
  "pizza",
  "rocket",
  "flag: Japan",
  "red heart",
  "sun",
  "snowman",
  "dog face",
  "birthday cake",
  "rainbow",
  "ghost",
  "hamburger",
  "police car",
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    samples: { type: "string" },
    steps: { type: "string" },
    variants: { type: "string" },
    "spread-steps": { type: "string" },
    out: { type: "string" },
  },
  strict: true,
});
const stepCounts = (values.steps ?? "8,16,32").split(",").map(Number);
const spreadSteps = values["spread-steps"]?.split(",").map(Number) ?? [];
const variants = (values.variants ?? Object.keys(VARIANTS).join(",")).split(",");
for (const name of variants) {
  if (!(name in VARIANTS)) {
    throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(", ")}`);
  }
}
const out = values.out ?? "docs";
const dir = values.model ?? DEFAULT_MODEL_DIR;
const model = await loadModel(dir, { backend: nodeBackend });
const evaluator = await loadEvaluator(model, { backend: nodeBackend });
const samples = Number(values.samples ?? evaluator.samples);
// The variants' knobs go through the eval command's own parser, so a cell's command means the same.
const knobs = (name: string) => cliSettings(parseOptions("eval", VARIANTS[name], SAMPLER_OPTIONS)!);

const cells: { variant: string; command: string; report: EvalReport }[] = [];
// The table's cells (seed 0), then the seed-spread cells (the next `samples` seeds).
const runs = [
  ...stepCounts.map((steps) => ({ steps, seed: 0 })),
  ...spreadSteps.map((steps) => ({ steps, seed: samples })),
];
for (const { steps, seed } of runs) {
  for (const variant of variants) {
    const report = await evaluate({
      model,
      evaluator,
      samples,
      settings: { ...knobs(variant), steps, seed },
    });
    const command = `deno task eval --model ${dir} ${
      VARIANTS[variant].join(" ")
    } --steps ${steps} --samples ${samples} --seed ${seed} --json`;
    cells.push({ variant, command, report });
    console.error(
      `${variant} ${steps} steps, seed ${seed}: top-1 ${report.accuracy.toFixed(3)}, top-5 ${
        report.top5.toFixed(3)
      }, Fréchet ${report.frechet.toFixed(2)}, precision ${report.precision.toFixed(3)}, recall ${
        report.recall.toFixed(3)
      }, IS ${report.inceptionScore.toFixed(2)} (${report.seconds.toFixed(0)} s)`,
    );
  }
}

// One grid per variant at the largest step count: every class once (class models) or the
// grid prompts (text models), seeds 0…
const condition = model.manifest.task === "text-to-image"
  ? { prompts: GRID_PROMPTS }
  : { classes: evaluator.targets };
const name = model.manifest.name;
const grids = [];
for (const variant of variants) {
  const { pictures } = await render({
    model,
    ...condition,
    settings: { ...knobs(variant), steps: Math.max(...stepCounts), seed: 0 },
  });
  grids.push({
    path: `${out}/images/${name}/grid-${variant}.png`,
    bytes: encodePng(tile(pictures, 2, Math.min(16, pictures.length))),
  });
}
await Deno.mkdir(`${out}/images/${name}`, { recursive: true });
const summary = {
  model: name,
  samples,
  realHeldOut: evaluator.heldOut,
  realTrainSample: evaluator.trainSample,
  cells,
};
await writeAtomically([
  ...grids,
  {
    path: `${out}/results-${name}.json`,
    bytes: new TextEncoder().encode(JSON.stringify(summary, null, 2) + "\n"),
  },
]);
const percent = (x: number) => `${(100 * x).toFixed(1)} %`;
const columns = (f: Figures) =>
  [percent(f.accuracy), percent(f.top5), f.frechet.toFixed(2), percent(f.precision)]
    .concat([percent(f.recall), f.inceptionScore.toFixed(2)]).join(" | ");
console.log(
  [
    "| scheduler | steps | seeds | top-1 | top-5 | Fréchet ↓ | precision | recall | IS analogue |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...cells.map(({ variant, report: r }) =>
      `| ${variant} | ${r.steps} | ${r.seed}…${r.seed + r.samples - 1} | ${columns(r)} |`
    ),
    `| real held-out images | – | – | ${columns(evaluator.heldOut)} |`,
    `| real training images vs held-out | – | – | ${columns(evaluator.trainSample)} |`,
  ].join("\n"),
);
