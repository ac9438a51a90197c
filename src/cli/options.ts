/**
 * Command-line options: parsing and the knobs shared by every command.
 *
 * Options are parsed with `node:util` parseArgs, standing in for @std/cli, which cannot be
 * installed here (JSR is unreachable); this module is the only place that imports it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { SessionOptions } from "../backend/onnx.ts";
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

/** The sampler and ONNX Runtime options of `generate` and `eval`. */
export const SAMPLER_OPTIONS = {
  model: { type: "string" },
  seed: { type: "string" },
  scheduler: { type: "string" },
  steps: { type: "string" },
  cfg: { type: "string" },
  temperature: { type: "string" },
  "temperature-end": { type: "string" },
  "temperature-power": { type: "string" },
  "temperature-warmup": { type: "string" },
  "top-k": { type: "string" },
  randomize: { type: "boolean" },
  "count-mode": { type: "string" },
  noise: { type: "string" },
  "noise-temperature": { type: "string" },
  threads: { type: "string" },
  provider: { type: "string" },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

/** The sampler settings the command line asks for (only the knobs it names). */
export function cliSettings(values: Values): SettingsInput {
  const text = (name: string) => values[name] as string | undefined;
  const number = (name: string) =>
    text(name) === undefined ? undefined : numberOption(name, text(name)!);
  const integer = (name: string) =>
    text(name) === undefined ? undefined : integerOption(name, text(name));
  const start = number("temperature");
  const settings: SettingsInput = {
    scheduler: text("scheduler") as SettingsInput["scheduler"],
    steps: integer("steps"),
    seed: integer("seed"),
    cfg: number("cfg"),
    topK: integer("top-k"),
    randomize: values.randomize as boolean | undefined,
    countMode: text("count-mode") as SettingsInput["countMode"],
    noise: text("noise") as SettingsInput["noise"],
    noiseTemperature: number("noise-temperature"),
    temperature: {
      start,
      end: number("temperature-end") ?? start,
      power: number("temperature-power"),
      warmup: integer("temperature-warmup"),
    },
  };
  // Unset knobs must not hide the model's defaults.
  const prune = (o: object) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return { ...prune(settings), temperature: prune(settings.temperature!) } as SettingsInput;
}

/** ONNX Runtime session options from `--threads` and `--provider`. */
export function sessionOptions(values: Values): SessionOptions {
  const threads = values.threads === undefined
    ? undefined
    : integerOption("threads", values.threads as string);
  if (threads === 0) throw new Error("--threads must be at least 1");
  return { threads, provider: values.provider as string | undefined };
}
