/**
 * The one interface every scheduler implements: which positions to unmask at a step.
 *
 * @module
 */

import type { Draw, Rng } from "../rng.ts";
import type { GuidanceRamp } from "../schedule.ts";
import type { SamplerSettings } from "../settings.ts";

/** What one step of one sample may see when it chooses positions. */
export interface StepContext {
  /** 0-based step index. */
  step: number;
  /** Total number of steps S. */
  steps: number;
  /** Tokens already unmasked before this step. */
  known: number;
  /** How many tokens this step unmasks. */
  count: number;
  /** 1 where the position is still masked, per position of this sample. */
  masked: Uint8Array;
  /** The positions this step may draw at: what {@link SampleSchedule.candidates} returned. */
  candidates: Int32Array;
  /** Samples a token at `position` from the guided, tempered logits (uses the sample's Rng). */
  draw(position: number): Draw;
}

/** The positions a step unmasks and the tokens placed there (same length). */
export interface StepChoice {
  positions: Int32Array;
  tokens: Int32Array;
}

/** What a step's candidates depend on: the step's place in the run, not the logits. */
export type CandidateContext = Pick<StepContext, "step" | "known" | "count" | "masked">;

/** A scheduler's state for one sample of a batch. */
export interface SampleSchedule {
  /**
   * The positions the step will draw at, known before the transformer runs, so that the
   * transformer computes logits only there (Halton, Random: the step's own positions;
   * Confidence: every masked position).
   */
  candidates(context: CandidateContext): Int32Array;
  /** Draws at (some of) the candidates and picks the positions to unmask. */
  choose(context: StepContext): StepChoice;
}

/** A token-unmasking scheduler (the paper's S: a partition of the grid into steps). */
export interface Scheduler {
  /** Cumulative number of tokens known after each step. */
  counts(tokens: number, steps: number, settings: SamplerSettings): Int32Array;
  /** How the guidance weight moves over the steps. */
  guidance: GuidanceRamp;
  /** Starts one sample on an n×n grid; `rng` is that sample's own generator. */
  start(grid: number, rng: Rng, settings: SamplerSettings): SampleSchedule;
}
