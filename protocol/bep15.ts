/**
 * BEP 15, the BitTorrent UDP tracker protocol, as a Shoal tracker speaks it
 * on its own port: requests (connect, announce, scrape) checked and read,
 * replies (connect, announce, scrape, error) written. Pure and total: every
 * length is checked before a read, and anything else than a request of
 * BEP 15's layout is a {@linkcode ProtocolError}. The tracker's hot path
 * reads announces in place ({@linkcode checkBep15Request} and the
 * `bep15*` readers) and writes replies into its own buffer; the object
 * forms ({@linkcode parseBep15Request}, {@linkcode encodeBep15Request},
 * {@linkcode parseBep15Reply}, {@linkcode encodeBep15Reply}) are for
 * clients, tests and the load generator. See docs/PROTOCOL.md, "BitTorrent
 * clients (BEP 15)".
 *
 * @module
 */
import { u32At, writeU32At } from "./_fields.ts";
import { bytesToIp, ipToBytes, type PeerAddress } from "./address.ts";
import { MAGIC, MAX_DATAGRAM_BYTES } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import type { PeerListPeers } from "./peer_list_writer.ts";

/** The magic first 8 bytes of a BEP 15 connect request. */
export const BEP15_PROTOCOL_ID = 0x41727101980n;
/** BEP 15 actions: the u32 at offset 8 of a request, 0 of a reply. */
export const Bep15Action = {
  CONNECT: 0,
  ANNOUNCE: 1,
  SCRAPE: 2,
  ERROR: 3,
} as const;
/** Announce events (the u32 at offset 80 of an announce). */
export const BEP15_EVENTS = [
  "none",
  "completed",
  "started",
  "stopped",
] as const;
/** One of {@linkcode BEP15_EVENTS}. */
export type Bep15Event = typeof BEP15_EVENTS[number];

/** A BitTorrent infohash on the wire (a v2 infohash is cut to its first 20 bytes). */
export const BEP15_INFOHASH_BYTES = 20;
/** A BitTorrent peer id. */
export const BEP15_PEER_ID_BYTES = 20;
/** A connect request, and its reply. */
export const BEP15_CONNECT_BYTES = 16;
/** An announce request before any BEP 41 options. */
export const BEP15_ANNOUNCE_BYTES = 98;
/** Bytes before the infohashes of a scrape, and before the peers of an announce reply's fixed part. */
const SCRAPE_HEADER_BYTES = 16;
/** Most infohashes one scrape may ask about (BEP 15: "up to about 74"). */
export const BEP15_MAX_SCRAPE_HASHES = 74;
/** The largest request: a scrape of 74 infohashes (announce options are held to it too). */
export const BEP15_MAX_REQUEST_BYTES = SCRAPE_HEADER_BYTES +
  BEP15_MAX_SCRAPE_HASHES * BEP15_INFOHASH_BYTES;
/** An announce reply before its peers: action, txid, interval, leechers, seeders. */
export const BEP15_ANNOUNCE_REPLY_BYTES = 20;
/** Bytes of one scrape answer: seeders, completed, leechers. */
export const BEP15_SCRAPE_ENTRY_BYTES = 12;
/** An error reply before its message. */
export const BEP15_ERROR_REPLY_BYTES = 8;
/** The top bit every connection id a Shoal tracker issues has set. */
export const BEP15_CONNECTION_ID_MARK = 0x8000_0000;

/** Offsets of announce fields (docs/PROTOCOL.md, "announce"). */
export const BEP15_INFOHASH_AT = 16;
/** Offset of the peer id in an announce. */
export const BEP15_PEER_ID_AT = 36;
const DOWNLOADED_AT = 56;
const LEFT_AT = 64;
const UPLOADED_AT = 72;
const EVENT_AT = 80;
const IP_AT = 84;
const KEY_AT = 88;
const NUM_WANT_AT = 92;
const PORT_AT = 96;

/** A BEP 15 request as a Shoal tracker reads it. */
export type Bep15RequestKind = "connect" | "announce" | "scrape";

