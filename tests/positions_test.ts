// scripts/positions.py run on folders by hand: idempotent on a folder that has the input,
// a clear refusal where the head mixes positions, one line for a file that is not a model.
import { assert, assertEquals } from "./assert.ts";
import { needing } from "./needs.ts";
import { python, torchMissing } from "./python.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const noTorch = await torchMissing();

async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for (const file of ["model.json", "transformer.onnx"]) {
    await Deno.copyFile(`${ROOT}/models/${from}/${file}`, `${to}/${file}`);
  }
}

async function run(folder: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await python(["scripts/positions.py", folder]);
  return { code, stdout: stdout.trim(), stderr: stderr.trim() };
}

Deno.test(needing(noTorch, {
  name: "positions.py: idempotent, refuses a patch head with its reason, one line for a non-model",
  async fn() {
    const work = await Deno.makeTempDir();
    try {
      await copyFolder("tiny-random", `${work}/standin`);
      const before = await Deno.readFile(`${work}/standin/transformer.onnx`);
      const again = await run(`${work}/standin`);
      assertEquals(again.code, 0, again.stderr);
      assert(again.stdout.endsWith("has the positions input"), again.stdout);
      assertEquals(await Deno.readFile(`${work}/standin/transformer.onnx`), before);
      const manifest = JSON.parse(await Deno.readTextFile(`${work}/standin/model.json`));
      assertEquals(manifest.flops.head, 2 * 64 * 65, "the head's FLOPs per position are recorded");

      await copyFolder("glyphs", `${work}/glyphs`);
      const glyphs = await run(`${work}/glyphs`);
      assertEquals(glyphs.code, 0, glyphs.stderr);
      assert(/unchanged: .*Reshape.*not position-wise/.test(glyphs.stdout), glyphs.stdout);

      await Deno.writeTextFile(`${work}/standin/transformer.onnx`, "not a model");
      const broken = await run(`${work}/standin`);
      assertEquals(broken.code, 1);
      assertEquals(
        broken.stderr,
        `error: ${work}/standin/transformer.onnx: not an ONNX model (DecodeError)`,
      );
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
}));
