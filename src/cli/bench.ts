/**
 * `deno task bench`: per-image time split into transformer forwards, VQ decode, PNG encoding
 * and the rest (sampling, JavaScript), images/s per batch size, and this machine's sgemm rate
 * through the same ONNX Runtime (the ceiling a transformer forward can approach).
 *
 * @module
 */

import { sgemmRate, type Split, stats, timeGeneration } from "../bench.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "../model.ts";
import { mergeSettings, resolveSettings } from "../settings.ts";
import { cliSettings, integerOption, loadOptions, parseArgs, SAMPLER_OPTIONS } from "./options.ts";

const BENCH_OPTIONS = {
  ...SAMPLER_OPTIONS,
  batch: { type: "string" },
  runs: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Runs the benchmark and prints a table (or JSON with `--json`). */
export async function benchCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: BENCH_OPTIONS, strict: true });
  const batches = (values.batch ?? "1,4,8").split(",").map((b) => integerOption("batch", b));
  const runs = values.runs === undefined ? 3 : integerOption("runs", values.runs);
  if (runs < 1 || batches.some((b) => b < 1)) throw new Error("--runs and --batch must be ≥ 1");
  const settings = { seed: 0, ...cliSettings(values) };
  const options = await loadOptions(values);
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, options);
  const { grid } = model.manifest;
  const sgemm = await sgemmRate(options.backend, 2048, 7, options.threads);

  const results = [];
  for (const batch of batches) {
    await timeGeneration(model, batch, settings); // warm-up: arenas, caches
    const splits: Split[] = [];
    for (let r = 0; r < runs; r++) splits.push(await timeGeneration(model, batch, settings));
    const median = (key: keyof Split) => stats(splits.map((s) => s[key])).median;
    const perImage = (key: keyof Split) => median(key) / batch;
    const { rows, forwards } = splits[0];
    // Achieved rate, where the folder records its FLOPs (scripts/model_folder.py writes them).
    const flops = model.manifest.flops?.transformer;
    const gflops = flops === undefined
      ? undefined
      : (flops * rows) / (median("forward") / 1000) / 1e9;
    results.push({
      batch,
      runs,
      forwards,
      rows,
      msPerImage: {
        total: perImage("total"),
        forward: perImage("forward"),
        decode: perImage("decode"),
        encode: perImage("encode"),
        other: perImage("other"),
      },
      spreadMs: stats(splits.map((s) => s.total / batch)),
      imagesPerSecond: batch / (median("total") / 1000),
      otherShareOfForward: median("other") / median("forward"),
      transformerGflops: gflops,
      shareOfSgemm: gflops === undefined ? undefined : gflops / sgemm,
    });
  }
  const report = {
    model: model.manifest.name,
    backend: options.backend.name,
    steps: resolveSettings(mergeSettings(model.manifest.defaults, settings), grid * grid).steps,
    sgemmGflops: sgemm,
    results,
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(
    `${report.model} on ${report.backend}: sgemm ${
      sgemm.toFixed(1)
    } GFLOP/s (best 2048³ MatMul in ORT)\n` +
      "batch | ms/image total | forward | decode | encode | other | images/s | other/forward | " +
      "forward GFLOP/s (of sgemm)",
  );
  for (const r of results) {
    const m = r.msPerImage;
    const rate = r.transformerGflops === undefined
      ? "unknown (no flops in model.json)"
      : `${r.transformerGflops.toFixed(1)} (${(100 * r.shareOfSgemm!).toFixed(0)} %)`;
    const other = `${(100 * r.otherShareOfForward).toFixed(1)} %`;
    console.log(
      `${String(r.batch).padStart(5)} | ${m.total.toFixed(1).padStart(14)} | ` +
        `${m.forward.toFixed(1).padStart(7)} | ${m.decode.toFixed(1).padStart(6)} | ` +
        `${m.encode.toFixed(1).padStart(6)} | ${m.other.toFixed(1).padStart(5)} | ` +
        `${r.imagesPerSecond.toFixed(2).padStart(8)} | ${other.padStart(13)} | ${rate}`,
    );
  }
}
