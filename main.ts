/**
 * Command-line entry: `deno run main.ts <command> [options]` (see `deno.json` tasks).
 *
 * @module
 */

import { evalCommand } from "./src/cli/eval.ts";
import { generateCommand } from "./src/cli/generate.ts";
import { halton } from "./src/cli/halton.ts";

const USAGE = `usage: deno task <command> [options]

commands:
  halton --grid N   print the Halton order of an N×N grid as JSON [[row, col], …]
  generate          class label(s) → PNG image(s); see README "Generating images"
  eval              score a scheduler's images with the model's glyph classifier

generate options:
  --model DIR              model folder (default: models/glyphs)
  --class C                class name or index; repeat or comma-separate for a batch
  --count K                images per class (default 1)
  --seed S                 seed of the first image; image b uses S + b (default: random, printed)
  --scheduler NAME         halton | confidence | random
  --steps S                number of steps, 1…N
  --cfg W                  classifier-free guidance weight (0 = off)
  --temperature T          softmax temperature (start; also the end unless --temperature-end)
  --temperature-end T      temperature at the last step
  --temperature-power P    exponent applied to the temperature
  --temperature-warmup K   double the temperature during the first K steps
  --top-k K                sample among the K most likely tokens (0 = all)
  --randomize              Halton: roll the order by a random offset per image
  --count-mode M           Confidence: arccos | cosine | linear | square | root
  --noise M                Confidence: linear | warm_up | random | none
  --noise-temperature R    Confidence: Gumbel noise scale
  --out PATH               a .png file, or a folder (default: out/)
  --gif FILE               also write an animated GIF of the steps
  --threads N              ONNX Runtime intra-op threads (default: all cores)
  --provider NAME          ONNX Runtime execution provider (default: cpu)
  --quiet                  no progress bar or summary on stderr`;

const COMMANDS: Record<string, (args: string[]) => void | Promise<void>> = {
  halton,
  generate: generateCommand,
  eval: evalCommand,
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
