import { progressBar } from "../src/progress.ts";
import type { StepEvent } from "../src/sampler.ts";
import { assert, assertEquals } from "./assert.ts";

const event = (step: number, steps: number) =>
  ({
    step,
    steps,
    known: (step + 1) * 4,
    tokens: steps * 4,
    choices: [],
    state: new Int32Array(),
  }) as StepEvent;

Deno.test("progress bar: steps, tokens, elapsed and ETA; the first step, then one line per tenth when not a terminal", () => {
  const lines: string[] = [];
  let clock = 0;
  const bar = progressBar("m", (text) => lines.push(text), false, () => clock);
  for (let step = 0; step < 40; step++) {
    clock += 500;
    bar(event(step, 40));
  }
  assertEquals(lines.length, 11);
  assertEquals(
    lines[0],
    "m [#-----------------------] 1/40 steps, 4/160 tokens, 0.5s elapsed, ETA 19.5s\n",
  );
  assert(
    lines[1].startsWith(
      "m [##----------------------] 4/40 steps, 16/160 tokens, 2.0s elapsed, ETA 18.0s",
    ),
  );
  assert(lines[10].includes("40/40 steps") && lines[10].includes("ETA 0.0s"));
});

Deno.test("progress bar: redraws one terminal line and ends it at the last step", () => {
  const writes: string[] = [];
  const bar = progressBar("m", (text) => writes.push(text), true, () => 0);
  for (let step = 0; step < 3; step++) bar(event(step, 3));
  assertEquals(writes.length, 3);
  assert(writes.every((w) => w.startsWith("\r\x1b[2K")));
  assert(!writes[1].endsWith("\n") && writes[2].endsWith("\n"));
});
