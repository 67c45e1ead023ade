/**
 * Byte helpers shared by the benchmarks and the tests.
 *
 * @module
 */
import { concatBytes as concatParts } from "@shoal/protocol";

/** The parts one after another in one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return concatParts(parts);
}
