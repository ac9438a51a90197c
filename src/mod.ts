/**
 * halton-maskgit: MaskGIT sampling with the Halton scheduler, for Deno.
 *
 * @example
 * ```ts
 * import { haltonOrder, sample } from "./mod.ts";
 * haltonOrder(16).length; // 256
 * ```
 *
 * @module
 */

export * from "./halton.ts";
export * from "./rng.ts";
export * from "./schedule.ts";
export * from "./settings.ts";
export * from "./sampler.ts";
export * from "./scheduler/mod.ts";
