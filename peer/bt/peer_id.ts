/**
 * This peer's BitTorrent peer id: Azureus style, a client prefix then
 * random characters, so other clients show "Shoal" in their peer lists.
 *
 * @module
 */
import { BT_PEER_ID_BYTES } from "@shoal/protocol";

/** The client prefix: Shoal, protocol version 2. */
export const BT_PEER_ID_PREFIX = "-SH0200-";

const ALPHABET =
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * A new random peer id: "-SH0200-" and 12 random letters and digits.
 *
 * @returns 20 bytes
 * @example
 * ```ts
 * import { makeBtPeerId } from "./peer_id.ts";
 * new TextDecoder().decode(makeBtPeerId()).startsWith("-SH0200-"); // true
 * ```
 */
export function makeBtPeerId(): Uint8Array {
  const out = new Uint8Array(BT_PEER_ID_BYTES);
  out.set(new TextEncoder().encode(BT_PEER_ID_PREFIX));
  const random = crypto.getRandomValues(
    new Uint8Array(BT_PEER_ID_BYTES - BT_PEER_ID_PREFIX.length),
  );
  random.forEach((byte, i) => {
    out[BT_PEER_ID_PREFIX.length + i] = ALPHABET.charCodeAt(
      byte % ALPHABET.length,
    );
  });
  return out;
}
