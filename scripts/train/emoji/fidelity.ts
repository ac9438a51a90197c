/**
 * Prompt fidelity of a text model by kind of emoji: the share of generated images that the
 * evaluation classifier (`eval/`) reads as the emoji asked for, top-1 and top-5, for emoji
 * without skin tones, the toned emoji's base forms, their skin-tone variants and country flags
 * apart. `deno task eval` mixes them in the proportions of the emoji list (half are tone
 * variants); this shows what the training draws' weighting trades between them.
 *
 * ```sh
 * deno task fidelity --model models/emoji [--per-kind 64] [--seed 0] [sampler knobs]
 * ```
 *
 * Prints one line per kind, then the figures as one JSON line. The prompts are CLDR names (the
 * eval.json `classes`), `--per-kind` of each kind spread evenly over the list; image i of a kind
 * uses seed + i.
 *
 * @module
 */

import {
  cliSettings,
  integerOption,
  loadOptions,
  parseOptions,
  SAMPLER_OPTIONS,
} from "../../../src/cli/options.ts";
import { loadEvaluator } from "../../../src/eval/evaluator.ts";
import { render } from "../../../src/generate.ts";
import { loadModel } from "../../../src/model.ts";

/** The kinds, in print order. */
export const KINDS = ["no skin tones", "toned base", "skin-tone variant", "country flag"] as const;
export type Kind = typeof KINDS[number];

// A skin-tone part of a name's list after the colon (the bare swatches, "dark skin tone", have none).
const TONE = / skin tone$/;

/**
 * The base form of a CLDR name: its skin-tone parts removed ("thumbs up: dark skin tone" →
 * "thumbs up", "person: dark skin tone, red hair" → "person: red hair").
 *
 * @example
 * ```ts
 * import { baseName } from "./fidelity.ts";
 * baseName("kiss: woman, man, light skin tone, dark skin tone"); // "kiss: woman, man"
 * ```
 */
export function baseName(name: string): string {
  const colon = name.indexOf(": ");
  if (colon < 0) return name;
  const rest = name.slice(colon + 2).split(", ").filter((part) => !TONE.test(part));
  return rest.length === 0 ? name.slice(0, colon) : `${name.slice(0, colon)}: ${rest.join(", ")}`;
}

/**
 * The kind of each class, from the names alone (CLDR names say the tones and flags).
 *
 * @example
 * ```ts
 * import { kindsOf } from "./fidelity.ts";
 * kindsOf(["thumbs up", "thumbs up: dark skin tone", "flag: Japan", "red apple"]);
 * // ["toned base", "skin-tone variant", "country flag", "no skin tones"]
 * ```
 */
export function kindsOf(names: readonly string[]): Kind[] {
  const toned = new Set(names.map(baseName).filter((base, i) => base !== names[i]));
  return names.map((name) =>
    baseName(name) !== name
      ? "skin-tone variant"
      : toned.has(name)
      ? "toned base"
      : name.startsWith("flag: ")
      ? "country flag"
      : "no skin tones"
  );
}

/** The command: prints a line per kind and the figures as JSON; bad input throws one clear error. */
async function main(args: string[]): Promise<void> {
  const table = {
    ...SAMPLER_OPTIONS,
    "per-kind": { type: "string", arg: "N", help: "prompts of each kind (default 64)" },
    seed: { type: "string", arg: "N", help: "seed of the first image of each kind (default 0)" },
  } as const;
  const values = parseOptions("fidelity", args, table);
  if (!values) return;
  const perKind = integerOption("per-kind", values["per-kind"] ?? "64", 1);
  const seed = integerOption("seed", values.seed ?? "0", 0);
  const options = await loadOptions(values);
  const model = await loadModel(values.model ?? "models/emoji", options);
  if (model.manifest.task !== "text-to-image") {
    throw new Error(`${model.dir} is a class model; fidelity.ts scores a text model's prompts`);
  }
  const evaluator = await loadEvaluator(model, options);
  const { classes: names } = JSON.parse(await Deno.readTextFile(`${model.dir}/eval/eval.json`)) as {
    classes: string[];
  };
  const kinds = kindsOf(names);
  const figures: Record<string, { prompts: number; top1: number; top5: number }> = {};
  for (const kind of KINDS) {
    const members = names.flatMap((_, c) => kinds[c] === kind ? [c] : []);
    const count = Math.min(perKind, members.length);
    const picked = Array.from(
      { length: count },
      (_, i) => members[Math.floor(i * members.length / count)],
    );
    const { pictures } = await render({
      model,
      prompts: picked.map((c) => names[c]),
      settings: { ...cliSettings(values), seed },
    });
    // The evaluator's own hit counts, as `deno task eval` scores them.
    const { counts: { top1, top5 } } = evaluator.tally(await evaluator.classify(pictures), picked);
    figures[kind] = { prompts: count, top1: top1 / count, top5: top5 / count };
    const percent = (v: number) => `${(100 * v).toFixed(1)} %`;
    console.log(
      `${kind.padEnd(18)} ${String(members.length).padStart(5)} emoji, ${count} prompts: top-1 ${
        percent(top1 / count)
      }, top-5 ${percent(top5 / count)}`,
    );
  }
  console.log(JSON.stringify(figures));
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`fidelity: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
