import {
  countInside,
  inceptionScoreOf,
  inceptionSums,
  manifold,
  softmaxRows,
} from "../src/eval/manifold.ts";
import { Rng } from "../src/rng.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

function assertAlmostEquals(actual: number, expected: number, tolerance: number): void {
  assert(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} ± ${tolerance}`);
}

/** Kynkäänniemi et al.'s pair, as the evaluator makes it from manifolds and counts. */
function precisionRecall(real: Float64Array, generated: Float64Array, dim: number, k = 3) {
  return {
    precision: countInside(manifold(real, dim, k), generated) / (generated.length / dim),
    recall: countInside(manifold(generated, dim, k), real) / (real.length / dim),
  };
}

const inceptionScore = (probabilities: Float64Array, classes: number) =>
  inceptionScoreOf(inceptionSums(probabilities, classes));

Deno.test("precision/recall: hand-made sets with known answers", () => {
  // Real 0…40 by 10 (k = 1: radius 10); generated two near 0 and a far pair (radius 1).
  const real = Float64Array.of(0, 10, 20, 30, 40);
  assertEquals(precisionRecall(real, Float64Array.of(0, 1, 100, 101), 1, 1), {
    precision: 0.5,
    recall: 0.2,
  });
  // A set against itself: every point is inside its own ball.
  assertEquals(precisionRecall(real, real, 1, 3), { precision: 1, recall: 1 });
  // 2-d: a generated point exactly on a ball's edge counts as inside; one just past it not.
  const square = Float64Array.of(0, 0, 1, 0, 0, 1, 1, 1); // k = 1 radius 1 for each corner
  assertEquals(
    precisionRecall(square, Float64Array.of(2, 0, 2.01, 1, 5, 5), 2, 1).precision,
    1 / 3,
  );
});

Deno.test("precision/recall: a generator that copies half the real modes has full precision, half recall", () => {
  // Two well-separated clusters of real points; generated points only from the first.
  const rng = new Rng(3);
  const cluster = (centre: number, n: number) =>
    Array.from({ length: n * 2 }, () => centre + rng.uniform());
  const real = Float64Array.from([...cluster(0, 50), ...cluster(100, 50)]);
  const generated = Float64Array.from(cluster(0, 50));
  const { precision, recall } = precisionRecall(real, generated, 2);
  assertEquals(precision, 1);
  assertAlmostEquals(recall, 0.5, 0.05);
  assertThrows(() => precisionRecall(real, Float64Array.of(1, 2, 3, 4), 2), /more than k = 3/);
});

Deno.test("Inception-score analogue: confident and spread → the class count; uniform → 1", () => {
  const classes = 4;
  const oneHot = new Float64Array(8 * classes);
  for (let i = 0; i < 8; i++) oneHot[i * classes + (i % classes)] = 1;
  assertAlmostEquals(inceptionScore(oneHot, classes), 4, 1e-12);
  assertAlmostEquals(inceptionScore(new Float64Array(8 * classes).fill(0.25), classes), 1, 1e-12);
  // All images certain of the same class: no spread, score 1.
  const same = new Float64Array(8 * classes);
  for (let i = 0; i < 8; i++) same[i * classes] = 1;
  assertAlmostEquals(inceptionScore(same, classes), 1, 1e-12);
  // Half-confident: p(y|x) = (0.5, 0.5, 0, 0) and (0, 0, 0.5, 0.5) → KL = ln 2 → 2.
  assertAlmostEquals(
    inceptionScore(Float64Array.of(0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5), classes),
    2,
    1e-12,
  );
  const p = softmaxRows(Float32Array.of(0, Math.log(3), 1000, 1000), 2);
  assertEquals(Array.from(p).map((v) => Math.round(v * 1e6) / 1e6), [0.25, 0.75, 0.5, 0.5]);
});
