import { frechetDistance, moments, momentsOf, momentSums } from "../src/eval/frechet.ts";
import { decodeTally, encodeTally, mergeTallies, type Tally } from "../src/eval/tally.ts";
import { Rng } from "../src/rng.ts";
import { assert, assertEquals } from "./assert.ts";

const DIM = 5;

function rows(rng: Rng, count: number): Float64Array {
  return Float64Array.from({ length: count * DIM }, (_, i) => (i % DIM) + 3 * rng.uniform());
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): boolean {
  return Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tolerance * (1 + Math.abs(b[i])));
}

Deno.test("tally: shards of uneven sizes merge to the whole set's moments and counts", () => {
  const rng = new Rng(7);
  const all = rows(rng, 103);
  const cuts = [0, 1, 2, 40, 77, 103];
  const shards: Tally[] = cuts.slice(1).map((end, s) => ({
    counts: { samples: end - cuts[s], hits: s },
    moments: { features: momentSums(all.subarray(cuts[s] * DIM, end * DIM), DIM) },
  }));
  // Through the wire format, in an arbitrary order, as a coordinator receives them.
  const merged = [3, 0, 4, 2, 1]
    .map((s) => decodeTally(JSON.parse(JSON.stringify(encodeTally(shards[s])))))
    .reduce(mergeTallies);
  assertEquals(merged.counts, { samples: 103, hits: 0 + 1 + 2 + 3 + 4 });
  const whole = moments(all, DIM);
  const sharded = momentsOf(merged.moments.features);
  assert(close(sharded.mean, whole.mean, 1e-12));
  assert(close(sharded.covariance, whole.covariance, 1e-12));
  const reference = moments(rows(rng, 50), DIM);
  const [a, b] = [frechetDistance(sharded, reference), frechetDistance(whole, reference)];
  assert(Math.abs(a - b) <= 1e-9 * b, `${a} vs ${b}`);
});

Deno.test("tally: the wire format keeps the scatter's upper half only, and restores it whole", () => {
  const sums = momentSums(rows(new Rng(3), 9), DIM);
  const json = encodeTally({ counts: {}, moments: { f: sums } });
  const bytes = atob(json.moments.f.scatter).length;
  assertEquals(bytes, 8 * DIM * (DIM + 1) / 2);
  assertEquals(decodeTally(json).moments.f, sums);
});
