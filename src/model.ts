/**
 * Model folders: a `model.json` manifest next to `transformer.onnx` and `decoder.onnx`, and,
 * for text-to-image models (format 2), `text_encoder.onnx` and `tokenizer.json`.
 * Loading validates everything up front and names the file at fault.
 *
 * @module
 */

import type { InferenceSession } from "onnxruntime-common";
import {
  checkSignature,
  checkThreads,
  type Decoder,
  type OnnxBackend,
  onnxDecoder,
  onnxPromptEncoder,
  onnxTransformer,
  type PromptEncoder,
  type SessionOptions,
  type Transformer,
  type ValueSpec,
} from "./backend/onnx.ts";
import { ModelError } from "./model_error.ts";
import {
  mergeSettings,
  resolveSettings,
  type SamplerSettings,
  SettingError,
  type SettingsInput,
} from "./settings.ts";
import { NULL_CONDITIONS, PromptTokenizer, type TextSpec } from "./text.ts";

export { ModelError };

/** The manifest format of class-to-image folders (read unchanged). */
export const MANIFEST_FORMAT = "halton-maskgit/model@1";
/** The manifest format that adds text-to-image folders. */
export const MANIFEST_FORMAT_2 = "halton-maskgit/model@2";

/** The manifest's file name inside a model folder. */
export const MANIFEST_FILE = "model.json";

/** The folder `deno task generate` uses when no `--model` is given. */
export const DEFAULT_MODEL_DIR: string = new URL("../models/glyphs", import.meta.url).pathname;

/** The models trained here that ship in the repository, one a task: `deno task serve` serves both. */
export const SHIPPED_MODEL_DIRS: readonly string[] = [
  DEFAULT_MODEL_DIR,
  new URL("../models/emoji", import.meta.url).pathname,
];

/** What every `model.json` says: what a model folder holds and how to sample from it. */
interface ManifestBase {
  format: typeof MANIFEST_FORMAT | typeof MANIFEST_FORMAT_2;
  /** Short name: letters, digits, `.`, `_`, `-`. */
  name: string;
  description?: string;
  /** Side n of the n×n token grid (N = n² tokens). */
  grid: number;
  /** Codebook entries; sampled tokens lie in [0, codebookSize). */
  codebookSize: number;
  /** Token id of a masked position, outside the codebook (usually codebookSize). */
  maskId: number;
  /** Size of the decoded image. */
  image: { width: number; height: number; channels: 1 | 3 };
  /** Sampler settings this model works best with (any subset). */
  defaults: SettingsInput;
  /**
   * Floating-point operations per transformer row (every position's logits) and per decoded
   * image, of the output head per position (skipped where a `positions` input asks for
   * fewer), and of the text encoder per prompt: for benchmarks.
   */
  flops?: { transformer: number; decoder: number; head?: number; textEncoder?: number };
  /**
   * The arithmetic of the transformer's matrix products: "fp32" (the default when absent) or
   * "int8" (a `scripts/quantize.py` variant, a folder of its own).
   */
  precision?: "fp32" | "int8";
  source?: string;
  license?: string;
  /** Credits the weights' training data requires (e.g. CC BY artwork), one line each. */
  attribution?: string[];
}

/** A class-to-image model's manifest (format 1, or 2). */
export interface ClassManifest extends ManifestBase {
  task: "class-to-image";
  /** Class names; a class is given by name or by index into this list. */
  classes: string[];
  /** File names inside the folder. */
  files: { transformer: string; decoder: string };
}

/** A text-to-image model's manifest (format 2). */
export interface TextManifest extends ManifestBase {
  format: typeof MANIFEST_FORMAT_2;
  task: "text-to-image";
  /** How prompts become token ids and what the text encoder gives. */
  text: TextSpec;
  /** Micro-conditioning row fed with every call (aMused: width, height, crop, crop, score). */
  microConds?: number[];
  /** File names inside the folder. */
  files: { transformer: string; decoder: string; textEncoder: string; tokenizer: string };
}

