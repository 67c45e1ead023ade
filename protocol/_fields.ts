/**
 * Body fields, sizes and shape checks that more than one message family
 * shares. Private to protocol/: never re-exported from mod.ts.
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

/** Reads a big-endian u32 at `at`; the caller has checked the length. */
export function u32At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) |
    (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** Writes `value` as a big-endian u32 at `at`; the caller has checked room. */
export function writeU32At(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

/** True for a non-null object: the first check of a worker message's shape. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
