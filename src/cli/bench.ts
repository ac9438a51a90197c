/**
 * `deno task bench`: per-image time split into transformer forwards, VQ decode, PNG encoding
 * and the rest (sampling, JavaScript), images/s per batch size, and this machine's sgemm rate
 * through the same ONNX Runtime (the ceiling a transformer forward can approach).
 *
 * @module
 */

import { sgemmRate, type Split, stats, timeGeneration, transformerFlops } from "../bench.ts";
import { DEFAULT_MODEL_DIR, loadModel, modelSettings } from "../model.ts";
import {
  cliSettings,
  integerOption,
  loadOptions,
  type OptionTable,
  parseOptions,
  SAMPLER_OPTIONS,
} from "./options.ts";

const BENCH_OPTIONS = {
  ...SAMPLER_OPTIONS,
  batch: { type: "string", arg: "LIST", help: "comma-separated batch sizes (default 1,4,8)" },
  runs: { type: "string", arg: "N", help: "timed runs per batch size (default 3)" },
  json: { type: "boolean", help: "print the report as JSON" },
  torch: {
    type: "string",
    arg: "DIR",
    help: "also time the PyTorch reference on the weights in DIR",
  },
  family: {
    type: "string",
    arg: "NAME",
    help: "--torch's model family: v2 | v1 | amused | glyphs",
  },
  "torch-heads": { type: "string", arg: "N", help: "--torch: attention heads, where needed" },
} as const satisfies OptionTable;

/**
 * The PyTorch reference (scripts/bench_torch.py) at batch 1, in this same run: for v2/v1 on
 * the checkpoints a folder was converted from (`DIR/transformer.pth`, `DIR/tokenizer.pth`);
 * for amused on the diffusers pipeline folder `DIR` it was converted from; for glyphs on the
 * training modules with the weights of the model folder `DIR`.
 */
async function torchReference(
  dir: string,
  family: string,
  steps: number,
  cfg: number,
  runs: number,
  heads?: string,
): Promise<{ msPerImage: number; forwardMsPerImage: number }> {
  const script = new URL("../../scripts/bench_torch.py", import.meta.url).pathname;
  const weights = family === "glyphs"
    ? ["--folder", dir]
    : family === "amused"
    ? ["--checkpoint", dir]
    : ["--transformer", `${dir}/transformer.pth`, "--tokenizer", `${dir}/tokenizer.pth`];
  const args = [script, "--family", family, ...weights, "--steps", String(steps)]
    .concat(["--cfg", String(cfg), "--runs", String(runs)])
    .concat(heads === undefined ? [] : ["--heads", heads]);
  const result = await new Deno.Command("/usr/bin/python3", { args, stderr: "piped" }).output();
  if (result.code !== 0) {
    const reason = new TextDecoder().decode(result.stderr).trim().split("\n").at(-1);
    throw new Error(`the PyTorch reference failed: ${reason}`);
  }
  return JSON.parse(new TextDecoder().decode(result.stdout).trim().split("\n").at(-1)!);
}

/** Runs the benchmark and prints a table (or JSON with `--json`). */
export async function benchCommand(args: string[]): Promise<void> {
  const values = parseOptions("bench", args, BENCH_OPTIONS);
  if (!values) return;
  const batches = (values.batch ?? "1,4,8").split(",").map((b) => integerOption("batch", b, 1));
  const runs = values.runs === undefined ? 3 : integerOption("runs", values.runs, 1);
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
    const { rows, forwards, positions } = splits[0];
    // Achieved rate, where the folder records its FLOPs (scripts/model_folder.py writes them).
    const flops = transformerFlops(model.manifest.flops, grid * grid, splits[0]);
    const gflops = flops === undefined ? undefined : flops / (median("forward") / 1000) / 1e9;
    results.push({
      batch,
      runs,
      forwards,
      rows,
      /** Positions whose logits were computed (rows × N without a positions input). */
      logitPositions: positions,
      msPerImage: {
        total: perImage("total"),
        forward: perImage("forward"),
        decode: perImage("decode"),
        encode: perImage("encode"),
        text: perImage("text"),
        other: perImage("other"),
      },
      spreadMs: stats(splits.map((s) => s.total / batch)),
      imagesPerSecond: batch / (median("total") / 1000),
      otherShareOfForward: median("other") / median("forward"),
      transformerGflops: gflops,
      shareOfSgemm: gflops === undefined ? undefined : gflops / sgemm,
    });
  }
  const resolved = modelSettings(model.manifest, settings);
  const torch = values.torch === undefined ? undefined : await torchReference(
    values.torch,
    values.family ?? "v2",
    resolved.steps,
    resolved.cfg,
    runs,
    values["torch-heads"],
  );
  const ours = results.find((r) => r.batch === 1);
  const report = {
    model: model.manifest.name,
    backend: options.backend.name,
    decoderBackend: (options.decoderBackend ?? options.backend).name,
    steps: resolved.steps,
    sgemmGflops: sgemm,
    results,
    torch: torch && ours
      ? {
        ...torch,
        ratio: ours.msPerImage.total / torch.msPerImage,
        forwardRatio: ours.msPerImage.forward / torch.forwardMsPerImage,
      }
      : undefined,
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(
    `${report.model} on ${report.backend}${
      report.decoderBackend === report.backend ? "" : ` (decoder on ${report.decoderBackend})`
    }: sgemm ${sgemm.toFixed(1)} GFLOP/s (best 2048³ MatMul in ORT)\n` +
      "batch | ms/image total | forward | decode | encode | text | other | images/s | " +
      "other/forward | " +
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
        `${m.encode.toFixed(1).padStart(6)} | ${m.text.toFixed(1).padStart(4)} | ` +
        `${m.other.toFixed(1).padStart(5)} | ` +
        `${r.imagesPerSecond.toFixed(2).padStart(8)} | ${other.padStart(13)} | ${rate}`,
    );
  }
  if (report.torch) {
    const { ratio, forwardRatio, msPerImage } = report.torch;
    console.log(
      `PyTorch ${msPerImage.toFixed(0)} ms per image (batch 1, same weights): ours / PyTorch = ` +
        `${ratio.toFixed(2)} (forward ${forwardRatio.toFixed(2)})`,
    );
  }
}
