import { apiName, checkKind, knobOfField, KNOBS, knobSettings } from "../src/knobs.ts";
import { resolveSettings, SettingError } from "../src/settings.ts";
import { assertEquals, assertThrows } from "./assert.ts";

Deno.test("knobs: every knob lands on a settings field that validation knows", () => {
  for (const knob of KNOBS) {
    assertEquals(knobOfField(knob.field), knob);
    assertEquals(apiName(knob).includes("-"), false);
    // A value of the wrong range is reported under this knob's field.
    const bad = { integer: -1, number: NaN, string: "?", boolean: "x" }[knob.kind];
    const error = (() => {
      try {
        resolveSettings(knobSettings((k) => k === knob ? bad as never : undefined), 256);
      } catch (error) {
        return error;
      }
    })();
    if (knob.name === "cfg" || knob.name === "temperature-power") continue; // any number goes
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
