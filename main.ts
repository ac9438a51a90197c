/**
 * Command-line entry: `deno run main.ts <command> [options]` (see `deno.json` tasks).
 *
 * @module
 */

import { knobOfField } from "./src/knobs.ts";
import { SettingError } from "./src/settings.ts";

const USAGE = `usage: deno task <command> [options]

commands:
  halton --grid N   print the Halton order of an N×N grid as JSON [[row, col], …]
  generate          class label(s) → PNG image(s); see README "Generating images"
  eval              score a scheduler's images with the model's glyph classifier
  analyze           per-step entropy and distances, heat maps, step grids (paper Fig. 3, 4, 10)
  serve             the HTTP server and web page; see README "Serving over HTTP"
  worker            take generate/eval shards from a Redis queue; see README "Many machines"
  bench             per-image time split, images/s per batch, this machine's sgemm rate

'deno task <command> --help' lists a command's options.`;

type Command = (args: string[]) => void | Promise<void>;

// Loaded on demand, so `halton` runs without the permissions ONNX Runtime's native addon needs.
const COMMANDS: Record<string, () => Promise<Command>> = {
  halton: async () => (await import("./src/cli/halton.ts")).halton,
  generate: async () => (await import("./src/cli/generate.ts")).generateCommand,
  eval: async () => (await import("./src/cli/eval.ts")).evalCommand,
  analyze: async () => (await import("./src/cli/analyze.ts")).analyzeCommand,
  bench: async () => (await import("./src/cli/bench.ts")).benchCommand,
  serve: async () => (await import("./src/cli/serve.ts")).serveCommand,
  worker: async () => (await import("./src/cli/worker.ts")).workerCommand,
};

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
    const help = name === undefined || name === "--help" || name === "-h";
    console.error(help ? USAGE : `error: unknown command '${name}'\n${USAGE}`);
    return help ? 0 : 2;
  }
  try {
    await (await command())(args);
    return 0;
  } catch (error) {
    // One line: the first line of the message (parseArgs adds hints on further lines).
    let message = error instanceof Error ? error.message : String(error);
    // A knob is named as the user typed it: "--top-k", not the settings field "topK".
    const knob = error instanceof SettingError ? knobOfField(error.field) : undefined;
    if (knob) message = message.replace((error as SettingError).field, `--${knob.name}`);
    console.error(`error: ${message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
