/**
 * Assertions for the test suite: `node:assert/strict`, standing in for @std/assert,
 * which cannot be installed here (JSR is unreachable). Tests import from this file only.
 *
 * @module
 */

export {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
