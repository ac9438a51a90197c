// Speed work must not change what is sampled: the pinned runs give the recorded tokens.
import { fingerprint, goldenRuns } from "./golden.ts";
import { assertEquals, assertNotEquals } from "./assert.ts";

Deno.test("golden: each scheduler samples exactly the recorded tokens on both shipped models", async () => {
  const recorded = JSON.parse(
    await Deno.readTextFile(new URL("fixtures/golden-tokens.json", import.meta.url)),
  );
  assertEquals(await goldenRuns(), recorded);
});

Deno.test("golden: the fingerprint sees a single changed token", () => {
  const tokens = Int32Array.from({ length: 256 }, (_, i) => i % 97);
  const changed = tokens.slice();
  changed[200] += 1;
  assertNotEquals(fingerprint(tokens), fingerprint(changed));
  assertEquals(fingerprint(tokens), fingerprint(tokens.slice()));
});
