/**
 * The sampler's knobs, their defaults and their validation.
 *
 * @module
 */

import { NOISE_MODES, type NoiseMode } from "./scheduler/confidence.ts";
import { SCHEDULER_NAMES, type SchedulerName } from "./scheduler/mod.ts";
import {
  assertSteps,
  COUNT_MODES,
  type CountMode,
  GUIDANCE_RAMPS,
  type GuidanceRamp,
  type TemperatureSchedule,
} from "./schedule.ts";

/** Every knob of one sampling run. */
export interface SamplerSettings {
  /** Which scheduler picks the positions: "halton" (the paper), "confidence" or "random". */
  scheduler: SchedulerName;
  /** Number of steps S, 1 ≤ S ≤ number of tokens (default 32, or N when the grid has fewer). */
  steps: number;
  /** Seed of sample 0; sample b of a batch uses seed + b, so each image is reproducible alone. */
  seed: number;
  /** Classifier-free guidance weight w: logits = (1 + w)·cond − w·uncond. 0 turns it off. */
  cfg: number;
  /**
   * How w moves over the steps: "auto" = the scheduler's own (Halton, Random: constant;
   * Confidence: the official linear ramp), or "constant" / "linear" for any scheduler.
   */
  cfgRamp: "auto" | GuidanceRamp;
  /** Softmax temperature schedule (usual sense: higher = more random). */
  temperature: TemperatureSchedule;
  /** Sample only among the k most likely tokens; 0 = all tokens. */
  topK: number;
  /** Halton only: roll the order by a random offset per sample. */
  randomize: boolean;
  /** Confidence only: shape of the count curve. */
  countMode: CountMode;
  /** Confidence only: how noise enters the confidence score. */
  noise: NoiseMode;
  /** Confidence only: scale of the Gumbel noise in "linear" mode (official r_temp). */
  noiseTemperature: number;
}

/** Settings as a caller may give them: any subset, temperature knobs included. */
export type SettingsInput = Partial<Omit<SamplerSettings, "temperature">> & {
  temperature?: Partial<TemperatureSchedule>;
};

/**
 * Defaults: the official README demo of the Halton sampler (32 steps, guidance 2,
 * inverse temperature 1 → 1.2, i.e. temperature 1 → 1/1.2) with randomize off, and the
 * official Confidence defaults (arccos counts, linear Gumbel noise, r_temp 4.5).
 */
export const DEFAULT_SETTINGS: Readonly<SamplerSettings> = Object.freeze({
  scheduler: "halton",
  steps: 32,
  seed: 0,
  cfg: 2,
  cfgRamp: "auto",
  temperature: Object.freeze({ start: 1, end: 1 / 1.2, power: 1, warmup: 0 }),
  topK: 0,
  randomize: false,
  countMode: "arccos",
  noise: "linear",
  noiseTemperature: 4.5,
});

