/**
 * BitTorrent peer messages as v2 clients speak them: BEP 3 (choke ...
 * cancel), BEP 5 (port), BEP 6 (suggest, have all, have none, reject
 * request, allowed fast), BEP 10 (extended, whose payload
 * {@linkcode decodeExtendedHandshake} and {@linkcode decodeMetadataMessage}
 * read) and BEP 52 (hash request, hashes, hash reject). Each message is a
 * 4-byte big-endian length, an id byte and a body; a zero length is a
 * keep-alive. The allowed length of each id is checked from the 5-byte
 * header alone, before a body byte is buffered ({@linkcode btBodyLimits}).
 * See docs/PROTOCOL.md, "BitTorrent".
 *
 * @module
 */
import { HASH_BYTES } from "../constants.ts";
import { ProtocolError } from "../errors.ts";
import {
  BT_BLOCK_BYTES,
  BT_HASH_REQUEST_BYTES,
  BtMessageId,
  MAX_BT_BITFIELD_BYTES,
  MAX_BT_EXTENDED_BYTES,
  MAX_BT_HASHES_PER_MESSAGE,
  MAX_BT_UNKNOWN_BYTES,
} from "./constants.ts";

/** A block range: piece index, byte offset in the piece, length (1 to 16 KiB). */
export interface BtBlockRange {
  /** Piece index. */
  index: number;
  /** Byte offset in the piece. */
  begin: number;
  /** Bytes, 1 to 16 KiB. */
  length: number;
}

/** The fields of a BEP 52 hash request (and hash reject). */
export interface BtHashRequest {
  /** The file's `pieces root`. */
  piecesRoot: Uint8Array;
  /** Layer of the hashes asked for: 0 for the leaves (16 KiB blocks). */
  baseLayer: number;
  /** Offset, in hashes, of the first one in the base layer. */
  index: number;
  /** Number of base-layer hashes. */
  length: number;
  /** Layers above the base layer to prove up to (BEP 52 counts the omitted ones too). */
  proofLayers: number;
}

/** A BitTorrent peer message. */
export type BtMessage =
  | { kind: "keepalive" }
  | { kind: "choke" }
  | { kind: "unchoke" }
  | { kind: "interested" }
  | { kind: "not_interested" }
  | { kind: "have"; index: number }
  | { kind: "bitfield"; bits: Uint8Array }
  | ({ kind: "request" } & BtBlockRange)
  | { kind: "piece"; index: number; begin: number; block: Uint8Array }
  | ({ kind: "cancel" } & BtBlockRange)
  | { kind: "port"; port: number }
  | { kind: "suggest"; index: number }
  | { kind: "have_all" }
  | { kind: "have_none" }
  | ({ kind: "reject" } & BtBlockRange)
  | { kind: "allowed_fast"; index: number }
  | { kind: "extended"; id: number; payload: Uint8Array }
  | ({ kind: "hash_request" } & BtHashRequest)
  | ({ kind: "hashes" } & BtHashRequest & { hashes: Uint8Array })
  | ({ kind: "hash_reject" } & BtHashRequest)
  | { kind: "unknown"; id: number; payload: Uint8Array };

/** The kind of a {@linkcode BtMessage}. */
export type BtMessageKind = BtMessage["kind"];

/** The message of one kind. */
export type BtMessageOf<K extends BtMessageKind> = Extract<
  BtMessage,
  { kind: K }
>;

const KIND_OF_ID = new Map<number, BtMessageKind>([
  [BtMessageId.CHOKE, "choke"],
  [BtMessageId.UNCHOKE, "unchoke"],
  [BtMessageId.INTERESTED, "interested"],
  [BtMessageId.NOT_INTERESTED, "not_interested"],
  [BtMessageId.HAVE, "have"],
  [BtMessageId.BITFIELD, "bitfield"],
  [BtMessageId.REQUEST, "request"],
  [BtMessageId.PIECE, "piece"],
  [BtMessageId.CANCEL, "cancel"],
  [BtMessageId.PORT, "port"],
  [BtMessageId.SUGGEST, "suggest"],
  [BtMessageId.HAVE_ALL, "have_all"],
  [BtMessageId.HAVE_NONE, "have_none"],
  [BtMessageId.REJECT, "reject"],
  [BtMessageId.ALLOWED_FAST, "allowed_fast"],
  [BtMessageId.EXTENDED, "extended"],
  [BtMessageId.HASH_REQUEST, "hash_request"],
  [BtMessageId.HASHES, "hashes"],
  [BtMessageId.HASH_REJECT, "hash_reject"],
]);

