/**
 * Records tests/fixtures/golden-tokens.json: a hash of the tokens each scheduler samples for a
 * fixed seed on the shipped and stand-in models. tests/golden_test.ts checks the runtime still
 * gives exactly these tokens, so speed work cannot change outputs unnoticed. Re-record only for
 * a change that is meant to change outputs, and say so in its commit.
 *
 * @example
 * ```sh
 * deno run -A scripts/record_golden.ts
 * ```
 *
 * @module
 */

import { goldenRuns } from "../tests/golden.ts";

const path = new URL("../tests/fixtures/golden-tokens.json", import.meta.url);
await Deno.writeTextFile(path, JSON.stringify(await goldenRuns(), null, 2) + "\n");
console.log(path.pathname);