/** A connect request. */
export interface Bep15Connect {
  action: "connect";
  txid: number;
}

/** An announce request (BEP 15, IPv4 layout, also used over IPv6). */
export interface Bep15Announce {
  action: "announce";
  /** The connection id from a connect reply. */
  connectionId: bigint;
  txid: number;
  /** 20 bytes (a view of the request when parsed). */
  infohash: Uint8Array;
  /** 20 bytes (a view of the request when parsed). */
  peerId: Uint8Array;
  downloaded: bigint;
  /** Bytes the client still needs: 0 for a seeder. */
  left: bigint;
  uploaded: bigint;
  event: Bep15Event;
  /** The IPv4 address the client asks to be listed at (0: its source). */
  ip: number;
  key: number;
  /** Peers wanted; negative for the tracker's default. */
  numWant: number;
  /** The TCP port the client listens on. */
  port: number;
  /** BEP 41 options after the fixed part, not interpreted (a view when parsed). */
  options: Uint8Array;
}

/** A scrape request. */
export interface Bep15Scrape {
  action: "scrape";
  connectionId: bigint;
  txid: number;
  /** 1 to 74 infohashes of 20 bytes (views of the request when parsed). */
  infohashes: Uint8Array[];
}

/** Any BEP 15 request. */
export type Bep15Request = Bep15Connect | Bep15Announce | Bep15Scrape;

/** What a scrape reply says about one infohash. */
export interface Bep15ScrapeEntry {
  seeders: number;
  /** Times the file was downloaded in full ("completed"). */
  completed: number;
  leechers: number;
}

/** Any BEP 15 reply. Announce peers are all IPv4 or all IPv6, as the transport. */
export type Bep15Reply =
  | { action: "connect"; txid: number; connectionId: bigint }
  | {
    action: "announce";
    txid: number;
    intervalSeconds: number;
    leechers: number;
    seeders: number;
    peers: PeerAddress[];
  }
  | { action: "scrape"; txid: number; files: Bep15ScrapeEntry[] }
  | { action: "error"; txid: number; message: string };

function u64At(bytes: Uint8Array, at: number): bigint {
  return (BigInt(u32At(bytes, at)) << 32n) | BigInt(u32At(bytes, at + 4));
}

function writeU64At(out: Uint8Array, at: number, value: bigint): void {
  writeU32At(out, at, Number((value >> 32n) & 0xffff_ffffn));
  writeU32At(out, at + 4, Number(value & 0xffff_ffffn));
}

/**
 * Which dialect a datagram speaks, from its first byte: Shoal's messages
 * start with the magic "SH" (0x53), and no BEP 15 datagram a client sends
 * a Shoal tracker does (a connect starts with 0x00, an announce or scrape
 * with a connection id whose top bit the tracker set).
 *
 * @param bytes a datagram, untrusted
 * @returns "shoal" or "bep15"
 * @example
 * ```ts
 * import { datagramDialect } from "@shoal/protocol";
 * datagramDialect(new Uint8Array([0x53, 0x48, 2])); // "shoal"
 * ```
 */
export function datagramDialect(bytes: Uint8Array): "shoal" | "bep15" {
  return bytes[0] === MAGIC >>> 8 ? "shoal" : "bep15";
}

/**
 * Checks a datagram against BEP 15's request layouts and says which
 * request it is; every field {@linkcode parseBep15Request} would refuse is
 * refused here, so the in-place readers below are safe on what passes.
 *
 * @param bytes a datagram, untrusted
 * @returns the request kind
 * @throws {ProtocolError} when it is not a BEP 15 request
 * @example
 * ```ts
 * import { checkBep15Request, encodeBep15Request } from "@shoal/protocol";
 * checkBep15Request(encodeBep15Request({ action: "connect", txid: 7 })); // "connect"
 * ```
 */
