/**
 * SHA-256, the one hash Shoal uses (BEP 52 trees, file ids, resume slots).
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * SHA-256 of some bytes.
 *
 * @param bytes the data
 * @returns 32 bytes
 * @example
 * ```ts
 * import { sha256 } from "@shoal/protocol";
 * sha256(new Uint8Array()).byteLength; // 32
 * ```
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}
