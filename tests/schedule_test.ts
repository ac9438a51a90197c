import {
  amusedCounts,
  confidenceCounts,
  COUNT_MODES,
  guidanceWeight,
  haltonCounts,
  inverseTemperature,
  progress,
} from "../src/schedule.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

const GRIDS = [1, 2, 4, 8, 16, 24, 32];

function expectIncreasing(counts: Int32Array, tokens: number, strict: boolean, label: string) {
  assertEquals(counts[counts.length - 1], tokens, label);
  counts.forEach((count, s) => {
    assert(count >= s + 1 && count <= tokens, `${label} step ${s}`);
    if (s > 0) {
      assert(strict ? count > counts[s - 1] : count >= counts[s - 1], `${label} step ${s}`);
    }
  });
}

Deno.test("Halton counts follow the arccos formula, at least s+1, ending at N", () => {
  for (const [tokens, steps] of [[256, 32], [256, 12], [576, 32], [1024, 8], [4096, 64]]) {
    const counts = haltonCounts(tokens, steps);
    for (let s = 0; s < steps - 1; s++) {
      const r = Math.floor((1 - Math.acos((s + 1) / steps) / (Math.PI / 2)) * tokens);
      assertEquals(counts[s], Math.max(s + 1, r), `N=${tokens} S=${steps} s=${s}`);
    }
  }
  assertEquals(Array.from(haltonCounts(256, 4)), [41, 85, 138, 256]);
});

Deno.test("Confidence counts follow each curve, at least s+1, ending at N", () => {
  const curves: Record<string, (r: number) => number> = {
    arccos: (r) => 1 - Math.acos(r) * 2 / Math.PI,
    cosine: (r) => 1 - Math.cos(r * Math.PI / 2),
    linear: (r) => r,
    square: (r) => r ** 2,
    root: (r) => r ** 0.5,
  };
  for (const mode of COUNT_MODES.filter((m) => m !== "amused")) {
    for (const [tokens, steps] of [[256, 12], [256, 32], [1024, 16]]) {
      const counts = confidenceCounts(tokens, steps, mode);
      for (let s = 0; s < steps - 1; s++) {
        const t = Math.floor(curves[mode](s / (steps - 1)) * tokens);
        assertEquals(counts[s], Math.max(t, s + 1), `${mode} N=${tokens} S=${steps} s=${s}`);
      }
    }
  }
  assertEquals(Array.from(confidenceCounts(256, 3, "linear")), [1, 128, 256]);
});

Deno.test("amused counts: N − ⌊N·cos(π/2·(s+1)/S)⌋ known after step s, the rest at the end", () => {
  for (const [tokens, steps] of [[256, 12], [1024, 12], [256, 32]]) {
    const counts = confidenceCounts(tokens, steps, "amused");
    for (let s = 0; s < steps - 1; s++) {
      const masked = Math.floor(tokens * Math.cos(Math.PI / 2 * (s + 1) / steps));
      assertEquals(counts[s], tokens - masked, `N=${tokens} S=${steps} s=${s}`);
    }
    assertEquals(counts[steps - 1], tokens);
  }
  // The clamp keeps one token masked until the last step and unmasks one per step at least.
  assertEquals(Array.from(amusedCounts(4, 4)), [1, 2, 3, 4]);
  assertEquals(Array.from(amusedCounts(256, 12)).slice(0, 3), [3, 9, 20]);
});

Deno.test("every S from 1 to N gives a complete schedule (S = 1 unmasks everything)", () => {
  for (const n of GRIDS) {
    const tokens = n * n;
    for (let steps = 1; steps <= tokens; steps++) {
      expectIncreasing(haltonCounts(tokens, steps), tokens, true, `halton ${tokens}/${steps}`);
      for (const mode of COUNT_MODES) {
        // Only the concave root curve can repeat a count (an empty step), as officially.
        const counts = confidenceCounts(tokens, steps, mode);
        expectIncreasing(counts, tokens, mode !== "root", `${mode} ${tokens}/${steps}`);
      }
    }
    assertEquals(Array.from(haltonCounts(tokens, 1)), [tokens]);
    assertEquals(Array.from(confidenceCounts(tokens, 1, "arccos")), [tokens]);
    assertEquals(
      Array.from(haltonCounts(tokens, tokens)),
      Array.from({ length: tokens }, (_, i) => i + 1),
    );
  }
});

Deno.test("steps outside 1…N are refused with a clear error", () => {
  for (const steps of [0, -1, 257, 1.5, NaN]) {
    assertThrows(() => haltonCounts(256, steps), /steps must be an integer from 1 to 256/);
    assertThrows(() => confidenceCounts(256, steps, "arccos"), /steps must be an integer/);
  }
  assertThrows(() => confidenceCounts(256, 8, "cubic" as never), /count mode must be one of/);
});

Deno.test("inverse temperature reproduces the official linspace ** pow, halved in warm-up", () => {
  // Official: sm_temp_min 1, sm_temp_max 1.2, temp_pow 2, temp_warmup 3, 32 steps.
  const t = { start: 1 / 1, end: 1 / 1.2, power: 2, warmup: 3 };
  for (let s = 0; s < 32; s++) {
    const official = (1 + (1.2 - 1) * s / 31) ** 2 * (s < 3 ? 0.5 : 1);
    assert(Math.abs(inverseTemperature(t, s, 32) - official) < 1e-12, `step ${s}`);
  }
  // Constant temperature T gives β = 1/T at every step, a single step uses the start value.
  assertEquals(inverseTemperature({ start: 0.5, end: 0.5, power: 1, warmup: 0 }, 7, 10), 2);
  assertEquals(inverseTemperature({ start: 2, end: 1, power: 1, warmup: 0 }, 0, 1), 0.5);
});

Deno.test("guidance is constant for Halton and ramps linearly for Confidence", () => {
  for (let s = 0; s < 12; s++) {
    assertEquals(guidanceWeight(3, "constant", s, 12), 3);
    assertEquals(guidanceWeight(3, "linear", s, 12), 3 * (s / 11));
  }
  assertEquals(guidanceWeight(3, "linear", 0, 1), 3);
  assertEquals([progress(0, 1), progress(0, 5), progress(2, 5)], [1, 0, 0.5]);
});