export function checkBep15Request(bytes: Uint8Array): Bep15RequestKind {
  const length = bytes.byteLength;
  if (length < BEP15_CONNECT_BYTES) {
    throw new ProtocolError(
      "too_short",
      `Cannot decode BEP 15 request: ${length} bytes, expected at least ${BEP15_CONNECT_BYTES}`,
    );
  }
  if (length > BEP15_MAX_REQUEST_BYTES) {
    throw new ProtocolError(
      "too_long",
      `Cannot decode BEP 15 request: ${length} bytes, expected at most ${BEP15_MAX_REQUEST_BYTES}`,
    );
  }
  const action = u32At(bytes, 8);
  switch (action) {
    case Bep15Action.CONNECT:
      if (u64At(bytes, 0) !== BEP15_PROTOCOL_ID) {
        throw new ProtocolError(
          "bad_magic",
          "Cannot decode BEP 15 connect: wrong protocol id",
        );
      }
      if (length !== BEP15_CONNECT_BYTES) {
        throw new ProtocolError(
          "trailing_bytes",
          `Cannot decode BEP 15 connect: ${length} bytes, expected ${BEP15_CONNECT_BYTES}`,
          BEP15_CONNECT_BYTES,
        );
      }
      return "connect";
    case Bep15Action.ANNOUNCE: {
      if (length < BEP15_ANNOUNCE_BYTES) {
        throw new ProtocolError(
          "too_short",
          `Cannot decode BEP 15 announce: ${length} bytes, expected at least ${BEP15_ANNOUNCE_BYTES}`,
        );
      }
      const event = u32At(bytes, EVENT_AT);
      if (event >= BEP15_EVENTS.length) {
        throw new ProtocolError(
          "bad_value",
          `Cannot decode BEP 15 announce: event ${event}, expected 0 to 3`,
          EVENT_AT,
        );
      }
      return "announce";
    }
    case Bep15Action.SCRAPE: {
      const hashBytes = length - SCRAPE_HEADER_BYTES;
      if (hashBytes === 0 || hashBytes % BEP15_INFOHASH_BYTES !== 0) {
        throw new ProtocolError(
          "bad_length",
          `Cannot decode BEP 15 scrape: ${length} bytes, expected 16 and whole infohashes of 20`,
        );
      }
      return "scrape";
    }
    default:
      throw new ProtocolError(
        "bad_type",
        `Cannot decode BEP 15 request: action ${action}, expected 0, 1 or 2`,
        8,
      );
  }
}

/**
 * The transaction id of a request {@linkcode checkBep15Request} passed.
 *
 * @param bytes the request
 * @returns its u32 transaction id
 * @example
 * ```ts
 * import { bep15Txid, encodeBep15Request } from "@shoal/protocol";
 * bep15Txid(encodeBep15Request({ action: "connect", txid: 7 })); // 7
 * ```
 */
export function bep15Txid(bytes: Uint8Array): number {
  return u32At(bytes, 12);
}

/**
 * The connection id's high 32 bits, of an announce or scrape.
 *
 * @param bytes the request
 * @returns an unsigned 32-bit number
 * @example
 * ```ts
 * import { bep15ConnectionHigh } from "@shoal/protocol";
 * bep15ConnectionHigh(new Uint8Array([0x80, 0, 0, 1, 0, 0, 0, 0])); // 0x80000001
 * ```
 */
export function bep15ConnectionHigh(bytes: Uint8Array): number {
  return u32At(bytes, 0);
}

/**
 * The connection id's low 32 bits, of an announce or scrape.
 *
 * @param bytes the request
 * @returns an unsigned 32-bit number
 * @example
 * ```ts
 * import { bep15ConnectionLow } from "@shoal/protocol";
 * bep15ConnectionLow(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 9])); // 9
 * ```
 */
export function bep15ConnectionLow(bytes: Uint8Array): number {
  return u32At(bytes, 4);
}

/**
 * True when an announce says the client has the whole file (`left` is 0).
 *
 * @param bytes an announce {@linkcode checkBep15Request} passed
 * @returns whether the client is a seeder
 * @example
 * ```ts
 * // bep15Seeding(announceBytes); // true when left = 0
 * ```
 */
