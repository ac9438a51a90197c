/**
 * Command-line entry: `deno run main.ts <command> [options]` (see `deno.json` tasks).
 *
 * Options are parsed with `node:util` parseArgs, standing in for @std/cli, which cannot
 * be installed here (JSR is unreachable); this file is the only place that does so.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, extname, join } from "node:path";
import { nodeBackend } from "./src/backend/onnx-node.ts";
import { assertWritable, type OutputFile, writeAtomically } from "./src/files.ts";
import { generate as generateImages } from "./src/generate.ts";
import { haltonOrder, orderToPairs } from "./src/halton.ts";
import { evaluate, loadEvaluator } from "./src/eval/glyphs.ts";
import { DEFAULT_MODEL_DIR, loadModel } from "./src/model.ts";
import { progressBar } from "./src/progress.ts";
import type { SettingsInput } from "./src/settings.ts";

const USAGE = `usage: deno task <command> [options]

commands:
  halton --grid N   print the Halton order of an N×N grid as JSON [[row, col], …]
  generate          class label(s) → PNG image(s); see README "Generating images"
  eval              score a scheduler's images with the model's glyph classifier

generate options:
  --model DIR              model folder (default: models/tiny-random)
  --class C                class name or index; repeat or comma-separate for a batch
  --count K                images per class (default 1)
  --seed S                 seed of the first image; image b uses S + b (default: random, printed)
  --scheduler NAME         halton | confidence | random
  --steps S                number of steps, 1…N
  --cfg W                  classifier-free guidance weight (0 = off)
  --temperature T          softmax temperature (start; also the end unless --temperature-end)
  --temperature-end T      temperature at the last step
  --temperature-power P    exponent applied to the temperature
  --temperature-warmup K   double the temperature during the first K steps
  --top-k K                sample among the K most likely tokens (0 = all)
  --randomize              Halton: roll the order by a random offset per image
  --count-mode M           Confidence: arccos | cosine | linear | square | root
  --noise M                Confidence: linear | warm_up | random | none
  --noise-temperature R    Confidence: Gumbel noise scale
  --out PATH               a .png file, or a folder (default: out/)
  --gif FILE               also write an animated GIF of the steps
  --threads N              ONNX Runtime intra-op threads (default: all cores)
  --provider NAME          ONNX Runtime execution provider (default: cpu)
  --quiet                  no progress bar or summary on stderr`;

/** Parses a whole number given on the command line, or throws one clear line. */
function integerOption(name: string, value: string | undefined): number {
  if (value === undefined) throw new Error(`--${name} is required`);
  if (!/^\d+$/.test(value.trim())) {
    throw new Error(`--${name} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

/** Parses a number given on the command line, or throws one clear line. */
function numberOption(name: string, value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) {
    throw new Error(`--${name} must be a number, got '${value}'`);
  }
  return number;
}

function halton(args: string[]): void {
  const { values } = parseArgs({ args, options: { grid: { type: "string" } }, strict: true });
  const grid = integerOption("grid", values.grid);
  console.log(JSON.stringify(orderToPairs(haltonOrder(grid), grid)));
}

const GENERATE_OPTIONS = {
  model: { type: "string" },
  class: { type: "string", multiple: true },
  count: { type: "string" },
  seed: { type: "string" },
  scheduler: { type: "string" },
  steps: { type: "string" },
  cfg: { type: "string" },
  temperature: { type: "string" },
  "temperature-end": { type: "string" },
  "temperature-power": { type: "string" },
  "temperature-warmup": { type: "string" },
  "top-k": { type: "string" },
  randomize: { type: "boolean" },
  "count-mode": { type: "string" },
  noise: { type: "string" },
  "noise-temperature": { type: "string" },
  out: { type: "string" },
  gif: { type: "string" },
  threads: { type: "string" },
  provider: { type: "string" },
  quiet: { type: "boolean" },
} as const;

/** The sampler settings the command line asks for (only the knobs it names). */
function cliSettings(values: Record<string, string | boolean | string[] | undefined>) {
  const text = (name: string) => values[name] as string | undefined;
  const number = (name: string) =>
    text(name) === undefined ? undefined : numberOption(name, text(name)!);
  const integer = (name: string) =>
    text(name) === undefined ? undefined : integerOption(name, text(name));
  const start = number("temperature");
  const settings: SettingsInput = {
    scheduler: text("scheduler") as SettingsInput["scheduler"],
    steps: integer("steps"),
    seed: integer("seed"),
    cfg: number("cfg"),
    topK: integer("top-k"),
    randomize: values.randomize as boolean | undefined,
    countMode: text("count-mode") as SettingsInput["countMode"],
    noise: text("noise") as SettingsInput["noise"],
    noiseTemperature: number("noise-temperature"),
    temperature: {
      start,
      end: number("temperature-end") ?? start,
      power: number("temperature-power"),
      warmup: integer("temperature-warmup"),
    },
  };
  // Unset knobs must not hide the model's defaults.
  const prune = (o: object) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return { ...prune(settings), temperature: prune(settings.temperature!) } as SettingsInput;
}

/** Where each image goes: a .png path names the (grid) file, anything else is a folder. */
function outputPaths(
  out: string,
  stem: string,
  count: number,
): { images: string[]; grid?: string } {
  if (extname(out).toLowerCase() === ".png") {
    if (count === 1) return { images: [out] };
    const base = out.slice(0, -4);
    return { images: Array.from({ length: count }, (_, i) => `${base}-${i}.png`), grid: out };
  }
  const images = Array.from({ length: count }, (_, i) => join(out, `${stem}-${i}.png`));
  return { images, grid: count > 1 ? join(out, `${stem}-grid.png`) : undefined };
}

async function generate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: GENERATE_OPTIONS, strict: true });
  const settings = cliSettings(values);
  settings.seed ??= Math.floor(Math.random() * 2 ** 31); // printed below, so any run can be repeated
  const count = values.count === undefined ? 1 : integerOption("count", values.count);
  if (count < 1 || count > 64) throw new Error(`--count must be from 1 to 64, got ${count}`);
  const classes = (values.class ?? ["0"]).flatMap((c) => c.split(",")).map((c) => c.trim())
    .flatMap((c) => Array<string>(count).fill(c));
  const threads = values.threads === undefined
    ? undefined
    : integerOption("threads", values.threads);
  if (threads === 0) throw new Error("--threads must be at least 1");

  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, {
    backend: nodeBackend,
    threads,
    provider: values.provider,
  });
  const name = model.manifest.name;
  const out = values.out ?? "out";
  if (extname(out).toLowerCase() !== ".png") await Deno.mkdir(out, { recursive: true });
  const scheduler = settings.scheduler ?? model.manifest.defaults.scheduler ?? "halton";
  const paths = outputPaths(out, `${name}-${scheduler}-seed${settings.seed}`, classes.length);
  if (values.gif !== undefined && extname(values.gif).toLowerCase() !== ".gif") {
    throw new Error(`--gif must name a .gif file, got '${values.gif}'`);
  }
  await assertWritable(
    [...paths.images, ...(paths.grid ? [paths.grid] : []), values.gif ?? []].flat(),
  );

  const result = await generateImages({
    model,
    classes,
    settings,
    onStep: values.quiet ? undefined : progressBar(`${name} ${scheduler}`),
    previewEvery: values.gif === undefined ? 0 : 1,
  });
  const files: OutputFile[] = result.images.map((bytes, i) => ({ path: paths.images[i], bytes }));
  if (paths.grid && result.grid) files.push({ path: paths.grid, bytes: result.grid });
  if (values.gif !== undefined && result.gif) files.push({ path: values.gif, bytes: result.gif });
  await writeAtomically(files);
  const { seed, steps } = result.settings;
  if (!values.quiet) {
    console.error(
      `${basename(model.dir)}: ${classes.length} image(s), ${result.settings.scheduler}, ` +
        `${steps} steps, seed ${seed} (image b used seed ${seed} + b)`,
    );
  }
  for (const file of files) console.log(file.path);
}

/** Sampler knobs shared by generate and eval. */
const SAMPLER_OPTIONS = Object.fromEntries(
  Object.entries(GENERATE_OPTIONS).filter(([name]) =>
    !["class", "count", "out", "gif", "quiet"].includes(name)
  ),
) as Omit<typeof GENERATE_OPTIONS, "class" | "count" | "out" | "gif" | "quiet">;

async function evaluateCommand(args: string[]): Promise<void> {
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
  const samples = values.samples === undefined ? 620 : integerOption("samples", values.samples);
  const batch = values.batch === undefined ? 62 : integerOption("batch", values.batch);
  if (samples < 2) throw new Error(`--samples must be at least 2, got ${samples}`);
  if (batch < 1) throw new Error(`--batch must be at least 1, got ${batch}`);
  const threads = values.threads === undefined
    ? undefined
    : integerOption("threads", values.threads);
  const options = { backend: nodeBackend, threads, provider: values.provider };
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, options);
  const evaluator = await loadEvaluator(model, nodeBackend, options);
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

const COMMANDS: Record<string, (args: string[]) => void | Promise<void>> = {
  halton,
  generate,
  eval: evaluateCommand,
};

/**
 * Runs one command and returns the process exit code; errors become one line on stderr.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * await main(["halton", "--grid", "8"]); // prints 64 pairs, returns 0
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = COMMANDS[name];
  if (!command) {
    console.error(name && name !== "--help" ? `error: unknown command '${name}'\n${USAGE}` : USAGE);
    return name && name !== "--help" ? 2 : 0;
  }
  try {
    await command(args);
    return 0;
  } catch (error) {
    // One line: the first line of the message (parseArgs adds hints on further lines).
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
