/**
 * The BitTorrent handshake (BEP 3) with the reserved bits Shoal reads and
 * sets: BEP 10 extensions (`reserved[5] & 0x10`), BEP 6 fast extension
 * (`reserved[7] & 0x04`), the BEP 52 v2 upgrade bit (`reserved[7] & 0x10`).
 * Also tells a BitTorrent connection from a Shoal one by its first bytes
 * (docs/PROTOCOL.md, "BitTorrent").
 *
 * @module
 */
import { MAGIC } from "../constants.ts";
import { ProtocolError } from "../errors.ts";
import {
  BT_HANDSHAKE_BYTES,
  BT_INFOHASH_BYTES,
  BT_PEER_ID_BYTES,
  BT_PROTOCOL_NAME,
  BT_RESERVED_BYTES,
} from "./constants.ts";

const NAME = new TextEncoder().encode(BT_PROTOCOL_NAME);
/** Where the reserved bytes, the infohash and the peer id start. */
const RESERVED_AT = 1 + NAME.byteLength;
const INFOHASH_AT = RESERVED_AT + BT_RESERVED_BYTES;
const PEER_ID_AT = INFOHASH_AT + BT_INFOHASH_BYTES;

/** A decoded handshake. */
export interface BtHandshake {
  /** The 20-byte infohash (a v2 infohash truncated to 20 bytes). */
  infoHash: Uint8Array;
  /** The 20-byte peer id. */
  peerId: Uint8Array;
  /** The 8 reserved bytes as sent. */
  reserved: Uint8Array;
  /** BEP 10: the peer speaks extended messages. */
  extended: boolean;
  /** BEP 6: the peer speaks the fast extension. */
  fast: boolean;
  /**
   * BEP 52: a peer that connected with a hybrid torrent's v1 infohash can
   * upgrade to v2. A v2-only peer sends the v2 infohash and leaves it clear.
   */
  v2: boolean;
}

/** What {@linkcode encodeBtHandshake} writes. */
export interface BtHandshakeFields {
  /** The 20-byte infohash. */
  infoHash: Uint8Array;
  /** The 20-byte peer id. */
  peerId: Uint8Array;
  /** Set the BEP 10 bit. @default {false} */
  extended?: boolean;
  /** Set the BEP 6 bit. @default {false} */
  fast?: boolean;
  /** Set the BEP 52 upgrade bit. @default {false} */
  v2?: boolean;
  /** Reserved bytes to start from (the flags are set on top). @default {8 zero bytes} */
  reserved?: Uint8Array;
}

/**
 * Encodes a handshake.
 *
 * @param fields infohash, peer id and the extensions to announce
 * @returns 68 bytes
 * @throws {RangeError} when the infohash or peer id is not 20 bytes
 * @example
 * ```ts
 * import { encodeBtHandshake } from "@shoal/protocol";
 * const bytes = encodeBtHandshake({
 *   infoHash: new Uint8Array(20),
 *   peerId: new Uint8Array(20),
 *   extended: true,
 *   fast: true,
 * });
 * bytes.byteLength; // 68
 * ```
 */
export function encodeBtHandshake(fields: BtHandshakeFields): Uint8Array {
  if (
    fields.infoHash.byteLength !== BT_INFOHASH_BYTES ||
    fields.peerId.byteLength !== BT_PEER_ID_BYTES
  ) {
    throw new RangeError(
      `Cannot encode handshake: infohash has ${fields.infoHash.byteLength} bytes and peer id ${fields.peerId.byteLength}, both must have 20`,
    );
  }
  const out = new Uint8Array(BT_HANDSHAKE_BYTES);
  out[0] = NAME.byteLength;
  out.set(NAME, 1);
  if (fields.reserved) {
    out.set(fields.reserved.subarray(0, BT_RESERVED_BYTES), RESERVED_AT);
  }
  if (fields.extended) out[RESERVED_AT + 5]! |= 0x10;
  if (fields.fast) out[RESERVED_AT + 7]! |= 0x04;
  if (fields.v2) out[RESERVED_AT + 7]! |= 0x10;
  out.set(fields.infoHash, INFOHASH_AT);
  out.set(fields.peerId, PEER_ID_AT);
  return out;
}