export function bep15Seeding(bytes: Uint8Array): boolean {
  return u32At(bytes, LEFT_AT) === 0 && u32At(bytes, LEFT_AT + 4) === 0;
}

/**
 * An announce's event: 0 none, 1 completed, 2 started, 3 stopped.
 *
 * @param bytes an announce {@linkcode checkBep15Request} passed
 * @returns the event number, 0 to 3
 * @example
 * ```ts
 * // BEP15_EVENTS[bep15EventCode(announceBytes)]; // "started"
 * ```
 */
export function bep15EventCode(bytes: Uint8Array): number {
  return u32At(bytes, EVENT_AT);
}

/**
 * An announce's `num_want`, signed (-1 asks for the tracker's default).
 *
 * @param bytes an announce {@linkcode checkBep15Request} passed
 * @returns peers wanted, negative for the default
 * @example
 * ```ts
 * // bep15NumWant(announceBytes); // -1
 * ```
 */
export function bep15NumWant(bytes: Uint8Array): number {
  return u32At(bytes, NUM_WANT_AT) | 0;
}

/**
 * An announce's TCP port.
 *
 * @param bytes an announce {@linkcode checkBep15Request} passed
 * @returns the port the client listens on, 0 to 65535
 * @example
 * ```ts
 * // bep15Port(announceBytes); // 6881
 * ```
 */
export function bep15Port(bytes: Uint8Array): number {
  return (bytes[PORT_AT]! << 8) | bytes[PORT_AT + 1]!;
}

/**
 * How many infohashes a scrape asks about.
 *
 * @param bytes a scrape {@linkcode checkBep15Request} passed
 * @returns 1 to 74 (more is refused by {@linkcode checkBep15Request} as too long)
 * @example
 * ```ts
 * // bep15ScrapeCount(scrapeBytes); // 1
 * ```
 */
export function bep15ScrapeCount(bytes: Uint8Array): number {
  return (bytes.byteLength - SCRAPE_HEADER_BYTES) / BEP15_INFOHASH_BYTES;
}

/**
 * Decodes a BEP 15 request. Byte fields are views of `bytes`.
 *
 * @param bytes a datagram, untrusted
 * @returns the request
 * @throws {ProtocolError} when it is not a BEP 15 request
 * @example
 * ```ts
 * import { encodeBep15Request, parseBep15Request } from "@shoal/protocol";
 * parseBep15Request(encodeBep15Request({ action: "connect", txid: 7 })).action; // "connect"
 * ```
 */
export function parseBep15Request(bytes: Uint8Array): Bep15Request {
  const kind = checkBep15Request(bytes);
  const txid = bep15Txid(bytes);
  if (kind === "connect") return { action: "connect", txid };
  const connectionId = u64At(bytes, 0);
  if (kind === "scrape") {
    const infohashes: Uint8Array[] = [];
    for (let at = SCRAPE_HEADER_BYTES; at < bytes.byteLength; at += 20) {
      infohashes.push(bytes.subarray(at, at + BEP15_INFOHASH_BYTES));
    }
    return { action: "scrape", connectionId, txid, infohashes };
  }
  return {
    action: "announce",
    connectionId,
    txid,
    infohash: bytes.subarray(
      BEP15_INFOHASH_AT,
      BEP15_INFOHASH_AT + BEP15_INFOHASH_BYTES,
    ),
    peerId: bytes.subarray(
      BEP15_PEER_ID_AT,
      BEP15_PEER_ID_AT + BEP15_PEER_ID_BYTES,
    ),
    downloaded: u64At(bytes, DOWNLOADED_AT),
    left: u64At(bytes, LEFT_AT),
    uploaded: u64At(bytes, UPLOADED_AT),
    event: BEP15_EVENTS[bep15EventCode(bytes)]!,
    ip: u32At(bytes, IP_AT),
    key: u32At(bytes, KEY_AT),
    numWant: bep15NumWant(bytes),
    port: bep15Port(bytes),
    options: bytes.subarray(BEP15_ANNOUNCE_BYTES),
  };
}

