/**
 * The paper's per-step quantities (Fig. 4): for the positions a step unmasks, (a) the mean
 * entropy of the distributions their tokens were drawn from, (b) their mean pairwise distance,
 * and (c) their mean distance to the nearest already-known position; plus when each position
 * was unmasked (Fig. 3). Distances are Euclidean, in token-grid cells.
 *
 * @module
 */

import type { StepEvent } from "../sampler.ts";

/** One step of one sample. NaN where a quantity is undefined (e.g. nothing known yet). */
export interface StepMetrics {
  entropy: number;
  spread: number;
  nearestKnown: number;
}

/** Mean and (sample) standard deviation over samples; NaN values are left out. */
export interface Summary {
  mean: number;
  std: number;
  /** How many values were defined. */
  n: number;
}

/** Every quantity of one step, over all samples. */
export interface StepSummary {
  /** 1-based step. */
  step: number;
  /** Share of the grid known after this step. */
  knownShare: number;
  entropy: Summary;
  spread: Summary;
  nearestKnown: Summary;
}

/** What {@link StepRecorder.result} returns. */
export interface Analysis {
  grid: number;
  steps: StepSummary[];
  samples: number;
  /** Per position (row-major), the 1-based step that unmasked it, averaged over samples. */
  meanStep: Float64Array;
  /** The same for the first sample alone. */
  firstSampleStep: Int32Array;
}

/**
 * The three quantities for one step of one sample.
 *
 * @example
 * ```ts
 * import { stepMetrics } from "./metrics.ts";
 * const known = new Uint8Array(16); // 4×4 grid, nothing known yet
 * known[0] = 1; // (0, 0) is known
 * stepMetrics(4, Int32Array.of(3, 12), Float32Array.of(1, 2), known);
 * // { entropy: 1.5, spread: √18 ≈ 4.24, nearestKnown: 3 }
 * ```
 */
export function stepMetrics(
  grid: number,
  positions: Int32Array,
  entropies: Float32Array,
  known: Uint8Array,
): StepMetrics {
  const k = positions.length;
  if (k === 0) return { entropy: NaN, spread: NaN, nearestKnown: NaN };
  const row = (p: number) => Math.floor(p / grid);
  const col = (p: number) => p % grid;
  const distance = (p: number, q: number) => Math.hypot(row(p) - row(q), col(p) - col(q));

  let entropy = 0;
  for (const h of entropies) entropy += h;

  let pairs = 0;
  let spread = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++, pairs++) spread += distance(positions[i], positions[j]);
  }

  const knownPositions: number[] = [];
  known.forEach((isKnown, p) => isKnown && knownPositions.push(p));
  let nearest = 0;
  for (const p of positions) {
    let best = Infinity;
    for (const q of knownPositions) best = Math.min(best, distance(p, q));
    nearest += best;
  }
  return {
    entropy: entropy / k,
    spread: pairs > 0 ? spread / pairs : NaN,
    nearestKnown: knownPositions.length > 0 ? nearest / k : NaN,
  };
}

/**
 * Mean and sample standard deviation of the defined (non-NaN) values.
 *
 * @example
 * ```ts
 * import { summarize } from "./metrics.ts";
 * summarize([1, 3, NaN]); // { mean: 2, std: √2, n: 2 }
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  const defined = values.filter((v) => !Number.isNaN(v));
  const n = defined.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = defined.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? defined.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, std: Math.sqrt(variance), n };
}

/**
 * Collects the step events of any number of batches (fed in order) of one scheduler.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { generate } from "../generate.ts";
 * import { loadModel } from "../model.ts";
 * import { StepRecorder } from "./metrics.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const recorder = new StepRecorder(16, 8);
 * const settings = { steps: 8 };
 * await generate({ model, classes: [1, 2], settings, onStep: (e) => recorder.observe(e) });
 * const { steps, meanStep } = recorder.result();
 * [steps.length, meanStep.length]; // [8, 256]
 * ```
 */
export class StepRecorder {
  readonly #values: { entropy: number[]; spread: number[]; nearestKnown: number[] }[];
  readonly #knownShare: number[];
  readonly #stepSum: Float64Array;
  #first: Int32Array | undefined;
  #samples = 0;
  #known: Uint8Array[] = [];
  #stepOf: Int32Array[] = [];

  constructor(readonly grid: number, readonly steps: number) {
    this.#values = Array.from({ length: steps }, () => ({
      entropy: [],
      spread: [],
      nearestKnown: [],
    }));
    this.#knownShare = Array(steps).fill(0);
    this.#stepSum = new Float64Array(grid * grid);
  }

  /** Takes one step event of the current batch (step 0 starts a new batch). */
  observe(event: StepEvent): void {
    const tokens = this.grid * this.grid;
    if (event.tokens !== tokens || event.steps !== this.steps) {
      throw new RangeError(`expected ${tokens} tokens in ${this.steps} steps`);
    }
    if (event.step === 0) {
      this.#known = event.choices.map(() => new Uint8Array(tokens));
      this.#stepOf = event.choices.map(() => new Int32Array(tokens));
    }
    const values = this.#values[event.step];
    this.#knownShare[event.step] = event.known / tokens;
    event.choices.forEach((choice, b) => {
      const known = this.#known[b];
      const metrics = stepMetrics(this.grid, choice.positions, choice.entropies, known);
      values.entropy.push(metrics.entropy);
      values.spread.push(metrics.spread);
      values.nearestKnown.push(metrics.nearestKnown);
      for (const p of choice.positions) {
        known[p] = 1;
        this.#stepOf[b][p] = event.step + 1;
      }
    });
    if (event.step === event.steps - 1) {
      for (const stepOf of this.#stepOf) {
        stepOf.forEach((s, p) => this.#stepSum[p] += s);
        this.#first ??= stepOf;
      }
      this.#samples += this.#stepOf.length;
    }
  }

  /** Means and spreads per step, and the unmasking-step maps. */
  result(): Analysis {
    return {
      grid: this.grid,
      samples: this.#samples,
      steps: this.#values.map((values, i) => ({
        step: i + 1,
        knownShare: this.#knownShare[i],
        entropy: summarize(values.entropy),
        spread: summarize(values.spread),
        nearestKnown: summarize(values.nearestKnown),
      })),
      meanStep: this.#stepSum.map((sum) => sum / Math.max(1, this.#samples)),
      firstSampleStep: this.#first ?? new Int32Array(this.grid * this.grid),
    };
  }
}
