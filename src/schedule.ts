/**
 * Per-step schedules: how many tokens are known after each step, the softmax
 * temperature and the classifier-free guidance weight.
 *
 * Counts are cumulative: `counts[s]` tokens are unmasked once step s (0-based) is done,
 * so step s unmasks `counts[s] − counts[s−1]` tokens and `counts[S−1]` is always N.
 *
 * @module
 */

/** Shapes of the Confidence scheduler's count curve (official `sched_mode`). */
export const COUNT_MODES = ["arccos", "cosine", "linear", "square", "root", "amused"] as const;
/** One of {@link COUNT_MODES}. */
export type CountMode = typeof COUNT_MODES[number];

/** Throws a clear error unless 1 ≤ steps ≤ tokens (more steps than tokens cannot all unmask one). */
export function assertSteps(steps: number, tokens: number): void {
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > tokens) {
    throw new RangeError(
      `steps must be an integer from 1 to ${tokens} (the number of tokens), got ${steps}`,
    );
  }
}

/**
 * Where step s sits in [0, 1]: s/(S−1), the official code's ramp for guidance, noise and
 * confidence counts. A single step counts as the last one (the official code divides by 0).
 *
 * @example
 * ```ts
 * import { progress } from "./schedule.ts";
 * progress(0, 5); // 0
 * progress(4, 5); // 1
 * progress(0, 1); // 1
 * ```
 */
export function progress(step: number, steps: number): number {
  return steps === 1 ? 1 : step / (steps - 1);
}

/** The arccos curve 1 − arccos(r)/(π/2): slow start, fast finish. */
function arccosCurve(r: number): number {
  return 1 - Math.acos(r) / (Math.PI / 2);
}

const COUNT_CURVES: Record<Exclude<CountMode, "amused">, (r: number) => number> = {
  arccos: arccosCurve,
  cosine: (r) => 1 - Math.cos(r * Math.PI / 2),
  linear: (r) => r,
  square: (r) => r * r,
  root: (r) => Math.sqrt(r),
};

/** Cumulative counts from a curve value per step, at least s+1 after step s, N at the end. */
function cumulative(tokens: number, steps: number, share: (step: number) => number): Int32Array {
  assertSteps(steps, tokens);
  const counts = new Int32Array(steps);
  for (let s = 0; s < steps; s++) {
    counts[s] = Math.max(Math.floor(share(s) * tokens), s + 1);
  }
  // Whatever the float curve gives, the last step completes the grid.
  counts[steps - 1] = tokens;
  return counts;
}

/**
 * Halton (and Random) scheduler counts, official `halton_sampler.py`:
 * r_s = ⌊(1 − arccos((s+1)/S) / (π/2)) · N⌋, then max(s+1, r_s).
 *
 * @example
 * ```ts
 * import { haltonCounts } from "./schedule.ts";
 * haltonCounts(256, 4); // Int32Array [41, 85, 138, 256]
 * ```
 */
export function haltonCounts(tokens: number, steps: number): Int32Array {
  return cumulative(tokens, steps, (s) => arccosCurve((s + 1) / steps));
}

/**
 * aMused's own schedule (diffusers `AmusedScheduler`): after step s < S−1,
 * m_s = ⌊N · cos(π/2 · (s+1)/S)⌋ tokens stay masked, clamped to [1, masked before − 1];
 * the last step unmasks the rest.
 *
 * @example
 * ```ts
 * import { amusedCounts } from "./schedule.ts";
 * amusedCounts(256, 4); // Int32Array [20, 75, 159, 256]
 * ```
 */
export function amusedCounts(tokens: number, steps: number): Int32Array {
  assertSteps(steps, tokens);
  const counts = new Int32Array(steps).fill(tokens);
  for (let s = 0, known = 0; s < steps - 1; s++) {
    const stay = Math.floor(tokens * Math.cos(Math.PI / 2 * (s + 1) / steps));
    known = counts[s] = tokens - Math.max(1, Math.min(tokens - known - 1, stay));
  }
  return counts;
}

