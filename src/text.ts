/**
 * Prompts → token ids for a text-to-image model: the folder's `tokenizer.json` (Hugging Face
 * tokenizers format, read by the pure-JS `@huggingface/tokenizers`, so it works offline, on the
 * edge and in the browser) plus the manifest's fixed length and bos/eos/pad ids.
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";

/** What the unconditional half of guidance is conditioned on. */
export const NULL_CONDITIONS = ["empty-prompt", "zeros"] as const;
/** One of {@link NULL_CONDITIONS}. */
export type NullCondition = typeof NULL_CONDITIONS[number];

/** The manifest's `text` block: how prompts are tokenized and what the encoder gives. */
export interface TextSpec {
  /** Token ids per prompt (L): padded or truncated to it. */
  length: number;
  /** Width D of the encoder's `hidden_states` [B, L, D]. */
  width: number;
  /** Width P of the encoder's `pooled` output [B, P], when the model uses one. */
  pooled?: number;
  /** Id put before the prompt's ids, or null for none. */
  bos: number | null;
  /** Id put after them. */
  eos: number;
  /** Id filling the rest of the L positions. */
  pad: number;
  /**
   * The null condition: "empty-prompt" = the encoding of "" (aMused), "zeros" = all-zero
   * hidden states and pooled (the official text transformer). A negative prompt replaces it.
   */
  null: NullCondition;
}

/** A prompt's ids, and whether it was cut to fit. */
export interface PromptIds {
  /** Exactly `length` ids: bos, the prompt's ids, eos, padding. */
  ids: Int32Array;
  /** True when the prompt had more ids than fit (the rest were dropped). */
  truncated: boolean;
}

/**
 * A tokenizer that gives every prompt exactly the manifest's number of ids.
 *
 * @example
 * ```ts
 * import { PromptTokenizer } from "./text.ts";
 * const dir = "models/tiny-amused";
 * const json = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer.json`));
 * const { text } = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
 * const tokenizer = new PromptTokenizer(json, text);
 * tokenizer.encode("a photo of a cat").ids;
 * // Int32Array(77) [49406, 320, 1125, 539, 320, 2368, 49407, 49407, …]
 * ```
 */
export class PromptTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #spec: TextSpec;

  /** `json` is the parsed tokenizer.json; it throws if the tokenizers library rejects it. */
  constructor(json: unknown, spec: TextSpec) {
    this.#tokenizer = new Tokenizer(json as object, {});
    this.#spec = spec;
  }

  /** The ids of one prompt: [bos] + its ids (cut to fit) + [eos] + pad up to the length. */
  encode(prompt: string): PromptIds {
    const { length, bos, eos, pad } = this.#spec;
    const content = this.#tokenizer.encode(prompt, { add_special_tokens: false }).ids;
    const room = length - 1 - (bos === null ? 0 : 1);
    const ids = new Int32Array(length).fill(pad);
    let at = 0;
    if (bos !== null) ids[at++] = bos;
    for (const id of content.slice(0, room)) ids[at++] = id;
    ids[at] = eos;
    return { ids, truncated: content.length > room };
  }
}
