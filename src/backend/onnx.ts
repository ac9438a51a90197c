/**
 * ONNX Runtime sessions behind the model's `Transformer`, `PromptEncoder` and `Decoder`.
 * Written against the `onnxruntime-common` API, which onnxruntime-node (native) and
 * onnxruntime-web (WASM) share, so one adapter serves every backend.
 *
 * @module
 */

import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";
import { ModelError } from "../model_error.ts";

/** The parts of an onnxruntime package this adapter uses. */
export interface OrtRuntime {
  Tensor: typeof OrtTensor;
}

/** Where sessions run and how many threads they use. */
export interface SessionOptions {
  /** Intra-op threads; default: every core. */
  threads?: number;
  /** Execution provider; default "cpu". */
  provider?: string;
}

/**
 * The most intra-op threads a session may use: 4 × cores. More only add threads that fight
 * for the same cores (a million of them grew a process by gigabytes without progress).
 *
 * @example
 * ```ts
 * import { maxThreads } from "./onnx.ts";
 * maxThreads(); // 32 on an 8-core machine
 * ```
 */
export function maxThreads(): number {
  return 4 * (navigator.hardwareConcurrency ?? 1);
}

/**
 * Throws one line naming `name` unless `threads` is unset or an integer from 1 to
 * {@link maxThreads}.
 *
 * @example
 * ```ts
 * import { checkThreads } from "./onnx.ts";
 * checkThreads(2); // fine
 * // checkThreads(1e6) throws: threads must be an integer from 1 to 32, got 1000000
 * ```
 */
export function checkThreads(threads: number | undefined, name = "threads"): void {
  if (threads === undefined) return;
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > maxThreads()) {
    throw new RangeError(
      `${name} must be an integer from 1 to ${maxThreads()} (4 × cores), got ${threads}`,
    );
  }
}

/** An ONNX Runtime package: its tensors, and sessions made from model bytes or files. */
export interface OnnxBackend {
  name: string;
  runtime: OrtRuntime;
  /**
   * True if `createSession` takes a local file path: ONNX Runtime then reads the graph and any
   * external weights file beside it (graphs over 2 GB keep their weights in `NAME.onnx.data`).
   */
  opensFiles?: boolean;
  /**
   * Opens a session on model bytes (or a local path, where `opensFiles`); `externalData` hands
   * over the bytes of an external weights file by the name the graph records. Rejects with a
   * one-line reason if the model is not usable.
   */
  createSession(
    model: Uint8Array | string,
    options: SessionOptions & { externalData?: { path: string; data: Uint8Array }[] },
  ): Promise<InferenceSession>;
}

/** Decoded images, flat [batch, channels, height, width], values in [−1, 1]. */
export interface ImageBatch {
  data: Float32Array;
  batch: number;
  channels: number;
  height: number;
  width: number;
}

/** A VQ decoder: token grids [batch, n, n] → images. */
export interface Decoder {
  decode(tokens: Int32Array, batch: number): Promise<ImageBatch>;
}

/** What a session's input or output must look like. */
export interface ValueSpec {
  name: string;
  type: OrtTensor.Type;
  /** Expected dimensions; `null` = any (e.g. the batch). */
  shape: (number | null)[];
  /** The value may be absent (an input that newer exports add). */
  optional?: boolean;
}

/** Dimensions as ONNX Runtime reports them: numbers, or strings for symbolic ones. */
type ReportedShape = ReadonlyArray<number | string>;

function describe(shape: ReadonlyArray<number | string | null>): string {
  return `[${shape.map((d) => d ?? "?").join(", ")}]`;
}

function checkValues(
  file: string,
  kind: "input" | "output",
  metadata: readonly InferenceSession.ValueMetadata[],
  specs: ValueSpec[],
): void {
  const names = metadata.map((m) => m.name);
  for (const spec of specs) {
    const found = metadata.find((m) => m.name === spec.name);
    if (!found && spec.optional) continue;
    if (!found) {
      throw new ModelError(
        file,
        `has no ${kind} '${spec.name}' (its ${kind}s: ${names.join(", ") || "none"})`,
      );
    }
    if (!found.isTensor || found.type !== spec.type) {
      const actual = found.isTensor ? found.type : "a non-tensor";
      throw new ModelError(file, `${kind} '${spec.name}' must be ${spec.type}, is ${actual}`);
    }
    const shape: ReportedShape = found.shape;
    // An empty shape means ONNX Runtime does not know it; the runtime checks catch that case.
    if (shape.length === 0) continue;
    if (shape.length !== spec.shape.length) {
      throw new ModelError(
        file,
        `${kind} '${spec.name}' must have rank ${spec.shape.length} ${describe(spec.shape)}, ` +
          `has rank ${shape.length} ${describe(shape)}`,
      );
    }
    spec.shape.forEach((want, axis) => {
      const have = shape[axis];
      if (want !== null && typeof have === "number" && have !== want) {
        throw new ModelError(
          file,
          `${kind} '${spec.name}' must be ${describe(spec.shape)}, is ${describe(shape)}`,
        );
      }
    });
  }
  if (kind === "input") {
    const extra = names.filter((name) => !specs.some((spec) => spec.name === name));
    if (extra.length > 0) {
      throw new ModelError(file, `has unexpected inputs: ${extra.join(", ")}`);
    }
  }
}

