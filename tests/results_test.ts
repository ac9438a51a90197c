import { assert, assertEquals } from "./assert.ts";
import { runCli } from "./cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("results: every cell's recorded eval command reproduces its figures exactly, spread cells included", async () => {
  const out = await Deno.makeTempDir();
  try {
    const results = await new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", "scripts/results.ts", "--model", "models/glyphs", "--steps", "2"],
        ...["--samples", "8", "--variants", "halton,halton-randomized", "--spread-steps", "2"],
        ...["--out", out],
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(results.code, 0, new TextDecoder().decode(results.stderr));
    const summary = JSON.parse(await Deno.readTextFile(`${out}/results-glyphs.json`));
    const cells: { variant: string; command: string; report: Record<string, unknown> }[] =
      summary.cells;
    assertEquals(cells.map((c) => [c.variant, c.report.seed]), [
      ["halton", 0],
      ["halton-randomized", 0],
      ["halton", 8],
      ["halton-randomized", 8],
    ]);
    // The spread cells are other images: a figure moves (the fixed and rolled orders differ too).
    assert(cells[0].report.frechet !== cells[2].report.frechet, "seed 8 gave seed 0's images");
    assert(cells[0].report.frechet !== cells[1].report.frechet, "--randomize changed nothing");
    for (const { command, report } of cells) {
      const [, , ...args] = command.split(" "); // "deno task eval …" → "eval …"
      const run = await runCli(...args);
      assertEquals(run.code, 0, run.err.join("\n"));
      const again = JSON.parse(run.out.join("\n"));
      for (
        const figure of ["accuracy", "top5", "frechet", "precision", "recall", "inceptionScore"]
      ) {
        assertEquals(again[figure], report[figure], `${command}: ${figure}`);
      }
    }
    for (const variant of ["halton", "halton-randomized"]) {
      const grid = await Deno.readFile(`${out}/images/glyphs/grid-${variant}.png`);
      assertEquals([...grid.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
