// The checkpoint converter: random weights in the official file layouts → model folder →
// ONNX Runtime in Deno matches PyTorch, and the folder generates. Needs Debian's
// python3-torch and python3-onnx, which .ci/run installs.
import { main } from "../main.ts";
import { loadBackend } from "../src/backend/mod.ts";
import { decodePng } from "../src/image.ts";
import { classNames, loadModel } from "../src/model.ts";
import { assert, assertEquals } from "./assert.ts";
import { needing } from "./needs.ts";
import { convertRandom, python, torchMissing } from "./python.ts";
import { assertModelMatchesReference, assertSelectedLogitsMatch } from "./reference.ts";

const noTorch = await torchMissing();

const CASES = [
  { family: "v2", grid: 16, size: 256 },
  { family: "v2", grid: 24, size: 384 },
  { family: "v1", grid: 16, size: 256 },
  { family: "v1", grid: 32, size: 512 },
];

for (const { family, grid, size } of CASES) {
  Deno.test(needing(noTorch, {
    name: `convert: ${family} ${grid}×${grid} → folder that matches PyTorch in ORT and generates`,
    async fn() {
      const work = await Deno.makeTempDir();
      try {
        const folder =
          (await convertRandom(work, family, grid, ["--image-size", String(size)])).model;
        const model = await loadModel(folder, { backend: await loadBackend("node") });
        assertEquals(model.manifest.grid, grid);
        assertEquals(classNames(model.manifest).length, 1000);
        assertEquals(classNames(model.manifest)[1], "goldfish");
        assertEquals(model.manifest.defaults.scheduler, family === "v2" ? "halton" : "confidence");
        // scripts/positions.py gave the head a `positions` input (the v2 head is per-channel,
        // v1's adds an [N, V] bias, gathered at the same positions).
        assert(model.transformer.selectsPositions, "the converted transformer selects positions");
        await assertModelMatchesReference(model, 1e-4);
        await assertSelectedLogitsMatch(model);
        const out = `${work}/goldfish.png`;
        const args = ["--model", folder, "--class", "goldfish", "--steps", "4"];
        assertEquals(await main(["generate", ...args, "--out", out, "--quiet"]), 0);
        const png = decodePng(await Deno.readFile(out));
        assertEquals([png.width, png.height], [size, size]);
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    },
  }));
}

Deno.test(needing(noTorch, {
  name: "convert: mismatched or missing checkpoints fail with one line naming the file",
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      for (const family of ["v2", "v1"]) {
        const made = await python([
          "scripts/convert/random_checkpoints.py",
          ...["--family", family, "--grid", "16", "--out", `${work}/${family}`],
        ]);
        assertEquals(made.code, 0, made.stderr);
      }
      const convert = (args: string[]) =>
        python([
          "scripts/convert.py",
          "--out",
          `${work}/model`,
          "--heads",
          "4",
          "--no-check",
          ...args,
        ]);
      const cases: [string[], string][] = [
        [
          ["--family", "v2", "--transformer", `${work}/v1/transformer.pth`],
          `${work}/v1/transformer.pth: not a v2 transformer`,
        ],
        [
          ["--family", "v2", "--transformer", `${work}/v2/transformer.pth`, "--image-size", "384"],
          "makes 256-pixel images, not --image-size 384",
        ],
        [
          ["--family", "v1", "--transformer", `${work}/none.pth`],
          `${work}/none.pth: transformer checkpoint not found`,
        ],
        [
          ["--family", "v2", "--transformer", `${work}/v2/transformer.pth`, "--size", "small"],
          "--size small expects width 512",
        ],
      ];
      for (const [args, message] of cases) {
        const tokenizer = args.includes("v1") && !args.includes(`${work}/v1/transformer.pth`)
          ? `${work}/v1/tokenizer.pth`
          : `${work}/v2/tokenizer.pth`;
        const result = await convert([...args, "--tokenizer", tokenizer]);
        assertEquals(result.code, 1, result.stderr);
        const lines = result.stderr.trim().split("\n").filter((l) => l.startsWith("error:"));
        assertEquals(lines.length, 1, result.stderr);
        assert(lines[0].includes(message), `${lines[0]} ⊅ ${message}`);
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));

Deno.test(needing(noTorch, {
  name:
    "convert: the official text transformer's port self-checks (config from shapes, rows independent, exports)",
  async fn() {
    const checked = await python(["scripts/convert/halton_txt.py"]);
    assertEquals(checked.code, 0, checked.stderr);
    assert(/^OK$/m.test(checked.stdout), checked.stdout);
  },
}));