function checkBytes(value: Uint8Array, length: number, what: string): void {
  if (value.byteLength !== length) {
    throw new TypeError(
      `Cannot encode BEP 15 ${what}: ${value.byteLength} bytes, expected ${length}`,
    );
  }
}

/**
 * Encodes a BEP 15 request, as a client sends it.
 *
 * @param request the request
 * @returns its bytes
 * @throws {TypeError} when an infohash or peer id is not 20 bytes, or a
 *   scrape has no infohash or more than 74
 * @example
 * ```ts
 * import { encodeBep15Request } from "@shoal/protocol";
 * encodeBep15Request({ action: "connect", txid: 1 }).byteLength; // 16
 * ```
 */
export function encodeBep15Request(request: Bep15Request): Uint8Array {
  if (request.action === "connect") {
    const out = new Uint8Array(BEP15_CONNECT_BYTES);
    writeU64At(out, 0, BEP15_PROTOCOL_ID);
    writeU32At(out, 8, Bep15Action.CONNECT);
    writeU32At(out, 12, request.txid >>> 0);
    return out;
  }
  if (request.action === "scrape") {
    const count = request.infohashes.length;
    if (count === 0 || count > BEP15_MAX_SCRAPE_HASHES) {
      throw new TypeError(
        `Cannot encode BEP 15 scrape: ${count} infohashes, expected 1 to ${BEP15_MAX_SCRAPE_HASHES}`,
      );
    }
    const out = new Uint8Array(SCRAPE_HEADER_BYTES + 20 * count);
    writeU64At(out, 0, request.connectionId);
    writeU32At(out, 8, Bep15Action.SCRAPE);
    writeU32At(out, 12, request.txid >>> 0);
    request.infohashes.forEach((hash, i) => {
      checkBytes(hash, BEP15_INFOHASH_BYTES, "scrape infohash");
      out.set(hash, SCRAPE_HEADER_BYTES + 20 * i);
    });
    return out;
  }
  checkBytes(request.infohash, BEP15_INFOHASH_BYTES, "announce infohash");
  checkBytes(request.peerId, BEP15_PEER_ID_BYTES, "announce peer id");
  const total = BEP15_ANNOUNCE_BYTES + request.options.byteLength;
  if (total > BEP15_MAX_REQUEST_BYTES) {
    throw new TypeError(
      `Cannot encode BEP 15 announce: ${total} bytes, expected at most ${BEP15_MAX_REQUEST_BYTES}`,
    );
  }
  const out = new Uint8Array(total);
  writeU64At(out, 0, request.connectionId);
  writeU32At(out, 8, Bep15Action.ANNOUNCE);
  writeU32At(out, 12, request.txid >>> 0);
  out.set(request.infohash, BEP15_INFOHASH_AT);
  out.set(request.peerId, BEP15_PEER_ID_AT);
  writeU64At(out, DOWNLOADED_AT, request.downloaded);
  writeU64At(out, LEFT_AT, request.left);
  writeU64At(out, UPLOADED_AT, request.uploaded);
  writeU32At(out, EVENT_AT, BEP15_EVENTS.indexOf(request.event));
  writeU32At(out, IP_AT, request.ip >>> 0);
  writeU32At(out, KEY_AT, request.key >>> 0);
  writeU32At(out, NUM_WANT_AT, request.numWant >>> 0);
  out[PORT_AT] = request.port >>> 8;
  out[PORT_AT + 1] = request.port & 0xff;
  out.set(request.options, BEP15_ANNOUNCE_BYTES);
  return out;
}

/**
 * Writes a connect reply into `out`: 16 bytes, as many as the request.
 *
 * @param out the reply buffer, at least 16 bytes
 * @param txid the request's transaction id
 * @param connectionId the connection id
 * @returns 16
 * @example
 * ```ts
 * import { writeBep15Connect } from "@shoal/protocol";
 * writeBep15Connect(new Uint8Array(16), 7, 0x8000_0000_0000_0001n); // 16
 * ```
 */
