/**
 * The schedulers by name.
 *
 * @module
 */

import { confidence } from "./confidence.ts";
import { halton } from "./halton.ts";
import { random } from "./random.ts";
import type { Scheduler } from "./types.ts";

export type {
  CandidateContext,
  SampleSchedule,
  Scheduler,
  StepChoice,
  StepContext,
} from "./types.ts";
export { confidenceScore, NOISE_MODES, type NoiseMode } from "./confidence.ts";

/** Names of the available schedulers. */
export const SCHEDULER_NAMES = ["halton", "confidence", "random"] as const;
/** One of {@link SCHEDULER_NAMES}. */
export type SchedulerName = typeof SCHEDULER_NAMES[number];

/**
 * Every scheduler, by name.
 *
 * @example
 * ```ts
 * import { SCHEDULERS } from "./mod.ts";
 * SCHEDULERS.halton.guidance; // "constant"
 * ```
 */
export const SCHEDULERS: Record<SchedulerName, Scheduler> = { halton, confidence, random };
