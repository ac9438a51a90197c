import { nodeBackend } from "../src/backend/onnx-node.ts";
import { loadModel, ModelError, parseManifest, resolveClass } from "../src/model.ts";
import { SettingError } from "../src/settings.ts";
import { generate } from "../src/generate.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { assertModelMatchesReference, assertSelectedLogitsMatch } from "./reference.ts";

const STANDIN = new URL("../models/tiny-random", import.meta.url).pathname;
const load = (dir: string) => loadModel(dir, { backend: nodeBackend, threads: 1 });

Deno.test("ONNX Runtime reproduces the outputs the build script recorded from PyTorch", async () => {
  await assertModelMatchesReference(await load(STANDIN));
});

Deno.test("a transformer with a positions input computes only the asked logits, exactly", async () => {
  const standin = await load(STANDIN);
  assert(standin.transformer.selectsPositions);
  await assertSelectedLogitsMatch(standin);
  // The glyph model's head predicts a 2×2 patch per transformer position, so its graph has no
  // positions input: the sampler reads its full logits, as it does for folders made before.
  const glyphs = await load(new URL("../models/glyphs", import.meta.url).pathname);
  assertEquals(glyphs.transformer.selectsPositions, false);
});

const MANIFEST = {
  format: "halton-maskgit/model@1",
  name: "m",
  task: "class-to-image",
  grid: 4,
  codebookSize: 8,
  maskId: 8,
  classes: ["a", "b"],
  image: { width: 16, height: 16, channels: 1 },
  defaults: {},
  files: { transformer: "t.onnx", decoder: "d.onnx" },
};

Deno.test("manifest validation names the file and the field", () => {
  assertEquals(parseManifest(JSON.stringify(MANIFEST), "x/model.json").grid, 4);
  const bad: [object, RegExp][] = [
    [{ grid: 0 }, /field 'grid' must be an integer ≥ 1/],
    [{ maskId: 3 }, /field 'maskId' must be outside the codebook/],
    [{ classes: [] }, /field 'classes'/],
    [{ classes: ["a", "a"] }, /field 'classes'/],
    [{ image: { width: 16, height: 16, channels: 2 } }, /field 'image.channels' must be 1 or 3/],
    [{ files: { transformer: "../t.onnx", decoder: "d.onnx" } }, /field 'files.transformer'/],
    [{ name: "a/b" }, /field 'name'/],
    [{ format: "other@2" }, /field 'format'/],
    [{ task: "text-to-image" }, /field 'task'/],
    [{ defaults: { steps: 17 } }, /defaults.steps: steps must be an integer from 1 to 16/],
    [{ defaults: { scheduler: "zig" } }, /defaults.scheduler/],
    [{ defaults: { foo: 1 } }, /defaults.foo: unknown setting 'foo'/],
    [{ precision: "int4" }, /field 'precision' must be "fp32" or "int8"/],
    [{ defaults: { temperature: { begin: 1 } } }, /defaults.temperature.begin: unknown setting/],
  ];
  for (const [patch, message] of bad) {
    assertThrows(
      () => parseManifest(JSON.stringify({ ...MANIFEST, ...patch }), "x/model.json"),
      (e) => {
        assert(e instanceof ModelError && e.file === "x/model.json", String(e));
        assert(message.test(e.message), e.message);
        return true;
      },
    );
  }
  assertThrows(() => parseManifest("{oops", "x/model.json"), /x\/model.json: is not valid JSON/);
  assertThrows(() => parseManifest("[1]", "x/model.json"), /must hold a JSON object/);
});

Deno.test("classes resolve by exact name first, then by index", () => {
  const classes = ["zero", "one", "7"];
  assertEquals(resolveClass(classes, "one"), 1);
  assertEquals(resolveClass(classes, "7"), 2); // a name wins over the index 7
  assertEquals(resolveClass(classes, "2"), 2);
  assertEquals(resolveClass(classes, 0), 0);
  for (const bad of ["One", "3", "-1", "1.5", ""]) {
    assertThrows(() => resolveClass(classes, bad), (e) => {
      assert(e instanceof SettingError && e.field === "class" && /unknown class/.test(e.message));
      return true;
    });
  }
});

