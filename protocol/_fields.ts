/**
 * Body fields and sizes that more than one message family shares. Private
 * to protocol/: never re-exported from mod.ts.
 *
 * @module
 */
import { COOKIE_BYTES, FILE_ID_BYTES, PEER_ID_BYTES } from "./constants.ts";
import type { ByteReader } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";

/** REGISTER, KEEPALIVE, BECOME_SEEDER, LEAVE: cookie, peer id, TCP port. */
export const ANNOUNCE_BYTES = COOKIE_BYTES + PEER_ID_BYTES + 2;
/** A file entry with a one-byte name: id, size, chunk count, flags, name length, name. */
export const FILE_ENTRY_MIN_BYTES = FILE_ID_BYTES + 8 + 4 + 1 + 1 + 1;

/** Returns `bytes`, or throws when an id to encode has the wrong length. */
export function checkLength(
  bytes: Uint8Array,
  expected: number,
  what: string,
): Uint8Array {
  if (bytes.byteLength !== expected) {
    throw new TypeError(
      `Cannot encode ${what}: ${bytes.byteLength} bytes, expected ${expected}`,
    );
  }
  return bytes;
}

/** Reads a u32 count or index, refusing one above `max`. */
export function readCount(
  reader: ByteReader,
  what: string,
  max: number,
): number {
  const at = reader.offset;
  const value = reader.u32(what);
  if (value > max) {
    throw new ProtocolError(
      "bad_value",
      `Cannot decode ${what}: ${value} is above ${max}`,
      at,
    );
  }
  return value;
}
