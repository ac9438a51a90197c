// The aMused converter: random-weight pipelines in diffusers' layout (256 and 512 layouts at
// reduced widths, fp32 and fp16, the real CLIP vocabulary) → format-2 folders whose ONNX graphs
// reproduce our PyTorch modules in ONNX Runtime and generate reproducibly. Needs Debian's
// python3-torch and python3-onnx, which .ci/run installs.
import { main } from "../main.ts";
import { loadBackend } from "../src/backend/mod.ts";
import { decodePng } from "../src/image.ts";
import { loadModel, type TextManifest } from "../src/model.ts";
import { assert, assertEquals } from "./assert.ts";
import { needing } from "./needs.ts";
import { python, torchMissing } from "./python.ts";
import { assertModelMatchesReference, assertSelectedLogitsMatch } from "./reference.ts";

const noTorch = await torchMissing();

/** Builds a random pipeline (`extra`: build options) and converts it (`options`: convert.py's);
 * returns the folder. */
async function convertRandom(
  work: string,
  layout: number,
  extra: string[] = [],
  options: string[] = [],
) {
  const pipeline = `${work}/pipeline-${layout}`, model = `${work}/model-${layout}`;
  const built = await python([
    "scripts/build_amused_random.py",
    ...["--layout", String(layout), "--tiny", "--out", pipeline, ...extra],
  ]);
  assertEquals(built.code, 0, built.stderr);
  const converted = await python([
    "scripts/convert.py",
    ...["--family", "amused", "--checkpoint", pipeline, "--out", model, "--no-check", ...options],
  ]);
  assertEquals(converted.code, 0, converted.stderr);
  return { pipeline, model, stdout: converted.stdout };
}

const CASES = [
  { layout: 256, grid: 16, extra: [] },
  { layout: 512, grid: 32, extra: [] },
  { layout: 256, grid: 16, extra: ["--fp16"] },
];

