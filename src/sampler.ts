/**
 * The one MaskGIT sampling loop, shared by every scheduler, backend, the CLI and the
 * server: predict → guide → sample → choose positions → commit, once per step.
 *
 * @module
 */

import { Rng } from "./rng.ts";
import { guidanceWeight, inverseTemperature } from "./schedule.ts";
import { SCHEDULERS, type StepChoice } from "./scheduler/mod.ts";
import { resolveSettings, type SamplerSettings, type SettingsInput } from "./settings.ts";

/**
 * One batched transformer call. Rows b < B are conditional; guidance appends B unconditional
 * rows. The predictor was made for the batch's conditions (see `condition.ts`): a row names
 * its image, and whether it takes that image's condition or the null one.
 */
export interface PredictorInput {
  /** Rows in this call (B, or 2B with guidance). */
  batch: number;
  /** Token grid per row, flat row-major [batch, N]; masked positions hold the mask id. */
  tokens: Int32Array;
  /** Which image of the batch each row belongs to [batch]. */
  image: Int32Array;
  /** 1 where the row takes the null condition (the unconditional prediction) [batch]. */
  unconditional: Uint8Array;
  /**
   * Only for predictors that select positions: the P positions per row whose logits are
   * wanted, flat [batch, P]. Absent: every position, in order.
   */
  positions?: Int32Array;
}

/**
 * A transformer: token grids → logits, flat [batch, N, V] with V ≥ codebook size, or
 * [batch, P, V] for the given `positions` when it selects positions.
 */
export interface Predictor {
  /** True if `predict` honours `positions` (computing logits only there). */
  selectsPositions?: boolean;
  predict(input: PredictorInput): Promise<Float32Array>;
}

/** What happened at one step: for progress bars, previews and analysis. */
export interface StepEvent {
  /** 0-based step index. */
  step: number;
  /** Total steps S. */
  steps: number;
  /** Tokens known per sample after this step. */
  known: number;
  /** Tokens per sample N. */
  tokens: number;
  /** Per sample: the positions unmasked at this step, their tokens and entropies. */
  choices: StepOutcome[];
  /** Current token grids [B, N] (mask id where still masked). Read it, do not keep it. */
  state: Int32Array;
}

/** One sample's step: the scheduler's choice and the entropy of each chosen position. */
export interface StepOutcome extends StepChoice {
  /** Entropy (nats) of the distribution each position's token was drawn from. */
  entropies: Float32Array;
}

/** Everything one sampling run needs. */
export interface SampleOptions {
  predictor: Predictor;
  /** Side n of the n×n token grid. */
  grid: number;
  /** Number of codebook entries; sampled tokens are always in [0, codebookSize). */
  codebookSize: number;
  /** Token id of a masked position (outside [0, codebookSize)). */
  maskId: number;
  /** Images in the batch (B); the predictor knows what each one is conditioned on. */
  images: number;
  settings?: SettingsInput;
  /** Called after each step; the loop waits for it. */
  onStep?: (event: StepEvent) => void | Promise<void>;
  /** Aborting stops the run between steps (the promise rejects with the reason). */
  signal?: AbortSignal;
}

/** The finished token grids. */
export interface SampleResult {
  /** Flat [B, N], every value in [0, codebookSize). */
  tokens: Int32Array;
  batch: number;
  grid: number;
  /** Cumulative tokens known after each step. */
  counts: Int32Array;
  /** The settings actually used (defaults filled in). */
  settings: SamplerSettings;
}

function assertInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
}

/**
 * Generates token grids with MaskGIT's iterative unmasking.
 *
 * @example
 * ```ts
 * import { type Predictor, sample } from "./sampler.ts";
 * // A toy predictor: every position prefers token 3 of a 4-entry codebook.
 * const predictor: Predictor = {
 *   predict: ({ tokens }) => {
 *     const logits = new Float32Array(tokens.length * 5);
 *     for (let i = 3; i < logits.length; i += 5) logits[i] = 10;
 *     return Promise.resolve(logits);
 *   },
 * };
 * const result = await sample({
 *   predictor, grid: 4, codebookSize: 4, maskId: 4, images: 1, settings: { steps: 4 },
 * });
 * result.tokens.length; // 16
 * ```
 */
