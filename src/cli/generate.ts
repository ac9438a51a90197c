/**
 * `deno task generate`: classes or prompts → PNG files (plus a grid and an optional step GIF).
 *
 * @module
 */

import { basename, extname, join, resolve } from "node:path";
import { assertWritable, type OutputFile, writeAtomically } from "../files.ts";
import { checkCondition, type Condition } from "../condition.ts";
import type { SettingsInput } from "../settings.ts";
import { generate } from "../generate.ts";
import {
  DEFAULT_MODEL_DIR,
  loadModel,
  type Manifest,
  modelSettings,
  type TextManifest,
} from "../model.ts";
import { progressBar } from "../progress.ts";
import { runOnQueue } from "../queue/coordinator.ts";
import { type GenerateResult, planGenerate } from "../queue/jobs.ts";
import {
  cliSettings,
  integerOption,
  loadOptions,
  type OptionTable,
  parseOptions,
  QUEUE_OPTIONS,
  type QueueChoice,
  queueChoice,
  SAMPLER_OPTIONS,
} from "./options.ts";

/** Images sampled at once unless --batch says otherwise: memory follows it, not the total. */
const DEFAULT_BATCH = 16;
/** Most images one local run writes (classes × --count): each stays in memory as a PNG. */
const MAX_IMAGES = 1024;
/** Most images one queued run asks for: workers write them shard by shard. */
const MAX_QUEUED_IMAGES = 1_000_000;

const GENERATE_OPTIONS = {
  class: {
    type: "string",
    multiple: true,
    arg: "C",
    help: "class name or index; repeat or comma-separate for a batch",
  },
  prompt: { type: "string", multiple: true, arg: "TEXT", help: "text models: the prompt" },
  "negative-prompt": { type: "string", arg: "TEXT", help: "text models: what to steer away from" },
  count: {
    type: "string",
    arg: "K",
    help: "images per class or prompt, 1 to 64, more with --queue (default 1)",
  },
  batch: {
    type: "string",
    arg: "N",
    help: `images sampled at once, 1 to 64 (default ${DEFAULT_BATCH}); memory follows it`,
  },
  ...SAMPLER_OPTIONS,
  out: { type: "string", arg: "PATH", help: "a .png file, or a folder (default: out/)" },
  gif: { type: "string", arg: "FILE", help: "also write an animated GIF of the steps" },
  quiet: { type: "boolean", help: "no progress bar or summary on stderr" },
  ...QUEUE_OPTIONS,
} as const satisfies OptionTable;

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

/**
 * What the command line conditions on: `--class` (repeated or comma-separated) or `--prompt`
 * (repeated; commas are part of a prompt), each image `count` times. Neither: class 0 of a
 * class model, and a clear error for a text model.
 */
function cliCondition(
  values: { class?: string[]; prompt?: string[]; "negative-prompt"?: string },
  manifest: Manifest,
  count: number,
): Condition {
  const repeat = <T>(items: T[]) => items.flatMap((item) => Array<T>(count).fill(item));
  if (values.class !== undefined && values.prompt !== undefined) {
    throw new Error("give --class or --prompt, not both");
  }
  if (values.prompt !== undefined) {
    const negativePrompt = values["negative-prompt"];
    return {
      prompts: repeat(values.prompt),
      ...(negativePrompt === undefined ? {} : { negativePrompt }),
    };
  }
  if (values["negative-prompt"] !== undefined) throw new Error("--negative-prompt needs --prompt");
  if (values.class === undefined && manifest.task === "text-to-image") {
    throw new Error(`model '${manifest.name}' is text-to-image: give --prompt "…"`);
  }
  return {
    classes: repeat((values.class ?? ["0"]).flatMap((c) => c.split(",")).map((c) => c.trim())),
  };
}

