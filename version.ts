/**
 * Shoal's version, printed by `--version` of both command lines and
 * reported by the tracker's statistics.
 *
 * @module
 */

/**
 * The version of this Shoal build (semantic versioning).
 *
 * @example
 * ```ts
 * import { SHOAL_VERSION } from "./version.ts";
 * console.log(`shoal-peer ${SHOAL_VERSION}`);
 * ```
 */
export const SHOAL_VERSION = "0.1.0";