/** A knob with a bad value; `field` names it (e.g. "steps", "temperature.start"). */
export class SettingError extends RangeError {
  /** The knob at fault. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "SettingError";
    this.field = field;
  }
}

function check(field: string, ok: boolean, expected: string, value: unknown): void {
  if (!ok) throw new SettingError(field, `${field} must be ${expected}, got ${String(value)}`);
}

function oneOf<T extends string>(field: string, names: readonly T[], value: unknown): void {
  check(field, names.includes(value as T), `one of ${names.join(", ")}`, value);
}

/**
 * Layers settings: later layers override earlier ones, knob by knob (temperature knobs too).
 *
 * @example
 * ```ts
 * import { mergeSettings } from "./settings.ts";
 * mergeSettings({ steps: 8, temperature: { start: 2 } }, { temperature: { end: 1 } });
 * // { steps: 8, temperature: { start: 2, end: 1 } }
 * ```
 */
export function mergeSettings(...layers: (SettingsInput | undefined)[]): SettingsInput {
  return layers.reduce<SettingsInput>(
    (merged, layer) => ({
      ...merged,
      ...layer,
      temperature: { ...merged.temperature, ...layer?.temperature },
    }),
    {},
  );
}

/**
 * Bounds of the numeric knobs. They keep every step finite for any combination: logits times
 * (1 + cfg) times 1/T^power stays far below float64's range (1e3^10 · 101 · float32 max ≈
 * 1e71), and a guidance or temperature of 1e308 would otherwise turn logits into NaN.
 */
export const SETTING_RANGES = {
  cfg: [0, 100],
  temperature: [0.001, 1000],
  power: [-10, 10],
  noiseTemperature: [0, 1000],
} as const;

const SETTING_KEYS = new Set(Object.keys(DEFAULT_SETTINGS));
const TEMPERATURE_KEYS = new Set(Object.keys(DEFAULT_SETTINGS.temperature));

function known(input: SettingsInput): void {
  for (const key of Object.keys(input)) {
    if (!SETTING_KEYS.has(key)) throw new SettingError(key, `unknown setting '${key}'`);
  }
  for (const key of Object.keys(input.temperature ?? {})) {
    const field = `temperature.${key}`;
    if (!TEMPERATURE_KEYS.has(key)) throw new SettingError(field, `unknown setting '${field}'`);
  }
}

function inRange(field: string, value: number, [min, max]: readonly [number, number]): void {
  const ok = Number.isFinite(value) && value >= min && value <= max;
  check(field, ok, `a number from ${min} to ${max}`, value);
}

/**
 * Fills in defaults and validates every knob; `tokens` (N = n², when known) bounds the
 * steps, and `images` (the batch, default 1) the seed, since image b uses seed + b. Throws
 * {@link SettingError} naming the first bad or unknown knob.
 *
 * @example
 * ```ts
 * import { resolveSettings } from "./settings.ts";
 * const settings = resolveSettings({ scheduler: "confidence", steps: 12 }, 256);
 * settings.noise; // "linear"
 * ```
 */
export function resolveSettings(
  input: SettingsInput = {},
  tokens?: number,
  images = 1,
): SamplerSettings {
  known(input);
  const settings = mergeSettings(DEFAULT_SETTINGS, input) as SamplerSettings;
  // The default step count never exceeds a small grid's token count.
  if (input.steps === undefined && tokens !== undefined) {
    settings.steps = Math.min(settings.steps, tokens);
  }
  oneOf("scheduler", SCHEDULER_NAMES, settings.scheduler);
  oneOf("countMode", COUNT_MODES, settings.countMode);
  oneOf("noise", NOISE_MODES, settings.noise);
  oneOf("cfgRamp", ["auto", ...GUIDANCE_RAMPS], settings.cfgRamp);
  const { steps, seed, cfg, topK, noiseTemperature, randomize } = settings;
  check("steps", Number.isSafeInteger(steps) && steps >= 1, "an integer ≥ 1", steps);
  if (tokens !== undefined) {
    try {
      assertSteps(steps, tokens);
    } catch (error) {
      throw new SettingError("steps", (error as Error).message);
    }
  }
  // The last image's seed, seed + images − 1, must stay a safe integer too.
  const lastSeed = Number.MAX_SAFE_INTEGER - (images - 1);
  const seeds = images === 1
    ? "an integer from 0 to 2^53 − 1"
    : `an integer from 0 to 2^53 − ${images} for ${images} images (image b uses seed + b)`;
  check("seed", Number.isSafeInteger(seed) && seed >= 0 && seed <= lastSeed, seeds, seed);
  inRange("cfg", cfg, SETTING_RANGES.cfg);
  check("topK", Number.isSafeInteger(topK) && topK >= 0, "an integer ≥ 0", topK);
  check("randomize", typeof randomize === "boolean", "true or false", randomize);
  inRange("noiseTemperature", noiseTemperature, SETTING_RANGES.noiseTemperature);
  const { start, end, power, warmup } = settings.temperature;
  inRange("temperature.start", start, SETTING_RANGES.temperature);
  inRange("temperature.end", end, SETTING_RANGES.temperature);
  inRange("temperature.power", power, SETTING_RANGES.power);
  check(
    "temperature.warmup",
    Number.isSafeInteger(warmup) && warmup >= 0,
    "a whole number of steps ≥ 0",
    warmup,
  );
  return settings;
}
