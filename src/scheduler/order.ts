/**
 * Schedules that fix the whole order in advance (Halton, Random): step s unmasks the
 * next `count` positions of the order and samples a token only there.
 *
 * @module
 */

import type { Order } from "../halton.ts";
import type { SampleSchedule, StepContext } from "./types.ts";

/**
 * A sample schedule that walks a fixed order.
 *
 * @example
 * ```ts
 * import { followOrder } from "./order.ts";
 * const schedule = followOrder(Int32Array.of(3, 0, 2, 1));
 * ```
 */
export function followOrder(order: Order): SampleSchedule {
  return {
    candidates: ({ known, count }) => order.slice(known, known + count),
    choose({ candidates, draw }: StepContext) {
      const tokens = candidates.map((position) => draw(position).token);
      return { positions: candidates, tokens };
    },
  };
}