/**
 * Confidence scheduler counts, official `confidence_sampler.py`:
 * t_s = ⌊f(s/(S−1)) · N⌋, then max(t_s, s+1), for the curve f of `mode`
 * ("amused": {@link amusedCounts}).
 * With S = 1 the single step unmasks everything (the official code would unmask 1 token).
 * The concave "root" curve can repeat a count when S is close to N: that step unmasks
 * nothing (kept, as in the official code; the sampler skips its forward pass).
 *
 * @example
 * ```ts
 * import { confidenceCounts } from "./schedule.ts";
 * confidenceCounts(256, 3, "linear"); // Int32Array [1, 128, 256]
 * ```
 */
export function confidenceCounts(tokens: number, steps: number, mode: CountMode): Int32Array {
  if (mode === "amused") return amusedCounts(tokens, steps);
  const curve = COUNT_CURVES[mode];
  if (!curve) {
    throw new RangeError(`count mode must be one of ${COUNT_MODES.join(", ")}, got ${mode}`);
  }
  return cumulative(tokens, steps, (s) => curve(progress(s, steps)));
}

/**
 * Softmax temperature schedule, in the usual sense: p ∝ exp(logits / T).
 * T moves from `start` (first step) to `end` (last step) with its inverse 1/T
 * interpolated linearly, is raised to `power`, and is doubled during the first `warmup`
 * steps (a flatter distribution while the image is still mostly masked).
 */
export interface TemperatureSchedule {
  start: number;
  end: number;
  power: number;
  warmup: number;
}

/**
 * The inverse temperature β_s = 1/T_s that multiplies the logits at step s.
 *
 * This is exactly the official Halton sampler's factor: it multiplies logits by
 * linspace(sm_temp_min, sm_temp_max, S)[s] ** temp_pow, halved while s < temp_warmup.
 * The official settings map to ours as start = 1/sm_temp_min, end = 1/sm_temp_max,
 * power = temp_pow, warmup = temp_warmup (and Confidence's sm_temp to start = end = 1/sm_temp).
 *
 * @example
 * ```ts
 * import { inverseTemperature } from "./schedule.ts";
 * const t = { start: 1, end: 1 / 1.2, power: 1, warmup: 0 };
 * inverseTemperature(t, 0, 32); // 1
 * inverseTemperature(t, 31, 32); // 1.2 (up to float rounding)
 * ```
 */
export function inverseTemperature(t: TemperatureSchedule, step: number, steps: number): number {
  // torch.linspace(a, b, 1) is [a]: a single step uses the start value.
  const r = steps === 1 ? 0 : step / (steps - 1);
  const beta = (1 / t.start + (1 / t.end - 1 / t.start) * r) ** t.power;
  return step < t.warmup ? beta / 2 : beta;
}

/** How the guidance weight can evolve over the steps. */
export const GUIDANCE_RAMPS = ["constant", "linear"] as const;
/** One of {@link GUIDANCE_RAMPS}. */
export type GuidanceRamp = typeof GUIDANCE_RAMPS[number];

/**
 * Classifier-free guidance weight w_s: constant w (Halton, Random), or the official
 * Confidence ramp w·s/(S−1) (no guidance on the first step, full w on the last).
 * Guided logits are (1 + w_s)·cond − w_s·uncond.
 *
 * @example
 * ```ts
 * import { guidanceWeight } from "./schedule.ts";
 * guidanceWeight(3, "constant", 0, 10); // 3
 * guidanceWeight(3, "linear", 0, 10); // 0
 * guidanceWeight(3, "linear", 9, 10); // 3
 * ```
 */
export function guidanceWeight(w: number, ramp: GuidanceRamp, step: number, steps: number): number {
  return ramp === "constant" ? w : w * progress(step, steps);
}
