// Command-line parsing: --help from the option tables, negative numbers, boolean negation.
import { runCli } from "./cli.ts";
import { KNOBS } from "../src/knobs.ts";
import { parseOptions } from "../src/cli/options.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./assert.ts";

const STANDIN = new URL("../models/tiny-random", import.meta.url).pathname;

/** Runs the CLI in-process; returns its exit code and what it printed. */
async function cli(...args: string[]) {
  const { code, out, err } = await runCli(...args);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("options: --help and -h print every option of every command and exit 0", async () => {
  const generating = ["generate", "eval", "analyze", "bench"];
  for (const command of ["halton", ...generating, "serve", "worker"]) {
    for (const flag of ["--help", "-h"]) {
      // A broken option beside --help does not stop the help.
      const { code, out, err } = await cli(command, "--steps", "oops", flag);
      assertEquals(code, 0, `${command} ${flag}: ${err}`);
      assert(out.startsWith(`usage: deno task ${command} [options]`), out);
      assert(out.includes("-h, --help"), out);
      if (command !== "halton") assert(out.includes("--threads N"), `${command}: ${out}`);
    }
  }
  for (const command of generating) {
    const { out } = await cli(command, "--help");
    // The knob table is the one source: every knob with its own help line.
    for (const knob of KNOBS) {
      const line = out.split("\n").find((l) => new RegExp(`^  --${knob.name}[ ,]`).test(l));
      assert(line?.endsWith(knob.help), `${command} --${knob.name}: ${line}`);
    }
    assert(out.includes("--randomize, --no-randomize"), out);
  }
  // The queue's options have help lines wherever they are taken.
  for (const command of ["generate", "eval", "serve", "worker"]) {
    const { out } = await cli(command, "--help");
    assert(out.includes("--queue redis://H:P"), `${command}: ${out}`);
  }
  for (const command of ["generate", "eval"]) {
    const { out } = await cli(command, "--help");
    assert(out.includes("--shard-size N") && out.includes("--attempts N"), `${command}: ${out}`);
  }
  const serve = (await cli("serve", "--help")).out;
  for (const flag of ["--queue-size N", "--api-key KEY", "models/emoji"]) {
    assert(serve.includes(flag), serve);
  }
  const worker = (await cli("worker", "--help")).out;
  for (const flag of ["--lock-duration MS", "--stalled-interval MS", "--concurrency N"]) {
    assert(worker.includes(flag), worker);
  }
  // Each model's evaluator says how many samples it scores by default: not 620 for all.
  assert((await cli("eval", "--help")).out.includes("the model's eval.json"));
  const top = await cli("--help");
  assertEquals(top.code, 0);
  assert(top.err.includes("'deno task <command> --help'"), top.err);
});

Deno.test("options: negative numbers reach the range check; booleans can be negated", () => {
  const table = {
    cfg: { type: "string", help: "" },
    randomize: { type: "boolean", help: "" },
  } as const;
  assertEquals(parseOptions("x", ["--cfg", "-5"], table), { cfg: "-5" });
  assertEquals(parseOptions("x", ["--cfg", "-.5"], table), { cfg: "-.5" });
  assertEquals(parseOptions("x", ["--no-randomize"], table), { randomize: false });
  assertEquals(parseOptions("x", ["--randomize=false"], table), { randomize: false });
  assertEquals(parseOptions("x", ["--randomize=true"], table), { randomize: true });
  assertEquals(parseOptions("x", ["--randomize"], table), { randomize: true });
  // A value that only starts with a dash is still refused (not a number).
  assertThrows(() => parseOptions("x", ["--cfg", "-x"], table), /ambiguous/);
  assertThrows(() => parseOptions("x", ["--size"], table), /'deno task x --help' lists/);
});

Deno.test("options: --no-randomize overrides a manifest's randomize: true", async () => {
  const folder = await Deno.makeTempDir();
  try {
    for (const entry of Deno.readDirSync(STANDIN)) {
      await Deno.copyFile(`${STANDIN}/${entry.name}`, `${folder}/${entry.name}`);
    }
    const manifest = JSON.parse(await Deno.readTextFile(`${STANDIN}/model.json`));
    manifest.defaults.randomize = true;
    await Deno.writeTextFile(`${folder}/model.json`, JSON.stringify(manifest));
    const png = async (model: string, ...args: string[]) => {
      const out = `${folder}/out-${crypto.randomUUID()}.png`;
      const run = await cli(
        "generate",
        "--quiet",
        "--model",
        model,
        "--seed",
        "5",
        "--out",
        out,
        ...args,
      );
      assertEquals(run.code, 0, run.err);
      return await Deno.readFile(out);
    };
    const plain = await png(STANDIN);
    assertNotEquals(await png(folder), plain); // the manifest's randomize is in effect
    assertEquals(await png(folder, "--no-randomize"), plain);
    assertEquals(await png(folder, "--randomize=false"), plain);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
