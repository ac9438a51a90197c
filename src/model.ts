/**
 * Model folders: a `model.json` manifest next to `transformer.onnx` and `decoder.onnx`.
 * Loading validates everything up front and names the file at fault.
 *
 * @module
 */

import type { InferenceSession } from "onnxruntime-common";
import {
  checkSignature,
  type Decoder,
  type OnnxBackend,
  onnxDecoder,
  onnxPredictor,
  type SessionOptions,
} from "./backend/onnx.ts";
import { ModelError } from "./model_error.ts";
import type { Predictor } from "./sampler.ts";
import { resolveSettings, SettingError, type SettingsInput } from "./settings.ts";

export { ModelError };

/** The manifest format this runtime reads. */
export const MANIFEST_FORMAT = "halton-maskgit/model@1";

/** The manifest's file name inside a model folder. */
export const MANIFEST_FILE = "model.json";

/** The folder `deno task generate` uses when no `--model` is given. */
export const DEFAULT_MODEL_DIR: string = new URL("../models/glyphs", import.meta.url).pathname;

/** `model.json`: what a model folder holds and how to sample from it. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  /** Short name: letters, digits, `.`, `_`, `-`. */
  name: string;
  task: "class-to-image";
  description?: string;
  /** Side n of the n×n token grid (N = n² tokens). */
  grid: number;
  /** Codebook entries; sampled tokens lie in [0, codebookSize). */
  codebookSize: number;
  /** Token id of a masked position, outside the codebook (usually codebookSize). */
  maskId: number;
  /** Class names; a class is given by name or by index into this list. */
  classes: string[];
  /** Size of the decoded image. */
  image: { width: number; height: number; channels: 1 | 3 };
  /** Sampler settings this model works best with (any subset). */
  defaults: SettingsInput;
  /** File names inside the folder. */
  files: { transformer: string; decoder: string };
  /**
   * Floating-point operations per transformer row (every position's logits) and per decoded
   * image, and of the output head per position (skipped where a `positions` input asks for
   * fewer): for benchmarks.
   */
  flops?: { transformer: number; decoder: number; head?: number };
  source?: string;
  license?: string;
}

/** A loaded model: its manifest and ready-to-run sessions. */
export interface Model {
  /** The folder, without a trailing slash. */
  dir: string;
  manifest: Manifest;
  predictor: Predictor;
  decoder: Decoder;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses and validates `model.json` text. `file` is used in error messages.
 *
 * @example
 * ```ts ignore
 * const manifest = parseManifest(await Deno.readTextFile("models/tiny-random/model.json"), "model.json");
 * manifest.grid; // 16
 * ```
 */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelError(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json)) throw new ModelError(file, "must hold a JSON object");
  const valueAt = (field: string) =>
    field.split(".").reduce<unknown>((v, key) => isRecord(v) ? v[key] : undefined, json);
  const fail = (field: string, expected: string): never => {
    throw new ModelError(
      file,
      `field '${field}' must be ${expected}, got ${JSON.stringify(valueAt(field))}`,
    );
  };
  const integer = (field: string, min: number) => {
    const value = valueAt(field);
    if (!Number.isSafeInteger(value) || (value as number) < min) fail(field, `an integer ≥ ${min}`);
    return value as number;
  };
  const string = (field: string, pattern = /^[^]*$/, expected = "a string") => {
    const value = valueAt(field);
    if (typeof value !== "string" || !pattern.test(value)) fail(field, expected);
  };

  if (json.format !== MANIFEST_FORMAT) fail("format", `"${MANIFEST_FORMAT}"`);
  string("name", NAME, "1–64 letters, digits, '.', '_' or '-'");
  if (json.task !== "class-to-image") fail("task", `"class-to-image"`);
  const grid = integer("grid", 1);
  const codebookSize = integer("codebookSize", 1);
  const maskId = integer("maskId", 0);
  if (maskId < codebookSize) {
    fail("maskId", `outside the codebook (≥ codebookSize ${codebookSize})`);
  }
  const classes = json.classes;
  if (
    !Array.isArray(classes) || classes.length === 0 ||
    !classes.every((c) => typeof c === "string" && c.length > 0) ||
    new Set(classes).size !== classes.length
  ) {
    fail("classes", "a non-empty list of distinct class names");
  }
  integer("image.width", 1);
  integer("image.height", 1);
  if (![1, 3].includes(valueAt("image.channels") as number)) fail("image.channels", "1 or 3");
  for (const key of ["transformer", "decoder"]) {
    string(`files.${key}`, /^[^/\\]+\.onnx$/, "a file name ending in .onnx (no folders)");
  }
  if (json.flops !== undefined) {
    for (const key of ["transformer", "decoder", "head"]) {
      const value = valueAt(`flops.${key}`);
      if (key === "head" && value === undefined) continue;
      if (typeof value !== "number" || !(value > 0)) fail(`flops.${key}`, "a number > 0");
    }
  }
  for (const key of ["description", "source", "license"]) {
    if (json[key] !== undefined) string(key);
  }
  const defaults = json.defaults ?? {};
  if (!isRecord(defaults)) fail("defaults", "an object of sampler settings");
  try {
    resolveSettings(defaults as SettingsInput, grid * grid);
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    throw new ModelError(file, `defaults.${error.field}: ${error.message}`);
  }
  return { ...json, defaults } as unknown as Manifest;
}

