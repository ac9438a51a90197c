// Evaluation shards (eval --queue) add up to the whole run: the tally's merge and wire format,
// and every figure of the glyph evaluator from merged shards against the same images at once.
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { loadEvaluator, type Reading, TOP_K } from "../src/eval/evaluator.ts";
import { decodeTally, encodeTally, mergeTallies, type Tally } from "../src/eval/tally.ts";
import { render } from "../src/generate.ts";
import { loadModel } from "../src/model.ts";
import { assert, assertEquals } from "./assert.ts";

/** Through JSON, as a queue job's result travels. */
const wire = (tally: Tally) => decodeTally(JSON.parse(JSON.stringify(encodeTally(tally))));

Deno.test("tally: counts and vectors add, rows concatenate in order, all exact through JSON", () => {
  const a: Tally = {
    counts: { samples: 2, plogp: -0.1 },
    sums: { p: Float64Array.of(0.25, 1.75) },
    rows: { features: { dim: 2, data: Float32Array.of(0.1, 1, 2, 3) } },
  };
  const b: Tally = {
    counts: { samples: 1, plogp: -0.2 },
    sums: { p: Float64Array.of(1, 0) },
    rows: { features: { dim: 2, data: Float32Array.of(4, 5.5) } },
  };
  const json = encodeTally(a);
  // Rows travel as float32 (4 bytes a value), vectors as float64.
  assertEquals(atob(json.rows.features.data).length, 4 * 4);
  assertEquals(atob(json.sums.p).length, 2 * 8);
  assertEquals(wire(a), a);
  assertEquals(mergeTallies(wire(a), wire(b)), {
    counts: { samples: 3, plogp: -0.1 + -0.2 },
    sums: { p: Float64Array.of(1.25, 1.75) },
    rows: { features: { dim: 2, data: Float32Array.of(0.1, 1, 2, 3, 4, 5.5) } },
  });
});

Deno.test("tally: glyph shards of uneven sizes merge into the whole set's figures, every one", async () => {
  const load = { backend: nodeBackend, threads: 1 };
  const model = await loadModel(new URL("../models/glyphs", import.meta.url).pathname, load);
  const evaluator = await loadEvaluator(model, load);
  const labels = Array.from({ length: 24 }, (_, i) => evaluator.targets[(5 * i) % 62]);
  const { pictures } = await render({
    model,
    ...evaluator.condition(labels),
    settings: { steps: 4, seed: 3 },
  });
  const whole = await evaluator.classify(pictures);
  const classes = whole.probabilities.length / labels.length;
  const slice = (start: number, end: number): Reading => ({
    ranked: whole.ranked.subarray(start * TOP_K, end * TOP_K),
    probabilities: whole.probabilities.subarray(start * classes, end * classes),
    features: whole.features.subarray(start * whole.dim, end * whole.dim),
    dim: whole.dim,
  });
  const cuts = [0, 1, 2, 9, 17, 24];
  const merged = cuts.slice(1)
    .map((end, s) => wire(evaluator.tally(slice(cuts[s], end), labels.slice(cuts[s], end))))
    .reduce(mergeTallies);
  const [sharded, expected] = [
    evaluator.figures(merged),
    evaluator.figures(evaluator.tally(whole, labels)),
  ];
  // The Inception-score sums are added in another order; everything else is the same numbers.
  const is = [sharded.inceptionScore, expected.inceptionScore];
  assert(Math.abs(is[0] - is[1]) <= 1e-12 * is[1], `IS ${is[0]} vs ${is[1]}`);
  assertEquals({ ...sharded, inceptionScore: 0 }, { ...expected, inceptionScore: 0 });
  assert(expected.precision > 0 && expected.recall > 0, JSON.stringify(expected));
});