/**
 * Checks a session's input and output names, element types and ranks (and every static
 * dimension) against the contract. Throws {@link ModelError} naming the file.
 *
 * @example
 * ```ts
 * import { openSession } from "../model.ts";
 * import { nodeBackend } from "./onnx-node.ts";
 * import { checkSignature } from "./onnx.ts";
 * const path = "models/tiny-amused/decoder.onnx";
 * const session = await openSession(path, { backend: nodeBackend });
 * checkSignature(session, path,
 *   [{ name: "tokens", type: "int64", shape: [null, 16, 16] }],
 *   [{ name: "image", type: "float32", shape: [null, 3, 256, 256] }]); // fine: it matches
 * await session.release();
 * ```
 */
export function checkSignature(
  session: InferenceSession,
  file: string,
  inputs: ValueSpec[],
  outputs: ValueSpec[],
): void {
  checkValues(file, "input", session.inputMetadata, inputs);
  checkValues(file, "output", session.outputMetadata, outputs);
}

/**
 * One transformer call, every input named as the model folder's contract names it: class
 * models take `labels` and `dropLabel`, text models `text` (and `pooled`, `microConds` where
 * they use them).
 */
export interface TransformerInput {
  /** Rows in this call. */
  batch: number;
  /** Token grids, flat [batch, N]. */
  tokens: Int32Array;
  /** The P positions per row whose logits are wanted, flat [batch, P] (selecting models). */
  positions?: Int32Array;
  /** Class label per row [batch]. */
  labels?: Int32Array;
  /** 1 where the row's label is dropped [batch]. */
  dropLabel?: Uint8Array;
  /** Text hidden states, flat [batch, L, D]. */
  text?: Float32Array;
  /** Pooled text embedding, flat [batch, P]. */
  pooled?: Float32Array;
  /** Micro-conditioning, flat [batch, 5]. */
  microConds?: Float32Array;
}

/** A transformer session: one call gives logits, flat [batch, N or P, V]. */
export interface Transformer {
  /** True if the session has a `positions` input (logits only where asked). */
  selectsPositions: boolean;
  run(input: TransformerInput): Promise<Float32Array>;
}

/**
 * A {@link Transformer} running a session whose inputs are `tokens` int64 [B, N], then
 * `labels` int64 [B] and `drop_label` bool [B] (class models) or `text` float32 [B, L, D],
 * `pooled` float32 [B, P] and `micro_conds` float32 [B, 5] (text models), and, in newer
 * exports, `positions` int64 [B, P]; output `logits` float32 [B, N, V], or [B, P, V] at the
 * given positions. Without a `positions` input it computes every position's logits.
 *
 * @example
 * ```ts
 * import { openSession } from "../model.ts";
 * import { nodeBackend } from "./onnx-node.ts";
 * import { onnxTransformer } from "./onnx.ts";
 * const path = "models/tiny-random/transformer.onnx";
 * const session = await openSession(path, { backend: nodeBackend });
 * const transformer = onnxTransformer(nodeBackend.runtime, session, path, 64);
 * transformer.selectsPositions; // true: this export has a `positions` input
 * await session.release();
 * ```
 */
export function onnxTransformer(
  ort: OrtRuntime,
  session: InferenceSession,
  file: string,
  codebookSize: number,
): Transformer {
  const selectsPositions = session.inputNames.includes("positions");
  const float = (data: Float32Array, batch: number, name: string) =>
    new ort.Tensor("float32", data, [batch, ...dimsOf(session, name, data.length / batch)]);
  return {
    selectsPositions,
    async run({ batch, tokens, positions, labels, dropLabel, text, pooled, microConds }) {
      const cells = tokens.length / batch;
      const feeds: Record<string, OrtTensor> = {
        tokens: new ort.Tensor("int64", BigInt64Array.from(tokens, BigInt), [batch, cells]),
      };
      if (labels) {
        feeds.labels = new ort.Tensor("int64", BigInt64Array.from(labels, BigInt), [batch]);
      }
      if (dropLabel) feeds.drop_label = new ort.Tensor("bool", Uint8Array.from(dropLabel), [batch]);
      if (text) feeds.text = float(text, batch, "text");
      if (pooled) feeds.pooled = float(pooled, batch, "pooled");
      if (microConds) feeds.micro_conds = float(microConds, batch, "micro_conds");
      let wanted = cells;
      if (selectsPositions) {
        // Without a request, every position in order: the full [B, N, V] logits.
        const index = positions === undefined
          ? BigInt64Array.from({ length: batch * cells }, (_, i) => BigInt(i % cells))
          : BigInt64Array.from(positions, BigInt);
        wanted = index.length / batch;
        feeds.positions = new ort.Tensor("int64", index, [batch, wanted]);
      }
      const { logits } = await session.run(feeds);
      const [rows, got, vocab] = logits.dims;
      if (logits.dims.length !== 3 || rows !== batch || got !== wanted || vocab < codebookSize) {
        throw new ModelError(
          file,
          `output 'logits' came out ${describe(logits.dims)}, ` +
            `expected [${batch}, ${wanted}, V ≥ ${codebookSize}]`,
        );
      }
      return logits.data as Float32Array;
    },
  };
}

