import {
  computeHaltonOrder,
  haltonCell,
  haltonOrder,
  orderToPairs,
  pairsToOrder,
  radicalInverse,
  rollOrder,
} from "../src/halton.ts";
import { HALTON_TABLES } from "../src/tables/mod.ts";
import { TABLE_GRIDS, tableJson } from "../scripts/build-tables.ts";
import { main } from "../main.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

/**
 * The official code's construction, re-derived independently: the incremental
 * van der Corput generator in float64, stored as float32 (torch's default dtype), scaled by
 * n in float32, floored, first occurrences kept, 10,000 points.
 */
function officialOrder(n: number, points = 10_000): number[] {
  const sequence = (base: number) => {
    const values: number[] = [];
    let num = 0;
    let den = 1;
    for (let i = 0; i < points; i++) {
      const x = den - num;
      if (x === 1) {
        num = 1;
        den *= base;
      } else {
        let y = Math.floor(den / base);
        while (x <= y) y = Math.floor(y / base);
        num = (base + 1) * y - x;
      }
      values.push(num / den);
    }
    return values;
  };
  const u = sequence(2);
  const v = sequence(3);
  const seen = new Set<number>();
  const order: number[] = [];
  for (let i = 0; i < points; i++) {
    const row = Math.floor(Math.fround(Math.fround(u[i]) * n));
    const col = Math.floor(Math.fround(Math.fround(v[i]) * n));
    const position = row * n + col;
    if (!seen.has(position)) {
      seen.add(position);
      order.push(position);
    }
  }
  return order;
}

Deno.test("radical inverse mirrors the digits exactly", () => {
  assertEquals(radicalInverse(0, 2), [0, 1]);
  assertEquals(radicalInverse(1, 2), [1, 2]);
  assertEquals(radicalInverse(6, 2), [3, 8]);
  assertEquals(radicalInverse(1, 3), [1, 3]);
  assertEquals(radicalInverse(5, 3), [7, 9]); // 5 = 12₃ → 0.21₃ = 7/9
  assertThrows(() => radicalInverse(-1, 2), RangeError);
});

Deno.test("first Halton cells of the 16×16 grid", () => {
  assertEquals(haltonCell(1, 16), [8, 5]);
  assertEquals(orderToPairs(haltonOrder(16), 16).slice(0, 5), [[8, 5], [4, 10], [12, 1], [2, 7], [
    10,
    12,
  ]]);
});

Deno.test("every order covers its grid once, 64×64 needing 10,363 points", () => {
  for (let n = 1; n <= 70; n++) {
    const { order } = computeHaltonOrder(n);
    assertEquals(order.length, n * n);
    assertEquals(new Set(order).size, n * n, `grid ${n} has duplicates`);
    assert(order.every((p) => p >= 0 && p < n * n));
  }
  assertEquals(computeHaltonOrder(64).points, 10_363);
});

Deno.test("identical to the official 10,000-point construction wherever that covers the grid", () => {
  const uncovered: number[] = [];
  for (let n = 1; n <= 64; n++) {
    const official = officialOrder(n);
    const ours = Array.from(haltonOrder(n));
    if (official.length < n * n) uncovered.push(n);
    // Where the official walk stops short, ours continues it: its order is our prefix.
    assertEquals(ours.slice(0, official.length), official, `grid ${n}`);
  }
  assert(uncovered.includes(64) && !uncovered.some((n) => [8, 16, 24, 32, 48].includes(n)));
  assertEquals(officialOrder(64).length, 64 * 64 - 6);
});

Deno.test("shipped table assets equal the generator", async () => {
  assertEquals([...HALTON_TABLES.keys()], [...TABLE_GRIDS]);
  for (const n of TABLE_GRIDS) {
    const table = HALTON_TABLES.get(n)!;
    const { order, points } = computeHaltonOrder(n);
    assertEquals(table.grid, n);
    assertEquals(table.points, points);
    assertEquals(table.order, orderToPairs(order, n));
    const file = await Deno.readTextFile(
      new URL(`../src/tables/halton-${n}.json`, import.meta.url),
    );
    assertEquals(
      file,
      tableJson(n),
      `src/tables/halton-${n}.json is stale: deno task build:tables`,
    );
  }
});

Deno.test("haltonOrder uses tables where they exist and computes elsewhere", () => {
  assertEquals(haltonOrder(16), pairsToOrder(HALTON_TABLES.get(16)!.order, 16));
  assertEquals(haltonOrder(20), computeHaltonOrder(20).order);
  assertThrows(() => haltonOrder(0), /grid size/);
  assertThrows(() => haltonOrder(2.5), /grid size/);
});

Deno.test("roll moves element k to (k + offset) mod N", () => {
  const order = haltonOrder(8);
  for (const offset of [0, 1, 17, 63, 64, -3]) {
    const rolled = rollOrder(order, offset);
    for (let k = 0; k < order.length; k++) {
      assertEquals(rolled[(((k + offset) % 64) + 64) % 64], order[k]);
    }
  }
});

Deno.test("deno task halton prints exactly the order as JSON", async () => {
  const printed: string[] = [];
  const log = console.log;
  console.log = (text: string) => printed.push(text);
  try {
    assertEquals(await main(["halton", "--grid", "24"]), 0);
  } finally {
    console.log = log;
  }
  assertEquals(printed.length, 1);
  assertEquals(JSON.parse(printed[0]), orderToPairs(haltonOrder(24), 24));
});

Deno.test("deno task halton rejects a bad grid with one line and a non-zero code", async () => {
  for (const bad of [["--grid", "0"], ["--grid", "x"], ["--grid", "-4"], [], ["--grid=3.5"]]) {
    const errors: string[] = [];
    const error = console.error;
    console.error = (text: string) => errors.push(text);
    try {
      assertEquals(await main(["halton", ...bad]), 1, bad.join(" "));
    } finally {
      console.error = error;
    }
    assertEquals(errors.length, 1);
    assert(/^error: .*grid/.test(errors[0]) && !errors[0].includes("\n"), errors[0]);
  }
});
