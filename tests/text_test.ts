// Text-to-image end to end on models/tiny-amused (random aMused weights at reduced widths, the
// real CLIP vocabulary; scripts/build_tiny_amused.sh): the CLIP tokenizer's ids, ONNX Runtime
// against PyTorch, the CLI, the server and the WASM backend, all giving the same bytes.
import { Buffer } from "node:buffer";
import { runCli } from "./cli.ts";
import { createApp } from "../routes/app.ts";
import { loadBackend } from "../src/backend/mod.ts";
import { MAX_PROMPT_CHARS } from "../src/condition.ts";
import { generate, render } from "../src/generate.ts";
import { decodePng } from "../src/image.ts";
import { loadModel, type Model, ModelError, type TextManifest } from "../src/model.ts";
import { SCHEDULER_NAMES } from "../src/scheduler/mod.ts";
import { GenerationService } from "../src/server/service.ts";
import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import { assertModelMatchesReference, assertSelectedLogitsMatch } from "./reference.ts";

const TINY = new URL("../models/tiny-amused", import.meta.url).pathname;
const GLYPHS = new URL("../models/glyphs", import.meta.url).pathname;
const native = await loadModel(TINY, { backend: await loadBackend("node"), threads: 1 });
const manifest = native.manifest as TextManifest;

/** The PNG's recipe: the JSON of its `Comment` tEXt chunk. */
function recipeOf(png: Uint8Array): Record<string, unknown> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    const data = new TextDecoder().decode(png.subarray(at + 8, at + 8 + length));
    if (type === "tEXt" && data.startsWith("Comment\0")) return JSON.parse(data.slice(8));
    at += 12 + length;
  }
  throw new Error("the PNG has no Comment");
}

/** Runs `generate` in-process, capturing its one-line errors. */
function cli(...args: string[]) {
  return runCli("generate", ...args);
}

Deno.test("text: the tokenizer gives OpenAI CLIP's own ids (bos, ids, eos, pad to 77)", async () => {
  const known: { text: string; ids: number[] }[] = JSON.parse(
    await Deno.readTextFile(new URL("fixtures/clip/known-ids.json", import.meta.url)),
  );
  assert(known.length >= 10);
  const { tokenizer } = native.prompts!;
  for (const { text, ids } of known) {
    const encoded = tokenizer.encode(text);
    assertEquals(Array.from(encoded.ids.subarray(0, ids.length + 2)), [49406, ...ids, 49407], text);
    assert(encoded.ids.subarray(ids.length + 2).every((id) => id === manifest.text.pad), text);
    assertEquals(encoded.ids.length, 77);
  }
  const long = tokenizer.encode("apple ".repeat(100));
  assertEquals(long.truncated, true);
  assertEquals([long.ids[0], long.ids[76]], [49406, 49407]);
});

Deno.test("text: ONNX Runtime reproduces PyTorch (text encoder, transformer, decoder); positions select exactly", async () => {
  await assertModelMatchesReference(native, 1e-4);
  assert(native.transformer.selectsPositions, "the converted transformer selects positions");
  await assertSelectedLogitsMatch(native);
});

Deno.test("text: every scheduler generates; same prompt and seed → same bytes; prompt and seed matter", async () => {
  for (const scheduler of SCHEDULER_NAMES) {
    const run = (prompts: string[], seed: number) =>
      generate({ model: native, prompts, settings: { scheduler, seed, steps: 6 } });
    const a = await run(["a red apple", "a blue flag"], 1);
    assertEquals(a.images.length, 2);
    const png = decodePng(a.images[0]);
    assertEquals([png.width, png.height], [256, 256]);
    assertEquals((await run(["a red apple", "a blue flag"], 1)).images, a.images, scheduler);
    assertNotEquals((await run(["a red apple"], 2)).tokens, a.tokens.slice(0, 256), scheduler);
    assertNotEquals((await run(["a green pear"], 1)).tokens, a.tokens.slice(0, 256), scheduler);
    // Image 1 of seed 1 is image 0 of seed 2 when the prompt matches.
    const alone = await run(["a blue flag"], 2);
    assertEquals(alone.tokens, a.tokens.slice(256), scheduler);
    const recipe = recipeOf(a.images[1]);
    assertEquals([recipe.prompt, recipe.seed, recipe.scheduler], ["a blue flag", 2, scheduler]);
  }
});

Deno.test("text: aMused's own sampler is the folder's default (confidence, 12 steps, w 9 constant)", async () => {
  const events: number[] = [];
  const calls: number[] = [];
  const counting: Model = {
    ...native,
    transformer: {
      ...native.transformer,
      run: (input) => {
        calls.push(input.batch);
        return native.transformer.run(input);
      },
    },
  };
  const result = await generate({
    model: counting,
    prompts: ["a red apple"],
    onStep: (event) => void events.push(event.known),
  });
  assertEquals(result.settings.scheduler, "confidence");
  assertEquals(result.settings.countMode, "amused");
  assertEquals([result.settings.cfg, result.settings.cfgRamp], [9, "constant"]);
  assertEquals(events, [3, 9, 20, 35, 53, 75, 101, 128, 159, 190, 223, 256]);
  // Constant guidance: every step runs the unconditional row too.
  assertEquals(calls, Array(12).fill(2));
});

