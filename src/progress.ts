/**
 * A progress bar for long runs, drawn on stderr: steps, elapsed time and ETA.
 *
 * @module
 */

import type { StepEvent } from "./sampler.ts";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

type Write = (text: string) => void;

const stderrWrite: Write = (text) => Deno.stderr.writeSync(new TextEncoder().encode(text));

/**
 * Draws `label [####----] <detail>, elapsed, ETA` for a fraction done. On a terminal it
 * redraws one line; elsewhere (logs, pipes) it prints a line at every tenth of the run.
 */
function bar(
  label: string,
  write: Write,
  terminal: boolean,
  now: () => number,
): (fraction: number, detail: string) => void {
  const start = now();
  let printed = -1;
  return (fraction, detail) => {
    const elapsed = now() - start;
    const eta = fraction > 0 ? elapsed / fraction * (1 - fraction) : 0;
    const width = 24;
    const filled = Math.round(width * fraction);
    const line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${detail}, ` +
      `${seconds(elapsed)} elapsed, ETA ${seconds(eta)}`;
    if (terminal) {
      write(`\r\x1b[2K${line}${fraction >= 1 ? "\n" : ""}`);
    } else if (Math.floor(10 * fraction) > printed) {
      printed = Math.floor(10 * fraction);
      write(line + "\n");
    }
  };
}

/**
 * A step callback that draws a bar of steps and tokens (see {@link countBar} for the
 * terminal and log behaviour).
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { generate } from "./generate.ts";
 * import { loadModel } from "./model.ts";
 * import { progressBar } from "./progress.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * // progressBar("generate") draws on stderr; here the lines go to a log (not a terminal):
 * const lines: string[] = [];
 * const onStep = progressBar("generate", (line) => lines.push(line), false);
 * await generate({ model, classes: [1], onStep });
 * lines.at(-1); // "generate [########################] 16/16 steps, 256/256 tokens, …"
 * ```
 */
export function progressBar(
  label: string,
  write: Write = stderrWrite,
  terminal: boolean = Deno.stderr.isTerminal(),
  now: () => number = () => performance.now(),
): (event: StepEvent) => void {
  const draw = bar(label, write, terminal, now);
  return ({ step, steps, known, tokens }) =>
    draw((step + 1) / steps, `${step + 1}/${steps} steps, ${known}/${tokens} tokens`);
}

/**
 * A bar over a count of things (`--queue` runs: images over all shards). On a terminal it
 * redraws one line; elsewhere (logs, pipes) it prints a line at every tenth of the run, so
 * logs stay short.
 *
 * @example
 * ```ts
 * import { countBar } from "./progress.ts";
 * const lines: string[] = [];
 * const draw = countBar("queue", "images", (text) => lines.push(text), false);
 * draw(5, 10, "1/2 shards"); // lines[0]: "queue [############------------] 5/10 images, 1/2 shards, …"
 * ```
 */
export function countBar(
  label: string,
  unit: string,
  write: Write = stderrWrite,
  terminal: boolean = Deno.stderr.isTerminal(),
  now: () => number = () => performance.now(),
): (done: number, total: number, detail?: string) => void {
  const draw = bar(label, write, terminal, now);
  return (done, total, detail) =>
    draw(total > 0 ? done / total : 1, `${done}/${total} ${unit}${detail ? `, ${detail}` : ""}`);
}
