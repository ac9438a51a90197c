/**
 * The Halton unmasking order of the paper (§3.2, Appendix E), computed exactly.
 *
 * Point i (i = 1, 2, …) of the 2-D Halton sequence is (u, v) = (radical inverse of i in
 * base 2, radical inverse of i in base 3). On an n×n token grid it falls in the cell
 * (row, col) = (⌊u·n⌋, ⌊v·n⌋). Walking i upwards and keeping each cell the first time it
 * appears gives an order of all n² cells in which consecutive cells tend to be far apart.
 *
 * Everything here is integer arithmetic: u = a / 2^k and v = b / 3^k are kept as
 * numerator/denominator pairs, so no floating-point rounding can move a point to a
 * neighbouring cell. Unlike the official code (which stops after 10,000 points and so
 * misses 6 cells of a 64×64 grid), the walk continues until every cell is covered.
 *
 * @module
 */

import { HALTON_TABLES } from "./tables/mod.ts";

/** An order of the cells of an n×n grid: flat row-major positions (row·n + col). */
export type Order = Int32Array;

/**
 * The radical inverse of `index` in `base`, as an exact fraction [numerator, denominator].
 *
 * @example
 * ```ts
 * import { radicalInverse } from "./halton.ts";
 * radicalInverse(1, 2); // [1, 2]  (0.1 in binary)
 * radicalInverse(2, 3); // [2, 3]
 * radicalInverse(6, 2); // [3, 8]  (6 = 110₂ → 0.011₂)
 * ```
 */
export function radicalInverse(index: number, base: number): [number, number] {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`Halton index must be a non-negative integer, got ${index}`);
  }
  let numerator = 0;
  let denominator = 1;
  // Mirror the base-b digits of index around the radix point.
  for (let rest = index; rest > 0; rest = Math.floor(rest / base)) {
    numerator = numerator * base + (rest % base);
    denominator *= base;
  }
  return [numerator, denominator];
}

/** ⌊numerator · n / denominator⌋ for safe integers, corrected so float division cannot round it up. */
function scaledFloor([numerator, denominator]: [number, number], n: number): number {
  const product = numerator * n;
  let cell = Math.floor(product / denominator);
  if (cell * denominator > product) cell -= 1;
  return cell;
}

/**
 * The grid cell [row, col] of Halton point `index` on an n×n grid.
 *
 * @example
 * ```ts
 * import { haltonCell } from "./halton.ts";
 * haltonCell(1, 16); // [8, 5]: u = 1/2, v = 1/3
 * ```
 */
export function haltonCell(index: number, n: number): [number, number] {
  return [scaledFloor(radicalInverse(index, 2), n), scaledFloor(radicalInverse(index, 3), n)];
}

/** Throws unless `n` is a usable grid side. */
export function assertGrid(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1 || n > 4096) {
    throw new RangeError(`grid size must be an integer from 1 to 4096, got ${n}`);
  }
}

/**
 * Computes the Halton order of an n×n grid from the sequence itself (no table).
 * `points` is how many Halton points were walked until every cell was covered.
 *
 * @example
 * ```ts
 * import { computeHaltonOrder } from "./halton.ts";
 * const { order, points } = computeHaltonOrder(64);
 * order.length; // 4096
 * points; // 10363
 * ```
 */
export function computeHaltonOrder(n: number): { order: Order; points: number } {
  assertGrid(n);
  const cells = n * n;
  const order = new Int32Array(cells);
  const seen = new Uint8Array(cells);
  let filled = 0;
  let index = 0;
  while (filled < cells) {
    index += 1;
    const [row, col] = haltonCell(index, n);
    const position = row * n + col;
    if (!seen[position]) {
      seen[position] = 1;
      order[filled++] = position;
    }
  }
  return { order, points: index };
}

const computed = new Map<number, Order>();

/**
 * The Halton order of an n×n grid: from the precomputed table asset when one ships for
 * this size, computed (once, then cached) otherwise. Do not mutate the result.
 *
 * @example
 * ```ts
 * import { haltonOrder } from "./halton.ts";
 * const order = haltonOrder(16);
 * order[0]; // 133 = 8·16 + 5
 * ```
 */
export function haltonOrder(n: number): Order {
  assertGrid(n);
  let order = computed.get(n);
  if (!order) {
    const table = HALTON_TABLES.get(n);
    order = table ? pairsToOrder(table.order, n) : computeHaltonOrder(n).order;
    computed.set(n, order);
  }
  return order;
}

/**
 * The order rolled cyclically by `offset` (official `torch.roll(order, offset, 0)`):
 * element k moves to position (k + offset) mod length.
 *
 * @example
 * ```ts
 * import { rollOrder } from "./halton.ts";
 * rollOrder(Int32Array.of(0, 1, 2, 3), 1); // Int32Array [3, 0, 1, 2]
 * ```
 */
export function rollOrder(order: Order, offset: number): Order {
  const length = order.length;
  const shift = ((offset % length) + length) % length;
  const rolled = new Int32Array(length);
  rolled.set(order.subarray(length - shift), 0);
  rolled.set(order.subarray(0, length - shift), shift);
  return rolled;
}

/**
 * Flat positions → [row, col] pairs.
 *
 * @example
 * ```ts
 * import { orderToPairs } from "./halton.ts";
 * orderToPairs(Int32Array.of(133, 74), 16); // [[8, 5], [4, 10]]
 * ```
 */
export function orderToPairs(order: Order, n: number): [number, number][] {
  return Array.from(order, (position) => [Math.floor(position / n), position % n]);
}

/**
 * [row, col] pairs → flat positions.
 *
 * @example
 * ```ts
 * import { pairsToOrder } from "./halton.ts";
 * pairsToOrder([[8, 5], [4, 10]], 16); // Int32Array [133, 74]
 * ```
 */
export function pairsToOrder(pairs: readonly (readonly number[])[], n: number): Order {
  return Int32Array.from(pairs, ([row, col]) => row * n + col);
}
