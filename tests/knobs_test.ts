import { apiName, checkKind, knobOfField, KNOBS, knobSettings } from "../src/knobs.ts";
import { resolveSettings, SettingError } from "../src/settings.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

Deno.test("knobs: every knob lands on a settings field that validation knows", () => {
  for (const knob of KNOBS) {
    assertEquals(knobOfField(knob.field), knob);
    assertEquals(apiName(knob).includes("-"), false);
    // A value out of range (every number is bounded) is reported under this knob's field.
    const bad = { integer: -1, number: 1e308, string: "?", boolean: "x" }[knob.kind];
    const error = (() => {
      try {
        resolveSettings(knobSettings((k) => k === knob ? bad as never : undefined), 256);
      } catch (error) {
        return error;
      }
    })();
    assertEquals((error as SettingError).field, knob.field, knob.name);
  }
});

Deno.test("knobs: temperature is also the end temperature unless that is given", () => {
  assertEquals(knobSettings((k) => ({ temperature: 0.5 } as Record<string, number>)[k.name]), {
    temperature: { start: 0.5, end: 0.5 },
  });
  const both: Record<string, number> = { temperature: 0.5, "temperature-end": 2, steps: 4 };
  assertEquals(knobSettings((k) => both[k.name]), {
    steps: 4,
    temperature: { start: 0.5, end: 2 },
  });
  assertEquals(knobSettings(() => undefined), {});
});

Deno.test("knobs: values of the wrong JSON type are refused", () => {
  assertEquals(checkKind("steps", "integer", 3), 3);
  assertThrows(() => checkKind("steps", "integer", 3.5), /steps must be an integer/);
  assertThrows(() => checkKind("cfg", "number", Infinity), /cfg must be a number/);
  assertThrows(() => checkKind("noise", "string", 1), /noise must be a string/);
  assertThrows(() => checkKind("randomize", "boolean", "yes"), SettingError);
});

Deno.test("knobs: the extremes of every numeric range keep the sampler's factors finite", () => {
  for (const cfg of [0, 100]) {
    for (const start of [0.001, 1000]) {
      for (const power of [-10, 10]) {
        const settings = resolveSettings({ cfg, temperature: { start, end: start, power } });
        const beta = (1 / settings.temperature.start) ** settings.temperature.power;
        // The largest guided logit (float32 max) times β must stay a finite float64.
        const guided = (1 + settings.cfg) * 3.4e38 * 2;
        assert(Number.isFinite(guided * beta) && beta > 0, `${cfg} ${start} ${power}`);
      }
    }
  }
  assertThrows(() => resolveSettings({ cfg: 101 }), /cfg must be a number from 0 to 100/);
  assertThrows(() => resolveSettings({ temperature: { start: 1e-320 } }), SettingError);
});

Deno.test("knobs: seed + images − 1 must stay a safe integer", () => {
  const max = Number.MAX_SAFE_INTEGER;
  assertEquals(resolveSettings({ seed: max }).seed, max);
  assertEquals(resolveSettings({ seed: max - 1 }, 256, 2).seed, max - 1);
  assertThrows(
    () => resolveSettings({ seed: max }, 256, 2),
    (error: SettingError) => error.field === "seed" && error.message.includes(`got ${max}`),
  );
});
