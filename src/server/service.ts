/**
 * What the HTTP routes share: the loaded models, request validation, the concurrency
 * limit, timeouts and metrics around the same {@link generate} the CLI calls.
 *
 * @module
 */

import { checkCondition, type Condition } from "../condition.ts";
import { generate, type Generation } from "../generate.ts";
import { apiName, checkKind, knobOfField, KNOBS, knobSettings } from "../knobs.ts";
import { type Model, modelSettings } from "../model.ts";
import type { StepEvent } from "../sampler.ts";
import { type SamplerSettings, SettingError, type SettingsInput } from "../settings.ts";
import { Limiter, QueueFullError } from "./limiter.ts";
import { Metrics } from "./metrics.ts";

/** An error the server answers with `status` and `{ error, field? }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Limits of a {@link GenerationService}; every one has a default. */
export interface ServiceLimits {
  /** Generations running at once (default: one per core). */
  concurrency?: number;
  /** Generations waiting for a slot before 429 (default: 4 × concurrency). */
  queueSize?: number;
  /** Milliseconds a request may take, queue included, before 503 (default 120 s). */
  timeoutMs?: number;
  /** Most images per request (default 16). */
  maxCount?: number;
}

/** A validated generation request. */
export interface GenerationRequest {
  model: Model;
  /** The class as given (name or index), or the prompt, once per image. */
  condition: Condition;
  /** Images asked for. */
  count: number;
  /** The knobs given, with the seed always set (so the answer can say it). */
  settings: SettingsInput & { seed: number };
  /** Every knob as the run will use it: the model's defaults under the given knobs. */
  resolved: SamplerSettings;
  /** Stream only: attach a preview every this many steps (0 = none). */
  previewEvery: number;
}

/** Options of one {@link GenerationService.submit}. */
export interface SubmitOptions {
  /** Aborts the work between steps (client gone). */
  signal?: AbortSignal;
  onStep?: (event: StepEvent) => void | Promise<void>;
}

/**
 * Runs one validated request to its images: in this process by default ({@link inProcess}),
 * or on a queue's workers (`serve --queue`, src/queue/serve.ts). Rejects when `signal` aborts.
 */
export type Generator = (
  request: GenerationRequest,
  options: { signal: AbortSignal; onStep?: SubmitOptions["onStep"] },
) => Promise<Generation>;

/**
 * The in-process {@link Generator}: `generate()`, as the CLI calls it.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadModel } from "../model.ts";
 * import { GenerationService, inProcess } from "./service.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const request = new GenerationService([model]).parse({ class: 1 });
 * const { images } = await inProcess(request, { signal: AbortSignal.timeout(1e4) });
 * images.length; // 1
 * ```
 */
export const inProcess: Generator = ({ model, condition, settings }, { signal, onStep }) =>
  generate({ model, ...condition, settings, signal, onStep });

const MODEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const REQUEST_FIELDS = ["model", "class", "prompt", "negative_prompt", "count", "preview_every"];

/**
 * Between steps, gives the event loop a turn unless the last step already did. A forward on
 * the WASM backend runs on this thread, so one generation used to hold the loop to its end
 * (/health, 429s and hang-ups waited for it); a native forward awaits ONNX Runtime's own
 * threads, the loop turns meanwhile, and waiting again would only slow it down. A timer set at
 * each step has fired by the next one exactly when the loop turned in between. (A
 * MessageChannel message is no use here: Deno delivers it without polling the network.)
 */
