/**
 * Finds a shared file by the infohash a BitTorrent client sends: the first
 * 20 bytes of its v2 infohash (the Shoal file id).
 *
 * @module
 */
import { BT_INFOHASH_BYTES, bytesEqual } from "@shoal/protocol";
import type { Library, SharedFile } from "../library/library.ts";

/**
 * The shared, not stale, file whose id starts with `infoHash`.
 *
 * @param library the files this peer shares
 * @param infoHash 20 bytes from a handshake
 * @returns the file, or undefined when none is shared here
 */
export function findByInfoHash(
  library: Library,
  infoHash: Uint8Array,
): SharedFile | undefined {
  if (infoHash.byteLength !== BT_INFOHASH_BYTES) return undefined;
  // A library holds few files: a scan per connection costs nothing.
  return library.list().find((file) =>
    !file.stale &&
    bytesEqual(file.id.subarray(0, BT_INFOHASH_BYTES), infoHash)
  );
}