const ID_OF_KIND = new Map<BtMessageKind, number>(
  [...KIND_OF_ID].map(([id, kind]) => [kind, id]),
);

/**
 * The smallest and largest body (the bytes after the id byte) a message
 * with this id may have, and the unit its variable part comes in.
 *
 * @param id the message id
 * @param maxBitfieldBytes the bitfield size allowed on this connection
 * @returns `[min, max, step]`: the body must be `min + k * step <= max`
 * @example
 * ```ts
 * import { btBodyLimits, BtMessageId } from "@shoal/protocol";
 * btBodyLimits(BtMessageId.HAVE); // [4, 4, 1]
 * ```
 */
export function btBodyLimits(
  id: number,
  maxBitfieldBytes: number = MAX_BT_BITFIELD_BYTES,
): [number, number, number] {
  switch (id) {
    case BtMessageId.CHOKE:
    case BtMessageId.UNCHOKE:
    case BtMessageId.INTERESTED:
    case BtMessageId.NOT_INTERESTED:
    case BtMessageId.HAVE_ALL:
    case BtMessageId.HAVE_NONE:
      return [0, 0, 1];
    case BtMessageId.HAVE:
    case BtMessageId.SUGGEST:
    case BtMessageId.ALLOWED_FAST:
      return [4, 4, 1];
    case BtMessageId.PORT:
      return [2, 2, 1];
    case BtMessageId.BITFIELD:
      return [1, maxBitfieldBytes, 1];
    case BtMessageId.REQUEST:
    case BtMessageId.CANCEL:
    case BtMessageId.REJECT:
      return [12, 12, 1];
    case BtMessageId.PIECE:
      return [9, 8 + BT_BLOCK_BYTES, 1];
    case BtMessageId.EXTENDED:
      return [1, 1 + MAX_BT_EXTENDED_BYTES, 1];
    case BtMessageId.HASH_REQUEST:
    case BtMessageId.HASH_REJECT:
      return [BT_HASH_REQUEST_BYTES, BT_HASH_REQUEST_BYTES, 1];
    case BtMessageId.HASHES:
      return [
        BT_HASH_REQUEST_BYTES,
        BT_HASH_REQUEST_BYTES + HASH_BYTES * MAX_BT_HASHES_PER_MESSAGE,
        HASH_BYTES,
      ];
    default:
      return [0, MAX_BT_UNKNOWN_BYTES, 1];
  }
}

/**
 * Checks a body length against its id's limits.
 *
 * @throws {ProtocolError} `bad_length` or `too_long`
 */
export function checkBtBodyLength(
  id: number,
  bodyBytes: number,
  maxBitfieldBytes: number = MAX_BT_BITFIELD_BYTES,
): void {
  const [min, max, step] = btBodyLimits(id, maxBitfieldBytes);
  if (bodyBytes > max) {
    throw new ProtocolError(
      "too_long",
      `Cannot accept BitTorrent ${
        KIND_OF_ID.get(id) ?? `message ${id}`
      }: body of ${bodyBytes} bytes, at most ${max}`,
    );
  }
  if (bodyBytes < min || (bodyBytes - min) % step !== 0) {
    throw new ProtocolError(
      "bad_length",
      `Cannot accept BitTorrent ${
        KIND_OF_ID.get(id) ?? `message ${id}`
      }: body of ${bodyBytes} bytes is not a valid size`,
    );
  }
}

function u32(view: DataView, at: number): number {
  return view.getUint32(at);
}

function blockRange(view: DataView, what: string): BtBlockRange {
  const range = {
    index: u32(view, 0),
    begin: u32(view, 4),
    length: u32(view, 8),
  };
  if (range.length < 1 || range.length > BT_BLOCK_BYTES) {
    throw new ProtocolError(
      "bad_value",
      `Cannot decode BitTorrent ${what}: length ${range.length} is not from 1 to ${BT_BLOCK_BYTES}`,
      8,
    );
  }
  return range;
}