Deno.test("text CLI: --prompt twice gives identical bytes; a negative prompt changes them", async () => {
  const out = await Deno.makeTempDir();
  try {
    const args = ["--model", TINY, "--prompt", "a red apple", "--seed", "1", "--quiet"];
    for (const name of ["a", "b"]) {
      assertEquals((await cli(...args, "--out", `${out}/${name}.png`)).code, 0);
    }
    const a = await Deno.readFile(`${out}/a.png`);
    assertEquals(await Deno.readFile(`${out}/b.png`), a);
    assertEquals(recipeOf(a).prompt, "a red apple");
    const negative = [...args, "--negative-prompt", "green", "--out", `${out}/n.png`];
    assertEquals((await cli(...negative)).code, 0);
    const n = await Deno.readFile(`${out}/n.png`);
    assertNotEquals(n, a);
    assertEquals(recipeOf(n).negativePrompt, "green");
    // Two prompts, two images each: 4 files and a grid.
    const many = ["--model", TINY, "--prompt", "a cat", "--prompt", "a dog, sitting", "--count"];
    assertEquals((await cli(...many, "2", "--steps", "4", "--quiet", "--out", `${out}/m`)).code, 0);
    assertEquals(Array.from(Deno.readDirSync(`${out}/m`)).length, 5);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("text CLI: a class for a text model, a prompt for a class model: one line, exit 1", async () => {
  const out = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [["--model", TINY, "--class", "1"], /'tiny-amused' is text-to-image: give a prompt/],
      [["--model", TINY], /'tiny-amused' is text-to-image: give --prompt/],
      [["--model", GLYPHS, "--prompt", "A"], /'glyphs' is class-to-image: give a class/],
      [
        ["--model", TINY, "--prompt", "x".repeat(MAX_PROMPT_CHARS + 1)],
        /prompt must be at most 2000 characters/,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await cli(...args, "--out", `${out}/x.png`);
      assertEquals(code, 1, args.join(" "));
      assertEquals(err.length, 1, err.join("\n"));
      assert(message.test(err[0]), err[0]);
    }
    assertEquals(Array.from(Deno.readDirSync(out)).length, 0);
    // An over-long prompt is cut to the model's 77 tokens, and the CLI says so.
    const { code, err } = await cli(
      ...["--model", TINY, "--prompt", "apple ".repeat(90), "--steps", "2"],
      ...["--out", `${out}/long.png`],
    );
    assertEquals(code, 0);
    assert(err.some((line) => /prompt truncated to 77 tokens/.test(line)), err.join("\n"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("text server: same bytes as the CLI; JSON and stream name the prompt; task in /v1/models", async () => {
  const glyphs = await loadModel(GLYPHS, { backend: await loadBackend("node"), threads: 1 });
  const app = createApp(new GenerationService([native, glyphs], { concurrency: 1 }));
  const post = (body: unknown, path = "/v1/generate", accept = "image/png") =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept },
      body: JSON.stringify(body),
    });
  const out = await Deno.makeTempDir();
  try {
    const response = await post({ prompt: "a red apple", seed: 1 });
    assertEquals(response.status, 200);
    const path = `${out}/cli.png`;
    assertEquals(
      (await cli(
        "--model",
        TINY,
        "--prompt",
        "a red apple",
        "--seed",
        "1",
        "--quiet",
        "--out",
        path,
      ))
        .code,
      0,
    );
    assertEquals(new Uint8Array(await response.arrayBuffer()), await Deno.readFile(path));

    const json = await (await post(
      { prompt: "apple ".repeat(90), seed: 4, steps: 3 },
      "/v1/generate",
      "application/json",
    )).json();
    assertEquals([json.model, json.truncated, json.seed], ["tiny-amused", true, 4]);
    assertEquals(json.prompt, "apple ".repeat(90));
    assertEquals(json.class, undefined);
    assert(decodePng(new Uint8Array(Buffer.from(json.images[0], "base64"))));

    const stream = await (await post({ prompt: "a flag", steps: 3 }, "/v1/generate/stream")).text();
    assert(/event: start\ndata: \{[^}]*"prompt":"a flag"/.test(stream), stream.slice(0, 300));
    assert(stream.includes("event: done"));

    const { models } = await (await app.request("/v1/models")).json();
    assertEquals(models.map((m: { task: string }) => m.task), ["text-to-image", "class-to-image"]);
    assertEquals([models[0].promptTokens, models[0].classes], [77, undefined]);
    assertEquals(models[0].defaults.countMode, "amused");
    // The browser loads a text model's tokenizer and text encoder through the files route.
    for (const file of ["tokenizer.json", "text_encoder.onnx"]) {
      const served = await app.request(`/v1/models/tiny-amused/files/${file}`);
      assertEquals(served.status, 200, file);
      await served.body?.cancel();
    }

    const bad: [unknown, string][] = [
      [{ class: 1 }, "class"],
      [{ prompt: 7 }, "prompt"],
      [{ prompt: ["a", "b"] }, "prompt"],
      [{ prompt: "x".repeat(MAX_PROMPT_CHARS + 1) }, "prompt"],
      [{ prompt: "a", negative_prompt: false }, "negative_prompt"],
      [{ prompt: "a", class: 1 }, "class"],
      [{ model: "glyphs", prompt: "A" }, "prompt"],
    ];
    for (const [body, field] of bad) {
      for (const route of ["/v1/generate", "/v1/generate/stream"]) {
        const answer = await post(body, route);
        assertEquals(answer.status, 400, `${route} ${JSON.stringify(body)}`);
        assertEquals((await answer.json()).field, field, JSON.stringify(body));
      }
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("text wasm: onnxruntime-web samples the native backend's tokens; decoding on it gives its pixels", async () => {
  const wasmBackend = await loadBackend("wasm");
  const wasm = await loadModel(TINY, { backend: wasmBackend });
  const decodedOnWasm = await loadModel(TINY, {
    backend: await loadBackend("node"),
    decoderBackend: wasmBackend,
    threads: 1,
  });
  await assertSelectedLogitsMatch(wasm);
  for (const scheduler of SCHEDULER_NAMES) {
    const settings = { scheduler, seed: 5, steps: 6 };
    const prompts = ["a red apple", "a blue flag"];
    const a = await render({ model: native, prompts, settings });
    const b = await render({ model: wasm, prompts, settings });
    const c = await render({ model: decodedOnWasm, prompts, settings });
    assert(a.tokens.every((t, i) => t === b.tokens[i]), `${scheduler}: same tokens`);
    // aMused's VQ decoder is 30-odd convolutions deep: the two backends' float sums differ in
    // the last bits, which moves a few pixels across a rounding boundary (see README).
    const pixels = (r: typeof a) => r.pictures.flatMap((p) => Array.from(p.pixels));
    const [ours, theirs] = [pixels(a), pixels(b)];
    const moved = ours.filter((v, i) => v !== theirs[i]).length;
    assert(ours.every((v, i) => Math.abs(v - theirs[i]) <= 1), `${scheduler}: ≤ 1 level`);
    assert(moved < 0.001 * ours.length, `${scheduler}: ${moved} pixels moved`);
    // The decoder on the WASM backend under a native transformer: the WASM backend's pixels.
    assertEquals(c.tokens, b.tokens, `${scheduler}: tokens`);
    assertEquals(pixels(c), theirs, `${scheduler}: pixels`);
  }
});

Deno.test("text: a missing or broken text-model file is a ModelError naming it", async () => {
  const backend = await loadBackend("node");
  const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
    [
      "tokenizer.json",
      (d) => Deno.remove(`${d}/tokenizer.json`),
      /tokenizer\.json: file not found/,
    ],
    [
      "tokenizer.json",
      (d) => Deno.writeTextFile(`${d}/tokenizer.json`, "{"),
      /tokenizer\.json: is not a usable tokenizer\.json/,
    ],
    [
      "text_encoder.onnx",
      (d) => Deno.writeFile(`${d}/text_encoder.onnx`, new Uint8Array([8, 1, 2])),
      /text_encoder\.onnx: is not a usable ONNX model/,
    ],
    [
      "transformer.onnx",
      (d) => Deno.copyFile(`${TINY}/../tiny-random/transformer.onnx`, `${d}/transformer.onnx`),
      /transformer\.onnx: has no input 'text'/,
    ],
    [
      "model.json",
      async (d) => {
        const json = JSON.parse(await Deno.readTextFile(`${d}/model.json`));
        await Deno.writeTextFile(
          `${d}/model.json`,
          JSON.stringify({ ...json, text: { ...json.text, null: "none" } }),
        );
      },
      /model\.json: field 'text\.null' must be "empty-prompt" or "zeros"/,
    ],
  ];
  for (const [file, breakIt, message] of cases) {
    const dir = await Deno.makeTempDir();
    try {
      for (const entry of Deno.readDirSync(TINY)) {
        await Deno.copyFile(`${TINY}/${entry.name}`, `${dir}/${entry.name}`);
      }
      await breakIt(dir);
      const error = await loadModel(dir, { backend }).then(() => undefined, (e) => e);
      assert(error instanceof ModelError, `${file}: ${error}`);
      assert(message.test(error.message), error.message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
