/**
 * Tests that need something outside Deno (PyTorch, Chromium): skipped where it is missing,
 * saying why — except under `CI=true`, where they run and fail with that reason, so a CI run
 * cannot stay green by skipping them.
 *
 * @module
 */

/**
 * A test definition that runs when `missing` is undefined. Otherwise it is skipped with
 * `missing` printed, or, under `CI=true`, fails with `missing` as its error.
 *
 * @example
 * ```ts
 * import { needing } from "./needs.ts";
 * // In a test file: Deno.test(needing(await torchMissing(), { name: "convert", fn }));
 * const test = { name: "convert", fn: () => {} };
 * needing(undefined, test) === test; // true: nothing is missing, so it runs as it is
 * ```
 */
export function needing(
  missing: string | undefined,
  test: Deno.TestDefinition,
): Deno.TestDefinition {
  if (missing === undefined) return test;
  if (Deno.env.get("CI") === "true") {
    return {
      ...test,
      fn: () => {
        throw new Error(`${missing} (CI=true: this test may not skip)`);
      },
    };
  }
  console.log(`${test.name}: skipped, ${missing}`);
  return { ...test, ignore: true };
}
