/**
 * The Confidence scheduler (original MaskGIT, official `confidence_sampler.py`): sample a
 * token at every masked position, score it by its probability (plus decaying Gumbel noise
 * by default), and unmask the best-scoring positions. Guidance ramps up linearly.
 *
 * @module
 */

import type { Rng } from "../rng.ts";
import { confidenceCounts, progress } from "../schedule.ts";
import type { Scheduler, StepContext } from "./types.ts";

/** How randomness enters the confidence score (official `randomize`). */
export const NOISE_MODES = ["linear", "warm_up", "random", "none"] as const;
/** One of {@link NOISE_MODES}. */
export type NoiseMode = typeof NOISE_MODES[number];

/**
 * The score that ranks a masked position, from the probability of its sampled token.
 *
 * - linear: log p + r_temp · Gumbel · (1 − s/(S−1)), noise fading to nothing at the end;
 * - warm_up: uniform random scores for the first 2 steps, then p;
 * - random: uniform random scores at every step;
 * - none: p (pure greedy confidence).
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { confidenceScore } from "./confidence.ts";
 * confidenceScore("none", 0.9, new Rng(0), 0, 10, 4.5); // 0.9
 * ```
 */
export function confidenceScore(
  mode: NoiseMode,
  probability: number,
  rng: Rng,
  step: number,
  steps: number,
  noiseTemperature: number,
): number {
  switch (mode) {
    case "linear":
      return Math.log(probability) +
        noiseTemperature * rng.gumbel() * (1 - progress(step, steps));
    case "warm_up":
      return step < 2 ? rng.uniform() : probability;
    case "random":
      return rng.uniform();
    case "none":
      return probability;
  }
}

/**
 * @example
 * ```ts
 * import { confidence } from "./confidence.ts";
 * confidence.guidance; // "linear"
 * ```
 */
export const confidence: Scheduler = {
  counts: (tokens, steps, settings) => confidenceCounts(tokens, steps, settings.countMode),
  guidance: "linear",
  start(_grid, rng, settings) {
    return {
      candidates({ masked }) {
        const positions = new Int32Array(masked.reduce((sum, m) => sum + m, 0));
        let i = 0;
        masked.forEach((m, position) => m && (positions[i++] = position));
        return positions;
      },
      choose({ step, steps, count, masked, candidates, draw }: StepContext) {
        const drawn = new Int32Array(masked.length);
        const score = new Float64Array(masked.length);
        for (const position of candidates) {
          const { token, probability } = draw(position);
          drawn[position] = token;
          score[position] = confidenceScore(
            settings.noise,
            probability,
            rng,
            step,
            steps,
            settings.noiseTemperature,
          );
        }
        // Highest score first; equal scores keep the lower position (a stable order).
        const ranked = Array.from(candidates).sort((a, b) => score[b] - score[a] || a - b);
        const positions = Int32Array.from(ranked.slice(0, count));
        return { positions, tokens: positions.map((position) => drawn[position]) };
      },
    };
  },
};