/**
 * The class index for a name or an index. A value equal to a class name is that class;
 * otherwise a whole number is an index. Throws {@link SettingError} (field "class").
 *
 * @example
 * ```ts
 * import { resolveClass } from "./model.ts";
 * resolveClass(["cat", "dog"], "dog"); // 1
 * resolveClass(["cat", "dog"], 0); // 0
 * ```
 */
export function resolveClass(classes: readonly string[], value: string | number): number {
  const byName = classes.indexOf(String(value));
  if (byName >= 0) return byName;
  const text = String(value).trim();
  const index = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(index) && index < classes.length) return index;
  const some = classes.slice(0, 5).map((c) => `'${c}'`).join(", ");
  throw new SettingError(
    "class",
    `unknown class '${value}': give a name (${some}${classes.length > 5 ? ", …" : ""}) ` +
      `or an index from 0 to ${classes.length - 1}`,
  );
}

const isUrl = (path: string) => /^https?:\/\//.test(path);

/** Reads a file, or fetches it when the model folder is an http(s) URL (edge platforms). */
async function readBytes(path: string): Promise<Uint8Array> {
  if (isUrl(path)) {
    const response = await fetch(path).catch((error) => {
      throw new ModelError(path, `cannot be fetched (${(error as Error).message})`);
    });
    if (response.status === 404) throw new ModelError(path, "file not found (HTTP 404)");
    if (!response.ok) throw new ModelError(path, `cannot be fetched (HTTP ${response.status})`);
    return new Uint8Array(await response.arrayBuffer());
  }
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ModelError(path, "file not found");
    throw new ModelError(path, `cannot be read (${(error as Error).message})`);
  }
}

/**
 * Reads an ONNX file and opens a session on it; a missing, unreadable or unusable file (or
 * an unavailable execution provider) becomes a {@link ModelError} naming the file.
 *
 * @example
 * ```ts ignore
 * const session = await openSession("models/glyphs/eval/classifier.onnx", { backend: nodeBackend });
 * ```
 */
export async function openSession(path: string, options: LoadOptions): Promise<InferenceSession> {
  const bytes = await readBytes(path);
  try {
    return await options.backend.createSession(bytes, options);
  } catch (error) {
    const reason = (error as Error).message;
    throw /provider/.test(reason)
      ? new ModelError(path, reason)
      : new ModelError(path, `is not a usable ONNX model (${reason})`);
  }
}

/** Options for {@link loadModel}. */
export interface LoadOptions extends SessionOptions {
  backend: OnnxBackend;
}

/**
 * Loads a model folder: reads and validates the manifest, opens one session per ONNX file
 * (reused for every run) and checks their inputs and outputs against the contract and
 * the manifest. Every failure is a {@link ModelError} naming the file and the problem.
 * `folder` may be an http(s) URL, for platforms that fetch their model files.
 *
 * @example
 * ```ts ignore
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend, threads: 2 });
 * ```
 */
export async function loadModel(folder: string, options: LoadOptions): Promise<Model> {
  const dir = folder.replace(/\/+$/, "");
  const manifestPath = `${dir}/${MANIFEST_FILE}`;
  try {
    if (!isUrl(dir) && !(await Deno.stat(dir)).isDirectory) {
      throw new ModelError(dir, "is not a folder");
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ModelError(dir, "model folder not found");
    throw error;
  }
  const manifest = parseManifest(
    new TextDecoder().decode(await readBytes(manifestPath)),
    manifestPath,
  );
  const { grid, codebookSize, image } = manifest;
  const tokens = grid * grid;

  const open = async (name: string) => {
    const path = `${dir}/${name}`;
    return { path, session: await openSession(path, options) };
  };
  const transformer = await open(manifest.files.transformer);
  const ort = options.backend.runtime;
  const predictor = onnxPredictor(ort, transformer.session, transformer.path, codebookSize);
  // scripts/positions.py adds `positions`; logits then have one row per requested position.
  const selects = predictor.selectsPositions;
  checkSignature(transformer.session, transformer.path, [
    { name: "tokens", type: "int64", shape: [null, tokens] },
    { name: "labels", type: "int64", shape: [null] },
    { name: "drop_label", type: "bool", shape: [null] },
    { name: "positions", type: "int64", shape: [null, null], optional: true },
  ], [{ name: "logits", type: "float32", shape: [null, selects ? null : tokens, null] }]);
  const vocab = transformer.session.outputMetadata.find((m) => m.name === "logits");
  const v = vocab?.isTensor ? vocab.shape[2] : undefined;
  if (typeof v === "number" && v < codebookSize) {
    throw new ModelError(
      transformer.path,
      `gives ${v} logits per position, fewer than the manifest's codebookSize ${codebookSize}`,
    );
  }

  const decoder = await open(manifest.files.decoder);
  checkSignature(decoder.session, decoder.path, [
    { name: "tokens", type: "int64", shape: [null, grid, grid] },
  ], [{
    name: "image",
    type: "float32",
    shape: [null, image.channels, image.height, image.width],
  }]);

  return {
    dir,
    manifest,
    predictor,
    decoder: onnxDecoder(ort, decoder.session, decoder.path, grid, [
      image.channels,
      image.height,
      image.width,
    ]),
  };
}