/** Generates images and prints the paths written. */
export async function generateCommand(args: string[]): Promise<void> {
  const values = parseOptions("generate", args, GENERATE_OPTIONS);
  if (!values) return;
  const settings = cliSettings(values);
  settings.seed ??= Math.floor(Math.random() * 2 ** 31); // printed below, so any run can be repeated
  const queue = queueChoice(values, 64);
  // A local run holds the whole batch in memory; queued shards hold one shard each.
  const count = values.count === undefined
    ? 1
    : integerOption("count", values.count, 1, queue ? MAX_QUEUED_IMAGES : 64);
  const batch = values.batch === undefined
    ? DEFAULT_BATCH
    : integerOption("batch", values.batch, 1, 64);
  if (values.gif !== undefined && extname(values.gif).toLowerCase() !== ".gif") {
    throw new Error(`--gif must name a .gif file, got '${values.gif}'`);
  }
  if (queue && values.gif !== undefined) throw new Error("--gif is made by local runs only");
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, await loadOptions(values));
  const name = model.manifest.name;
  const condition = cliCondition(values, model.manifest, count);
  checkCondition(model.manifest, condition);
  const images = "classes" in condition ? condition.classes.length : condition.prompts.length;
  const most = queue ? MAX_QUEUED_IMAGES : MAX_IMAGES;
  if (images > most) {
    throw new Error(`at most ${most} images per run, asked for ${images} (classes × --count)`);
  }
  const out = values.out ?? "out";
  // A folder --out is created (with its parents) only when the images are written.
  const folder = extname(out).toLowerCase() === ".png" ? undefined : out;
  const { scheduler } = modelSettings(model.manifest, settings, images);
  const paths = outputPaths(out, `${name}-${scheduler}-seed${settings.seed}`, images);
  const outputs = [...paths.images, ...(paths.grid ? [paths.grid] : []), values.gif ?? []].flat();
  await assertWritable(outputs, folder);
  if (queue) {
    // Workers write into the folder as their shards finish, so it must exist first.
    if (folder !== undefined) await Deno.mkdir(folder, { recursive: true });
    await generateOnQueue(queue, model.manifest, condition, settings, paths.images, values.quiet);
    return;
  }

  const result = await generate({
    model,
    ...condition,
    settings,
    batch,
    onStep: values.quiet ? undefined : progressBar(`${name} ${scheduler}`),
    previewEvery: values.gif === undefined ? 0 : 1,
  });
  const files: OutputFile[] = result.images.map((bytes, i) => ({ path: paths.images[i], bytes }));
  if (paths.grid && result.grid) files.push({ path: paths.grid, bytes: result.grid });
  if (values.gif !== undefined && result.gif) files.push({ path: values.gif, bytes: result.gif });
  await writeAtomically(files, folder);
  const { seed, steps } = result.settings;
  if (!values.quiet) {
    console.error(
      `${basename(model.dir)}: ${images} image(s), ${result.settings.scheduler}, ` +
        `${steps} steps, seed ${seed} (image b used seed ${seed} + b)`,
    );
    const cut = new Set(result.recipes.filter((_, b) => result.truncated[b]));
    for (const recipe of cut) {
      const { text } = model.manifest as TextManifest;
      console.error(`note: prompt truncated to ${text.length} tokens: ${JSON.stringify(recipe)}`);
    }
  }
  for (const file of files) console.log(file.path);
}

/**
 * `--queue`: the images in shards of consecutive seeds, made and written by workers (the
 * same names and bytes as a local run; no grid). Prints the paths, like a local run.
 */
async function generateOnQueue(
  queue: QueueChoice,
  manifest: Manifest,
  condition: Condition,
  settings: SettingsInput,
  images: string[],
  quiet = false,
): Promise<void> {
  const resolved = modelSettings(manifest, settings);
  // Workers on other machines resolve paths against the shared file system, not our folder.
  const paths = images.map((path) => resolve(path));
  const shards = planGenerate(manifest.name, condition, resolved, paths, queue.shardSize);
  if (!quiet) {
    console.error(
      `queue: ${paths.length} image(s) of ${manifest.name} in ${shards.length} shard(s), ` +
        `seed ${resolved.seed} (re-run with --seed ${resolved.seed} to re-attach)`,
    );
  }
  const started = performance.now();
  const results = await runOnQueue<GenerateResult>(queue.url, manifest.name, shards, {
    attempts: queue.attempts,
    quiet,
  });
  if (!quiet) {
    const seconds = results.reduce((sum, result) => sum + result.seconds, 0);
    const wall = (performance.now() - started) / 1000;
    console.error(
      `${paths.length} image(s) in ${wall.toFixed(1)} s, ${seconds.toFixed(1)} s of worker time`,
    );
  }
  for (const path of images) console.log(path);
}