function hashRequest(
  body: Uint8Array,
  view: DataView,
  copy: (bytes: Uint8Array) => Uint8Array,
): BtHashRequest {
  return {
    piecesRoot: copy(body.subarray(0, HASH_BYTES)),
    baseLayer: u32(view, HASH_BYTES),
    index: u32(view, HASH_BYTES + 4),
    length: u32(view, HASH_BYTES + 8),
    proofLayers: u32(view, HASH_BYTES + 12),
  };
}

// Made once, not per message: decodeBtBody runs for every block.
const asView = (bytes: Uint8Array): Uint8Array => bytes;
const asCopy = (bytes: Uint8Array): Uint8Array => bytes.slice();

/**
 * Decodes one message's body, once its length was checked.
 *
 * @param id the message id
 * @param body the bytes after the id byte
 * @param views byte fields are views into `body` instead of copies
 * @returns the message
 * @throws {ProtocolError} when the body breaks its message's rules
 * @example
 * ```ts
 * import { BtMessageId, decodeBtBody } from "@shoal/protocol";
 * decodeBtBody(BtMessageId.HAVE, new Uint8Array([0, 0, 0, 7])); // { kind: "have", index: 7 }
 * ```
 */
export function decodeBtBody(
  id: number,
  body: Uint8Array,
  views = false,
): BtMessage {
  checkBtBodyLength(id, body.byteLength);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const copy = views ? asView : asCopy;
  const kind = KIND_OF_ID.get(id);
  switch (kind) {
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
    case "have_all":
    case "have_none":
      return { kind };
    case "have":
    case "suggest":
    case "allowed_fast":
      return { kind, index: u32(view, 0) };
    case "port":
      return { kind, port: view.getUint16(0) };
    case "bitfield":
      return { kind, bits: copy(body) };
    case "request":
    case "cancel":
    case "reject":
      return { kind, ...blockRange(view, kind) };
    case "piece":
      return {
        kind,
        index: u32(view, 0),
        begin: u32(view, 4),
        block: copy(body.subarray(8)),
      };
    case "extended":
      return { kind, id: body[0]!, payload: copy(body.subarray(1)) };
    case "hash_request":
    case "hash_reject":
      return { kind, ...hashRequest(body, view, copy) };
    case "hashes":
      return {
        kind,
        ...hashRequest(body, view, copy),
        hashes: copy(body.subarray(BT_HASH_REQUEST_BYTES)),
      };
    default:
      return { kind: "unknown", id, payload: copy(body) };
  }
}

/** Bytes of the body of `message` (after the id byte). */
function bodyBytes(message: BtMessage): number {
  switch (message.kind) {
    case "keepalive":
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
    case "have_all":
    case "have_none":
      return 0;
    case "have":
    case "suggest":
    case "allowed_fast":
      return 4;
    case "port":
      return 2;
    case "bitfield":
      return message.bits.byteLength;
    case "request":
    case "cancel":
    case "reject":
      return 12;
    case "piece":
      return 8 + message.block.byteLength;
    case "extended":
      return 1 + message.payload.byteLength;
    case "hash_request":
    case "hash_reject":
      return BT_HASH_REQUEST_BYTES;
    case "hashes":
      return BT_HASH_REQUEST_BYTES + message.hashes.byteLength;
    case "unknown":
      return message.payload.byteLength;
  }
}

function writeHashRequest(
  out: Uint8Array,
  view: DataView,
  at: number,
  request: BtHashRequest,
): void {
  if (request.piecesRoot.byteLength !== HASH_BYTES) {
    throw new RangeError(
      `Cannot encode hash request: pieces root has ${request.piecesRoot.byteLength} bytes, not ${HASH_BYTES}`,
    );
  }
  out.set(request.piecesRoot, at);
  view.setUint32(at + HASH_BYTES, request.baseLayer);
  view.setUint32(at + HASH_BYTES + 4, request.index);
  view.setUint32(at + HASH_BYTES + 8, request.length);
  view.setUint32(at + HASH_BYTES + 12, request.proofLayers);
}

/**
 * Encodes a message with its length prefix.
 *
 * @param message the message
 * @returns the bytes to send
 * @throws {RangeError} when a field does not fit its message
 * @example
 * ```ts
 * import { encodeBtMessage } from "@shoal/protocol";
 * encodeBtMessage({ kind: "interested" }); // 0, 0, 0, 1, 2
 * ```
 */
