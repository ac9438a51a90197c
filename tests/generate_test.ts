import { nodeBackend } from "../src/backend/onnx-node.ts";
import { generate } from "../src/generate.ts";
import { decodePng } from "../src/image.ts";
import { loadModel } from "../src/model.ts";
import { SCHEDULER_NAMES } from "../src/scheduler/mod.ts";
import { runCli } from "./cli.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "./assert.ts";

const STANDIN = new URL("../models/tiny-random", import.meta.url).pathname;
const model = await loadModel(STANDIN, { backend: nodeBackend, threads: 1 });
const { image, grid } = model.manifest;

Deno.test("generate: each scheduler gives PNGs of the manifest's size, reproducible by seed", async () => {
  for (const scheduler of SCHEDULER_NAMES) {
    const run = (seed: number) =>
      generate({ model, classes: ["one", 7], settings: { scheduler, seed } });
    const a = await run(3);
    assertEquals(a.images.length, 2);
    for (const bytes of [...a.images, a.grid!]) assert(decodePng(bytes));
    const decoded = decodePng(a.images[0]);
    assertEquals([decoded.width, decoded.height], [image.width, image.height]);
    assertEquals(a.labels, [1, 7]);
    assertEquals(a.settings.steps, model.manifest.defaults.steps);
    assertEquals((await run(3)).images, a.images, scheduler);
    assertNotEquals((await run(4)).images[0], a.images[0], scheduler);
    // Image 1 of seed 3 is image 0 of seed 4 when the class matches.
    const alone = await generate({ model, classes: [7], settings: { scheduler, seed: 4 } });
    assertEquals(alone.tokens, a.tokens.slice(grid * grid));
  }
});

Deno.test("generate: 1 step and N steps both complete the grid", async () => {
  for (const steps of [1, grid * grid]) {
    for (const scheduler of SCHEDULER_NAMES) {
      let events = 0;
      const result = await generate({
        model,
        classes: [0],
        settings: { steps, scheduler },
        onStep: () => void events++,
      });
      assertEquals(events, steps);
      assert(result.tokens.every((t) => t >= 0 && t < model.manifest.codebookSize));
    }
  }
});

Deno.test("generate: previews make a GIF, one frame per recorded step", async () => {
  const { GIF } = await import("imagescript");
  const result = await generate({ model, classes: [2], settings: { steps: 8 }, previewEvery: 2 });
  const gif = await GIF.decode(result.gif!);
  assertEquals(gif.length, 4);
});

Deno.test("generate: an unknown class is refused before any work", async () => {
  let calls = 0;
  await assertRejects(
    () => generate({ model, classes: ["eleven"], onStep: () => void calls++ }),
    /unknown class 'eleven'/,
  );
  assertEquals(calls, 0);
});

/** Runs `generate` on the stand-in in-process; returns its exit code, stdout and stderr lines. */
function cli(...args: string[]) {
  return runCli("generate", "--quiet", "--model", STANDIN, ...args);
}

