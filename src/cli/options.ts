/**
 * Command-line options: one table per command gives both the parser's configuration and the
 * `--help` text, and the sampler knobs come from the one knob table (`knobs.ts`).
 *
 * Options are parsed with `node:util` parseArgs, standing in for @std/cli, which cannot be
 * installed here (JSR is unreachable); this module is the only place that imports it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadBackend } from "../backend/mod.ts";
import { maxThreads } from "../backend/onnx.ts";
import type { LoadOptions } from "../model.ts";
import { type Knob, KNOBS, knobSettings } from "../knobs.ts";
import type { SettingsInput } from "../settings.ts";

// Scripts with options outside any command (scripts/results.ts) parse with it too.
export { parseArgs };

/** One command-line option: how it parses and its line in `--help`. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** Repeatable: the values arrive as a list. */
  multiple?: boolean;
  /** What the value stands for in the help ("N", "DIR"); string options only. */
  arg?: string;
  /** One line for `--help`. */
  help: string;
}

/** A command's options by long name (without `--`). */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** Parsed values of an {@link OptionTable}: strings, string lists or booleans. */
export type OptionValues<T extends OptionTable> = {
  [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean
    : T[K]["multiple"] extends true ? string[]
    : string;
};

function rangeText(min: number, max: number): string {
  if (min <= Number.MIN_SAFE_INTEGER) return "an integer";
  return max >= Number.MAX_SAFE_INTEGER
    ? `an integer ≥ ${min}`
    : `an integer from ${min} to ${max}`;
}

/**
 * Parses a whole number given on the command line within [min, max] (default: ≥ 0), or
 * throws one clear line that says the allowed range.
 *
 * @example
 * ```ts
 * import { integerOption } from "./options.ts";
 * integerOption("count", "3", 1, 64); // 3
 * // integerOption("count", "-1", 1, 64) throws: --count must be an integer from 1 to 64, got '-1'
 * ```
 */
export function integerOption(
  name: string,
  value: string | undefined,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) throw new Error(`--${name} is required`);
  const number = Number(value);
  const integer = /^\s*-?\d+\s*$/.test(value) && Number.isSafeInteger(number);
  if (!integer || number < min || number > max) {
    throw new Error(`--${name} must be ${rangeText(min, max)}, got '${value}'`);
  }
  return number;
}

/**
 * Parses a number given on the command line, or throws one clear line.
 *
 * @example
 * ```ts
 * import { numberOption } from "./options.ts";
 * numberOption("cfg", "-2.5"); // -2.5
 * ```
 */
export function numberOption(name: string, value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) {
    throw new Error(`--${name} must be a number, got '${value}'`);
  }
  return number;
}

function knobOption(knob: Knob): OptionSpec {
  if (knob.kind === "boolean") return { type: "boolean", help: knob.help };
  const arg = { integer: "N", number: "X", string: "NAME" }[knob.kind];
  return { type: "string", arg, help: knob.help };
}

/** The model, sampler-knob and ONNX Runtime options of every command that generates. */
export const SAMPLER_OPTIONS = {
  model: { type: "string", arg: "DIR", help: "model folder (default: models/glyphs)" },
  ...Object.fromEntries(KNOBS.map((knob) => [knob.name, knobOption(knob)])),
  backend: {
    type: "string",
    arg: "NAME",
    help: "node (native ONNX Runtime, default) | wasm (onnxruntime-web)",
  },
  "decoder-backend": {
    type: "string",
    arg: "NAME",
    help: "backend that decodes tokens to pixels (default: --backend's); wasm gives the " +
      "PNG bytes of the WASM backend, the edge and the browser",
  },
  threads: {
    type: "string",
    arg: "N",
    help: "ONNX Runtime intra-op threads, 1 to 4 × cores (default: all cores)",
  },
  provider: {
    type: "string",
    arg: "NAME",
    help: "ONNX Runtime execution provider (default: cpu)",
  },
} as const satisfies OptionTable;

/**
 * The `--help` text of a command: every option of its table with its help line.
 *
 * @example
 * ```ts
 * import { helpText } from "./options.ts";
 * helpText("halton", { grid: { type: "string", arg: "N", help: "grid side" } });
 * // "usage: deno task halton [options]\n\noptions:\n  --grid N …"
 * ```
 */
export function helpText(command: string, table: OptionTable): string {
  const rows = Object.entries(table).map(([name, spec]) => [
    spec.type === "boolean"
      ? `--${name}, --no-${name}`
      : `--${name} ${spec.arg ?? "VALUE"}${spec.multiple ? " …" : ""}`,
    spec.help,
  ]);
  rows.push(["-h, --help", "print this help and exit"]);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const lines = rows.map(([flag, help]) => `  ${flag.padEnd(width)}${help}`);
  return [`usage: deno task ${command} [options]`, "", "options:", ...lines].join("\n");
}

// Negative numbers ("--steps -1") look like options to parseArgs: join them to their option.
const NUMBER = /^-(\d|\.\d|Infinity)/;

