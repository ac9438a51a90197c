/**
 * A progress bar for long runs, drawn on stderr: steps, elapsed time and ETA.
 *
 * @module
 */

import type { StepEvent } from "./sampler.ts";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * A step callback that draws a bar. On a terminal it redraws one line; elsewhere (logs,
 * pipes) it prints a line at every tenth of the run, so logs stay short.
 *
 * @example
 * ```ts ignore
 * await generate({ model, classes: [1], onStep: progressBar("generate") });
 * ```
 */
export function progressBar(
  label: string,
  write: (text: string) => void = (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
  terminal: boolean = Deno.stderr.isTerminal(),
  now: () => number = () => performance.now(),
): (event: StepEvent) => void {
  const start = now();
  let printed = -1;
  return ({ step, steps, known, tokens }) => {
    const done = step + 1;
    const elapsed = now() - start;
    const eta = elapsed / done * (steps - done);
    const width = 24;
    const filled = Math.round(width * done / steps);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const line = `${label} [${bar}] ${done}/${steps} steps, ${known}/${tokens} tokens, ` +
      `${seconds(elapsed)} elapsed, ETA ${seconds(eta)}`;
    if (terminal) {
      write(`\r\x1b[2K${line}${done === steps ? "\n" : ""}`);
    } else if (Math.floor(10 * done / steps) > printed) {
      printed = Math.floor(10 * done / steps);
      write(line + "\n");
    }
  };
}
