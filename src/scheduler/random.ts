/**
 * The Random scheduler (the paper's baseline): a uniformly random order per sample,
 * with the same step counts and guidance as Halton.
 *
 * @module
 */

import { haltonCounts } from "../schedule.ts";
import { followOrder } from "./order.ts";
import type { Scheduler } from "./types.ts";

/**
 * @example
 * ```ts
 * import { random } from "./random.ts";
 * random.guidance; // "constant"
 * ```
 */
export const random: Scheduler = {
  counts: (tokens, steps) => haltonCounts(tokens, steps),
  guidance: "constant",
  start(grid, rng) {
    const order = new Int32Array(grid * grid);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return followOrder(rng.shuffle(order));
  },
};
