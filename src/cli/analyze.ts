/**
 * `deno task analyze`: the paper's per-step quantities (Fig. 4), unmasking-step heat maps
 * (Fig. 3) and an intermediate-decode grid (Fig. 10) for any model and schedulers, written
 * as JSON, CSV, SVG and PNG.
 *
 * @module
 */

import { join } from "node:path";
import { type Analysis, StepRecorder, type Summary } from "../analysis/metrics.ts";
import { heatmaps, labelledGrid, lineChart, SCHEDULER_COLORS } from "../analysis/plot.ts";
import { svgToPng } from "../analysis/raster.ts";
import { writeAtomically } from "../files.ts";
import { decodePreview, render } from "../generate.ts";
import { encodePng, type Picture, tile } from "../image.ts";
import type { Condition } from "../condition.ts";
import { DEFAULT_MODEL_DIR, loadModel, modelSettings, resolveClass } from "../model.ts";
import { SCHEDULER_NAMES, type SchedulerName } from "../scheduler/mod.ts";
import {
  cliSettings,
  integerOption,
  loadOptions,
  type OptionTable,
  parseOptions,
  SAMPLER_OPTIONS,
} from "./options.ts";

const ANALYZE_OPTIONS = {
  ...SAMPLER_OPTIONS,
  schedulers: {
    type: "string",
    arg: "LIST",
    help: "comma-separated schedulers to compare (default: all)",
  },
  samples: { type: "string", arg: "N", help: "images per scheduler, at least 1 (default 64)" },
  batch: { type: "string", arg: "N", help: "images per generation, at least 1 (default 16)" },
  class: { type: "string", arg: "C", help: "class models: one class for every image" },
  prompt: { type: "string", multiple: true, arg: "TEXT", help: "text models: prompts in turn" },
  show: { type: "string", arg: "N", help: "images whose steps the grids show (default 4)" },
  out: { type: "string", arg: "DIR", help: "folder for the files (default: analysis/)" },
} as const satisfies OptionTable;

/** The three quantities, as files and plot titles name them. */
const QUANTITIES = [
  {
    key: "entropy",
    file: "entropy",
    title: "(a) Entropy of the tokens unmasked at each step",
    unit: "mean entropy (nats)",
  },
  {
    key: "spread",
    file: "spread",
    title: "(b) Distance between tokens unmasked in the same step",
    unit: "mean pairwise distance (cells)",
  },
  {
    key: "nearestKnown",
    file: "nearest-known",
    title: "(c) Distance to the nearest already-known token",
    unit: "mean distance (cells)",
  },
] as const;

function csv(results: Record<string, Analysis>): string {
  const head = "scheduler,step,known_share," +
    QUANTITIES.map((q) => `${q.file}_mean,${q.file}_std,${q.file}_n`).join(",");
  const cell = (s: Summary) => `${s.mean},${s.std},${s.n}`;
  const rows = Object.entries(results).flatMap(([scheduler, analysis]) =>
    analysis.steps.map((s) =>
      [scheduler, s.step, s.knownShare, ...QUANTITIES.map((q) => cell(s[q.key]))].join(",")
    )
  );
  return [head, ...rows].join("\n") + "\n";
}

