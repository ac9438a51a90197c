/**
 * Command-line options: parsing and the knobs shared by every command.
 *
 * Options are parsed with `node:util` parseArgs, standing in for @std/cli, which cannot be
 * installed here (JSR is unreachable); this module is the only place that imports it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadBackend } from "../backend/mod.ts";
import type { LoadOptions } from "../model.ts";
import { KNOBS, knobSettings } from "../knobs.ts";
import type { SettingsInput } from "../settings.ts";

export { parseArgs };

/** Parses a whole number given on the command line, or throws one clear line. */
export function integerOption(name: string, value: string | undefined): number {
  if (value === undefined) throw new Error(`--${name} is required`);
  if (!/^\d+$/.test(value.trim())) {
    throw new Error(`--${name} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

/** Parses a number given on the command line, or throws one clear line. */
export function numberOption(name: string, value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) {
    throw new Error(`--${name} must be a number, got '${value}'`);
  }
  return number;
}

type KnobOption = { type: "string" } | { type: "boolean" };

/** The sampler and ONNX Runtime options of `generate` and `eval`. */
export const SAMPLER_OPTIONS = {
  model: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  provider: { type: "string" },
  ...Object.fromEntries(
    KNOBS.map((knob): [string, KnobOption] => [
      knob.name,
      knob.kind === "boolean" ? { type: "boolean" } : { type: "string" },
    ]),
  ),
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

/** The sampler settings the command line asks for (only the knobs it names). */
export function cliSettings(values: Values): SettingsInput {
  return knobSettings((knob) => {
    const value = values[knob.name] as string | boolean | undefined;
    if (value === undefined || typeof value === "boolean") return value;
    if (knob.kind === "integer") return integerOption(knob.name, value);
    return knob.kind === "number" ? numberOption(knob.name, value) : value;
  });
}

/** The backend and ONNX Runtime session options from `--backend`, `--threads`, `--provider`. */
export async function loadOptions(values: Values): Promise<LoadOptions> {
  const threads = values.threads === undefined
    ? undefined
    : integerOption("threads", values.threads as string);
  if (threads === 0) throw new Error("--threads must be at least 1");
  const backend = await loadBackend(values.backend as string | undefined);
  return { backend, threads, provider: values.provider as string | undefined };
}

/** The options of `generate` and `eval` that send the work to workers (`--queue`). */
export const QUEUE_OPTIONS = {
  queue: { type: "string" },
  "shard-size": { type: "string" },
  attempts: { type: "string" },
} as const;

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
export function queueChoice(values: Values, shardSize: number): QueueChoice | undefined {
  const positive = (name: string, fallback: number) => {
    const value = values[name] as string | undefined;
    const number = value === undefined ? fallback : integerOption(name, value);
    if (number < 1) throw new Error(`--${name} must be at least 1, got ${number}`);
    return number;
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
