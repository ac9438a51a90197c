import { needing } from "./needs.ts";
import { torchMissing } from "./python.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

Deno.test("a test whose dependency is missing skips, but fails under CI=true", async () => {
  const test = { name: "needs torch", fn: () => {} };
  const ci = Deno.env.get("CI");
  try {
    Deno.env.delete("CI");
    assertEquals(needing(undefined, test), test);
    assertEquals(needing("python3 missing", test).ignore, true);
    Deno.env.set("CI", "true");
    const strict = needing("python3 missing", test);
    assert(!strict.ignore);
    assertThrows(() => strict.fn({} as Deno.TestContext), /python3 missing/);
  } finally {
    if (ci === undefined) Deno.env.delete("CI");
    else Deno.env.set("CI", ci);
  }
  // The probe looks at the interpreter the scripts use, and says what it lacks.
  const missing = await torchMissing();
  const present = await Deno.stat("/usr/bin/python3").then(() => true, () => false);
  if (!present) assert(missing?.startsWith("python3 missing"), missing ?? "");
  else if (missing !== undefined) assert(missing.includes("lacks torch or onnx"), missing);
});