function loopTurns(): { step: () => Promise<void>; stop: () => void } {
  let turned = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let turn = Promise.resolve();
  return {
    async step() {
      if (!turned) await turn;
      turned = false;
      turn = new Promise((resolve) => {
        timer = setTimeout(() => {
          turned = true;
          resolve();
        }, 0);
      });
    },
    stop: () => clearTimeout(timer),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The models and the machinery the routes share.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "../backend/onnx-node.ts";
 * import { loadModel } from "../model.ts";
 * import { GenerationService } from "./service.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const service = new GenerationService([model], { concurrency: 2 });
 * const request = service.parse({ class: 1, seed: 3 });
 * const { images } = await service.submit(request);
 * images.length; // 1
 * ```
 */
export class GenerationService {
  /** Loaded models by manifest name; the first one is the default. */
  readonly models: ReadonlyMap<string, Model>;
  readonly limiter: Limiter;
  readonly metrics: Metrics;
  readonly timeoutMs: number;
  readonly maxCount: number;
  /** Set when the server stops accepting work (shutdown): /ready answers 503. */
  draining = false;

  constructor(
    models: readonly Model[],
    limits: ServiceLimits = {},
    private readonly generator: Generator = inProcess,
  ) {
    if (models.length === 0) throw new RangeError("a server needs at least one model");
    const byName = new Map<string, Model>();
    for (const model of models) {
      const { name } = model.manifest;
      if (byName.has(name)) {
        throw new RangeError(
          `two model folders are named '${name}': ${byName.get(name)!.dir}, ${model.dir}`,
        );
      }
      byName.set(name, model);
    }
    this.models = byName;
    const concurrency = limits.concurrency ?? navigator.hardwareConcurrency ?? 1;
    this.limiter = new Limiter(concurrency, limits.queueSize ?? 4 * concurrency);
    this.metrics = new Metrics({
      queued: () => this.limiter.queued,
      inFlight: () => this.limiter.inFlight,
    });
    this.timeoutMs = limits.timeoutMs ?? 120_000;
    this.maxCount = limits.maxCount ?? 16;
  }

  /**
   * Validates a JSON request body. Throws {@link HttpError}: 400 naming the field at fault,
   * 404 for a model that is not loaded. A missing seed is drawn here, so it can be reported.
   */
  parse(body: unknown): GenerationRequest {
    if (!isRecord(body)) throw new HttpError(400, "the body must be a JSON object", "body");
    const knobs = new Map(KNOBS.map((knob) => [apiName(knob), knob]));
    for (const key of Object.keys(body)) {
      if (!REQUEST_FIELDS.includes(key) && !knobs.has(key)) {
        throw new HttpError(400, `unknown field '${key}'`, key);
      }
    }
    const model = this.#model(body.model);
    const count = this.#integer(body, "count", 1, 1, this.maxCount);
    const previewEvery = this.#integer(body, "preview_every", 0, 0, Number.MAX_SAFE_INTEGER);
    try {
      const condition = this.#condition(body, model, count);
      const given = knobSettings((knob) => {
        const value = body[apiName(knob)];
        return value === undefined ? undefined : checkKind(apiName(knob), knob.kind, value);
      });
      const settings = { ...given, seed: given.seed ?? Math.floor(Math.random() * 2 ** 31) };
      const resolved = modelSettings(model.manifest, settings, count);
      return { model, condition, count, settings, resolved, previewEvery };
    } catch (error) {
      if (!(error instanceof SettingError)) throw error;
      const knob = knobOfField(error.field);
      const field = knob ? apiName(knob) : error.field;
      throw new HttpError(
        400,
        knob ? error.message.replace(error.field, field) : error.message,
        field,
      );
    }
  }

  /**
   * Queues a generation. Throws {@link HttpError} 429 at once when the queue is full, so a
   * caller can answer before it starts streaming; the promise rejects with 503 when the
   * request times out, and with 499 when `signal` aborts (client gone).
   */
  submit(request: GenerationRequest, options: SubmitOptions = {}): Promise<Generation> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let slot: Promise<() => void>;
    try {
      slot = this.limiter.acquire(signal);
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      const { concurrency, inFlight, queued } = this.limiter;
      const wait = Math.ceil((this.metrics.meanSeconds * (inFlight + queued)) / concurrency);
      throw new HttpError(429, error.message, undefined, {
        "retry-after": String(Math.max(1, wait)),
      });
    }
    return this.#run(request, slot, signal, timeout, options.onStep);
  }

  async #run(
    request: GenerationRequest,
    slot: Promise<() => void>,
    signal: AbortSignal,
    timeout: AbortSignal,
    onStep: SubmitOptions["onStep"],
  ): Promise<Generation> {
    let release: (() => void) | undefined;
    const turns = loopTurns();
    try {
      release = await slot;
      const started = performance.now();
      const { model, count } = request;
      const result = await this.generator(request, {
        signal,
        onStep: async (event) => {
          await onStep?.(event);
          await turns.step();
        },
      });
      const { grid } = model.manifest;
      this.metrics.observeGeneration((performance.now() - started) / 1000, count * grid * grid);
      return result;
    } catch (error) {
      if (!signal.aborted) throw error;
      this.metrics.countCancelled();
      if (timeout.aborted) {
        throw new HttpError(
          503,
          `the generation took longer than ${this.timeoutMs / 1000} s and was stopped`,
        );
      }
      throw new HttpError(499, "the client closed the request");
    } finally {
      turns.stop();
      release?.();
    }
  }

  /** The body's class or prompt (what the model's task takes), repeated for each image. */
  #condition(body: Record<string, unknown>, model: Model, count: number): Condition {
    const { task } = model.manifest;
    const label = body.class, prompt = body.prompt, negative = body.negative_prompt;
    const wanted = task === "class-to-image" ? "class" : "prompt";
    if (label === undefined && prompt === undefined) {
      throw new HttpError(
        400,
        `${wanted} is required (model '${model.manifest.name}' is ${task})`,
        wanted,
      );
    }
    if (label !== undefined && prompt !== undefined) {
      throw new HttpError(
        400,
        "give a class or a prompt, not both",
        wanted === "class" ? "prompt" : "class",
      );
    }
    let condition: Condition;
    if (label !== undefined) {
      if (!(typeof label === "string" || (Number.isSafeInteger(label) && (label as number) >= 0))) {
        throw new HttpError(400, "class must be a class name or an index ≥ 0", "class");
      }
      if (negative !== undefined) {
        throw new HttpError(
          400,
          "negative_prompt goes with a prompt, not a class",
          "negative_prompt",
        );
      }
      condition = { classes: Array(count).fill(label) };
    } else {
      condition = {
        prompts: Array(count).fill(prompt),
        ...(negative === undefined ? {} : { negativePrompt: negative as string }),
      };
    }
    checkCondition(model.manifest, condition);
    return condition;
  }

  #model(name: unknown): Model {
    if (name === undefined) return this.models.values().next().value!;
    if (typeof name !== "string" || !MODEL_NAME.test(name)) {
      throw new HttpError(
        400,
        "model must be a model name (letters, digits, '.', '_', '-')",
        "model",
      );
    }
    const model = this.models.get(name);
    if (!model) {
      throw new HttpError(404, `no model named '${name}' (see GET /v1/models)`, "model");
    }
    return model;
  }

  #integer(
    body: Record<string, unknown>,
    field: string,
    fallback: number,
    min: number,
    max: number,
  ): number {
    const value = body[field] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new HttpError(
        400,
        `${field} must be an integer ${range}, got ${JSON.stringify(value)}`,
        field,
      );
    }
    return value as number;
  }
}