export async function sample(options: SampleOptions): Promise<SampleResult> {
  const { predictor, grid, codebookSize, maskId, images, onStep, signal } = options;
  assertInteger("grid", grid, 1);
  assertInteger("codebookSize", codebookSize, 1);
  assertInteger("maskId", maskId, 0);
  if (maskId < codebookSize) {
    throw new RangeError(`maskId (${maskId}) must lie outside the codebook [0, ${codebookSize})`);
  }
  assertInteger("images", images, 1);

  const tokens = grid * grid;
  const settings = resolveSettings(options.settings, tokens, images);
  const scheduler = SCHEDULERS[settings.scheduler];
  const { steps } = settings;
  const counts = scheduler.counts(tokens, steps, settings);
  const batch = images;

  const state = new Int32Array(batch * tokens).fill(maskId);
  const masked = new Uint8Array(batch * tokens).fill(1);
  // Input buffers for 2B rows, reused every step: conditional rows then unconditional ones.
  const inputTokens = new Int32Array(2 * batch * tokens);
  const inputImage = Int32Array.from({ length: 2 * batch }, (_, row) => row % batch);
  const unconditional = new Uint8Array(2 * batch).fill(1, batch);
  const inputPositions = new Int32Array(2 * batch * tokens);
  // Where each position's logits sit in the predictor's output, per sample (−1: not computed).
  const slots = new Int32Array(batch * tokens);
  const guided = new Float64Array(codebookSize);
  const entropy = new Float64Array(tokens); // of each position's latest draw, this step
  const rngs = Array.from({ length: batch }, (_, b) => new Rng(settings.seed + b));
  const schedules = rngs.map((rng) => scheduler.start(grid, rng, settings));

  for (let step = 0; step < steps; step++) {
    signal?.throwIfAborted();
    const known = step === 0 ? 0 : counts[step - 1];
    const count = counts[step] - known;
    // The official "root" count curve can leave a step with nothing to unmask: it costs no call.
    const choices = count === 0
      ? rngs.map(() => ({
        positions: new Int32Array(0),
        tokens: new Int32Array(0),
        entropies: new Float32Array(0),
      }))
      : await unmaskStep(step, known, count);
    await onStep?.({ step, steps, known: counts[step], tokens, choices, state });
  }
  return { tokens: state, batch, grid, counts, settings };

  async function unmaskStep(step: number, known: number, count: number): Promise<StepOutcome[]> {
    const ramp = settings.cfgRamp === "auto" ? scheduler.guidance : settings.cfgRamp;
    const w = guidanceWeight(settings.cfg, ramp, step, steps);
    const beta = inverseTemperature(settings.temperature, step, steps);
    const rows = w === 0 ? batch : 2 * batch;
    inputTokens.set(state);
    if (rows > batch) inputTokens.set(state, batch * tokens);
    const maskedOf = (b: number) => masked.subarray(b * tokens, (b + 1) * tokens);
    const candidates = schedules.map((schedule, b) =>
      schedule.candidates({ step, known, count, masked: maskedOf(b) })
    );
    // Selecting needs the same number of positions in every row (true of every scheduler here).
    const select = predictor.selectsPositions === true &&
      candidates.every((c) => c.length === candidates[0].length);
    const per = select ? candidates[0].length : tokens;
    if (select) {
      slots.fill(-1);
      candidates.forEach((c, b) => {
        inputPositions.set(c, b * per);
        if (rows > batch) inputPositions.set(c, (batch + b) * per);
        c.forEach((position, i) => slots[b * tokens + position] = i);
      });
    }
    const logits = await predictor.predict({
      batch: rows,
      tokens: inputTokens.subarray(0, rows * tokens),
      image: inputImage.subarray(0, rows),
      unconditional: unconditional.subarray(0, rows),
      positions: select ? inputPositions.subarray(0, rows * per) : undefined,
    });
    const vocab = logits.length / (rows * per);
    if (!Number.isInteger(vocab) || vocab < codebookSize) {
      throw new RangeError(
        `predictor returned ${logits.length} logits for ${rows}×${per} positions; ` +
          `expected ${rows}×${per}×V with V ≥ ${codebookSize}`,
      );
    }
    return schedules.map((schedule, b) => {
      const rng = rngs[b];
      const draw = (position: number) => {
        const slot = select ? slots[b * tokens + position] : position;
        if (slot < 0) throw new RangeError(`position ${position} was not among the candidates`);
        const cond = (b * per + slot) * vocab;
        let drawn;
        if (w === 0) {
          drawn = rng.categorical(logits.subarray(cond, cond + codebookSize), beta, settings.topK);
        } else {
          const uncond = ((batch + b) * per + slot) * vocab;
          for (let v = 0; v < codebookSize; v++) {
            guided[v] = (1 + w) * logits[cond + v] - w * logits[uncond + v];
          }
          drawn = rng.categorical(guided, beta, settings.topK);
        }
        entropy[position] = drawn.entropy;
        return drawn;
      };
      const sampleMasked = maskedOf(b);
      const choice = schedule.choose({
        step,
        steps,
        known,
        count,
        masked: sampleMasked,
        candidates: candidates[b],
        draw,
      });
      choice.positions.forEach((position, i) => {
        state[b * tokens + position] = choice.tokens[i];
        sampleMasked[position] = 0;
      });
      return { ...choice, entropies: Float32Array.from(choice.positions, (p) => entropy[p]) };
    });
  }
}
