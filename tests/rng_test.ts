import { Rng } from "../src/rng.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./assert.ts";

function take(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextUint32());
}

Deno.test("xoshiro128** matches the reference outputs for state [1, 2, 3, 4]", () => {
  assertEquals(take(Rng.fromState([1, 2, 3, 4]), 6), [
    11520,
    0,
    5927040,
    70819200,
    2031721883,
    1637235492,
  ]);
});

Deno.test("SplitMix32 seeding gives the documented state (checked against a Python port)", () => {
  assertEquals(new Rng(42).state, [939911724, 3948730756, 321366731, 3317318717]);
  assertEquals(take(new Rng(42), 4), [2837322924, 544945897, 479756282, 3500138142]);
  // Seeds above 2^32 use their high half too.
  assertEquals(take(new Rng(2 ** 40 + 7), 2), [1004282400, 2405390555]);
  assertNotEquals(take(new Rng(7), 4), take(new Rng(2 ** 32 + 7), 4));
});

Deno.test("same seed, same stream; different seeds, different streams", () => {
  assertEquals(take(new Rng(123), 100), take(new Rng(123), 100));
  assertNotEquals(take(new Rng(123), 100), take(new Rng(124), 100));
  const a = new Rng(9);
  take(a, 10);
  assertEquals(take(Rng.fromState(a.state), 10), take(a, 10));
  for (const bad of [-1, 0.5, 2 ** 53, NaN]) assertThrows(() => new Rng(bad), /seed must be/);
});

Deno.test("uniform lies in [0, 1) with mean 1/2; int is in range and unbiased", () => {
  const rng = new Rng(1);
  let sum = 0;
  const draws = 100_000;
  for (let i = 0; i < draws; i++) {
    const u = rng.uniform();
    assert(u >= 0 && u < 1);
    sum += u;
  }
  assert(Math.abs(sum / draws - 0.5) < 0.005);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[rng.int(7)]++;
  assert(chiSquare(counts, new Array(7).fill(10_000)) < 22.46); // p = 0.001, 6 dof
});

Deno.test("Gumbel draws have mean ≈ Euler–Mascheroni 0.5772 and variance ≈ π²/6", () => {
  const rng = new Rng(5);
  const draws = 200_000;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < draws; i++) {
    const g = rng.gumbel();
    assert(Number.isFinite(g));
    sum += g;
    squares += g * g;
  }
  const mean = sum / draws;
  assert(Math.abs(mean - 0.5772156649) < 0.01, `mean ${mean}`);
  assert(Math.abs(squares / draws - mean * mean - Math.PI ** 2 / 6) < 0.03);
});

function chiSquare(observed: number[], expected: number[]): number {
  return observed.reduce((sum, o, i) => sum + (o - expected[i]) ** 2 / expected[i], 0);
}

Deno.test("categorical sampling passes a chi-square test against softmax(logits · β)", () => {
  const logits = Float32Array.of(0.5, -1, 2, 0, 1.5, -0.25);
  for (const beta of [1, 0.5, 2]) {
    const rng = new Rng(77);
    const weights = Array.from(logits, (l) => Math.exp(l * beta));
    const total = weights.reduce((a, b) => a + b);
    const draws = 60_000;
    const counts = new Array(logits.length).fill(0);
    for (let i = 0; i < draws; i++) {
      const { token, probability } = rng.categorical(logits, beta);
      assert(Math.abs(probability - weights[token] / total) < 1e-9);
      counts[token]++;
    }
    const expected = weights.map((w) => w / total * draws);
    assert(chiSquare(counts, expected) < 20.52, `β=${beta}`); // p = 0.001, 5 dof
  }
});

Deno.test("top-k never emits a token outside the k largest logits, and renormalises", () => {
  const rng = new Rng(3);
  const logits = new Float32Array(50).map((_, i) => Math.sin(i * 12.9898) * 3);
  const ranked = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  for (const k of [1, 2, 5, 20]) {
    const allowed = new Set(ranked.slice(0, k));
    const topWeights = ranked.slice(0, k).map((i) => Math.exp(logits[i]));
    const total = topWeights.reduce((a, b) => a + b);
    for (let i = 0; i < 2_000; i++) {
      const { token, probability } = rng.categorical(logits, 1, k);
      assert(allowed.has(token), `k=${k} drew ${token}`);
      assert(Math.abs(probability - Math.exp(logits[token]) / total) < 1e-9);
    }
  }
  // k ≥ vocabulary is plain sampling; ties keep the lower index.
  assertEquals(rng.categorical(Float32Array.of(1, 5, 5, 0), 1, 1).token, 1);
});

Deno.test("a very low temperature picks the argmax; bad logits or β give clear errors", () => {
  const rng = new Rng(0);
  for (let i = 0; i < 100; i++) {
    assertEquals(rng.categorical(Float32Array.of(1, 3, 2.9), 1e4).token, 1);
  }
  assertThrows(() => rng.categorical(Float32Array.of(1, NaN), 1), /NaN or infinite/);
  assertThrows(() => rng.categorical(Float32Array.of(1, Infinity), 1), /NaN or infinite/);
  assertThrows(() => rng.categorical(Float32Array.of(1, 2), 0), /inverse temperature/);
  assertThrows(() => rng.categorical(new Float32Array(0), 1), /at least one/);
});

Deno.test("shuffle is a permutation and depends on the seed", () => {
  const a = new Rng(1).shuffle(Int32Array.from({ length: 64 }, (_, i) => i));
  assertEquals(Array.from(a).sort((x, y) => x - y), Array.from({ length: 64 }, (_, i) => i));
  assertNotEquals(a, new Rng(2).shuffle(Int32Array.from({ length: 64 }, (_, i) => i)));
});

Deno.test("categorical reports the entropy of the distribution it drew from", () => {
  const rng = new Rng(3);
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  assert(close(rng.categorical(new Float32Array(8), 1).entropy, Math.log(8)));
  assert(close(rng.categorical(new Float32Array(8), 1, 2).entropy, Math.log(2)));
  assert(rng.categorical(Float32Array.of(0, 200, 0), 1).entropy < 1e-12);
  const logits = Float32Array.of(0.3, -1.2, 2.5, 0.7);
  const beta = 1.7;
  const weights = Array.from(logits, (l) => Math.exp(beta * l));
  const sum = weights.reduce((a, b) => a + b, 0);
  const expected = -weights.reduce((h, w) => h + (w / sum) * Math.log(w / sum), 0);
  assert(close(rng.categorical(logits, beta).entropy, expected));
});
