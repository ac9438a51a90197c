// The condition seam on a hand-made text model (a word-piece tokenizer.json, an encoder whose
// hidden states spell out the ids): prompt ids, truncation, one encoder call per request, the
// null condition made once per model, a negative prompt in its place, and the errors of asking
// a model for the other task's condition.
import type { TextEncoding, TransformerInput } from "../src/backend/onnx.ts";
import { checkCondition, conditionOn, MAX_PROMPT_CHARS } from "../src/condition.ts";
import type { Model, TextManifest } from "../src/model.ts";
import { SettingError } from "../src/settings.ts";
import { PromptTokenizer, type TextSpec } from "../src/text.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";

const WORDS = ["[UNK]", "[BOS]", "[EOS]", "[PAD]", "a", "red", "apple", "blue", "flag", "not"];
const TOKENIZER = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [],
  normalizer: { type: "Lowercase" },
  pre_tokenizer: { type: "WhitespaceSplit" },
  post_processor: null,
  decoder: null,
  model: {
    type: "WordPiece",
    unk_token: "[UNK]",
    continuing_subword_prefix: "##",
    max_input_chars_per_word: 100,
    vocab: Object.fromEntries(WORDS.map((word, id) => [word, id])),
  },
};

const SPEC: TextSpec = {
  length: 6,
  width: 2,
  pooled: 1,
  bos: 1,
  eos: 2,
  pad: 3,
  null: "empty-prompt",
};

function textModel(spec: Partial<TextSpec> = {}) {
  const text: TextSpec = { ...SPEC, ...spec };
  const manifest: TextManifest = {
    format: "halton-maskgit/model@2",
    name: "toy-text",
    task: "text-to-image",
    grid: 2,
    codebookSize: 4,
    maskId: 4,
    image: { width: 8, height: 8, channels: 3 },
    text,
    microConds: [8, 8, 0, 0, 6],
    defaults: {},
    files: {
      transformer: "t.onnx",
      decoder: "d.onnx",
      textEncoder: "e.onnx",
      tokenizer: "tokenizer.json",
    },
  };
  const encoded: number[][] = []; // the ids of every encoder call, per call
  const runs: TransformerInput[] = [];
  const model: Model = {
    dir: "/nowhere",
    manifest,
    transformer: {
      selectsPositions: false,
      run(input) {
        runs.push(input);
        return Promise.resolve(new Float32Array(input.batch * 4 * 5));
      },
    },
    decoder: { decode: () => Promise.reject(new Error("not used")) },
    prompts: {
      tokenizer: new PromptTokenizer(TOKENIZER, text),
      encoder: {
        // hidden[b, l, d] = 10·id + d; pooled[b] = the sum of the row's ids.
        encode(ids, batch): Promise<TextEncoding> {
          encoded.push(Array.from(ids));
          const hidden = new Float32Array(batch * text.length * 2);
          ids.forEach((id, i) => {
            hidden[2 * i] = 10 * id;
            hidden[2 * i + 1] = 10 * id + 1;
          });
          const pooled = Float32Array.from(
            { length: batch },
            (_, b) => ids.subarray(b * text.length, (b + 1) * text.length).reduce((s, v) => s + v),
          );
          return Promise.resolve({ hidden, pooled });
        },
      },
    },
  };
  return { model, encoded, runs };
}

/** The ids a row of the transformer's `text` input was made from (hidden = 10·id). */
const idsOfRow = (input: TransformerInput, row: number) =>
  Array.from({ length: 6 }, (_, l) => input.text![(row * 6 + l) * 2] / 10);

Deno.test("prompt ids: bos, the prompt's ids, eos, padding; cut to the length and said so", () => {
  const tokenizer = new PromptTokenizer(TOKENIZER, SPEC);
  assertEquals(tokenizer.encode("A red apple"), {
    ids: Int32Array.of(1, 4, 5, 6, 2, 3),
    truncated: false,
  });
  assertEquals(tokenizer.encode(""), { ids: Int32Array.of(1, 2, 3, 3, 3, 3), truncated: false });
  assertEquals(tokenizer.encode("a red apple a blue flag"), {
    ids: Int32Array.of(1, 4, 5, 6, 4, 2),
    truncated: true,
  });
  const noBos = new PromptTokenizer(TOKENIZER, { ...SPEC, bos: null });
  assertEquals(Array.from(noBos.encode("red apple").ids), [5, 6, 2, 3, 3, 3]);
});