/** Runs the schedulers, then writes every file into `--out` and prints their paths. */
export async function analyzeCommand(args: string[]): Promise<void> {
  const values = parseOptions("analyze", args, ANALYZE_OPTIONS);
  if (!values) return;
  const schedulers = (values.schedulers ?? SCHEDULER_NAMES.join(",")).split(",").map((s) =>
    s.trim()
  );
  for (const name of schedulers) {
    if (!SCHEDULER_NAMES.includes(name as SchedulerName)) {
      throw new Error(`--schedulers: unknown scheduler '${name}' (${SCHEDULER_NAMES.join(", ")})`);
    }
  }
  const samples = values.samples === undefined ? 64 : integerOption("samples", values.samples, 1);
  const batch = values.batch === undefined ? 16 : integerOption("batch", values.batch, 1);
  const show = values.show === undefined ? 4 : integerOption("show", values.show);
  const base = cliSettings(values);
  base.seed ??= 0;
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, await loadOptions(values));
  const { manifest } = model;
  const { grid } = manifest;
  // Sample i is conditioned on the given class (else class i mod classes), or on prompt i mod
  // prompts.
  const prompts = values.prompt ?? [];
  if (manifest.task === "text-to-image" && prompts.length === 0) {
    throw new Error(`model '${manifest.name}' is text-to-image: give --prompt "…" (repeatable)`);
  }
  if (manifest.task === "class-to-image" && prompts.length > 0) {
    throw new Error(`model '${manifest.name}' is class-to-image: give --class, not --prompt`);
  }
  const names = manifest.task === "class-to-image" ? manifest.classes : [];
  const fixed = values.class === undefined ? undefined : resolveClass(names, values.class);
  const conditionOf = (first: number, n: number): Condition =>
    manifest.task === "text-to-image"
      ? { prompts: Array.from({ length: n }, (_, i) => prompts[(first + i) % prompts.length]) }
      : { classes: Array.from({ length: n }, (_, i) => fixed ?? (first + i) % names.length) };
  const { steps, seed } = modelSettings(manifest, base);
  const out = values.out ?? "analysis";

  // Intermediate decodes at a few steps, for the first `show` samples (paper Fig. 10).
  const snapshotSteps = [...new Set([1, steps / 8, steps / 4, steps / 2, steps].map(Math.ceil))];
  const shown = Math.min(show, samples, batch);
  const results: Record<string, Analysis> = {};
  const rows: Picture[][] = [];
  const started = performance.now();
  for (const scheduler of schedulers) {
    const recorder = new StepRecorder(grid, steps);
    const snapshots: Picture[][] = Array.from({ length: shown }, () => []);
    for (let first = 0; first < samples; first += batch) {
      const n = Math.min(batch, samples - first);
      await render({
        model,
        ...conditionOf(first, n),
        settings: { ...base, scheduler: scheduler as SchedulerName, seed: seed + first },
        onStep: async (event) => {
          recorder.observe(event);
          if (first === 0 && snapshotSteps.includes(event.step + 1)) {
            const pictures = await decodePreview(model, event.state, n);
            pictures.slice(0, shown).forEach((picture, i) => snapshots[i].push(picture));
          }
        },
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`${scheduler}: ${first + n}/${samples} samples (${seconds} s)`);
    }
    results[scheduler] = recorder.result();
    rows.push(...snapshots);
  }

  const files: { path: string; bytes: Uint8Array }[] = [];
  const text = (name: string, content: string) =>
    files.push({ path: join(out, name), bytes: new TextEncoder().encode(content) });
  let hasFont = true;
  const figure = async (name: string, svg: string) => {
    text(`${name}.svg`, svg);
    const rendered = await svgToPng(svg);
    hasFont &&= rendered.hasFont;
    files.push({ path: join(out, `${name}.png`), bytes: rendered.png });
  };

  text(
    "analysis.json",
    JSON.stringify(
      {
        model: model.manifest.name,
        steps,
        samples,
        seed,
        ...(prompts.length > 0
          ? { prompts }
          : { classes: fixed === undefined ? "cycled" : names[fixed] }),
        schedulers: Object.fromEntries(
          Object.entries(results).map(([name, a]) => [name, {
            steps: a.steps,
            meanStep: Array.from(a.meanStep),
            firstSampleStep: Array.from(a.firstSampleStep),
          }]),
        ),
      },
      (_, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
      1,
    ),
  );
  text("analysis.csv", csv(results));
  for (const quantity of QUANTITIES) {
    await figure(
      quantity.file,
      lineChart({
        title: quantity.title,
        subtitle:
          `model ${model.manifest.name}, ${samples} samples, ${steps} steps, seeds ${seed}…` +
          `${seed + samples - 1}`,
        xLabel: "step",
        yLabel: quantity.unit,
        series: Object.entries(results).map(([name, a]) => ({
          name,
          color: SCHEDULER_COLORS[name],
          points: a.steps.map((s) => [s.step, s[quantity.key].mean, s[quantity.key].std]),
        })),
      }),
    );
  }
  for (const [name, a] of Object.entries(results)) {
    await figure(
      `heatmap-${name}`,
      heatmaps(`${name}: step at which each position was unmasked (${steps} steps)`, grid, steps, [
        { label: `mean over ${a.samples} samples`, values: a.meanStep },
        { label: "one sample (sample 0)", values: a.firstSampleStep },
      ]),
    );
  }
  const cells = rows.flat();
  const picture = tile(cells, 2, snapshotSteps.length);
  const png = encodePng(picture);
  files.push({ path: join(out, "steps.png"), bytes: png });
  const rowLabels = schedulers.flatMap((s) =>
    Array.from({ length: shown }, (_, i) => `${s} · ${names[fixed ?? i % names.length]}`)
  );
  await figure(
    "steps-labelled",
    labelledGrid(
      png,
      picture.width,
      picture.height,
      rowLabels,
      snapshotSteps.map((s) => `step ${s}/${steps}`),
      `Intermediate decodes, seeds ${seed}…${seed + shown - 1} (masked tokens gray)`,
    ),
  );

  // Creates --out only now, so a failed run leaves no folder behind.
  await writeAtomically(files, out);
  if (!hasFont) {
    console.error("warning: no font found; PNG figures have no text (install fonts-dejavu-core)");
  }
  for (const file of files) console.log(file.path);
}