for (const { layout, grid, extra } of CASES) {
  Deno.test(needing(noTorch, {
    name: `aMused convert: ${layout} layout${
      extra.length ? " (fp16)" : ""
    } → ORT matches PyTorch, generates twice alike`,
    async fn() {
      const work = await Deno.makeTempDir();
      try {
        const { model: folder } = await convertRandom(work, layout, extra);
        const model = await loadModel(folder, { backend: await loadBackend("node") });
        const manifest = model.manifest as TextManifest;
        assertEquals([manifest.task, manifest.grid], ["text-to-image", grid]);
        assertEquals(manifest.microConds, [layout, layout, 0, 0, 6]);
        assertEquals([manifest.text.length, manifest.text.bos, manifest.text.null], [
          77,
          49406,
          "empty-prompt",
        ]);
        // Parity (a): text hidden states, pooled, logits and the decoded image within 1e-4.
        await assertModelMatchesReference(model, 1e-4);
        assert(model.transformer.selectsPositions, "the head gets a positions input");
        await assertSelectedLogitsMatch(model);
        const args = ["generate", "--model", folder, "--prompt", "a red apple", "--seed", "1"];
        for (const name of ["a", "b"]) {
          assertEquals(await main([...args, "--quiet", "--out", `${work}/${name}.png`]), 0);
        }
        const png = await Deno.readFile(`${work}/a.png`);
        assertEquals(await Deno.readFile(`${work}/b.png`), png);
        const { width, height } = decodePng(png);
        assertEquals([width, height], [layout, layout]);
        // The WASM backend's PNG, byte for byte, from a native run that decodes on WASM (the
        // two runtimes' decoders round a few pixels apart: README, "On the WASM backend").
        for (const [name, backend] of [["wasm", "--backend"], ["mixed", "--decoder-backend"]]) {
          const out = `${work}/${name}.png`;
          assertEquals(await main([...args, "--quiet", backend, "wasm", "--out", out]), 0);
        }
        assertEquals(
          await Deno.readFile(`${work}/mixed.png`),
          await Deno.readFile(`${work}/wasm.png`),
        );
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    },
  }));
}

Deno.test(needing(noTorch, {
  name: "aMused convert --int8: an int8 variant beside the folder, its decoder gated by PSNR",
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      const int8 = `${work}/int8`;
      const { stdout } = await convertRandom(work, 256, [], ["--int8", int8]);
      const model = await loadModel(int8, { backend: await loadBackend("node") });
      assertEquals(model.manifest.precision, "int8");
      const onnx = new TextDecoder("latin1").decode(
        await Deno.readFile(`${int8}/transformer.onnx`),
      );
      assert(onnx.includes("MatMulIntegerToFloat"), "the transformer's matrix products are int8");
      // Random reduced-width weights decode to noise that int8 convolutions cannot hold to 40
      // dB: the gate keeps the float32 decoder, and says so.
      assert(/float32 decoder \(int8 decoding gave [\d.]+ dB < 40\)/.test(stdout), stdout);
      assertEquals(
        await Deno.readFile(`${int8}/decoder.onnx`),
        await Deno.readFile(`${work}/model-256/decoder.onnx`),
      );
      const png = `${work}/a.png`;
      const args = [
        "generate",
        "--model",
        int8,
        "--prompt",
        "a red apple",
        "--quiet",
        "--out",
        png,
      ];
      assertEquals(await main(args), 0);
      assertEquals(decodePng(await Deno.readFile(png)).width, 256);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));

Deno.test(needing(noTorch, {
  name: "aMused convert: a missing or corrupt pipeline file is one line naming it",
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      const pipeline = `${work}/pipeline`;
      const built = await python([
        "scripts/build_amused_random.py",
        ...["--layout", "256", "--tiny", "--out", pipeline],
      ]);
      assertEquals(built.code, 0, built.stderr);
      const convert = () =>
        python([
          "scripts/convert.py",
          ...["--family", "amused", "--checkpoint", pipeline, "--out", `${work}/m`, "--no-check"],
        ]);
      const weights = `${pipeline}/transformer/diffusion_pytorch_model.safetensors`;
      const bytes = await Deno.readFile(weights);
      await Deno.writeFile(weights, bytes.subarray(0, 1000));
      const cut = await convert();
      assertEquals(cut.code, 1);
      const lines = cut.stderr.trim().split("\n").filter((l) => l.startsWith("error:"));
      assertEquals(lines.length, 1, cut.stderr);
      assert(lines[0].includes(weights), lines[0]);
      await Deno.remove(weights);
      const missing = await convert();
      assertEquals(missing.code, 1);
      assert(missing.stderr.includes("transformer"), missing.stderr);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));

Deno.test(needing(noTorch, {
  name: "aMused: a transformer with its weights in NAME.onnx.data loads on both backends",
  async fn() {
    // Exports over 2 GB (the full aMused transformers) keep their weights beside the graph.
    const work = await Deno.makeTempDir();
    try {
      const tiny = new URL("../models/tiny-amused", import.meta.url).pathname;
      for (const entry of Deno.readDirSync(tiny)) {
        await Deno.copyFile(`${tiny}/${entry.name}`, `${work}/${entry.name}`);
      }
      const moved = await python([
        "-c",
        `
import onnx
path = "${work}/transformer.onnx"
model = onnx.load(path)
onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                location="transformer.onnx.data", size_threshold=0)
`,
      ]);
      assertEquals(moved.code, 0, moved.stderr);
      const [graph, data] = await Promise.all(
        ["transformer.onnx", "transformer.onnx.data"].map((f) => Deno.stat(`${work}/${f}`)),
      );
      assert(data.size > graph.size, `weights moved out: ${graph.size} + ${data.size} bytes`);
      for (const name of ["node", "wasm"]) {
        const model = await loadModel(work, { backend: await loadBackend(name) });
        await assertModelMatchesReference(model, 1e-4);
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));

Deno.test(needing(noTorch, {
  name: "aMused converter's Python self-checks (safetensors, CLIP ids, references, bad pipelines)",
  async fn() {
    const checked = await python(["scripts/convert/amused_check.py"]);
    assertEquals(checked.code, 0, checked.stderr);
    assert(/^OK/m.test(checked.stderr), checked.stderr);
  },
}));