Deno.test("CLI generate: writes the PNG, same seed → same bytes, other seed → other bytes", async () => {
  const dir = await Deno.makeTempDir();
  const first = await cli("--class", "1", "--seed", "3", "--out", `${dir}/a.png`, "--threads", "1");
  assertEquals(first.code, 0, first.err.join("\n"));
  assertEquals(first.out, [`${dir}/a.png`]);
  await cli("--class", "1", "--seed", "3", "--out", `${dir}/b.png`);
  await cli("--class", "1", "--seed", "4", "--out", `${dir}/c.png`);
  const [a, b, c] = ["a", "b", "c"].map((n) => Deno.readFileSync(`${dir}/${n}.png`));
  assertEquals(a, b);
  assertNotEquals(a, c);
  const decoded = decodePng(a);
  assertEquals([decoded.width, decoded.height], [image.width, image.height]);

  const batch = await cli(
    "--class",
    "one,two",
    "--class",
    "nine",
    "--count",
    "2",
    "--seed",
    "9",
    "--out",
    dir,
  );
  assertEquals(batch.code, 0, batch.err.join("\n"));
  assertEquals(batch.out.length, 7); // 6 images + the grid
  assert(batch.out.every((path) => Deno.statSync(path).isFile));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CLI generate: bad input exits 1 with one line naming the problem, writing nothing", async () => {
  const dir = await Deno.makeTempDir();
  const truncated = await Deno.makeTempDir();
  for (const name of ["model.json", "decoder.onnx"]) {
    await Deno.copyFile(`${STANDIN}/${name}`, `${truncated}/${name}`);
  }
  const bytes = await Deno.readFile(`${STANDIN}/transformer.onnx`);
  await Deno.writeFile(`${truncated}/transformer.onnx`, bytes.subarray(0, 5000));
  const cases: [string[], RegExp][] = [
    [["--class", "eleven"], /unknown class 'eleven'/],
    [["--steps", "0"], /steps must be/],
    [["--steps", "257"], /steps must be an integer from 1 to 256/],
    [["--steps", "two"], /--steps must be an integer, got 'two'/],
    [["--steps", "-1"], /--steps must be an integer ≥ 1, got -1/],
    [["--cfg", "-5"], /--cfg must be a number from 0 to 100, got -5/],
    [["--threads", "1000000"], /--threads must be an integer from 1 to \d+, got '1000000'/],
    [["--threads", "0"], /--threads must be an integer from 1 to/],
    [["--randomize=maybe"], /--randomize takes true or false, got 'maybe'/],
    [["--model", "/nonexistent/model"], /\/nonexistent\/model: model folder not found/],
    [["--model", truncated], /transformer.onnx: is not a usable ONNX model/],
    [["--out", "/etc/hostname/x.png"], /cannot write to \/etc\/hostname/],
    [["--out", `${dir}/missing/x.png`], /cannot write to .*missing: folder does not exist/],
    [["--cfg", "strong"], /--cfg must be a number/],
    [["--scheduler", "zigzag"], /scheduler must be one of/],
    [["--count", "0"], /--count must be an integer from 1 to 64, got '0'/],
    [["--gif", `${dir}/x.png`], /--gif must name a .gif file/],
    [["--colour", "red"], /unknown option '--colour' \('deno task generate --help'/],
    [["--prompt", "a red apple"], /'tiny-random' is class-to-image: give a class, not a prompt/],
    [["--class", "1", "--prompt", "a red apple"], /give --class or --prompt, not both/],
    [["--negative-prompt", "blue"], /--negative-prompt needs --prompt/],
    [["--cfg-ramp", "cubic"], /--cfg-ramp must be one of auto, constant, linear/],
    [["--cfg", "1e308"], /--cfg must be a number from 0 to 100, got 1e\+308/],
    [["--temperature-power", "1e308"], /--temperature-power must be a number from -10 to 10/],
    [["--seed", "9007199254740991", "--count", "2"], /--seed .* 2 images.* 9007199254740991$/],
  ];
  for (const [args, message] of cases) {
    const out = args.includes("--out") ? [] : ["--out", `${dir}/x.png`];
    const { code, err } = await cli(...args, ...out);
    assertEquals(code, 1, args.join(" "));
    assertEquals(err.length, 1, err.join("\n"));
    assert(message.test(err[0]) && err[0].startsWith("error: "), err[0]);
  }
  assertEquals(Array.from(Deno.readDirSync(dir)).length, 0);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(truncated, { recursive: true });
});

Deno.test("CLI generate: a failed run leaves no partial set and no folder it created", async () => {
  const dir = await Deno.makeTempDir();
  // A folder where image 1 of 3 should go: nothing is written, the error names that path.
  await Deno.mkdir(`${dir}/p-1.png`);
  const clash = await cli("--class", "1", "--count", "3", "--out", `${dir}/p.png`);
  assertEquals(clash.code, 1);
  assert(/cannot write .*\/p-1\.png: is a folder$/.test(clash.err[0]), clash.err[0]);
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name), ["p-1.png"]);
  await Deno.remove(`${dir}/p-1.png`);

  const fresh = `${dir}/fresh/a/b`;
  for (
    const args of [
      ["--class", "Zz"],
      ["--gif", `${dir}/x.txt`],
      ["--steps", "999"],
      ["--class", "1", "--gif", `${dir}/missing/x.gif`],
    ]
  ) {
    const { code, err } = await cli(...args, "--out", fresh);
    assertEquals([code, err.length], [1, 1], `${args.join(" ")}: ${err.join("\n")}`);
    assertEquals(Array.from(Deno.readDirSync(dir)).length, 0, args.join(" "));
  }
  // --out naming something that is not a folder (nor a .png): one clear line.
  await Deno.writeTextFile(`${dir}/notes.txt`, "keep");
  for (const out of [`${dir}/notes.txt`, "/dev/null"]) {
    const { code, err } = await cli("--class", "1", "--out", out);
    assertEquals([code, err], [1, [`error: cannot write to ${out}: exists and is not a folder`]]);
  }
  assertEquals(await Deno.readTextFile(`${dir}/notes.txt`), "keep");
  const made = await cli("--class", "1", "--count", "2", "--seed", "1", "--out", fresh);
  assertEquals(made.code, 0, made.err.join("\n"));
  assertEquals(made.out.length, 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CLI generate: --batch bounds the rows per forward and leaves the images unchanged", async () => {
  const dir = await Deno.makeTempDir();
  const run = async (batch: string) => {
    const out = `${dir}/b${batch}`;
    const { code, err } = await cli(
      "--class",
      "1,2,3,4,5",
      "--seed",
      "8",
      "--batch",
      batch,
      "--out",
      out,
    );
    assertEquals(code, 0, err.join("\n"));
    return Array.from(Deno.readDirSync(out), (e) => e.name).sort().map((name) =>
      Deno.readFileSync(`${out}/${name}`)
    );
  };
  assertEquals(await run("2"), await run("5"));
  // The library caps each forward at the batch (twice that with guidance).
  const rows: number[] = [];
  const counting = {
    ...model,
    transformer: {
      selectsPositions: model.transformer.selectsPositions,
      run: (input: Parameters<typeof model.transformer.run>[0]) => {
        rows.push(input.batch);
        return model.transformer.run(input);
      },
    },
  };
  const result = await generate({ model: counting, classes: [1, 2, 3, 4, 5], batch: 2 });
  assertEquals(result.images.length, 5);
  assertEquals(Math.max(...rows), 4);
  // Previews of every batch are tiled into the same GIF frames as one batch would give.
  const gif = (batch: number) =>
    generate({ model, classes: [1, 2, 3], batch, previewEvery: 4, settings: { seed: 2 } });
  assertEquals((await gif(1)).gif, (await gif(3)).gif);
  const huge = await cli(
    "--class",
    Array.from({ length: 17 }, (_, i) => i % 10).join(","),
    "--count",
    "64",
  );
  assertEquals(huge.err, [
    "error: at most 1024 images per run, asked for 1088 (classes × --count)",
  ]);
  assertEquals((await cli("--batch", "0")).err, [
    "error: --batch must be an integer from 1 to 64, got '0'",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task generate runs as the README says (a real process, real permissions)", async () => {
  const dir = await Deno.makeTempDir();
  const run = (seed: string, file: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "generate", "--class", "1", "--seed", seed, "--out", `${dir}/${file}`],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run("3", "a.png");
  assertEquals(ok.code, 0, new TextDecoder().decode(ok.stderr));
  assertEquals(new TextDecoder().decode(ok.stdout).trim(), `${dir}/a.png`);
  const bad = await run("3", "nope/a.png");
  assertEquals(bad.code, 1);
  const lines = new TextDecoder().decode(bad.stderr).trim().split("\n");
  assertEquals(lines.length, 1, lines.join("\n"));
  await Deno.remove(dir, { recursive: true });
});