/**
 * The dimensions after the batch of a float input, from the session's metadata ([L, D] for
 * `text`): the contract fixes them, so a flat row of `size` values is reshaped to them.
 */
function dimsOf(session: InferenceSession, name: string, size: number): number[] {
  const meta = session.inputMetadata.find((m) => m.name === name);
  const dims = meta?.isTensor ? meta.shape.slice(1) : [];
  return dims.every((d) => typeof d === "number") && dims.length > 0 &&
      (dims as number[]).reduce((a, b) => a * b, 1) === size
    ? dims as number[]
    : [size];
}

/** Hidden states [B, L, D] (flat) and, where the model has it, the pooled embedding [B, P]. */
export interface TextEncoding {
  hidden: Float32Array;
  pooled?: Float32Array;
}

/** A text encoder: token ids [B, L] → {@link TextEncoding}. */
export interface PromptEncoder {
  encode(ids: Int32Array, batch: number): Promise<TextEncoding>;
}

/**
 * A {@link PromptEncoder} running a session (input `input_ids` int64 [B, L]; outputs
 * `hidden_states` float32 [B, L, D] and, when `pooled` is given, `pooled` float32 [B, P]).
 *
 * @example
 * ```ts
 * import { openSession } from "../model.ts";
 * import { nodeBackend } from "./onnx-node.ts";
 * import { onnxPromptEncoder } from "./onnx.ts";
 * const path = "models/tiny-amused/text_encoder.onnx";
 * const session = await openSession(path, { backend: nodeBackend });
 * const encoder = onnxPromptEncoder(nodeBackend.runtime, session, path, [77, 16], 16);
 * const { hidden, pooled } = await encoder.encode(new Int32Array(77).fill(49407), 1);
 * [hidden.length, pooled?.length]; // [1232, 16]: [1, 77, 16] and [1, 16]
 * await session.release();
 * ```
 */
export function onnxPromptEncoder(
  ort: OrtRuntime,
  session: InferenceSession,
  file: string,
  [length, width]: [number, number],
  pooled?: number,
): PromptEncoder {
  const check = (tensor: OrtTensor | undefined, name: string, want: number[]) => {
    if (
      !tensor || tensor.dims.length !== want.length || tensor.dims.some((d, i) => d !== want[i])
    ) {
      const got = tensor ? describe(tensor.dims) : "nothing";
      throw new ModelError(file, `output '${name}' came out ${got}, expected ${describe(want)}`);
    }
    return tensor.data as Float32Array;
  };
  return {
    async encode(ids, batch) {
      const input = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [batch, length]);
      const out = await session.run({ input_ids: input });
      return {
        hidden: check(out.hidden_states, "hidden_states", [batch, length, width]),
        pooled: pooled === undefined ? undefined : check(out.pooled, "pooled", [batch, pooled]),
      };
    },
  };
}

/**
 * A `Decoder` running a decoder session (input `tokens` int64 [B, n, n]; output `image`
 * float32 [B, C, H, W]) whose output must match the manifest's image size.
 *
 * @example
 * ```ts
 * import { openSession } from "../model.ts";
 * import { nodeBackend } from "./onnx-node.ts";
 * import { onnxDecoder } from "./onnx.ts";
 * const path = "models/tiny-random/decoder.onnx";
 * const session = await openSession(path, { backend: nodeBackend });
 * const decoder = onnxDecoder(nodeBackend.runtime, session, path, 16, [3, 64, 64]);
 * (await decoder.decode(new Int32Array(256), 1)).data.length; // 12288: [1, 3, 64, 64]
 * await session.release();
 * ```
 */
export function onnxDecoder(
  ort: OrtRuntime,
  session: InferenceSession,
  file: string,
  grid: number,
  [channels, height, width]: [number, number, number],
): Decoder {
  return {
    async decode(tokens, batch) {
      const input = new ort.Tensor("int64", BigInt64Array.from(tokens, BigInt), [
        batch,
        grid,
        grid,
      ]);
      const { image } = await session.run({ tokens: input });
      const want = [batch, channels, height, width];
      if (image.dims.length !== 4 || image.dims.some((d, i) => d !== want[i])) {
        throw new ModelError(
          file,
          `output 'image' came out ${describe(image.dims)}, expected ${describe(want)}`,
        );
      }
      return { data: image.data as Float32Array, batch, channels, height, width };
    },
  };
}
