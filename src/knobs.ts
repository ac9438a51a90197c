/**
 * The sampler knobs as users name them — `--top-k` on the command line, `top_k` in the HTTP
 * API — mapped onto {@link SettingsInput}. One table, so the CLI, the server and the API
 * description cannot drift apart.
 *
 * @module
 */

import { SettingError, type SettingsInput } from "./settings.ts";

/** What kind of value a knob takes. */
export type KnobKind = "integer" | "number" | "string" | "boolean";

/** One user-facing sampler knob. */
export interface Knob {
  /** Command-line name (`--top-k`); the API uses it with `_` for `-` (`top_k`). */
  name: string;
  /** Where it lands in the settings, as {@link SettingError} fields name it. */
  field: string;
  kind: KnobKind;
  /** One line for help texts and the API description. */
  help: string;
}

/** Every sampler knob, in the order help texts list them. */
export const KNOBS: readonly Knob[] = [
  {
    name: "seed",
    field: "seed",
    kind: "integer",
    help: "seed of the first image; image b uses seed + b",
  },
  { name: "scheduler", field: "scheduler", kind: "string", help: "halton | confidence | random" },
  { name: "steps", field: "steps", kind: "integer", help: "number of steps, 1…N" },
  {
    name: "cfg",
    field: "cfg",
    kind: "number",
    help: "classifier-free guidance weight, 0 to 100 (0 = off)",
  },
  {
    name: "cfg-ramp",
    field: "cfgRamp",
    kind: "string",
    help: "auto (the scheduler's own) | constant | linear (0 → cfg over the steps)",
  },
  {
    name: "temperature",
    field: "temperature.start",
    kind: "number",
    help:
      "softmax temperature, 0.001 to 1000 (start; also the end unless temperature-end is given)",
  },
  {
    name: "temperature-end",
    field: "temperature.end",
    kind: "number",
    help: "temperature at the last step, 0.001 to 1000",
  },
  {
    name: "temperature-power",
    field: "temperature.power",
    kind: "number",
    help: "exponent applied to the temperature, -10 to 10",
  },
  {
    name: "temperature-warmup",
    field: "temperature.warmup",
    kind: "integer",
    help: "double the temperature during the first K steps",
  },
  {
    name: "top-k",
    field: "topK",
    kind: "integer",
    help: "sample among the K most likely tokens (0 = all)",
  },
  {
    name: "randomize",
    field: "randomize",
    kind: "boolean",
    help: "Halton: roll the order by a random offset per image",
  },
  {
    name: "count-mode",
    field: "countMode",
    kind: "string",
    help: "Confidence: arccos | cosine | linear | square | root | amused",
  },
  {
    name: "noise",
    field: "noise",
    kind: "string",
    help: "Confidence: linear | warm_up | random | none",
  },
  {
    name: "noise-temperature",
    field: "noiseTemperature",
    kind: "number",
    help: "Confidence: Gumbel noise scale, 0 to 1000",
  },
];

/**
 * The API name of a knob: its command-line name with `_` for `-`.
 *
 * @example
 * ```ts
 * import { apiName, KNOBS } from "./knobs.ts";
 * apiName(KNOBS.find((k) => k.name === "top-k")!); // "top_k"
 * ```
 */
export function apiName(knob: Knob): string {
  return knob.name.replaceAll("-", "_");
}

/**
 * The knob behind a {@link SettingError} field (e.g. "topK" → the `top-k` knob), if any.
 *
 * @example
 * ```ts
 * import { knobOfField } from "./knobs.ts";
 * knobOfField("temperature.end")?.name; // "temperature-end"
 * ```
 */
export function knobOfField(field: string): Knob | undefined {
  return KNOBS.find((knob) => knob.field === field);
}

/**
 * Builds settings from knob values; `read` returns a knob's value already of its kind, or
 * `undefined` when the user did not give it (unset knobs must not hide a model's defaults).
 * A given `temperature` is also the end temperature unless `temperature-end` is given.
 *
 * @example
 * ```ts
 * import { knobSettings } from "./knobs.ts";
 * const given: Record<string, number> = { steps: 8, temperature: 0.6 };
 * knobSettings((knob) => given[knob.name]);
 * // { steps: 8, temperature: { start: 0.6, end: 0.6 } }
 * ```
 */
export function knobSettings(
  read: (knob: Knob) => number | string | boolean | undefined,
): SettingsInput {
  const settings: Record<string, unknown> = {};
  const temperature: Record<string, unknown> = {};
  for (const knob of KNOBS) {
    const value = read(knob);
    if (value === undefined) continue;
    const [head, key] = knob.field.split(".");
    if (key) temperature[key] = value;
    else settings[head] = value;
  }
  if (temperature.start !== undefined) temperature.end ??= temperature.start;
  if (Object.keys(temperature).length > 0) settings.temperature = temperature;
  return settings as SettingsInput;
}

const KIND_CHECKS: Record<KnobKind, (value: unknown) => boolean> = {
  integer: Number.isSafeInteger,
  number: (value) => typeof value === "number" && Number.isFinite(value),
  string: (value) => typeof value === "string",
  boolean: (value) => typeof value === "boolean",
};

/**
 * Checks a JSON value against a knob's kind; throws {@link SettingError} whose field is
 * `field` (the name the caller used).
 *
 * @example
 * ```ts
 * import { checkKind } from "./knobs.ts";
 * checkKind("steps", "integer", 8); // 8
 * // checkKind("steps", "integer", "8") throws: steps must be an integer, got "8"
 * ```
 */
export function checkKind(
  field: string,
  kind: KnobKind,
  value: unknown,
): number | string | boolean {
  const ok = KIND_CHECKS[kind](value);
  if (!ok) {
    const expected = kind === "integer" ? "an integer" : `a ${kind}`;
    throw new SettingError(field, `${field} must be ${expected}, got ${JSON.stringify(value)}`);
  }
  return value as number | string | boolean;
}
