/**
 * Command-line entry: `deno run main.ts <command> [options]` (see `deno.json` tasks).
 *
 * Options are parsed with `node:util` parseArgs, standing in for @std/cli, which cannot
 * be installed here (JSR is unreachable); this file is the only place that does so.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { haltonOrder, orderToPairs } from "./src/halton.ts";

const USAGE = `usage: deno task <command> [options]

commands:
  halton --grid N   print the Halton order of an N×N grid as JSON [[row, col], …]`;

/** Parses a whole number given on the command line, or throws one clear line. */
function integerOption(name: string, value: string | undefined): number {
  if (value === undefined) throw new Error(`--${name} is required`);
  if (!/^\d+$/.test(value.trim())) {
    throw new Error(`--${name} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

function halton(args: string[]): void {
  const { values } = parseArgs({ args, options: { grid: { type: "string" } }, strict: true });
  const grid = integerOption("grid", values.grid);
  console.log(JSON.stringify(orderToPairs(haltonOrder(grid), grid)));
}

const COMMANDS: Record<string, (args: string[]) => void | Promise<void>> = { halton };

/**
 * Runs one command and returns the process exit code; errors become one line on stderr.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * await main(["halton", "--grid", "8"]); // prints 64 pairs, returns 0
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = COMMANDS[name];
  if (!command) {
    console.error(name && name !== "--help" ? `error: unknown command '${name}'\n${USAGE}` : USAGE);
    return name && name !== "--help" ? 2 : 0;
  }
  try {
    await command(args);
    return 0;
  } catch (error) {
    // One line: the first line of the message (parseArgs adds hints on further lines).
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
