/**
 * The shipped glyph model: ONNX Runtime matches PyTorch, `generate` draws the glyph asked
 * for, and `deno task eval` scores well above chance (a reduced sample count for CI).
 */
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { evaluate, loadEvaluator } from "../src/eval/evaluator.ts";
import { render } from "../src/generate.ts";
import { classNames, DEFAULT_MODEL_DIR, loadModel } from "../src/model.ts";
import { main } from "../main.ts";
import { assert, assertEquals } from "./assert.ts";
import { assertModelMatchesReference } from "./reference.ts";

const GLYPHS = new URL("../models/glyphs", import.meta.url).pathname;
const model = await loadModel(GLYPHS, { backend: nodeBackend });
const evaluator = await loadEvaluator(model, { backend: nodeBackend });

Deno.test("glyphs is the default model and its manifest has the 62 classes", () => {
  assertEquals(DEFAULT_MODEL_DIR, GLYPHS);
  assertEquals(
    classNames(model.manifest).join(""),
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
  );
  assertEquals([model.manifest.grid, model.manifest.image.channels], [16, 1]);
});

Deno.test("ONNX Runtime reproduces the PyTorch outputs recorded at export", async () => {
  await assertModelMatchesReference(model);
});

Deno.test("the classifier reads real held-out fonts well, and generated glyphs as asked", async () => {
  const real = evaluator.heldOut.accuracy;
  assert(real >= 0.9, `held-out accuracy ${real}`);
  // The README's first command: --class A --seed 1.
  const { pictures } = await render({ model, classes: ["A"], settings: { seed: 1 } });
  const { ranked } = await evaluator.classify(pictures);
  assertEquals(classNames(model.manifest)[ranked[0]], "A");
});

Deno.test("eval: Halton images are mostly read as their class (reduced sample count)", async () => {
  const report = await evaluate({
    model,
    evaluator,
    samples: 62,
    settings: { steps: 16, seed: 0 },
  });
  assertEquals([report.scheduler, report.steps, report.samples], ["halton", 16, 62]);
  assert(report.accuracy >= 0.6, `accuracy ${report.accuracy} (chance is 1/62)`);
  assert(report.top5 >= report.accuracy && report.top5 >= 0.9, `top-5 ${report.top5}`);
  const { realHeldOut: held, realTrainSample: train } = report;
  assert(held.top5 >= held.accuracy);
  // Generated glyphs lie further from the held-out fonts than real training fonts do, but
  // within a few times that floor: the bound is not vacuous.
  const { frechet } = report;
  const floor = train.frechet;
  assert(floor > 0 && floor < frechet && frechet < 4 * floor, `Fréchet ${frechet}, floor ${floor}`);
  // Every real held-out glyph lies in its own set's manifold; other sets only partly.
  assertEquals([held.precision, held.recall], [1, 1]);
  for (const x of [report.precision, report.recall, train.precision, train.recall]) {
    assert(x > 0.3 && x <= 1, `precision/recall ${x}`);
  }
  // 62 classes read evenly and fairly confidently (the classifier learnt with label smoothing).
  const scores = `IS ${held.inceptionScore} real, ${report.inceptionScore} generated`;
  assert(held.inceptionScore > 30 && report.inceptionScore > 20, scores);
});

Deno.test("deno task eval --json prints one JSON object with the report's fields", async () => {
  const printed: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (text: string) => printed.push(text);
  console.error = () => {};
  try {
    const code = await main([
      "eval",
      "--scheduler",
      "random",
      "--steps",
      "4",
      "--samples",
      "8",
      "--json",
    ]);
    assertEquals(code, 0);
  } finally {
    [console.log, console.error] = [log, error];
  }
  assertEquals(printed.length, 1);
  const report = JSON.parse(printed[0]);
  for (
    const key of [
      "accuracy",
      "top5",
      "frechet",
      "samples",
      "scheduler",
      "steps",
      "precision",
      "recall",
      "inceptionScore",
      "realHeldOut",
      "realTrainSample",
    ]
  ) {
    assert(key in report, key);
  }
  assertEquals([report.scheduler, report.steps, report.samples], ["random", 4, 8]);
});
