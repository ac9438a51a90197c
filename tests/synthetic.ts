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
  labels: Int32Array;
  dropLabel: Uint8Array;
}

/** A predictor that records its calls. */
export type RecordingPredictor = Predictor & { calls: RecordedCall[] };

/**
 * A predictor whose logit for `token` at `position` of `row` is `logit(...)`; `vocab`
 * entries per position (the codebook plus any extra ids such as the mask).
 */
export function syntheticPredictor(
  vocab: number,
  logit: (token: number, position: number, row: number, input: PredictorInput) => number,
): RecordingPredictor {
  const calls: RecordedCall[] = [];
  return {
    calls,
    predict(input) {
      calls.push({
        batch: input.batch,
        tokens: input.tokens.slice(),
        labels: input.labels.slice(),
        dropLabel: input.dropLabel.slice(),
      });
      const tokens = input.tokens.length / input.batch;
      const logits = new Float32Array(input.batch * tokens * vocab);
      for (let row = 0; row < input.batch; row++) {
        for (let position = 0; position < tokens; position++) {
          const offset = (row * tokens + position) * vocab;
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
export function hashedLogit(
  token: number,
  position: number,
  row: number,
  input: PredictorInput,
): number {
  const x = Math.sin((token + 1) * 12.9898 + (position + 1) * 78.233 + input.labels[row] * 3.7);
  return (x * 43758.5453 % 1) * 2;
}