/** `model.json`: a class-to-image or a text-to-image model. */
export type Manifest = ClassManifest | TextManifest;

/** A text model's prompt machinery: ids from its tokenizer, hidden states from its encoder. */
export interface PromptModel {
  tokenizer: PromptTokenizer;
  encoder: PromptEncoder;
}

/** A loaded model: its manifest and ready-to-run sessions. */
export interface Model {
  /** The folder, without a trailing slash. */
  dir: string;
  manifest: Manifest;
  transformer: Transformer;
  decoder: Decoder;
  /** Text-to-image models only. */
  prompts?: PromptModel;
}

/**
 * Every knob of a run on this model: its manifest's defaults under the caller's settings,
 * validated (the one place defaults and overrides meet) for a batch of `images`. Throws
 * `SettingError`.
 *
 * @example
 * ```ts
 * import { modelSettings, parseManifest } from "./model.ts";
 * const manifest = parseManifest(await Deno.readTextFile("models/tiny-random/model.json"), "");
 * modelSettings(manifest, { steps: 8 }).cfg; // 2, the model's default guidance
 * ```
 */
export function modelSettings(
  manifest: Manifest,
  settings?: SettingsInput,
  images = 1,
): SamplerSettings {
  const { grid } = manifest;
  return resolveSettings(mergeSettings(manifest.defaults, settings), grid * grid, images);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses and validates `model.json` text. `file` is used in error messages.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./model.ts";
 * const path = "models/tiny-random/model.json";
 * const manifest = parseManifest(await Deno.readTextFile(path), path);
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

  if (json.format !== MANIFEST_FORMAT && json.format !== MANIFEST_FORMAT_2) {
    fail("format", `"${MANIFEST_FORMAT}" or "${MANIFEST_FORMAT_2}"`);
  }
  string("name", NAME, "1–64 letters, digits, '.', '_' or '-'");
  const isText = json.format === MANIFEST_FORMAT_2 && json.task === "text-to-image";
  if (json.task !== "class-to-image" && !isText) {
    fail(
      "task",
      json.format === MANIFEST_FORMAT
        ? `"class-to-image" (text-to-image needs format "${MANIFEST_FORMAT_2}")`
        : `"class-to-image" or "text-to-image"`,
    );
  }
  const grid = integer("grid", 1);
  const codebookSize = integer("codebookSize", 1);
  const maskId = integer("maskId", 0);
  if (maskId < codebookSize) {
    fail("maskId", `outside the codebook (≥ codebookSize ${codebookSize})`);
  }
  const classes = json.classes;
  if (
    !isText && (!Array.isArray(classes) || classes.length === 0 ||
      !classes.every((c) => typeof c === "string" && c.length > 0) ||
      new Set(classes).size !== classes.length)
  ) {
    fail("classes", "a non-empty list of distinct class names");
  }
  if (isText) {
    integer("text.length", 2);
    integer("text.width", 1);
    if (valueAt("text.pooled") !== undefined) integer("text.pooled", 1);
    if (valueAt("text.bos") !== null) integer("text.bos", 0);
    integer("text.eos", 0);
    integer("text.pad", 0);
    if (!NULL_CONDITIONS.includes(valueAt("text.null") as never)) {
      fail("text.null", NULL_CONDITIONS.map((n) => `"${n}"`).join(" or "));
    }
    const micro = json.microConds;
    if (
      micro !== undefined &&
      !(Array.isArray(micro) && micro.length === 5 && micro.every(Number.isFinite))
    ) {
      fail("microConds", "a list of 5 finite numbers");
    }
  }
  integer("image.width", 1);
  integer("image.height", 1);
  if (![1, 3].includes(valueAt("image.channels") as number)) fail("image.channels", "1 or 3");
  for (const key of ["transformer", "decoder", ...(isText ? ["textEncoder"] : [])]) {
    string(`files.${key}`, /^[^/\\]+\.onnx$/, "a file name ending in .onnx (no folders)");
  }
  if (isText) {
    string("files.tokenizer", /^[^/\\]+\.json$/, "a file name ending in .json (no folders)");
  }
  if (json.flops !== undefined) {
    for (const key of ["transformer", "decoder", "head", "textEncoder"]) {
      const value = valueAt(`flops.${key}`);
      if ((key === "head" || key === "textEncoder") && value === undefined) continue;
      if (typeof value !== "number" || !(value > 0)) fail(`flops.${key}`, "a number > 0");
    }
  }
  for (const key of ["description", "source", "license"]) {
    if (json[key] !== undefined) string(key);
  }
  if (json.precision !== undefined) string("precision", /^(fp32|int8)$/, '"fp32" or "int8"');
  const credits = json.attribution;
  if (
    credits !== undefined &&
    !(Array.isArray(credits) && credits.every((line) => typeof line === "string"))
  ) {
    fail("attribution", "a list of strings");
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
 * A class model's class names; for a text model, an error saying the command needs a class
 * model (evaluation against a classifier, class grids).
 *
 * @example
 * ```ts
 * import { classNames, parseManifest } from "./model.ts";
 * const manifest = parseManifest(await Deno.readTextFile("models/glyphs/model.json"), "");
 * classNames(manifest).length; // 62
 * ```
 */
export function classNames(manifest: Manifest): string[] {
  if (manifest.task === "class-to-image") return manifest.classes;
  throw new Error(`model '${manifest.name}' is text-to-image; this needs a class-to-image model`);
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
  return await Deno.readFile(path).catch((error) => {
    throw fileError(path, error);
  });
}

/** A failed read or stat of a model file as the one-line error naming it. */
function fileError(path: string, error: unknown): ModelError {
  if (error instanceof Deno.errors.NotFound) return new ModelError(path, "file not found");
  return new ModelError(path, `cannot be read (${(error as Error).message})`);
}

/**
 * Reads an ONNX file and opens a session on it; a missing, unreadable or unusable file (or
 * an unavailable execution provider) becomes a {@link ModelError} naming the file. A graph
 * whose weights sit in `PATH.data` beside it (exports over 2 GB) is opened by path where the
 * backend reads files (native), or handed the weights' bytes (WASM).
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { openSession } from "./model.ts";
 * const session = await openSession("models/glyphs/eval/classifier.onnx", { backend: nodeBackend });
 * session.outputNames; // ["logits", "features"]
 * await session.release();
 * ```
 */
export async function openSession(path: string, options: LoadOptions): Promise<InferenceSession> {
  const { backend } = options;
  try {
    if (backend.opensFiles && !isUrl(path)) {
      // The runtime reads the file (and a `.data` beside it) itself: no copy of a 700 MB graph
      // through JavaScript (Deno.readFile alone took 5–7 s for one here). The stat keeps
      // "file not found" exact.
      const info = await Deno.stat(path).catch((error) => {
        throw fileError(path, error);
      });
      if (!info.isFile) throw new ModelError(path, "is not a file");
      return await backend.createSession(path, options);
    }
    const bytes = await readBytes(path);
    const dataPath = `${path}.data`;
    const hasData = !isUrl(path) &&
      await Deno.stat(dataPath).then((info) => info.isFile, () => false);
    const externalData = hasData
      ? [{ path: dataPath.split("/").at(-1)!, data: await readBytes(dataPath) }]
      : undefined;
    return await backend.createSession(bytes, { ...options, externalData });
  } catch (error) {
    if (error instanceof ModelError) throw error; // already names the file and the problem
    const reason = (error as Error).message;
    throw /provider/.test(reason)
      ? new ModelError(path, reason)
      : new ModelError(path, `is not a usable ONNX model (${reason})`);
  }
}

/** Options for {@link loadModel}. */
export interface LoadOptions extends SessionOptions {
  backend: OnnxBackend;
  /**
   * The backend of the VQ decoder alone (default: `backend`). The native and WASM runtimes
   * round a deep float decoder's (aMused's) output a few pixels apart; decoding on "wasm"
   * turns the tokens the WASM backend would sample into its exact PNG bytes.
   */
  decoderBackend?: OnnxBackend;
}

/**
 * Loads a model folder: reads and validates the manifest, opens one session per ONNX file
 * (reused for every run) and checks their inputs and outputs against the contract and
 * the manifest. Every failure is a {@link ModelError} naming the file and the problem.
 * `folder` may be an http(s) URL, for platforms that fetch their model files.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend, threads: 2 });
 * model.manifest.task; // "class-to-image"
 * ```
 */
export async function loadModel(folder: string, options: LoadOptions): Promise<Model> {
  checkThreads(options.threads);
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

  const open = async (name: string, sessionOptions = options) => {
    const path = `${dir}/${name}`;
    return { path, session: await openSession(path, sessionOptions) };
  };
  const ort = options.backend.runtime;
  const transformer = await open(manifest.files.transformer);
  const transformerRun = onnxTransformer(ort, transformer.session, transformer.path, codebookSize);
  // scripts/positions.py adds `positions`; logits then have one row per requested position.
  const selects = transformerRun.selectsPositions;
  const conditionInputs: ValueSpec[] = manifest.task === "class-to-image"
    ? [
      { name: "labels", type: "int64", shape: [null] },
      { name: "drop_label", type: "bool", shape: [null] },
    ]
    : [
      { name: "text", type: "float32", shape: [null, manifest.text.length, manifest.text.width] },
      ...(manifest.text.pooled === undefined ? [] : [
        { name: "pooled", type: "float32" as const, shape: [null, manifest.text.pooled] },
      ]),
      ...(manifest.microConds === undefined
        ? []
        : [{ name: "micro_conds", type: "float32" as const, shape: [null, 5] }]),
    ];
  checkSignature(transformer.session, transformer.path, [
    { name: "tokens", type: "int64", shape: [null, tokens] },
    ...conditionInputs,
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

  // A decoder on another backend takes that backend's default execution provider.
  const decoderBackend = options.decoderBackend ?? options.backend;
  const decoder = await open(
    manifest.files.decoder,
    decoderBackend === options.backend
      ? options
      : { ...options, backend: decoderBackend, provider: undefined },
  );
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
    transformer: transformerRun,
    decoder: onnxDecoder(decoderBackend.runtime, decoder.session, decoder.path, grid, [
      image.channels,
      image.height,
      image.width,
    ]),
    prompts: manifest.task === "text-to-image"
      ? await loadPrompts(dir, manifest, open, ort)
      : undefined,
  };
}

/** A text model's tokenizer and text encoder, checked against the manifest's `text` block. */
async function loadPrompts(
  dir: string,
  manifest: TextManifest,
  open: (name: string) => Promise<{ path: string; session: InferenceSession }>,
  ort: OnnxBackend["runtime"],
): Promise<PromptModel> {
  const { text, files } = manifest;
  const tokenizerPath = `${dir}/${files.tokenizer}`;
  let tokenizer: PromptTokenizer;
  try {
    const json = JSON.parse(new TextDecoder().decode(await readBytes(tokenizerPath)));
    tokenizer = new PromptTokenizer(json, text);
    tokenizer.encode("a"); // a broken model or pre-tokenizer fails here, at load, naming the file
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(
      tokenizerPath,
      `is not a usable tokenizer.json (${(error as Error).message})`,
    );
  }
  const encoder = await open(files.textEncoder);
  checkSignature(encoder.session, encoder.path, [
    { name: "input_ids", type: "int64", shape: [null, text.length] },
  ], [
    { name: "hidden_states", type: "float32", shape: [null, text.length, text.width] },
    ...(text.pooled === undefined
      ? []
      : [{ name: "pooled", type: "float32" as const, shape: [null, text.pooled] }]),
  ]);
  return {
    tokenizer,
    encoder: onnxPromptEncoder(
      ort,
      encoder.session,
      encoder.path,
      [text.length, text.width],
      text.pooled,
    ),
  };
}
