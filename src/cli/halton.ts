/**
 * `deno task halton --grid N`: the Halton order of an N×N grid as JSON on stdout.
 *
 * @module
 */

import { haltonOrder, orderToPairs } from "../halton.ts";
import { integerOption, parseOptions } from "./options.ts";

const HALTON_OPTIONS = {
  grid: { type: "string", arg: "N", help: "side of the N×N token grid (required)" },
} as const;

/** Prints `[[row, col], …]` (N² pairs in unmasking order) and nothing else. */
export function halton(args: string[]): void {
  const values = parseOptions("halton", args, HALTON_OPTIONS);
  if (!values) return;
  const grid = integerOption("grid", values.grid, 1);
  console.log(JSON.stringify(orderToPairs(haltonOrder(grid), grid)));
}
