/**
 * `deno task halton --grid N`: the Halton order of an N×N grid as JSON on stdout.
 *
 * @module
 */

import { haltonOrder, orderToPairs } from "../halton.ts";
import { integerOption, parseArgs } from "./options.ts";

/** Prints `[[row, col], …]` (N² pairs in unmasking order) and nothing else. */
export function halton(args: string[]): void {
  const { values } = parseArgs({ args, options: { grid: { type: "string" } }, strict: true });
  const grid = integerOption("grid", values.grid);
  console.log(JSON.stringify(orderToPairs(haltonOrder(grid), grid)));
}
