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
 * Fills in defaults and validates every knob; `tokens` (N = n², when known) bounds the
 * steps. Throws {@link SettingError} naming the first bad knob.
 *
 * @example
 * ```ts
 * import { resolveSettings } from "./settings.ts";
 * const settings = resolveSettings({ scheduler: "confidence", steps: 12 }, 256);
 * settings.noise; // "linear"
 * ```
 */
export function resolveSettings(input: SettingsInput = {}, tokens?: number): SamplerSettings {
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
  check("seed", Number.isSafeInteger(seed) && seed >= 0, "an integer from 0 to 2^53 − 1", seed);
  check("cfg", Number.isFinite(cfg), "a finite number", cfg);
  check("topK", Number.isSafeInteger(topK) && topK >= 0, "an integer ≥ 0", topK);
  check("randomize", typeof randomize === "boolean", "true or false", randomize);
  check(
    "noiseTemperature",
    Number.isFinite(noiseTemperature) && noiseTemperature >= 0,
    "a finite number ≥ 0",
    noiseTemperature,
  );
  const { start, end, power, warmup } = settings.temperature;
  check("temperature.start", Number.isFinite(start) && start > 0, "a number > 0", start);
  check("temperature.end", Number.isFinite(end) && end > 0, "a number > 0", end);
  check("temperature.power", Number.isFinite(power), "a finite number", power);
  check(
    "temperature.warmup",
    Number.isSafeInteger(warmup) && warmup >= 0,
    "a whole number of steps ≥ 0",
    warmup,
  );
  return settings;
}
