/**
 * Command-line entry: `deno run main.ts <command> [options]` (see `deno.json` tasks).
 *
 * @module
 */

import { type Knob, KNOBS } from "./src/knobs.ts";

// Each knob as "  --top-k K   help", the metavariable taken from the help's "K" where it has one.
const KNOB_USAGE = KNOBS.map((knob) => {
  const flag = knob.kind === "boolean" ? `--${knob.name}` : `--${knob.name} ${metavar(knob)}`;
  return `  ${flag.padEnd(25)}${knob.help}`;
}).join("\n");

function metavar(knob: Knob): string {
  return { integer: "N", number: "X", string: "NAME" }[knob.kind as "integer"];
}

const USAGE = `usage: deno task <command> [options]

commands:
  halton --grid N   print the Halton order of an N×N grid as JSON [[row, col], …]
  generate          class label(s) → PNG image(s); see README "Generating images"
  eval              score a scheduler's images with the model's glyph classifier
  analyze           per-step entropy and distances, heat maps, step grids (paper Fig. 3, 4, 10)
  serve             the HTTP server and web page; see README "Serving over HTTP"
  worker            take generate/eval shards from a Redis queue; see README "Many machines"
  bench             per-image time split, images/s per batch, this machine's sgemm rate

generate options:
  --model DIR              model folder (default: models/glyphs)
  --class C                class name or index; repeat or comma-separate for a batch
  --count K                images per class (default 1)
${KNOB_USAGE}
  --out PATH               a .png file, or a folder (default: out/)
  --gif FILE               also write an animated GIF of the steps
  --backend NAME           node (native ONNX Runtime, default) | wasm (onnxruntime-web)
  --threads N              ONNX Runtime intra-op threads (default: all cores)
  --provider NAME          ONNX Runtime execution provider (default: cpu)
  --quiet                  no progress bar or summary on stderr
  --queue redis://H:P      run on workers (deno task worker); see README "Many machines"
  --shard-size N           images per queued job (default 64)
  --attempts N             tries per queued job before the command fails (default 3)`;

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
    console.error(name && name !== "--help" ? `error: unknown command '${name}'\n${USAGE}` : USAGE);
    return name && name !== "--help" ? 2 : 0;
  }
  try {
    await (await command())(args);
    return 0;
  } catch (error) {
    // One line: the first line of the message (parseArgs adds hints on further lines).
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
