/**
 * The Halton scheduler (the paper): unmask positions in Halton order, with the arccos
 * step counts and constant guidance. `randomize` rolls the order by a random offset per
 * sample (official `randomize=True`).
 *
 * @module
 */

import { haltonOrder, rollOrder } from "../halton.ts";
import { haltonCounts } from "../schedule.ts";
import { followOrder } from "./order.ts";
import type { Scheduler } from "./types.ts";

/**
 * @example
 * ```ts
 * import { halton } from "./halton.ts";
 * halton.counts(256, 32, {} as never)[31]; // 256
 * ```
 */
export const halton: Scheduler = {
  counts: (tokens, steps) => haltonCounts(tokens, steps),
  guidance: "constant",
  start(grid, rng, settings) {
    const order = haltonOrder(grid);
    return followOrder(settings.randomize ? rollOrder(order, rng.int(order.length)) : order);
  },
};