/**
 * Checks the protocol name in the first bytes of a handshake, as far as
 * they have arrived, so a wrong stream is refused before it is buffered.
 *
 * @param bytes the first bytes of a connection (any length)
 * @throws {ProtocolError} `bad_magic` on the first byte that differs
 */
export function checkBtHandshakeStart(bytes: Uint8Array): void {
  const end = Math.min(bytes.byteLength, RESERVED_AT);
  for (let i = 0; i < end; i++) {
    const expected = i === 0 ? NAME.byteLength : NAME[i - 1];
    if (bytes[i] !== expected) {
      throw new ProtocolError(
        "bad_magic",
        `Cannot decode BitTorrent handshake: byte ${i} is ${
          bytes[i]
        }, expected ${expected}`,
        i,
      );
    }
  }
}

/**
 * Decodes a handshake: exactly 68 bytes.
 *
 * @param bytes untrusted bytes
 * @returns the handshake (its fields are copies)
 * @throws {ProtocolError} `too_short`, `too_long` or `bad_magic`
 * @example
 * ```ts
 * import { decodeBtHandshake, encodeBtHandshake } from "@shoal/protocol";
 * const infoHash = new Uint8Array(20).fill(7);
 * decodeBtHandshake(encodeBtHandshake({ infoHash, peerId: infoHash })).infoHash; // 7, 7, ...
 * ```
 */
export function decodeBtHandshake(bytes: Uint8Array): BtHandshake {
  if (bytes.byteLength !== BT_HANDSHAKE_BYTES) {
    throw new ProtocolError(
      bytes.byteLength < BT_HANDSHAKE_BYTES ? "too_short" : "too_long",
      `Cannot decode BitTorrent handshake: ${bytes.byteLength} bytes, expected ${BT_HANDSHAKE_BYTES}`,
    );
  }
  checkBtHandshakeStart(bytes);
  const reserved = bytes.slice(RESERVED_AT, INFOHASH_AT);
  return {
    infoHash: bytes.slice(INFOHASH_AT, PEER_ID_AT),
    peerId: bytes.slice(PEER_ID_AT, BT_HANDSHAKE_BYTES),
    reserved,
    extended: (reserved[5]! & 0x10) !== 0,
    fast: (reserved[7]! & 0x04) !== 0,
    v2: (reserved[7]! & 0x10) !== 0,
  };
}

/** Which protocol a TCP connection speaks, from its first bytes. */
export type WireProtocol = "bittorrent" | "shoal" | "unknown";

/**
 * Tells the two protocols a peer's TCP port accepts apart by the first
 * bytes a client sends: byte 19 then "BitTorrent protocol", or Shoal's
 * magic "SH". Decides as soon as the bytes allow (one byte when it is
 * neither 19 nor "S"; two for Shoal; twenty for BitTorrent).
 *
 * @param prefix the bytes received so far
 * @returns the protocol, or null when more bytes are needed to tell
 * @example
 * ```ts
 * import { detectWireProtocol } from "@shoal/protocol";
 * detectWireProtocol(new Uint8Array([0x53, 0x48])); // "shoal"
 * detectWireProtocol(new Uint8Array([19, 0x42])); // null: say more
 * detectWireProtocol(new Uint8Array([0])); // "unknown"
 * ```
 */
export function detectWireProtocol(prefix: Uint8Array): WireProtocol | null {
  if (prefix.byteLength === 0) return null;
  if (prefix[0] === MAGIC >> 8) {
    if (prefix.byteLength < 2) return null;
    return prefix[1] === (MAGIC & 0xff) ? "shoal" : "unknown";
  }
  if (prefix[0] !== NAME.byteLength) return "unknown";
  const end = Math.min(prefix.byteLength, RESERVED_AT);
  for (let i = 1; i < end; i++) {
    if (prefix[i] !== NAME[i - 1]) return "unknown";
  }
  return prefix.byteLength >= RESERVED_AT ? "bittorrent" : null;
}

/** Bytes {@linkcode detectWireProtocol} needs at most to decide. */
export const WIRE_DETECT_BYTES = RESERVED_AT;
