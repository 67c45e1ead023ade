/**
 * The tracker's hot path, in place: REQUEST by id, KEEPALIVE and REGISTER,
 * nearly all of a busy tracker's traffic, read straight from the datagram
 * with no parse objects, and ACK written straight into a reply buffer.
 *
 * These decoders accept exactly the datagrams `parseMessage` accepts as
 * those requests and read the same fields (tests/unit/protocol/
 * tracker_fast.test.ts and bench/fuzz.ts check it); anything else is left
 * to `parseMessage`. Layouts are in docs/PROTOCOL.md, "Header",
 * "REGISTER", "KEEPALIVE", "REQUEST" and "ACK".
 *
 * @module
 */
import { u32At, writeU32At } from "./_fields.ts";
import {
  COOKIE_BYTES,
  FILE_ID_BYTES,
  HEADER_BYTES,
  MAGIC,
  MAX_CHUNK_COUNT,
  MAX_DATAGRAM_BYTES,
  MAX_FILE_BYTES,
  PEER_ID_BYTES,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { fileNameProblem } from "./file_name.ts";
import type { FileAnnouncement } from "./message_types.ts";
import { CommandType, ControlType, MessageType } from "./vocabulary.ts";

/** Offset of the transaction id in the header. */
const TXID_AT = 6;
/** Offset of the body length in the header. */
const BODY_LENGTH_AT = 10;
/** Offset of the cookie, the first field of every tracker command. */
const COOKIE_AT = HEADER_BYTES;
/** REQUEST: cookie, then the wanted peer count, the query kind, the query. */
const WANTED_AT = COOKIE_AT + COOKIE_BYTES;
const QUERY_KIND_AT = WANTED_AT + 1;
/** Query kind 0: by file id. */
const QUERY_BY_ID = 0;

/** Offset of the 32-byte file id in a REQUEST by id. */
export const REQUEST_FILE_ID_AT = QUERY_KIND_AT + 1;
/** Offset of the 16-byte peer id in REGISTER and KEEPALIVE. */
export const ANNOUNCE_PEER_ID_AT = COOKIE_AT + COOKIE_BYTES;
/** Offset of the TCP port in REGISTER and KEEPALIVE. */
const ANNOUNCE_PORT_AT = ANNOUNCE_PEER_ID_AT + PEER_ID_BYTES;
/** REGISTER: the file count after the TCP port, then the file entries. */
const FILE_COUNT_AT = ANNOUNCE_PORT_AT + 2;
const FILES_AT = FILE_COUNT_AT + 1;

/** REQUEST by id: header, cookie, wanted, query kind and a file id. */
const REQUEST_BY_ID_BYTES = REQUEST_FILE_ID_AT + FILE_ID_BYTES;
/** KEEPALIVE: header, cookie, peer id and TCP port. */
const KEEPALIVE_BYTES = FILE_COUNT_AT;
/** A file entry before its name: id, size, chunk count, flags, name length. */
const FILE_ENTRY_FIXED_BYTES = FILE_ID_BYTES + 8 + 4 + 1 + 1;
/** ACK: header and the keepalive interval. */
const ACK_BYTES = HEADER_BYTES + 4;

/** The same strict decoder parseMessage uses for names. */
const nameDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A request the tracker reads in place. */
export type FastRequestKind = "request" | "keepalive" | "register";

/**
 * Which in-place decoder a datagram takes: "request" for a REQUEST by id,
 * "keepalive" for a KEEPALIVE, "register" for a REGISTER whose header is
 * valid (its files still need {@linkcode registeredFiles}), or null for
 * anything else, which `parseMessage` decodes.
 *
 * @param bytes a datagram, untrusted
 * @returns the fast path it takes, or null
 * @example
 * ```ts
 * import { createMessage, fastRequestKind } from "@shoal/protocol";
 * const bytes = createMessage({ kind: "keepalive", txid: 1, cookie: 2n, peerId: new Uint8Array(16), port: 6881 });
 * fastRequestKind(bytes); // "keepalive"
 * ```
 */
export function fastRequestKind(bytes: Uint8Array): FastRequestKind | null {
  const length = bytes.byteLength;
  if (
    length < KEEPALIVE_BYTES || length > MAX_DATAGRAM_BYTES ||
    bytes[0] !== MAGIC >>> 8 || bytes[1] !== (MAGIC & 0xff) ||
    bytes[2] !== PROTOCOL_VERSION || bytes[3] !== MessageType.COMMAND ||
    u32At(bytes, BODY_LENGTH_AT) !== length - HEADER_BYTES
  ) {
    return null;
  }
  switch (bytes[4]) {
    case CommandType.REQUEST:
      return length === REQUEST_BY_ID_BYTES &&
          bytes[QUERY_KIND_AT] === QUERY_BY_ID
        ? "request"
        : null;
    case CommandType.KEEPALIVE:
      return length === KEEPALIVE_BYTES ? "keepalive" : null;
    case CommandType.REGISTER:
      return length >= FILES_AT ? "register" : null;
    default:
      return null;
  }
}

/**
 * The transaction id of a datagram of at least a header.
 *
 * @param bytes the datagram
 * @returns its header's transaction id
 * @example
 * ```ts
 * import { createMessage, datagramTxid } from "@shoal/protocol";
 * datagramTxid(createMessage({ kind: "connect", txid: 9 })); // 9
 * ```
 */
export function datagramTxid(bytes: Uint8Array): number {
  return u32At(bytes, TXID_AT);
}

/**
 * The high 32 bits of the cookie of a datagram {@linkcode fastRequestKind}
 * accepted, so a cookie is checked with no bigint.
 *
 * @param bytes the datagram
 * @returns the cookie's high half
 * @example
 * ```ts
 * import { createMessage, cookieHigh } from "@shoal/protocol";
 * cookieHigh(createMessage({ kind: "keepalive", txid: 1, cookie: 5n << 32n, peerId: new Uint8Array(16), port: 1 })); // 5
 * ```
 */
export function cookieHigh(bytes: Uint8Array): number {
  return u32At(bytes, COOKIE_AT);
}

/**
 * The low 32 bits of the cookie of a datagram {@linkcode fastRequestKind}
 * accepted.
 *
 * @param bytes the datagram
 * @returns the cookie's low half
 * @example
 * ```ts
 * import { createMessage, cookieLow } from "@shoal/protocol";
 * cookieLow(createMessage({ kind: "keepalive", txid: 1, cookie: 7n, peerId: new Uint8Array(16), port: 1 })); // 7
 * ```
 */
export function cookieLow(bytes: Uint8Array): number {
  return u32At(bytes, COOKIE_AT + 4);
}

/**
 * The wanted peer count of a REQUEST by id (0: the tracker's default). The
 * file id is at {@linkcode REQUEST_FILE_ID_AT}.
 *
 * @param bytes a datagram {@linkcode fastRequestKind} called "request"
 * @returns the wanted field, 0 to 255
 * @example
 * ```ts
 * import { createMessage, requestWanted } from "@shoal/protocol";
 * requestWanted(createMessage({ kind: "request", txid: 1, cookie: 1n, wanted: 30, query: { id: new Uint8Array(32) } })); // 30
 * ```
 */
export function requestWanted(bytes: Uint8Array): number {
  return bytes[WANTED_AT]!;
}

/**
 * The TCP port of a REGISTER or KEEPALIVE. The peer id is at
 * {@linkcode ANNOUNCE_PEER_ID_AT}.
 *
 * @param bytes a datagram {@linkcode fastRequestKind} called "register" or "keepalive"
 * @returns the TCP port the peer listens on
 * @example
 * ```ts
 * import { announcePort, createMessage } from "@shoal/protocol";
 * announcePort(createMessage({ kind: "keepalive", txid: 1, cookie: 1n, peerId: new Uint8Array(16), port: 6881 })); // 6881
 * ```
 */
export function announcePort(bytes: Uint8Array): number {
  return (bytes[ANNOUNCE_PORT_AT]! << 8) | bytes[ANNOUNCE_PORT_AT + 1]!;
}

/**
 * The files of a REGISTER, decoded in place (ids are views of `bytes`), or
 * null when any field is one parseMessage would refuse: then parseMessage
 * decodes it and refuses it, so both paths accept exactly the same
 * datagrams.
 *
 * @param bytes a datagram {@linkcode fastRequestKind} called "register"
 * @returns its files, or null
 * @example
 * ```ts
 * import { createMessage, registeredFiles } from "@shoal/protocol";
 * const file = { id: new Uint8Array(32), name: "a.txt", size: 5, chunkCount: 1, complete: true };
 * registeredFiles(createMessage({ kind: "register", txid: 1, cookie: 1n, peerId: new Uint8Array(16), port: 1, files: [file] }))?.[0]?.name; // "a.txt"
 * ```
 */
export function registeredFiles(bytes: Uint8Array): FileAnnouncement[] | null {
  const length = bytes.byteLength;
  const count = bytes[FILE_COUNT_AT]!;
  const files: FileAnnouncement[] = [];
  let at = FILES_AT;
  for (let i = 0; i < count; i++) {
    if (at + FILE_ENTRY_FIXED_BYTES > length) return null;
    const id = bytes.subarray(at, at + FILE_ID_BYTES);
    const size = u32At(bytes, at + 32) * 0x1_0000_0000 + u32At(bytes, at + 36);
    const chunkCount = u32At(bytes, at + 40);
    const complete = (bytes[at + 44]! & 1) === 1;
    const nameLength = bytes[at + 45]!;
    at += FILE_ENTRY_FIXED_BYTES;
    if (
      size > MAX_FILE_BYTES || chunkCount > MAX_CHUNK_COUNT ||
      at + nameLength > length
    ) {
      return null;
    }
    let name: string;
    try {
      name = nameDecoder.decode(bytes.subarray(at, at + nameLength));
    } catch (error) {
      // Not UTF-8: parseMessage refuses it too.
      if (!(error instanceof TypeError)) throw error;
      return null;
    }
    if (fileNameProblem(name) !== null) return null;
    at += nameLength;
    files.push({ id, name, size, chunkCount, complete });
  }
  return at === length ? files : null;
}

/**
 * Writes an ACK at the start of `out`: the bytes
 * `createMessage({ kind: "ack", txid, intervalSeconds })` gives, with no
 * allocation.
 *
 * @param out the reply buffer, at least 18 bytes
 * @param txid the command's transaction id
 * @param intervalSeconds the keepalive interval the ACK carries
 * @returns the ACK's length in bytes
 * @example
 * ```ts
 * import { writeAck } from "@shoal/protocol";
 * const out = new Uint8Array(1452);
 * out.subarray(0, writeAck(out, 7, 20)); // 18 bytes
 * ```
 */
export function writeAck(
  out: Uint8Array,
  txid: number,
  intervalSeconds: number,
): number {
  out[0] = MAGIC >>> 8;
  out[1] = MAGIC & 0xff;
  out[2] = PROTOCOL_VERSION;
  out[3] = MessageType.CONTROL;
  out[4] = ControlType.ACK;
  out[5] = 0;
  writeU32At(out, TXID_AT, txid);
  writeU32At(out, BODY_LENGTH_AT, ACK_BYTES - HEADER_BYTES);
  writeU32At(out, HEADER_BYTES, intervalSeconds);
  return ACK_BYTES;
}

/**
 * Copies a prepared reply (made once with `createMessage`, any txid) to the
 * start of `out` with this transaction id.
 *
 * @param out the reply buffer
 * @param reply the prepared reply
 * @param txid the command's transaction id
 * @returns the reply's length in bytes
 * @example
 * ```ts
 * import { createMessage, writeReplyCopy } from "@shoal/protocol";
 * const busy = createMessage({ kind: "error", txid: 0, code: 7, text: "busy" });
 * const out = new Uint8Array(1452);
 * writeReplyCopy(out, busy, 42); // busy.byteLength, with txid 42
 * ```
 */
export function writeReplyCopy(
  out: Uint8Array,
  reply: Uint8Array,
  txid: number,
): number {
  out.set(reply, 0);
  writeU32At(out, TXID_AT, txid);
  return reply.byteLength;
}
