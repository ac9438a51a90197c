/**
 * A model folder's `reference.json`: the outputs PyTorch gave on fixed inputs when the folder
 * was written (every `stride`-th value of each flattened output, and its sum). Comparing ONNX
 * Runtime's outputs with them checks an export or a conversion.
 *
 * @module
 */

import type { Model } from "./model.ts";

/** Every `stride`-th value of a flattened tensor, and the sum of all of it. */
export interface Strided {
  stride: number;
  values: number[];
  sum: number;
}

/** How far one output is from its reference. */
export interface Deviation {
  /** Largest |actual − expected| over the recorded values. */
  maxAbs: number;
  /** maxAbs divided by the largest |expected|: the error relative to the output's scale. */
  maxRel: number;
  /** |Σ actual − Σ expected| relative to max(1, |Σ expected|). */
  sumRel: number;
  /** Number of values in the output. */
  size: number;
}

/**
 * Deviation of a flattened output from its strided reference.
 *
 * @example
 * ```ts
 * import { deviation } from "./reference.ts";
 * deviation(Float32Array.of(1, 2, 3), { stride: 2, values: [1, 3], sum: 6 }).maxAbs; // 0
 * ```
 */
export function deviation(actual: Float32Array, expected: Strided): Deviation {
  let maxAbs = 0, scale = 0;
  expected.values.forEach((value, i) => {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i * expected.stride] - value));
    scale = Math.max(scale, Math.abs(value));
  });
  const sum = actual.reduce((a, b) => a + b, 0);
  return {
    maxAbs,
    maxRel: maxAbs / (scale || 1),
    sumRel: Math.abs(sum - expected.sum) / Math.max(1, Math.abs(expected.sum)),
    size: actual.length,
  };
}

/** Each output of a folder against its reference; `shape` is the decoded image's. */
export interface Comparison {
  logits: Deviation;
  image: Deviation;
  /** Text models: the text encoder's outputs. */
  hidden?: Deviation;
  pooled?: Deviation;
  shape: number[];
}

/**
 * Runs a loaded folder's graphs on its `reference.json` inputs and measures every output
 * against the recorded PyTorch values. A text model's transformer is fed the text encoder's
 * own outputs for the reference prompts, as the folder's writer did.
 *
 * @example
 * ```ts
 * import { nodeBackend } from "./backend/onnx-node.ts";
 * import { loadModel } from "./model.ts";
 * import { compareWithReference } from "./reference.ts";
 * const model = await loadModel("models/tiny-random", { backend: nodeBackend });
 * const { logits, image } = await compareWithReference(model);
 * [logits.maxRel < 1e-4, image.maxRel < 1e-4]; // [true, true]
 * ```
 */
export async function compareWithReference(model: Model): Promise<Comparison> {
  const reference = JSON.parse(await Deno.readTextFile(`${model.dir}/reference.json`));
  const t = reference.transformer;
  const tokens = Int32Array.from(t.tokens.flat());
  const batch = t.tokens.length;
  const text: Partial<Comparison> = {};
  let logits;
  if (model.prompts) {
    const e = reference.text_encoder;
    const encoding = await model.prompts.encoder.encode(
      Int32Array.from(e.input_ids.flat()),
      e.input_ids.length,
    );
    text.hidden = deviation(encoding.hidden, e.hidden_states);
    if (encoding.pooled) text.pooled = deviation(encoding.pooled, e.pooled);
    logits = await model.transformer.run({
      batch,
      tokens,
      text: encoding.hidden,
      pooled: encoding.pooled,
      microConds: t.micro_conds ? Float32Array.from(t.micro_conds.flat()) : undefined,
    });
  } else {
    logits = await model.transformer.run({
      batch,
      tokens,
      labels: Int32Array.from(t.labels),
      dropLabel: Uint8Array.from(t.drop_label, Number),
    });
  }
  const codes: number[][][] = reference.decoder.tokens;
  const image = await model.decoder.decode(Int32Array.from(codes.flat(2)), codes.length);
  return {
    ...text,
    logits: deviation(logits, t.logits),
    image: deviation(image.data, reference.decoder.image),
    shape: [image.batch, image.channels, image.height, image.width],
  };
}