export function writeBep15Connect(
  out: Uint8Array,
  txid: number,
  connectionId: bigint,
): number {
  writeU32At(out, 0, Bep15Action.CONNECT);
  writeU32At(out, 4, txid >>> 0);
  writeU64At(out, 8, connectionId);
  return BEP15_CONNECT_BYTES;
}

/** The fields of an announce reply, for {@linkcode writeBep15Announce}. */
export interface Bep15AnnounceFields {
  txid: number;
  intervalSeconds: number;
  leechers: number;
  seeders: number;
  /** The peers: every one of `family`. */
  peers: PeerListPeers;
  /** 4 for 6-byte peers (IPv4), 6 for 18-byte peers (IPv6). */
  family: 4 | 6;
}

/** Bytes of an announce reply with `count` peers of `family`. */
export function bep15AnnounceReplyBytes(family: 4 | 6, count: number): number {
  return BEP15_ANNOUNCE_REPLY_BYTES + count * (family === 6 ? 18 : 6);
}

/**
 * Writes an announce reply into `out` from offset 0.
 *
 * @param out the reply buffer
 * @param fields interval, counts and peers
 * @returns the reply's length
 * @throws {RangeError} when it would not fit `out`, or a peer is of the
 *   other family
 * @example
 * ```ts
 * import { PeerListPeers, writeBep15Announce } from "@shoal/protocol";
 * const out = new Uint8Array(1452);
 * writeBep15Announce(out, { txid: 1, intervalSeconds: 1800, leechers: 0, seeders: 1, peers: new PeerListPeers(0), family: 4 }); // 20
 * ```
 */
export function writeBep15Announce(
  out: Uint8Array,
  fields: Bep15AnnounceFields,
): number {
  const { peers, family } = fields;
  const count = peers.count;
  const length = bep15AnnounceReplyBytes(family, count);
  if (length > out.byteLength || count > peers.capacity) {
    throw new RangeError(
      `Cannot write BEP 15 announce reply: ${count} peers need ${length} bytes, the buffer has ${out.byteLength}`,
    );
  }
  writeU32At(out, 0, Bep15Action.ANNOUNCE);
  writeU32At(out, 4, fields.txid >>> 0);
  writeU32At(out, 8, fields.intervalSeconds >>> 0);
  writeU32At(out, 12, fields.leechers >>> 0);
  writeU32At(out, 16, fields.seeders >>> 0);
  let at = BEP15_ANNOUNCE_REPLY_BYTES;
  const addresses = peers.addresses;
  const size = family === 6 ? 16 : 4;
  for (let i = 0; i < count; i++) {
    if (peers.family[i] !== family) {
      throw new RangeError(
        `Cannot write BEP 15 announce reply: peer ${i} is not IPv${family}`,
      );
    }
    const from = i * 16;
    for (let k = 0; k < size; k++) out[at++] = addresses[from + k]!;
    const port = peers.ports[i]!;
    out[at++] = port >>> 8;
    out[at++] = port & 0xff;
  }
  return at;
}

/**
 * Writes the header of a scrape reply (action and txid); the caller then
 * writes each entry with {@linkcode writeBep15ScrapeEntry}.
 *
 * @param out the reply buffer
 * @param txid the request's transaction id
 * @returns 8, where the first entry goes
 * @example
 * ```ts
 * import { writeBep15ScrapeHeader } from "@shoal/protocol";
 * writeBep15ScrapeHeader(new Uint8Array(20), 3); // 8
 * ```
 */
export function writeBep15ScrapeHeader(out: Uint8Array, txid: number): number {
  writeU32At(out, 0, Bep15Action.SCRAPE);
  writeU32At(out, 4, txid >>> 0);
  return 8;
}

