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
  parseArgs,
  QUEUE_OPTIONS,
  type QueueChoice,
  queueChoice,
  SAMPLER_OPTIONS,
} from "./options.ts";

const GENERATE_OPTIONS = {
  ...SAMPLER_OPTIONS,
  ...QUEUE_OPTIONS,
  class: { type: "string", multiple: true },
  prompt: { type: "string", multiple: true },
  "negative-prompt": { type: "string" },
  count: { type: "string" },
  out: { type: "string" },
  gif: { type: "string" },
  quiet: { type: "boolean" },
} as const;

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
  const { values } = parseArgs({ args, options: GENERATE_OPTIONS, strict: true });
  const settings = cliSettings(values);
  settings.seed ??= Math.floor(Math.random() * 2 ** 31); // printed below, so any run can be repeated
  const count = values.count === undefined ? 1 : integerOption("count", values.count);
  const queue = queueChoice(values, 64);
  // A local run holds the whole batch in memory; queued shards hold one shard each.
  const maxCount = queue ? 1_000_000 : 64;
  if (count < 1 || count > maxCount) {
    throw new Error(`--count must be from 1 to ${maxCount}, got ${count}`);
  }
  if (queue && values.gif !== undefined) throw new Error("--gif is made by local runs only");
  const model = await loadModel(values.model ?? DEFAULT_MODEL_DIR, await loadOptions(values));
  const name = model.manifest.name;
  const condition = cliCondition(values, model.manifest, count);
  checkCondition(model.manifest, condition);
  const images = "classes" in condition ? condition.classes.length : condition.prompts.length;
  const out = values.out ?? "out";
  if (extname(out).toLowerCase() !== ".png") await Deno.mkdir(out, { recursive: true });
  const { scheduler } = modelSettings(model.manifest, settings);
  const paths = outputPaths(out, `${name}-${scheduler}-seed${settings.seed}`, images);
  if (values.gif !== undefined && extname(values.gif).toLowerCase() !== ".gif") {
    throw new Error(`--gif must name a .gif file, got '${values.gif}'`);
  }
  await assertWritable(
    [...paths.images, ...(paths.grid ? [paths.grid] : []), values.gif ?? []].flat(),
  );
  if (queue) {
    await generateOnQueue(queue, model.manifest, condition, settings, paths.images, values.quiet);
    return;
  }

  const result = await generate({
    model,
    ...condition,
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
