/**
 * Benchmark pieces: where one generation's time goes (transformer forwards, VQ decode,
 * PNG encoding, and the rest: sampling and JavaScript overhead), medians over runs, and the
 * machine's sgemm rate through the same ONNX Runtime.
 *
 * @module
 */

import type { OnnxBackend } from "./backend/onnx.ts";
import { render } from "./generate.ts";
import { encodePng } from "./image.ts";
import { type Model, openSession } from "./model.ts";
import type { SettingsInput } from "./settings.ts";

/** Milliseconds spent in each part of one generation of a batch. */
export interface Split {
  total: number;
  forward: number;
  decode: number;
  encode: number;
  /** Text models: prompt encoding (tokenizer and text encoder). */
  text: number;
  /** total − forward − decode − encode − text: sampling, scheduling, buffers. */
  other: number;
  /** Transformer calls made. */
  forwards: number;
  /** Rows (images, ×2 with guidance) summed over the calls. */
  rows: number;
  /** Positions whose logits were computed, summed over rows and calls. */
  positions: number;
}

/** Median and range of some measurements. */
export interface Stats {
  median: number;
  min: number;
  max: number;
}

/**
 * Median, min and max.
 *
 * @example
 * ```ts
 * import { stats } from "./bench.ts";
 * stats([3, 1, 2, 10]); // { median: 2.5, min: 1, max: 10 }
 * ```
 */
export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** `call`, adding the milliseconds each call takes to a running total through `add`. */
function clocked<A extends unknown[], R>(
  call: (...args: A) => Promise<R>,
  add: (ms: number) => void,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const start = performance.now();
    const result = await call(...args);
    add(performance.now() - start);
    return result;
  };
}

/** Prompts a text model is benchmarked on (distinct, so each is encoded). */
const BENCH_PROMPTS = ["a red apple", "a smiling face", "a cat on a sofa", "a flag"];

/**
 * Generates `batch` images once and times each part. The model's predictor and decoder are
 * wrapped for the run only.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { timeGeneration } from "./bench.ts";
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const split = await timeGeneration(model, 4, { steps: 8, seed: 0 });
 * split.forwards; // 8: one batched call per step
 * split.forward / split.total; // share of time in the transformer
 * ```
 */
export async function timeGeneration(
  model: Model,
  batch: number,
  settings: SettingsInput,
): Promise<Split> {
  let forward = 0, decode = 0, text = 0, forwards = 0, rows = 0, positions = 0;
  const { prompts } = model;
  const timed: Model = {
    ...model,
    transformer: {
      selectsPositions: model.transformer.selectsPositions,
      run: clocked((input) => {
        forwards++;
        rows += input.batch;
        positions += input.positions?.length ?? input.tokens.length;
        return model.transformer.run(input);
      }, (ms) => forward += ms),
    },
    decoder: { decode: clocked((t, n) => model.decoder.decode(t, n), (ms) => decode += ms) },
    prompts: prompts && {
      tokenizer: prompts.tokenizer,
      encoder: { encode: clocked((i, n) => prompts.encoder.encode(i, n), (ms) => text += ms) },
    },
  };
  const { manifest } = model;
  const condition = manifest.task === "class-to-image"
    ? { classes: Array.from({ length: batch }, (_, i) => i % manifest.classes.length) }
    : { prompts: Array.from({ length: batch }, (_, i) => BENCH_PROMPTS[i % BENCH_PROMPTS.length]) };
  const start = performance.now();
  const { pictures } = await render({ model: timed, ...condition, settings });
  const rendered = performance.now();
  pictures.forEach((picture) => encodePng(picture));
  const end = performance.now();
  const encode = end - rendered;
  const total = end - start;
  return {
    total,
    forward,
    decode,
    encode,
    text,
    other: total - forward - decode - encode - text,
    forwards,
    rows,
    positions,
  };
}

/**
 * Floating-point operations the transformer ran in a generation: every row's full forward,
 * less the head's share at the positions whose logits were not computed. Undefined when the
 * folder does not record its FLOPs (or, for a folder that selects positions, its head's).
 *
 * @example
 * ```ts
 * import { transformerFlops } from "./bench.ts";
 * // 2 rows of 4 positions, logits asked at 3 positions: 2 × 100 − 10 × (8 − 3).
 * transformerFlops({ transformer: 100, head: 10 }, 4, { rows: 2, positions: 3 });
 * // 150
 * ```
 */
export function transformerFlops(
  flops: { transformer: number; head?: number } | undefined,
  cells: number,
  { rows, positions }: Pick<Split, "rows" | "positions">,
): number | undefined {
  if (flops === undefined) return undefined;
  const skipped = rows * cells - positions;
  if (skipped === 0) return flops.transformer * rows;
  return flops.head === undefined ? undefined : flops.transformer * rows - flops.head * skipped;
}

/**
 * This machine's float32 matrix-multiply rate (GFLOP/s) through ONNX Runtime: the fastest of
 * `runs` products of two n×n matrices, after one warm-up (the best rate the machine gave, which
 * a noisy shared machine shows better than a median).
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { sgemmRate } from "./bench.ts";
 * const gflops = await sgemmRate(nodeBackend, 256, 3);
 * gflops > 0; // true
 * ```
 */
export async function sgemmRate(
  backend: OnnxBackend,
  n = 2048,
  runs = 7,
  threads?: number,
): Promise<number> {
  const path = new URL("../scripts/bench/matmul.onnx", import.meta.url).pathname;
  const session = await openSession(path, { backend, threads });
  const { Tensor } = backend.runtime;
  const values = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const feeds = {
    a: new Tensor("float32", values, [n, n]),
    b: new Tensor("float32", values, [n, n]),
  };
  await session.run(feeds);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  await session.release();
  return (2 * n ** 3) / (stats(times).min / 1000) / 1e9;
}