/** Rewrites arguments parseArgs would misread: `--knob -1`, `--flag=false`. */
function normalise(args: string[], table: OptionTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const flag = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    const spec = flag ? table[flag[1]] : undefined;
    if (spec?.type === "string" && flag![2] === undefined && NUMBER.test(args[i + 1] ?? "")) {
      out.push(`${arg}=${args[++i]}`);
    } else if (spec?.type === "boolean" && flag![2] !== undefined) {
      const value = flag![2];
      if (value !== "true" && value !== "false") {
        throw new Error(`--${flag![1]} takes true or false, got '${value}'`);
      }
      out.push(value === "true" ? `--${flag![1]}` : `--no-${flag![1]}`);
    } else out.push(arg);
  }
  return out;
}

/**
 * Parses a command's arguments against its table. `--help` or `-h` prints the table's help
 * and returns undefined (the command then does nothing); an unknown option's error points to
 * `--help`. Booleans take `--no-NAME` and `--NAME=false`; numbers may be negative
 * (`--cfg -1` reaches the range check instead of confusing the parser).
 *
 * @example
 * ```ts
 * import { parseOptions } from "./options.ts";
 * const table = { steps: { type: "string", arg: "N", help: "steps" } } as const;
 * parseOptions("x", ["--steps", "-1"], table); // { steps: "-1" }
 * ```
 */
export function parseOptions<T extends OptionTable>(
  command: string,
  args: string[],
  table: T,
): OptionValues<T> | undefined {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText(command, table));
    return undefined;
  }
  try {
    const { values } = parseArgs({
      args: normalise(args, table),
      options: table,
      strict: true,
      allowNegative: true,
    });
    return { ...values } as OptionValues<T>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw error;
    const option = /'([^']+)'/.exec((error as Error).message)?.[1] ?? "";
    throw new Error(
      `unknown option '${option}' ('deno task ${command} --help' lists the options)`,
    );
  }
}

/**
 * The sampler settings the command line asks for (only the knobs it names).
 *
 * @example
 * ```ts
 * import { cliSettings } from "./options.ts";
 * cliSettings({ steps: "8", randomize: false }); // { steps: 8, randomize: false }
 * ```
 */
export function cliSettings(values: Record<string, unknown>): SettingsInput {
  return knobSettings((knob) => {
    const value = values[knob.name] as string | boolean | undefined;
    if (value === undefined || typeof value === "boolean") return value;
    // Any integer: the settings check the knob's range and say it.
    if (knob.kind === "integer") return integerOption(knob.name, value, -Infinity);
    return knob.kind === "number" ? numberOption(knob.name, value) : value;
  });
}

/**
 * The backends and ONNX Runtime session options from `--backend`, `--decoder-backend`,
 * `--threads`, `--provider`.
 *
 * @example
 * ```ts
 * import { loadOptions } from "./options.ts";
 * const { backend, decoderBackend, threads } = await loadOptions({
 *   threads: "2",
 *   "decoder-backend": "wasm",
 * });
 * [backend.name, decoderBackend?.name, threads]; // ["node", "wasm", 2]
 * ```
 */
export async function loadOptions(
  values: { backend?: string; "decoder-backend"?: string; threads?: string; provider?: string },
): Promise<LoadOptions> {
  const threads = values.threads === undefined
    ? undefined
    : integerOption("threads", values.threads, 1, maxThreads());
  const backend = await loadBackend(values.backend);
  const decoder = values["decoder-backend"];
  const decoderBackend = decoder === undefined
    ? undefined
    : await loadBackend(decoder, "decoder-backend");
  return { backend, decoderBackend, threads, provider: values.provider };
}

/** The options of `generate` and `eval` that send the work to workers (`--queue`). */
export const QUEUE_OPTIONS = {
  queue: {
    type: "string",
    arg: "redis://H:P",
    help: 'run on workers (deno task worker); see README "Many machines"',
  },
  "shard-size": {
    type: "string",
    arg: "N",
    help: "images per queued job (default: 64 for generate, --batch for eval)",
  },
  attempts: {
    type: "string",
    arg: "N",
    help: "tries per queued job before the command fails (default 3)",
  },
} as const satisfies OptionTable;

/** `--queue`'s settings, or undefined for a local run. */
export interface QueueChoice {
  url: string;
  /** Images per shard. */
  shardSize: number;
  /** Tries per shard. */
  attempts: number;
}

/**
 * Reads `--queue URL`, `--shard-size N` (default `shardSize`) and `--attempts N` (default 3).
 *
 * @example
 * ```ts
 * import { queueChoice } from "./options.ts";
 * queueChoice({ queue: "redis://127.0.0.1:6379", "shard-size": "8" }, 64)?.shardSize; // 8
 * ```
 */
export function queueChoice(
  values: Record<string, string | boolean | string[] | undefined>,
  shardSize: number,
): QueueChoice | undefined {
  const positive = (name: string, fallback: number) => {
    const value = values[name] as string | undefined;
    return value === undefined ? fallback : integerOption(name, value, 1);
  };
  const size = positive("shard-size", shardSize);
  const attempts = positive("attempts", 3);
  if (values.queue === undefined) {
    if (values["shard-size"] !== undefined || values.attempts !== undefined) {
      throw new Error("--shard-size and --attempts go with --queue");
    }
    return undefined;
  }
  return { url: values.queue as string, shardSize: size, attempts };
}
