/**
 * Runs the command line in-process for tests, capturing what it prints.
 *
 * @module
 */

import { main } from "../main.ts";

/** What one in-process run of `main` returned and printed, a line per call. */
export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

/** Runs `main(args)` with console.log and console.error captured (and silenced). */
export async function runCli(...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...parts: unknown[]) => void out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => void err.push(parts.join(" "));
  try {
    return { code: await main(args), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}
