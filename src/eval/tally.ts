/**
 * An evaluation's mergeable record: counters and vectors (summed) and feature rows
 * (concatenated), so the shards of one run — scored on different machines — add up to what a
 * single run over all its samples holds, and give the same figures. A new figure is a new
 * counter, vector or row set; merging and the wire format need no change.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** Feature rows, flat [rows, dim]. */
export interface Rows {
  dim: number;
  data: Float32Array;
}

/** What a set of scored images contributes to an evaluation's figures. */
export interface Tally {
  /** Summed numbers, e.g. `samples`, `top1`. */
  counts: Record<string, number>;
  /** Summed vectors, e.g. the classes' total probability. */
  sums: Record<string, Float64Array>;
  /** Row sets kept whole (what nearest neighbours need), in sample order. */
  rows: Record<string, Rows>;
}

/**
 * A {@link Tally} as JSON: vectors as base64 float64, rows as base64 float32 (the features'
 * own precision: 4 bytes a value, 512 bytes an image for 128-d features).
 */
export interface TallyJson {
  counts: Record<string, number>;
  sums: Record<string, string>;
  rows: Record<string, { dim: number; data: string }>;
}

/** Applies `merge` to the entries both records hold; the others are taken as they are. */
function mergeRecords<T>(
  a: Record<string, T>,
  b: Record<string, T>,
  merge: (x: T, y: T, key: string) => T,
): Record<string, T> {
  const merged = { ...a };
  for (const [key, value] of Object.entries(b)) {
    merged[key] = key in merged ? merge(merged[key], value, key) : value;
  }
  return merged;
}

/**
 * The tally of two disjoint sets of images, `a`'s samples before `b`'s.
 *
 * @example
 * ```ts
 * import { mergeTallies } from "./tally.ts";
 * const a = { counts: { top1: 2 }, sums: {}, rows: { f: { dim: 1, data: Float32Array.of(1) } } };
 * const b = { counts: { top1: 3 }, sums: {}, rows: { f: { dim: 1, data: Float32Array.of(2) } } };
 * mergeTallies(a, b); // counts { top1: 5 }, rows f: [1, 2]
 * ```
 */
export function mergeTallies(a: Tally, b: Tally): Tally {
  return {
    counts: mergeRecords(a.counts, b.counts, (x, y) => x + y),
    sums: mergeRecords(a.sums, b.sums, (x, y, key) => {
      if (x.length !== y.length) throw new RangeError(`${key}: ${x.length} and ${y.length} values`);
      return x.map((v, i) => v + y[i]);
    }),
    rows: mergeRecords(a.rows, b.rows, (x, y, key) => {
      if (x.dim !== y.dim) throw new RangeError(`${key}: rows of ${x.dim} and of ${y.dim}`);
      const data = new Float32Array(x.data.length + y.data.length);
      data.set(x.data);
      data.set(y.data, x.data.length);
      return { dim: x.dim, data };
    }),
  };
}

function toBase64(values: Float64Array | Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64");
}

function bytesOf(text: string): ArrayBuffer {
  const bytes = Buffer.from(text, "base64");
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

/**
 * A tally as compact JSON (a queue job's result).
 *
 * @example
 * ```ts
 * import { decodeTally, encodeTally } from "./tally.ts";
 * const tally = {
 *   counts: { samples: 2 },
 *   sums: { p: Float64Array.of(0.25, 1.75) },
 *   rows: { features: { dim: 2, data: Float32Array.of(0, 1, 2, 4) } },
 * };
 * decodeTally(JSON.parse(JSON.stringify(encodeTally(tally)))); // equal to tally
 * ```
 */
export function encodeTally(tally: Tally): TallyJson {
  const sums = Object.fromEntries(
    Object.entries(tally.sums).map(([key, values]) => [key, toBase64(values)]),
  );
  const rows = Object.fromEntries(
    Object.entries(tally.rows).map(([key, { dim, data }]) => [key, { dim, data: toBase64(data) }]),
  );
  return { counts: tally.counts, sums, rows };
}

/**
 * The tally {@link encodeTally} encoded.
 *
 * @example
 * ```ts
 * import { decodeTally } from "./tally.ts";
 * decodeTally({ counts: { samples: 3 }, sums: {}, rows: {} }).counts.samples; // 3
 * ```
 */
export function decodeTally(json: TallyJson): Tally {
  const sums = Object.fromEntries(
    Object.entries(json.sums).map(([key, text]) => [key, new Float64Array(bytesOf(text))]),
  );
  const rows = Object.fromEntries(
    Object.entries(json.rows).map((
      [key, { dim, data }],
    ) => [key, { dim, data: new Float32Array(bytesOf(data)) }]),
  );
  return { counts: json.counts, sums, rows };
}
