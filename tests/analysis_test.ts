import { main } from "../main.ts";
import { type Analysis, stepMetrics, StepRecorder, summarize } from "../src/analysis/metrics.ts";
import { decodePng } from "../src/image.ts";
import type { PredictorInput } from "../src/sampler.ts";
import { sample } from "../src/sampler.ts";
import { SCHEDULER_NAMES, type SchedulerName } from "../src/scheduler/mod.ts";
import type { SettingsInput } from "../src/settings.ts";
import { assert, assertEquals } from "./assert.ts";
import { hashedLogit, syntheticPredictor } from "./synthetic.ts";

const GRID = 16;
const CODEBOOK = 8;

Deno.test("analysis: step metrics by hand", () => {
  const known = new Uint8Array(16);
  known[0] = 1;
  const m = stepMetrics(4, Int32Array.of(3, 12), Float32Array.of(1, 2), known);
  assertEquals(m.entropy, 1.5);
  assert(Math.abs(m.spread - Math.sqrt(18)) < 1e-12);
  assertEquals(m.nearestKnown, 3);
  const alone = stepMetrics(4, Int32Array.of(5), Float32Array.of(0), new Uint8Array(16));
  assert(Number.isNaN(alone.spread) && Number.isNaN(alone.nearestKnown));
  const s = summarize([1, 3, NaN]);
  assertEquals([s.mean, s.n], [2, 2]);
  assert(Math.abs(s.std - Math.SQRT2) < 1e-12);
});

/** Runs M samples of one scheduler on a synthetic predictor and records every step. */
async function analyze(
  scheduler: SchedulerName,
  logit: (token: number, position: number, row: number, input: PredictorInput) => number,
  settings: SettingsInput = {},
  samples = 16,
): Promise<Analysis> {
  const recorder = new StepRecorder(GRID, 32);
  await sample({
    predictor: syntheticPredictor(CODEBOOK + 1, logit),
    grid: GRID,
    codebookSize: CODEBOOK,
    maskId: CODEBOOK,
    images: samples,
    settings: { scheduler, steps: 32, seed: 7, ...settings },
    onStep: (event) => recorder.observe(event),
  });
  return recorder.result();
}

/** Every sample conditioned on label 0. */
const hashed = (token: number, position: number) => hashedLogit(token, position, 0);

const meanOver = (analysis: Analysis, key: "spread" | "nearestKnown" | "entropy") => {
  const defined = analysis.steps.map((s) => s[key].mean).filter((v) => !Number.isNaN(v));
  return defined.reduce((a, b) => a + b, 0) / defined.length;
};

Deno.test("analysis: Halton spreads a step's tokens further apart than Random (16×16, 32 steps)", async () => {
  const halton = await analyze("halton", hashed);
  const random = await analyze("random", hashed);
  assert(meanOver(halton, "spread") > meanOver(random, "spread"));
  // Every step's positions are recorded once per sample; the heat map covers steps 1…32.
  assertEquals(halton.samples, 16);
  assertEquals(Math.min(...halton.firstSampleStep), 1);
  assertEquals(Math.max(...halton.firstSampleStep), 32);
  assertEquals(halton.steps.at(-1)!.knownShare, 1);
});

Deno.test("analysis: when confidence peaks next to known tokens, Confidence stays closest to them", async () => {
  // Sharp logits (low entropy) at masked positions with a known neighbour, flat elsewhere.
  const logit = (token: number, position: number, row: number, input: PredictorInput) => {
    const n = GRID * GRID;
    const state = input.tokens.subarray(row * n, (row + 1) * n);
    const r = Math.floor(position / GRID), c = position % GRID;
    const neighbours = [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]]
      .filter(([y, x]) => y >= 0 && y < GRID && x >= 0 && x < GRID);
    const nearKnown = neighbours.some(([y, x]) => state[y * GRID + x] < CODEBOOK);
    return nearKnown && token === position % CODEBOOK ? 8 : 0;
  };
  const distances = Object.fromEntries(
    await Promise.all(
      SCHEDULER_NAMES.map(async (scheduler) => [
        scheduler,
        meanOver(await analyze(scheduler, logit, { noise: "none" }), "nearestKnown"),
      ]),
    ),
  );
  assert(distances.confidence < distances.halton, JSON.stringify(distances));
  assert(distances.confidence < distances.random, JSON.stringify(distances));
  // And its tokens are the low-entropy ones.
  const confidence = await analyze("confidence", logit, { noise: "none" });
  const random = await analyze("random", logit);
  assert(meanOver(confidence, "entropy") < meanOver(random, "entropy"));
});

Deno.test("analysis: numbers are deterministic for a seed", async () => {
  const a = await analyze("confidence", hashed, {}, 4);
  const b = await analyze("confidence", hashed, {}, 4);
  assertEquals(JSON.stringify(a.steps), JSON.stringify(b.steps));
  assertEquals(a.meanStep, b.meanStep);
  const c = await analyze("confidence", hashed, { seed: 8 }, 4);
  assert(JSON.stringify(a.steps) !== JSON.stringify(c.steps));
});

Deno.test("analyze command: writes JSON, CSV, SVG and PNG figures; bad input is one line", async () => {
  const out = await Deno.makeTempDir();
  try {
    const standin = new URL("../models/tiny-random", import.meta.url).pathname;
    const args = ["analyze", "--model", standin, "--steps", "8", "--samples", "6", "--batch", "4"];
    assertEquals(await main([...args, "--out", out, "--show", "2"]), 0);
    const report = JSON.parse(await Deno.readTextFile(`${out}/analysis.json`));
    assertEquals(Object.keys(report.schedulers), ["halton", "confidence", "random"]);
    assertEquals(report.schedulers.halton.steps.length, 8);
    assertEquals(report.schedulers.random.firstSampleStep.length, 256);
    const csv = (await Deno.readTextFile(`${out}/analysis.csv`)).trim().split("\n");
    assertEquals(csv.length, 1 + 3 * 8);
    for (const name of ["entropy", "spread", "nearest-known", "heatmap-halton", "steps-labelled"]) {
      assert((await Deno.readTextFile(`${out}/${name}.svg`)).startsWith("<svg"), name);
      assert(decodePng(await Deno.readFile(`${out}/${name}.png`)).width > 100, name);
    }
    // Steps grid: 3 schedulers × 2 samples rows of 64-pixel images.
    assertEquals(decodePng(await Deno.readFile(`${out}/steps.png`)).height, 6 * 64 + 5 * 2);
    assertEquals(await main([...args, "--out", out, "--schedulers", "halton,best"]), 1);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