/**
 * Writes one scrape entry at `at`.
 *
 * @param out the reply buffer
 * @param at where the entry goes
 * @param entry seeders, completed and leechers
 * @returns the offset after it
 * @example
 * ```ts
 * import { writeBep15ScrapeEntry } from "@shoal/protocol";
 * writeBep15ScrapeEntry(new Uint8Array(20), 8, { seeders: 1, completed: 0, leechers: 2 }); // 20
 * ```
 */
export function writeBep15ScrapeEntry(
  out: Uint8Array,
  at: number,
  entry: Bep15ScrapeEntry,
): number {
  writeU32At(out, at, entry.seeders >>> 0);
  writeU32At(out, at + 4, entry.completed >>> 0);
  writeU32At(out, at + 8, entry.leechers >>> 0);
  return at + BEP15_SCRAPE_ENTRY_BYTES;
}

const encoder = new TextEncoder();
const lenientDecoder = new TextDecoder();

/**
 * Writes an error reply into `out`: action 3, the txid and the message.
 *
 * @param out the reply buffer
 * @param txid the request's transaction id
 * @param message ASCII text, short (it is cut to fit `out`)
 * @returns the reply's length
 * @example
 * ```ts
 * import { writeBep15Error } from "@shoal/protocol";
 * writeBep15Error(new Uint8Array(64), 1, "nope"); // 12
 * ```
 */
export function writeBep15Error(
  out: Uint8Array,
  txid: number,
  message: string,
): number {
  writeU32At(out, 0, Bep15Action.ERROR);
  writeU32At(out, 4, txid >>> 0);
  const { written } = encoder.encodeInto(
    message,
    out.subarray(BEP15_ERROR_REPLY_BYTES),
  );
  return BEP15_ERROR_REPLY_BYTES + written;
}

/**
 * Encodes a reply as a tracker sends it (tests, and trackers other than the
 * Shoal tracker's hot path).
 *
 * @param reply the reply; announce peers must all be of `family`
 * @param family the transport's family: 4 (6-byte peers) or 6 (18-byte peers)
 * @returns its bytes
 * @throws {RangeError} when it would exceed a datagram, or a peer is not
 *   an address of `family`
 * @example
 * ```ts
 * import { encodeBep15Reply } from "@shoal/protocol";
 * encodeBep15Reply({ action: "connect", txid: 1, connectionId: 2n }).byteLength; // 16
 * ```
 */
export function encodeBep15Reply(
  reply: Bep15Reply,
  family: 4 | 6 = 4,
): Uint8Array {
  const out = new Uint8Array(MAX_DATAGRAM_BYTES);
  let length: number;
  switch (reply.action) {
    case "connect":
      length = writeBep15Connect(out, reply.txid, reply.connectionId);
      break;
    case "error":
      if (encoder.encode(reply.message).byteLength > out.byteLength - 8) {
        throw new RangeError("Cannot encode BEP 15 error: message too long");
      }
      length = writeBep15Error(out, reply.txid, reply.message);
      break;
    case "scrape": {
      if (8 + 12 * reply.files.length > out.byteLength) {
        throw new RangeError("Cannot encode BEP 15 scrape reply: too long");
      }
      length = writeBep15ScrapeHeader(out, reply.txid);
      for (const entry of reply.files) {
        length = writeBep15ScrapeEntry(out, length, entry);
      }
      break;
    }
    case "announce": {
      if (
        bep15AnnounceReplyBytes(family, reply.peers.length) > out.byteLength
      ) {
        throw new RangeError("Cannot encode BEP 15 announce reply: too long");
      }
      writeU32At(out, 0, Bep15Action.ANNOUNCE);
      writeU32At(out, 4, reply.txid >>> 0);
      writeU32At(out, 8, reply.intervalSeconds >>> 0);
      writeU32At(out, 12, reply.leechers >>> 0);
      writeU32At(out, 16, reply.seeders >>> 0);
      length = BEP15_ANNOUNCE_REPLY_BYTES;
      for (const peer of reply.peers) {
        const ip = ipToBytes(peer.host);
        if (!ip || ip.byteLength !== (family === 6 ? 16 : 4)) {
          throw new RangeError(
            `Cannot encode BEP 15 announce reply: "${peer.host}" is not an IPv${family} address`,
          );
        }
        out.set(ip, length);
        length += ip.byteLength;
        out[length++] = peer.port >>> 8;
        out[length++] = peer.port & 0xff;
      }
      break;
    }
  }
  return out.slice(0, length);
}

