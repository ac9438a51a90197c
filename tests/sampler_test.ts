import { haltonOrder, rollOrder } from "../src/halton.ts";
import { Rng } from "../src/rng.ts";
import { sample, type SampleOptions, type StepEvent } from "../src/sampler.ts";
import { SCHEDULER_NAMES, SCHEDULERS } from "../src/scheduler/mod.ts";
import { resolveSettings, SettingError, type SettingsInput } from "../src/settings.ts";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "./assert.ts";
import { hashedLogit, syntheticPredictor } from "./synthetic.ts";

const GRID = 8;
const TOKENS = GRID * GRID;
const CODEBOOK = 10;
const MASK = CODEBOOK;

/** Runs the sampler on hashed logits, with a huge logit on the mask id, recording the events. */
async function run(
  settings: SettingsInput,
  labels = [3, 5],
  extra: Partial<SampleOptions> = {},
  selectsPositions = false,
) {
  const events: StepEvent[] = [];
  const predictor = syntheticPredictor(
    CODEBOOK + 1,
    (token, position, row, input) =>
      token === MASK ? 100 : hashedLogit(token, position, labels[input.image[row]]),
    selectsPositions,
  );
  const result = await sample({
    predictor,
    grid: GRID,
    codebookSize: CODEBOOK,
    maskId: MASK,
    images: labels.length,
    settings,
    onStep: (event) => {
      events.push({ ...event, state: event.state.slice() });
    },
    ...extra,
  });
  return { result, events, predictor };
}

const VARIANTS: SettingsInput[] = [
  {},
  { cfg: 0 },
  { cfg: 3, topK: 3 },
  { steps: 1 },
  { steps: TOKENS },
  { steps: 12, temperature: { start: 2, end: 0.5, power: 2, warmup: 3 } },
];
const CONFIDENCE_VARIANTS: SettingsInput[] = [
  { noise: "none" },
  { noise: "warm_up", countMode: "cosine" },
  { noise: "random", countMode: "square" },
  { countMode: "root", steps: 60 }, // has empty steps
  { countMode: "linear", noiseTemperature: 0 },
];

Deno.test("every position is unmasked exactly once, in the scheduled counts, never as the mask id", async () => {
  const cases = SCHEDULER_NAMES.flatMap((scheduler) => [
    ...VARIANTS.map((v) => ({ scheduler, ...v })),
    ...(scheduler === "confidence" ? CONFIDENCE_VARIANTS.map((v) => ({ scheduler, ...v })) : []),
    ...(scheduler === "halton" ? [{ scheduler, randomize: true }] : []),
  ]);
  for (const settings of cases) {
    const label = JSON.stringify(settings);
    const { result, events } = await run(settings);
    const counts = result.counts;
    assertEquals(events.length, result.settings.steps, label);
    for (let b = 0; b < 2; b++) {
      const seen = new Int32Array(TOKENS);
      events.forEach((event, s) => {
        const choice = event.choices[b];
        assertEquals(choice.positions.length, counts[s] - (s ? counts[s - 1] : 0), label);
        assertEquals(event.known, counts[s]);
        choice.positions.forEach((p, i) => {
          seen[p]++;
          assertEquals(event.state[b * TOKENS + p], choice.tokens[i]);
        });
      });
      assert(seen.every((n) => n === 1), `${label}: a position unmasked twice or never`);
    }
    assert(result.tokens.every((t) => t >= 0 && t < CODEBOOK), `${label}: token out of codebook`);
  }
});

Deno.test("Halton unmasks in table order; randomize rolls the table per sample", async () => {
  const table = Array.from(haltonOrder(GRID));
  const orderOf = (events: StepEvent[], b: number) =>
    events.flatMap((event) => Array.from(event.choices[b].positions));
  const plain = await run({ scheduler: "halton", steps: 10 }, [1, 2, 3]);
  for (let b = 0; b < 3; b++) assertEquals(orderOf(plain.events, b), table);

  const rolled = await run({ scheduler: "halton", steps: 10, randomize: true }, [1, 2, 3]);
  const offsets = [0, 1, 2].map((b) => {
    const order = orderOf(rolled.events, b);
    const offset = Array.from({ length: TOKENS }, (_, k) => k).find((k) =>
      Array.from(rollOrder(haltonOrder(GRID), k)).every((p, i) => p === order[i])
    );
    assert(offset !== undefined, `sample ${b} is not a roll of the table`);
    // The offset is the sample's first draw: seed + b.
    assertEquals(offset, new Rng(b).int(TOKENS));
    return offset;
  });
  assert(new Set(offsets).size > 1);
});

