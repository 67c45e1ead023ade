/**
 * SHA-256, the one hash Shoal uses (BEP 52 trees, file ids, resume slots).
 *
 * Deno's `node:crypto` hands a digest back as hex text far more cheaply than
 * as bytes: `digest()` builds a Buffer around a fresh native allocation
 * (about 2 µs a call), `digest("hex")` returns a short string (well under
 * 1 µs), and `setFromHex` writes it into place in tens of nanoseconds. A
 * Merkle tree makes one call per 16 KiB leaf and per 64-byte inner node, so
 * that difference is most of the cost of a node (bench/merkle_hash.ts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { HASH_BYTES } from "./constants.ts";

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
  const out = new Uint8Array(HASH_BYTES);
  sha256Into(bytes, out);
  return out;
}

/**
 * Writes SHA-256 of `bytes` into `out`, a 32-byte view, with no other
 * allocation than the hash's own. `bytes` may overlap `out`: it is read in
 * full before the digest is written.
 *
 * @param bytes the data
 * @param out where the 32 bytes go
 * @example
 * ```ts
 * import { sha256Into } from "@shoal/protocol";
 * const nodes = new Uint8Array(64); // two hashes
 * sha256Into(nodes, nodes.subarray(0, 32)); // their parent, over the left one
 * ```
 */
export function sha256Into(bytes: Uint8Array, out: Uint8Array): void {
  if (out.byteLength !== HASH_BYTES) {
    throw new RangeError(
      `Cannot write a hash into ${out.byteLength} bytes, not ${HASH_BYTES}`,
    );
  }
  out.setFromHex(createHash("sha256").update(bytes).digest("hex"));
}
