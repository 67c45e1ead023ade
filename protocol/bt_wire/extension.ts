/**
 * The payloads of BEP 10 extended messages Shoal reads and writes: the
 * extension handshake (a bencoded dictionary: `m`, `v`, `p`, `reqq`,
 * `metadata_size`) and BEP 9 `ut_metadata` messages (a bencoded dictionary,
 * followed by the metadata piece in a data message). See docs/PROTOCOL.md,
 * "BitTorrent".
 *
 * @module
 */
import {
  type BDict,
  bkeyBytes,
  type BValue,
  decodeBencode,
  decodeBencodePrefix,
  dictGet,
  encodeBencode,
} from "../bencode.ts";
import { ProtocolError } from "../errors.ts";
import {
  BT_METADATA_PIECE_BYTES,
  MAX_BT_EXTENDED_BYTES,
  MAX_BT_METADATA_BYTES,
} from "./constants.ts";

/** Bounds for the small dictionaries of extended messages. */
const LIMITS = { maxDepth: 4, maxItems: 512 } as const;
const UTF8 = new TextEncoder();
const LENIENT_UTF8 = new TextDecoder("utf-8", { fatal: false });

/** A decoded BEP 10 extension handshake (the fields Shoal uses). */
export interface ExtendedHandshake {
  /**
   * Extension name to the id this side wants it sent with (`m`); an id of
   * 0 means the extension is turned off.
   */
  extensions: Map<string, number>;
  /** Client name and version (`v`), or null. */
  client: string | null;
  /** TCP port the peer listens on (`p`), or null. */
  port: number | null;
  /** Requests the peer queues at most (`reqq`), or null. */
  requestQueue: number | null;
  /** Bytes of the info dictionary (`metadata_size`, BEP 9), or null. */
  metadataSize: number | null;
}

function fail(what: string, code: ProtocolError["code"] = "bad_value"): never {
  throw new ProtocolError(code, `Cannot decode extended message: ${what}`);
}

function optionalInt(
  dict: BDict,
  name: string,
  min: number,
  max: number,
): number | null {
  const value = dictGet(dict, name);
  if (value === undefined) return null;
  if (typeof value !== "bigint" || value < BigInt(min) || value > BigInt(max)) {
    fail(`"${name}" is not an integer from ${min} to ${max}`);
  }
  return Number(value);
}

function asDict(value: BValue, what: string): BDict {
  if (!(value instanceof Map)) fail(`${what} is not a dictionary`, "bad_type");
  return value;
}

/**
 * Decodes an extension handshake payload (after the extended id 0). Keys
 * Shoal does not use are ignored; those it uses must have the right type.
 *
 * @param payload untrusted bytes
 * @returns the handshake
 * @throws {ProtocolError} on bad bencode or a wrong type. A large
 *   `metadata_size` is no error: it only says what the peer has, and the
 *   side that would fetch it decides whether it will
 *   ({@linkcode MAX_BT_METADATA_BYTES}).
 * @example
 * ```ts
 * import { decodeExtendedHandshake, encodeExtendedHandshake } from "@shoal/protocol";
 * const bytes = encodeExtendedHandshake({
 *   extensions: new Map([["ut_metadata", 3]]),
 *   client: "Shoal", port: null, requestQueue: 250, metadataSize: 180,
 * });
 * decodeExtendedHandshake(bytes).extensions.get("ut_metadata"); // 3
 * ```
 */
export function decodeExtendedHandshake(
  payload: Uint8Array,
): ExtendedHandshake {
  if (payload.byteLength > MAX_BT_EXTENDED_BYTES) {
    fail(`${payload.byteLength} bytes`, "too_long");
  }
  const dict = asDict(decodeBencode(payload, LIMITS), "the handshake");
  const extensions = new Map<string, number>();
  const m = dictGet(dict, "m");
  if (m !== undefined) {
    for (const [name, id] of asDict(m, '"m"')) {
      if (typeof id !== "bigint" || id < 0n || id > 255n) {
        fail(`extension id of "${name}" is not from 0 to 255`);
      }
      extensions.set(name, Number(id));
    }
  }
  const v = dictGet(dict, "v");
  if (v !== undefined && !(v instanceof Uint8Array)) {
    fail('"v" is not a string');
  }
  const metadataSize = optionalInt(dict, "metadata_size", 0, 2 ** 31);
  return {
    extensions,
    client: v === undefined ? null : LENIENT_UTF8.decode(v),
    port: optionalInt(dict, "p", 0, 65_535),
    requestQueue: optionalInt(dict, "reqq", 0, 2 ** 31),
    metadataSize,
  };
}

/**
 * Encodes an extension handshake payload (to send after extended id 0).
 *
 * @param handshake the fields; null fields are left out
 * @returns the bencoded dictionary
 * @example
 * ```ts
 * import { encodeExtendedHandshake } from "@shoal/protocol";
 * encodeExtendedHandshake({
 *   extensions: new Map([["ut_metadata", 1]]),
 *   client: null, port: null, requestQueue: null, metadataSize: null,
 * }); // "d1:md11:ut_metadatai1eee"
 * ```
 */