Deno.test("Random unmasks a seeded permutation that differs from Halton and across seeds", async () => {
  const orderOf = async (seed: number) =>
    (await run({ scheduler: "random", steps: 8, seed }, [0])).events.flatMap((e) =>
      Array.from(e.choices[0].positions)
    );
  const a = await orderOf(1);
  assertEquals(a, await orderOf(1));
  assertNotEquals(a, await orderOf(2));
  assertNotEquals(a, Array.from(haltonOrder(GRID)));
});

Deno.test("Confidence without noise unmasks the most probable positions first", async () => {
  // Token 0 is far ahead everywhere; its margin, hence its probability, grows with a
  // position-dependent key, so the expected order is the positions sorted by that key.
  const key = (p: number) => (p * 37) % TOKENS;
  const margin = (p: number) => 12 + 18 * key(p) / TOKENS;
  const predictor = syntheticPredictor(CODEBOOK + 1, (token, p) => token === 0 ? margin(p) : 0);
  const events: StepEvent[] = [];
  const result = await sample({
    predictor,
    grid: GRID,
    codebookSize: CODEBOOK,
    maskId: MASK,
    images: 1,
    settings: { scheduler: "confidence", noise: "none", steps: 7, cfg: 0, temperature: { end: 1 } },
    onStep: (event) => void events.push(event),
  });
  const expected = Array.from({ length: TOKENS }, (_, p) => p).sort((a, b) => key(b) - key(a));
  let known = 0;
  for (const event of events) {
    const chosen = Array.from(event.choices[0].positions).sort((a, b) => a - b);
    assertEquals(chosen, expected.slice(known, event.known).sort((a, b) => a - b));
    known = event.known;
  }
  assert(result.tokens.every((t) => t === 0));
});

Deno.test("same seed gives identical tokens; another seed, other tokens; sample b = seed + b", async () => {
  for (const scheduler of SCHEDULER_NAMES) {
    const a = await run({ scheduler, seed: 11, steps: 8 }, [3, 5]);
    const b = await run({ scheduler, seed: 11, steps: 8 }, [3, 5]);
    const c = await run({ scheduler, seed: 12, steps: 8 }, [3, 5]);
    assertEquals(a.result.tokens, b.result.tokens, scheduler);
    assertNotEquals(a.result.tokens, c.result.tokens, scheduler);
    // The second image of seed 11 is the first image of seed 12 with the same label.
    const alone = await run({ scheduler, seed: 12, steps: 8 }, [5]);
    assertEquals(a.result.tokens.slice(TOKENS), alone.result.tokens, scheduler);
  }
});

Deno.test("guidance: one call of 2B rows, logits = (1 + w)·cond − w·uncond", async () => {
  // Token 1 minus token 0: −0.1 conditional, −1 unconditional → guided 0.9·w − 0.1,
  // so with top-1 sampling the argmax flips from token 0 to token 1 at w = 1/9.
  const predictor = () =>
    syntheticPredictor(3, (token, _p, row, input) => {
      if (token === 2) return -50;
      if (token === 0) return 1;
      return input.unconditional[row] ? 0 : 0.9;
    });
  const tokensAt = async (cfg: number) => {
    const p = predictor();
    const result = await sample({
      predictor: p,
      grid: 4,
      codebookSize: 2,
      maskId: 2,
      images: 2,
      settings: { steps: 4, cfg, topK: 1 },
    });
    return { tokens: new Set(result.tokens), calls: p.calls };
  };
  assertEquals((await tokensAt(0.1)).tokens, new Set([0]));
  assertEquals((await tokensAt(0.12)).tokens, new Set([1]));
  assertEquals((await tokensAt(0)).tokens, new Set([0]));

  const { calls } = await tokensAt(2);
  for (const call of calls) {
    assertEquals(call.batch, 4);
    assertEquals(Array.from(call.image), [0, 1, 0, 1]);
    assertEquals(Array.from(call.unconditional), [0, 0, 1, 1]);
    assertEquals(call.tokens.subarray(0, 32), call.tokens.subarray(32));
  }
  assertEquals((await tokensAt(0)).calls.map((c) => c.batch), [2, 2, 2, 2]);
});

Deno.test("Confidence ramps guidance: no unconditional rows at step 0, then 2B", async () => {
  const { predictor } = await run({ scheduler: "confidence", steps: 5, cfg: 3 }, [1]);
  assertEquals(predictor.calls.map((c) => c.batch), [1, 2, 2, 2, 2]);
});