export function encodeBtMessage(message: BtMessage): Uint8Array {
  if (message.kind === "keepalive") return new Uint8Array(4);
  const id = message.kind === "unknown"
    ? message.id
    : ID_OF_KIND.get(message.kind)!;
  const body = bodyBytes(message);
  const out = new Uint8Array(5 + body);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1 + body);
  out[4] = id;
  switch (message.kind) {
    case "have":
    case "suggest":
    case "allowed_fast":
      view.setUint32(5, message.index);
      break;
    case "port":
      view.setUint16(5, message.port);
      break;
    case "bitfield":
      out.set(message.bits, 5);
      break;
    case "request":
    case "cancel":
    case "reject":
      view.setUint32(5, message.index);
      view.setUint32(9, message.begin);
      view.setUint32(13, message.length);
      break;
    case "piece":
      view.setUint32(5, message.index);
      view.setUint32(9, message.begin);
      out.set(message.block, 13);
      break;
    case "extended":
      out[5] = message.id;
      out.set(message.payload, 6);
      break;
    case "hash_request":
    case "hash_reject":
      writeHashRequest(out, view, 5, message);
      break;
    case "hashes":
      writeHashRequest(out, view, 5, message);
      out.set(message.hashes, 5 + BT_HASH_REQUEST_BYTES);
      break;
    case "unknown":
      if (KIND_OF_ID.has(message.id)) {
        throw new RangeError(
          `Cannot encode message ${message.id} as unknown: it is ${
            KIND_OF_ID.get(message.id)
          }`,
        );
      }
      out.set(message.payload, 5);
      break;
  }
  return out;
}

/** Bytes of one request, cancel or reject with its length prefix. */
const RANGE_FRAME_BYTES = 17;

/**
 * Encodes many requests (or cancels, or rejects) into one buffer, as one
 * write sends them: what {@linkcode encodeBtMessage} gives for each, one
 * after another, without a buffer per message.
 *
 * @param kind the message
 * @param ranges the blocks
 * @returns 17 bytes per range
 * @example
 * ```ts
 * import { encodeBtRanges } from "@shoal/protocol";
 * encodeBtRanges("request", [{ index: 0, begin: 0, length: 16384 }]).byteLength; // 17
 * ```
 */
export function encodeBtRanges(
  kind: "request" | "cancel" | "reject",
  ranges: readonly BtBlockRange[],
): Uint8Array {
  const id = ID_OF_KIND.get(kind)!;
  const out = new Uint8Array(ranges.length * RANGE_FRAME_BYTES);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const range of ranges) {
    view.setUint32(at, RANGE_FRAME_BYTES - 4);
    out[at + 4] = id;
    view.setUint32(at + 5, range.index);
    view.setUint32(at + 9, range.begin);
    view.setUint32(at + 13, range.length);
    at += RANGE_FRAME_BYTES;
  }
  return out;
}

/** Bytes of a piece message before its block: length, id, index, begin. */
export const BT_PIECE_PREFIX_BYTES = 13;

/**
 * Writes the 13 bytes that precede a block in a piece message, so a block
 * read from disk can follow them in the same buffer with no copy.
 *
 * @param into where to write (at least 13 bytes)
 * @param block the piece index, offset and block length
 * @returns `into`
 * @example
 * ```ts
 * import { BT_PIECE_PREFIX_BYTES, writeBtPiecePrefix } from "@shoal/protocol";
 * const frame = new Uint8Array(BT_PIECE_PREFIX_BYTES + 16384);
 * writeBtPiecePrefix(frame, { index: 3, begin: 0, length: 16384 });
 * // read the block into frame.subarray(13), then send frame
 * ```
 */
export function writeBtPiecePrefix(
  into: Uint8Array,
  block: BtBlockRange,
): Uint8Array {
  const view = new DataView(
    into.buffer,
    into.byteOffset,
    BT_PIECE_PREFIX_BYTES,
  );
  view.setUint32(0, 9 + block.length);
  view.setUint8(4, BtMessageId.PIECE);
  view.setUint32(5, block.index);
  view.setUint32(9, block.begin);
  return into;
}