Deno.test("each distinct prompt is encoded once per request, the empty prompt once per model", async () => {
  const { model, encoded, runs } = textModel();
  const prompts = ["red apple", "blue flag", "red apple"];
  const first = await conditionOn(model, { prompts });
  assertEquals(first.images, 3);
  assertEquals(first.recipes, prompts.map((prompt) => ({ prompt })));
  // One call for the two distinct prompts, one for the null condition.
  assertEquals(encoded, [[1, 5, 6, 2, 3, 3, 1, 7, 8, 2, 3, 3], [1, 2, 3, 3, 3, 3]]);
  await conditionOn(model, { prompts: ["a flag"] });
  assertEquals(encoded.length, 3, "the null condition is not encoded again");

  // Rows 0–2 take their image's prompt; rows 3–5 the null condition; micro_conds on every row.
  await first.predictor.predict({
    batch: 6,
    tokens: new Int32Array(6 * 4),
    image: Int32Array.of(0, 1, 2, 0, 1, 2),
    unconditional: Uint8Array.of(0, 0, 0, 1, 1, 1),
  });
  const input = runs.at(-1)!;
  assertEquals(idsOfRow(input, 0), [1, 5, 6, 2, 3, 3]);
  assertEquals(idsOfRow(input, 1), [1, 7, 8, 2, 3, 3]);
  assertEquals(idsOfRow(input, 2), [1, 5, 6, 2, 3, 3]);
  for (const row of [3, 4, 5]) assertEquals(idsOfRow(input, row), [1, 2, 3, 3, 3, 3]);
  assertEquals(Array.from(input.pooled!), [20, 24, 20, 15, 15, 15]);
  assertEquals(Array.from(input.microConds!.subarray(0, 10)), [8, 8, 0, 0, 6, 8, 8, 0, 0, 6]);
  assertEquals(input.labels, undefined);
});

Deno.test("a negative prompt replaces the null condition; 'zeros' models need no encoding", async () => {
  const { model, runs } = textModel();
  const negative = await conditionOn(model, { prompts: ["red apple"], negativePrompt: "blue" });
  assertEquals(negative.recipes, [{ prompt: "red apple", negativePrompt: "blue" }]);
  await negative.predictor.predict({
    batch: 2,
    tokens: new Int32Array(8),
    image: Int32Array.of(0, 0),
    unconditional: Uint8Array.of(0, 1),
  });
  assertEquals(idsOfRow(runs.at(-1)!, 1), [1, 7, 2, 3, 3, 3]);

  const zeros = textModel({ null: "zeros" });
  const conditioning = await conditionOn(zeros.model, { prompts: ["a red apple a blue flag"] });
  assertEquals(conditioning.truncated, [true]);
  assertEquals(zeros.encoded.length, 1, "only the prompt is encoded");
  await conditioning.predictor.predict({
    batch: 2,
    tokens: new Int32Array(8),
    image: Int32Array.of(0, 0),
    unconditional: Uint8Array.of(0, 1),
  });
  const input = zeros.runs.at(-1)!;
  assert(input.text!.subarray(12).every((v) => v === 0));
  assertEquals(input.pooled![1], 0);
});

Deno.test("a class for a text model, a prompt for a class model, bad prompts: SettingError naming the field", async () => {
  const { model } = textModel();
  const field = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      assert(error instanceof SettingError);
      return error.field;
    }
    throw new Error("no error");
  };
  assertEquals(field(() => checkCondition(model.manifest, { classes: ["A"] })), "class");
  assertEquals(
    field(() => checkCondition(model.manifest, { prompts: ["x".repeat(MAX_PROMPT_CHARS + 1)] })),
    "prompt",
  );
  assertEquals(field(() => checkCondition(model.manifest, { prompts: [7 as never] })), "prompt");
  assertEquals(
    field(() => checkCondition(model.manifest, { prompts: ["a"], negativePrompt: 1 as never })),
    "negative_prompt",
  );
  const classModel = {
    ...model.manifest,
    task: "class-to-image" as const,
    classes: ["A", "B"],
    files: { transformer: "t.onnx", decoder: "d.onnx" },
  };
  assertThrows(
    () => checkCondition(classModel, { prompts: ["a red apple"] }),
    SettingError,
    "is class-to-image: give a class, not a prompt",
  );
  await assertRejects(() => conditionOn(model, { prompts: [] }), SettingError, "at least one");
});
