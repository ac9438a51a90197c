/**
 * An evaluation's sufficient statistics: counters (summed) and feature moments (merged
 * exactly), so the shards of one run — scored on different machines — add up to the figures
 * of the whole. A new figure is a new counter or moment set; merging and the wire format
 * need no change.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { mergeMomentSums, type MomentSums } from "./frechet.ts";

/** What a set of scored images contributes to an evaluation's figures. */
export interface Tally {
  /** Summed counts, e.g. `samples`, `hits`. */
  counts: Record<string, number>;
  /** Feature sets, e.g. `features` of the classifier's penultimate layer. */
  moments: Record<string, MomentSums>;
}

/** A {@link Tally} as JSON: the moment sums' arrays as base64 float64, the scatter's upper half. */
export interface TallyJson {
  counts: Record<string, number>;
  moments: Record<string, { rows: number; dim: number; mean: string; scatter: string }>;
}

/**
 * The tally of two disjoint sets of images.
 *
 * @example
 * ```ts
 * import { mergeTallies } from "./tally.ts";
 * mergeTallies({ counts: { hits: 2 }, moments: {} }, { counts: { hits: 3 }, moments: {} });
 * // { counts: { hits: 5 }, moments: {} }
 * ```
 */
export function mergeTallies(a: Tally, b: Tally): Tally {
  const counts = { ...a.counts };
  for (const [key, value] of Object.entries(b.counts)) counts[key] = (counts[key] ?? 0) + value;
  const moments = { ...a.moments };
  for (const [key, value] of Object.entries(b.moments)) {
    moments[key] = key in moments ? mergeMomentSums(moments[key], value) : value;
  }
  return { counts, moments };
}

function toBase64(values: Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64");
}

function fromBase64(text: string): Float64Array {
  const bytes = Buffer.from(text, "base64");
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/**
 * A tally as compact JSON (a queue job's result): the scatter is symmetric, so only its upper
 * triangle travels.
 *
 * @example
 * ```ts
 * import { momentSums } from "./frechet.ts";
 * import { decodeTally, encodeTally } from "./tally.ts";
 * const tally = { counts: { samples: 2 }, moments: { features: momentSums([0, 1, 2, 4], 2) } };
 * decodeTally(JSON.parse(JSON.stringify(encodeTally(tally)))); // equal to tally
 * ```
 */
export function encodeTally(tally: Tally): TallyJson {
  const moments: TallyJson["moments"] = {};
  for (const [key, { rows, dim, mean, scatter }] of Object.entries(tally.moments)) {
    const upper = new Float64Array(dim * (dim + 1) / 2);
    let k = 0;
    for (let i = 0; i < dim; i++) for (let j = i; j < dim; j++) upper[k++] = scatter[i * dim + j];
    moments[key] = { rows, dim, mean: toBase64(mean), scatter: toBase64(upper) };
  }
  return { counts: tally.counts, moments };
}

/**
 * The tally {@link encodeTally} encoded.
 *
 * @example
 * ```ts
 * import { decodeTally } from "./tally.ts";
 * decodeTally({ counts: { samples: 3 }, moments: {} }).counts.samples; // 3
 * ```
 */
export function decodeTally(json: TallyJson): Tally {
  const moments: Tally["moments"] = {};
  for (const [key, { rows, dim, mean, scatter }] of Object.entries(json.moments)) {
    const upper = fromBase64(scatter);
    const full = new Float64Array(dim * dim);
    let k = 0;
    for (let i = 0; i < dim; i++) {
      for (let j = i; j < dim; j++) full[i * dim + j] = full[j * dim + i] = upper[k++];
    }
    moments[key] = { rows, dim, mean: fromBase64(mean), scatter: full };
  }
  return { counts: json.counts, moments };
}