Deno.test("candidates: Halton and Random draw only the positions they unmask, Confidence every masked one", () => {
  const settings = resolveSettings({ randomize: true });
  // The order each scheduler should follow, built here from its definition, not its code.
  const identity = Int32Array.from({ length: TOKENS }, (_, p) => p);
  const orders: Record<string, Int32Array> = {
    halton: rollOrder(haltonOrder(GRID), new Rng(4).int(TOKENS)),
    random: new Rng(4).shuffle(identity),
  };
  for (const name of SCHEDULER_NAMES) {
    const schedule = SCHEDULERS[name].start(GRID, new Rng(4), settings);
    const masked = new Uint8Array(TOKENS).fill(1);
    let known = 0;
    for (const [step, count] of [3, 10, 51].entries()) {
      const drawn: number[] = [];
      const candidates = schedule.candidates({ step, known, count, masked });
      const choice = schedule.choose({
        step,
        steps: 3,
        known,
        count,
        masked,
        candidates,
        draw: (p) => {
          drawn.push(p);
          return { token: p % CODEBOOK, probability: (p % 7) / 7, entropy: 0 };
        },
      });
      assertEquals(drawn, Array.from(candidates), name);
      const expected = name === "confidence"
        ? Array.from(masked.keys()).filter((p) => masked[p])
        : Array.from(orders[name].subarray(known, known + count));
      assertEquals(Array.from(candidates), expected, name);
      if (name !== "confidence") assertEquals(Array.from(choice.positions), expected, name);
      assertEquals(choice.positions.length, count, name);
      choice.positions.forEach((p) => {
        assertEquals(masked[p], 1, `${name} unmasks a masked position`);
        masked[p] = 0;
      });
      known += count;
    }
    assert(masked.every((m) => m === 0));
  }
});

Deno.test("a predictor that selects positions is asked only for the candidates, and the tokens do not change", async () => {
  for (const scheduler of SCHEDULER_NAMES) {
    for (const variant of [{}, { cfg: 0 }, { randomize: true, topK: 3 }]) {
      const settings = { scheduler, steps: 6, seed: 11, ...variant };
      const full = await run(settings, [3, 5]);
      const selected = await run(settings, [3, 5], {}, true);
      assertEquals(selected.result.tokens, full.result.tokens, `${scheduler} ${variant}`);
      selected.predictor.calls.forEach((call, s) => {
        const rows = call.batch;
        const per = call.positions!.length / rows;
        const { known } = selected.events[s];
        const before = s === 0 ? 0 : selected.events[s - 1].known;
        // Confidence: every position still masked; the others: the step's own positions.
        assertEquals(per, scheduler === "confidence" ? TOKENS - before : known - before);
        // Unconditional rows ask for the same positions as their conditional rows.
        if (rows === 4) {
          assertEquals(call.positions!.subarray(2 * per), call.positions!.subarray(0, 2 * per));
        }
      });
    }
  }
});

Deno.test("aborting stops between steps", async () => {
  const controller = new AbortController();
  let steps = 0;
  await assertRejects(
    run({ steps: 10 }, [1], {
      signal: controller.signal,
      onStep: () => {
        if (++steps === 3) controller.abort(new Error("client went away"));
      },
    }),
    /client went away/,
  );
  assertEquals(steps, 3);
});

Deno.test("bad settings, labels and predictor output fail with clear errors", async () => {
  const cases: [SettingsInput, string][] = [
    [{ steps: 0 }, "steps"],
    [{ steps: TOKENS + 1 }, "steps"],
    [{ scheduler: "zigzag" as never }, "scheduler"],
    [{ cfg: NaN }, "cfg"],
    [{ topK: -1 }, "topK"],
    [{ seed: -5 }, "seed"],
    [{ noise: "loud" as never }, "noise"],
    [{ countMode: "cubic" as never }, "countMode"],
    [{ temperature: { start: 0 } }, "temperature.start"],
    [{ temperature: { warmup: 1.5 } }, "temperature.warmup"],
  ];
  for (const [settings, field] of cases) {
    await assertRejects(run(settings), (error: unknown) => {
      assert(error instanceof SettingError, String(error));
      assertEquals(error.field, field);
      return true;
    });
  }
  assertThrows(
    () => resolveSettings({ steps: 300 }, 256),
    /steps must be an integer from 1 to 256/,
  );
  await assertRejects(run({}, []), /images must be an integer ≥ 1/);
  await assertRejects(
    sample({
      predictor: syntheticPredictor(5, () => 0),
      grid: GRID,
      codebookSize: CODEBOOK,
      maskId: MASK,
      images: 1,
    }),
    /expected 2×64×V with V ≥ 10/,
  );
  await assertRejects(
    sample({
      predictor: syntheticPredictor(11, () => 0),
      grid: GRID,
      codebookSize: CODEBOOK,
      maskId: 3,
      images: 1,
    }),
    /maskId/,
  );
});