/** A copy of the stand-in folder with some files replaced or removed. */
async function brokenCopy(change: (dir: string) => Promise<void>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const name of ["model.json", "transformer.onnx", "decoder.onnx"]) {
    await Deno.copyFile(`${STANDIN}/${name}`, `${dir}/${name}`);
  }
  await change(dir);
  return dir;
}

async function editManifest(dir: string, patch: object) {
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ ...manifest, ...patch }));
}

Deno.test("loading a broken model folder names the file and what is wrong", async () => {
  const fixtures = new URL("./fixtures/", import.meta.url).pathname;
  const cases: [(dir: string) => Promise<void>, string, RegExp][] = [
    [(d) => Deno.remove(`${d}/model.json`), "model.json", /file not found/],
    [(d) => Deno.remove(`${d}/decoder.onnx`), "decoder.onnx", /file not found/],
    [
      async (d) => {
        const bytes = await Deno.readFile(`${d}/transformer.onnx`);
        await Deno.writeFile(`${d}/transformer.onnx`, bytes.subarray(0, bytes.length / 3));
      },
      "transformer.onnx",
      /is not a usable ONNX model/,
    ],
    [(d) => Deno.writeTextFile(`${d}/decoder.onnx`, "hello"), "decoder.onnx", /not a usable ONNX/],
    [
      (d) => Deno.copyFile(`${fixtures}/wrong-dtype.onnx`, `${d}/transformer.onnx`),
      "transformer.onnx",
      /input 'tokens' must be int64, is float32/,
    ],
    [
      (d) => Deno.copyFile(`${fixtures}/wrong-names.onnx`, `${d}/transformer.onnx`),
      "transformer.onnx",
      /has no input 'tokens' \(its inputs: ids, labels, drop_label\)/,
    ],
    [
      (d) => Deno.copyFile(`${d}/decoder.onnx`, `${d}/transformer.onnx`),
      "transformer.onnx",
      /input 'tokens' must have rank 2/,
    ],
    [(d) => editManifest(d, { grid: 8 }), "transformer.onnx", /input 'tokens' must be \[\?, 64\]/],
    [
      (d) => editManifest(d, { codebookSize: 100, maskId: 100 }),
      "transformer.onnx",
      /gives 65 logits per position, fewer than the manifest's codebookSize 100/,
    ],
    [
      (d) => editManifest(d, { image: { width: 32, height: 32, channels: 3 } }),
      "decoder.onnx",
      /output 'image' must be \[\?, 3, 32, 32\]/,
    ],
    [(d) => editManifest(d, { classes: "x" }), "model.json", /field 'classes'/],
  ];
  for (const [change, file, message] of cases) {
    const dir = await brokenCopy(change);
    await assertRejects(() => load(dir), (e: unknown) => {
      assert(e instanceof ModelError, String(e));
      assertEquals(e.file, `${dir}/${file}`);
      assert(message.test(e.message), e.message);
      return true;
    });
    await Deno.remove(dir, { recursive: true });
  }
  await assertRejects(
    () => load("/nonexistent/model"),
    /\/nonexistent\/model: model folder not found/,
  );
});

Deno.test("an execution provider this install lacks fails with one line", async () => {
  const oneLine = (e: unknown) => {
    const message = (e as Error).message;
    assert(/execution provider/.test(message) && !message.includes("\n"), message);
    return true;
  };
  await assertRejects(() => loadModel(STANDIN, { backend: nodeBackend, provider: "tpu" }), oneLine);
  // CUDA works where the install and the machine have it: then the model must generate.
  const cuda = await loadModel(STANDIN, { backend: nodeBackend, provider: "cuda" }).then(
    (model) => model,
    (error) => oneLine(error) && undefined,
  );
  if (cuda) assertEquals((await generate({ model: cuda, classes: [1] })).images.length, 1);
});