/**
 * Decodes a reply as a client reads it.
 *
 * @param bytes a datagram, untrusted
 * @param family the transport's family: 4 (6-byte peers) or 6 (18-byte peers)
 * @returns the reply
 * @throws {ProtocolError} when it is not a BEP 15 reply
 * @example
 * ```ts
 * import { encodeBep15Reply, parseBep15Reply } from "@shoal/protocol";
 * parseBep15Reply(encodeBep15Reply({ action: "connect", txid: 1, connectionId: 2n })).action; // "connect"
 * ```
 */
export function parseBep15Reply(
  bytes: Uint8Array,
  family: 4 | 6 = 4,
): Bep15Reply {
  const length = bytes.byteLength;
  if (length < 8) {
    throw new ProtocolError(
      "too_short",
      `Cannot decode BEP 15 reply: ${length} bytes, expected at least 8`,
    );
  }
  if (length > MAX_DATAGRAM_BYTES) {
    throw new ProtocolError(
      "too_long",
      `Cannot decode BEP 15 reply: ${length} bytes, expected at most ${MAX_DATAGRAM_BYTES}`,
    );
  }
  const action = u32At(bytes, 0);
  const txid = u32At(bytes, 4);
  switch (action) {
    case Bep15Action.CONNECT:
      if (length !== BEP15_CONNECT_BYTES) {
        throw new ProtocolError(
          "bad_length",
          `Cannot decode BEP 15 connect reply: ${length} bytes, expected 16`,
        );
      }
      return { action: "connect", txid, connectionId: u64At(bytes, 8) };
    case Bep15Action.ANNOUNCE: {
      const stride = family === 6 ? 18 : 6;
      const peerBytes = length - BEP15_ANNOUNCE_REPLY_BYTES;
      if (peerBytes < 0 || peerBytes % stride !== 0) {
        throw new ProtocolError(
          "bad_length",
          `Cannot decode BEP 15 announce reply: ${length} bytes, expected 20 and whole peers of ${stride}`,
        );
      }
      const peers: PeerAddress[] = [];
      for (let at = BEP15_ANNOUNCE_REPLY_BYTES; at < length; at += stride) {
        const ip = bytes.subarray(at, at + stride - 2);
        peers.push({
          host: bytesToIp(ip),
          port: (bytes[at + stride - 2]! << 8) | bytes[at + stride - 1]!,
        });
      }
      return {
        action: "announce",
        txid,
        intervalSeconds: u32At(bytes, 8),
        leechers: u32At(bytes, 12),
        seeders: u32At(bytes, 16),
        peers,
      };
    }
    case Bep15Action.SCRAPE: {
      if ((length - 8) % BEP15_SCRAPE_ENTRY_BYTES !== 0) {
        throw new ProtocolError(
          "bad_length",
          `Cannot decode BEP 15 scrape reply: ${length} bytes, expected 8 and whole entries of 12`,
        );
      }
      const files: Bep15ScrapeEntry[] = [];
      for (let at = 8; at < length; at += BEP15_SCRAPE_ENTRY_BYTES) {
        files.push({
          seeders: u32At(bytes, at),
          completed: u32At(bytes, at + 4),
          leechers: u32At(bytes, at + 8),
        });
      }
      return { action: "scrape", txid, files };
    }
    case Bep15Action.ERROR:
      // Trackers send any bytes here: shown, never trusted.
      return {
        action: "error",
        txid,
        message: lenientDecoder.decode(bytes.subarray(8)),
      };
    default:
      throw new ProtocolError(
        "bad_type",
        `Cannot decode BEP 15 reply: action ${action}, expected 0 to 3`,
      );
  }
}