export function encodeExtendedHandshake(
  handshake: ExtendedHandshake,
): Uint8Array {
  const m: BDict = new Map();
  for (const [name, id] of handshake.extensions) {
    bkeyBytes(name); // Throws on a name that is not a binary string.
    m.set(name, BigInt(id));
  }
  const dict: BDict = new Map<string, BValue>([["m", m]]);
  if (handshake.client !== null) {
    dict.set("v", UTF8.encode(handshake.client));
  }
  if (handshake.port !== null) dict.set("p", BigInt(handshake.port));
  if (handshake.requestQueue !== null) {
    dict.set("reqq", BigInt(handshake.requestQueue));
  }
  if (handshake.metadataSize !== null) {
    dict.set("metadata_size", BigInt(handshake.metadataSize));
  }
  return encodeBencode(dict);
}

/** A BEP 9 `ut_metadata` message. */
export type MetadataMessage =
  | { kind: "metadata_request"; piece: number }
  | {
    kind: "metadata_data";
    piece: number;
    /** The info dictionary's size in bytes. */
    totalSize: number;
    /** The piece: 16 KiB, the last one shorter. */
    data: Uint8Array;
  }
  | { kind: "metadata_reject"; piece: number }
  /** A msg_type BEP 9 does not define: to be ignored. */
  | { kind: "metadata_other"; msgType: number; piece: number };

/** Metadata pieces an info dictionary of `size` bytes has. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / BT_METADATA_PIECE_BYTES);
}

/**
 * Decodes a `ut_metadata` payload (after its extended id).
 *
 * @param payload untrusted bytes
 * @param views the data of a data message is a view into `payload` @default {false}
 * @returns the message
 * @throws {ProtocolError} on bad bencode, a missing or wrong field, bytes
 *   after a request or reject, or a data piece whose size does not follow
 *   from `total_size` and its index
 * @example
 * ```ts
 * import { decodeMetadataMessage, encodeMetadataMessage } from "@shoal/protocol";
 * const bytes = encodeMetadataMessage({ kind: "metadata_request", piece: 0 });
 * decodeMetadataMessage(bytes); // { kind: "metadata_request", piece: 0 }
 * ```
 */
export function decodeMetadataMessage(
  payload: Uint8Array,
  views = false,
): MetadataMessage {
  if (payload.byteLength > MAX_BT_EXTENDED_BYTES) {
    fail(`${payload.byteLength} bytes`, "too_long");
  }
  const { value, end } = decodeBencodePrefix(payload, LIMITS);
  const dict = asDict(value, "the ut_metadata header");
  const msgType = optionalInt(dict, "msg_type", 0, 255);
  const piece = optionalInt(dict, "piece", 0, 2 ** 31 - 1);
  if (msgType === null || piece === null) {
    fail("ut_metadata without msg_type or piece");
  }
  const rest = payload.subarray(end);
  if (msgType === 1) {
    const totalSize = optionalInt(dict, "total_size", 1, MAX_BT_METADATA_BYTES);
    if (totalSize === null) fail("ut_metadata data without total_size");
    const expected = Math.min(
      BT_METADATA_PIECE_BYTES,
      totalSize - piece * BT_METADATA_PIECE_BYTES,
    );
    if (expected <= 0 || rest.byteLength !== expected) {
      fail(
        `metadata piece ${piece} has ${rest.byteLength} bytes, expected ${
          Math.max(expected, 0)
        } of ${totalSize}`,
        "bad_length",
      );
    }
    return {
      kind: "metadata_data",
      piece,
      totalSize,
      data: views ? rest : rest.slice(),
    };
  }
  if (rest.byteLength !== 0) {
    fail(
      `${rest.byteLength} bytes after the ut_metadata header`,
      "trailing_bytes",
    );
  }
  if (msgType === 0) return { kind: "metadata_request", piece };
  if (msgType === 2) return { kind: "metadata_reject", piece };
  return { kind: "metadata_other", msgType, piece };
}

/**
 * Encodes a `ut_metadata` payload (to send after the peer's id for it).
 *
 * @param message the message
 * @returns the bencoded header, and the piece for a data message
 * @example
 * ```ts
 * import { encodeMetadataMessage } from "@shoal/protocol";
 * encodeMetadataMessage({ kind: "metadata_reject", piece: 2 }); // "d8:msg_typei2e5:piecei2ee"
 * ```
 */
export function encodeMetadataMessage(message: MetadataMessage): Uint8Array {
  const msgType = message.kind === "metadata_request"
    ? 0
    : message.kind === "metadata_data"
    ? 1
    : message.kind === "metadata_reject"
    ? 2
    : message.msgType;
  const dict: BDict = new Map<string, BValue>([
    ["msg_type", BigInt(msgType)],
    ["piece", BigInt(message.piece)],
  ]);
  if (message.kind !== "metadata_data") return encodeBencode(dict);
  dict.set("total_size", BigInt(message.totalSize));
  const head = encodeBencode(dict);
  const out = new Uint8Array(head.byteLength + message.data.byteLength);
  out.set(head);
  out.set(message.data, head.byteLength);
  return out;
}
