/**
 * Synthetic predictors with known logits, for testing the sampler without a model.
 *
 * @module
 */

import type { Predictor, PredictorInput } from "../src/sampler.ts";

/** A copy of one predictor call's inputs. */
export interface RecordedCall {
  batch: number;
  tokens: Int32Array;
  image: Int32Array;
  unconditional: Uint8Array;
  positions?: Int32Array;
}

/** A predictor that records its calls. */
export type RecordingPredictor = Predictor & { calls: RecordedCall[] };

/**
 * A predictor whose logit for `token` at `position` of `row` is `logit(...)`; `vocab`
 * entries per position (the codebook plus any extra ids such as the mask). With
 * `selectsPositions`, it computes only the requested positions, like a transformer
 * exported with a `positions` input.
 */
export function syntheticPredictor(
  vocab: number,
  logit: (token: number, position: number, row: number, input: PredictorInput) => number,
  selectsPositions = false,
): RecordingPredictor {
  const calls: RecordedCall[] = [];
  return {
    calls,
    selectsPositions,
    predict(input) {
      calls.push({
        batch: input.batch,
        tokens: input.tokens.slice(),
        image: input.image.slice(),
        unconditional: input.unconditional.slice(),
        positions: input.positions?.slice(),
      });
      const tokens = input.tokens.length / input.batch;
      const wanted = input.positions ? input.positions.length / input.batch : tokens;
      const logits = new Float32Array(input.batch * wanted * vocab);
      for (let row = 0; row < input.batch; row++) {
        for (let slot = 0; slot < wanted; slot++) {
          const position = input.positions ? input.positions[row * wanted + slot] : slot;
          const offset = (row * wanted + slot) * vocab;
          for (let token = 0; token < vocab; token++) {
            logits[offset + token] = logit(token, position, row, input);
          }
        }
      }
      return Promise.resolve(logits);
    },
  };
}

/** Deterministic pseudo-random logits in [−2, 2] that depend on position, token and label. */
export function hashedLogit(token: number, position: number, label: number): number {
  const x = Math.sin((token + 1) * 12.9898 + (position + 1) * 78.233 + label * 3.7);
  return (x * 43758.5453 % 1) * 2;
}
