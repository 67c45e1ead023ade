/**
 * The 14-byte header every message starts with, and the length table:
 * which type and code name each message kind, and the body lengths each
 * may have, checked before any body byte is buffered (docs/PROTOCOL.md,
 * "Header" and "Message table").
 *
 * @module
 */
import {
  CONNECT_PADDING_BYTES,
  COOKIE_BYTES,
  FILE_ID_BYTES,
  HEADER_BYTES,
  MAGIC,
  MAX_BITFIELD_BYTES,
  MAX_CHUNK_BYTES,
  MAX_DATAGRAM_BYTES,
  MAX_ERROR_TEXT_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_NAME_BYTES,
  MAX_PEX_PEERS,
  PEER_ID_BYTES,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { ANNOUNCE_BYTES, FILE_ENTRY_MIN_BYTES } from "./_fields.ts";
import type { MessageKind } from "./message_types.ts";
import {
  CommandType,
  ControlType,
  DataType,
  MessageType,
} from "./vocabulary.ts";

/** The decoded fixed header. */
export interface Header {
  /** COMMAND, DATA or CONTROL. */
  type: MessageType;
  /** The CommandType, DataType or ControlType within `type`. */
  code: number;
  /** Transaction id: an answer repeats its command's. */
  txid: number;
  /** Body length in bytes. */
  bodyLength: number;
  /** The flags byte (`HeaderFlag` bits; unknown bits are ignored). */
  flags: number;
  /** Message kind named by type and code. */
  kind: MessageKind;
}

/** The numbers and body limits of one message kind: a row of the length table. */
interface KindInfo {
  kind: MessageKind;
  type: MessageType;
  code: number;
  minBody: number;
  maxBody: number;
}

const DATAGRAM_BODY = MAX_DATAGRAM_BYTES - HEADER_BYTES;

// One row per message: its numbers and the body lengths it may have
// (docs/PROTOCOL.md, "Messages"). Checked before any body byte is buffered.
const KINDS: KindInfo[] = [
  {
    kind: "register",
    type: MessageType.COMMAND,
    code: CommandType.REGISTER,
    minBody: ANNOUNCE_BYTES + 1,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "keepalive",
    type: MessageType.COMMAND,
    code: CommandType.KEEPALIVE,
    minBody: ANNOUNCE_BYTES,
    maxBody: ANNOUNCE_BYTES,
  },
  {
    kind: "request",
    type: MessageType.COMMAND,
    code: CommandType.REQUEST,
    minBody: COOKIE_BYTES + 3,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "get",
    type: MessageType.COMMAND,
    code: CommandType.GET,
    minBody: 4,
    maxBody: 4,
  },
  {
    kind: "get_count",
    type: MessageType.COMMAND,
    code: CommandType.GET_COUNT,
    minBody: COOKIE_BYTES + FILE_ID_BYTES,
    maxBody: COOKIE_BYTES + FILE_ID_BYTES,
  },
  {
    kind: "become_seeder",
    type: MessageType.COMMAND,
    code: CommandType.BECOME_SEEDER,
    minBody: ANNOUNCE_BYTES + FILE_ENTRY_MIN_BYTES,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "connect",
    type: MessageType.COMMAND,
    code: CommandType.CONNECT,
    minBody: CONNECT_PADDING_BYTES,
    maxBody: CONNECT_PADDING_BYTES,
  },
  {
    kind: "leave",
    type: MessageType.COMMAND,
    code: CommandType.LEAVE,
    minBody: ANNOUNCE_BYTES,
    maxBody: ANNOUNCE_BYTES,
  },
  {
    kind: "handshake",
    type: MessageType.COMMAND,
    code: CommandType.HANDSHAKE,
    minBody: FILE_ID_BYTES + PEER_ID_BYTES + 2,
    maxBody: FILE_ID_BYTES + PEER_ID_BYTES + 2,
  },
  {
    kind: "get_manifest",
    type: MessageType.COMMAND,
    code: CommandType.GET_MANIFEST,
    minBody: 0,
    maxBody: 0,
  },
  {
    kind: "list",
    type: MessageType.COMMAND,
    code: CommandType.LIST,
    minBody: COOKIE_BYTES + 5,
    maxBody: COOKIE_BYTES + 5 + MAX_NAME_BYTES,
  },
  {
    kind: "bitfield",
    type: MessageType.DATA,
    code: DataType.BITFIELD,
    minBody: 0,
    maxBody: MAX_BITFIELD_BYTES,
  },
  {
    kind: "have",
    type: MessageType.DATA,
    code: DataType.HAVE,
    minBody: 4,
    maxBody: 4,
  },
  {
    kind: "cancel",
    type: MessageType.DATA,
    code: DataType.CANCEL,
    minBody: 4,
    maxBody: 4,
  },
  {
    kind: "choke",
    type: MessageType.DATA,
    code: DataType.CHOKE,
    minBody: 0,
    maxBody: 0,
  },
  {
    kind: "unchoke",
    type: MessageType.DATA,
    code: DataType.UNCHOKE,
    minBody: 0,
    maxBody: 0,
  },
  {
    kind: "interested",
    type: MessageType.DATA,
    code: DataType.INTERESTED,
    minBody: 0,
    maxBody: 0,
  },
  {
    kind: "not_interested",
    type: MessageType.DATA,
    code: DataType.NOT_INTERESTED,
    minBody: 0,
    maxBody: 0,
  },
  {
    kind: "pex",
    type: MessageType.DATA,
    code: DataType.PEX,
    minBody: 2,
    // Two lists of MAX_PEX_PEERS listed peers, IPv6 ones (20 bytes) at most.
    maxBody: 2 + 2 * MAX_PEX_PEERS * 20,
  },
  {
    kind: "ack",
    type: MessageType.CONTROL,
    code: ControlType.ACK,
    minBody: 4,
    maxBody: 4,
  },
  {
    kind: "error",
    type: MessageType.CONTROL,
    code: ControlType.ERROR,
    minBody: 3,
    maxBody: 3 + MAX_ERROR_TEXT_BYTES,
  },
  {
    kind: "peer_list",
    type: MessageType.CONTROL,
    code: ControlType.PEER_LIST,
    minBody: FILE_ID_BYTES + 8 + 4 + 1 + 1 + 2,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "chunk_data",
    type: MessageType.CONTROL,
    code: ControlType.CHUNK_DATA,
    minBody: 4,
    maxBody: 4 + MAX_CHUNK_BYTES,
  },
  {
    kind: "chunk_count",
    type: MessageType.CONTROL,
    code: ControlType.CHUNK_COUNT,
    minBody: FILE_ID_BYTES + 12,
    maxBody: FILE_ID_BYTES + 12,
  },
  {
    kind: "cookie",
    type: MessageType.CONTROL,
    code: ControlType.COOKIE,
    minBody: COOKIE_BYTES,
    maxBody: COOKIE_BYTES,
  },
  {
    kind: "candidates",
    type: MessageType.CONTROL,
    code: ControlType.CANDIDATES,
    minBody: 1,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "manifest",
    type: MessageType.CONTROL,
    code: ControlType.MANIFEST,
    minBody: 1,
    maxBody: MAX_MANIFEST_BYTES,
  },
  {
    kind: "file_list",
    type: MessageType.CONTROL,
    code: ControlType.FILE_LIST,
    minBody: 5,
    maxBody: DATAGRAM_BODY,
  },
];

const BY_KIND = new Map<MessageKind, KindInfo>(
  KINDS.map((info) => [info.kind, info]),
);
const BY_NUMBERS = new Map<number, KindInfo>(
  KINDS.map((info) => [info.type * 256 + info.code, info]),
);

/** The numbers and body limits of a message kind. */
export function kindInfo(kind: MessageKind): Readonly<KindInfo> {
  return BY_KIND.get(kind)!;
}

/**
 * Builds the 14-byte header: magic, version, type, code, flags, transaction
 * id and body length.
 *
 * @param kind the message kind, which names its type and code
 * @param options transaction id, body length and flags (`HeaderFlag` bits, default 0)
 * @returns the header bytes
 * @example
 * ```ts
 * import { createHeader } from "@shoal/protocol";
 * const header = createHeader("get", { txid: 7, bodyLength: 4 });
 * header.byteLength; // 14
 * ```
 */
export function createHeader(
  kind: MessageKind,
  options: { txid: number; bodyLength: number; flags?: number },
): Uint8Array {
  const info = BY_KIND.get(kind)!;
  if (options.bodyLength < info.minBody || options.bodyLength > info.maxBody) {
    throw new RangeError(
      `Cannot create ${kind} header: body of ${options.bodyLength} bytes, allowed ${info.minBody}..${info.maxBody}`,
    );
  }
  return new ByteWriter(HEADER_BYTES)
    .u16(MAGIC).u8(PROTOCOL_VERSION).u8(info.type).u8(info.code)
    .u8(options.flags ?? 0)
    .u32(options.txid >>> 0).u32(options.bodyLength)
    .finish();
}

/**
 * Decodes and checks a header: magic, version, a known type and code, and a
 * body length within that message's limits. Call it before buffering a body.
 *
 * @param bytes at least {@linkcode HEADER_BYTES} bytes
 * @returns the header
 * @throws {ProtocolError} when any field is wrong
 * @example
 * ```ts
 * import { createHeader, parseHeader } from "@shoal/protocol";
 * parseHeader(createHeader("get", { txid: 7, bodyLength: 4 })).kind; // "get"
 * ```
 */
export function parseHeader(bytes: Uint8Array): Header {
  const reader = new ByteReader(bytes);
  if (bytes.byteLength < HEADER_BYTES) {
    throw new ProtocolError(
      "too_short",
      `Cannot decode header: ${bytes.byteLength} bytes, expected at least ${HEADER_BYTES}`,
    );
  }
  const magic = reader.u16();
  if (magic !== MAGIC) {
    throw new ProtocolError(
      "bad_magic",
      `Cannot decode header: magic 0x${magic.toString(16)} is not "SH"`,
    );
  }
  const version = reader.u8();
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "bad_version",
      `Cannot decode header: version ${version}, expected ${PROTOCOL_VERSION}`,
      2,
    );
  }
  const type = reader.u8();
  const code = reader.u8();
  const flags = reader.u8(); // Bits this receiver does not know are ignored.
  const txid = reader.u32();
  const bodyLength = reader.u32();
  const info = BY_NUMBERS.get(type * 256 + code);
  if (!info) {
    throw new ProtocolError(
      "bad_type",
      `Cannot decode header: unknown type ${type} code ${code}`,
      3,
    );
  }
  if (bodyLength < info.minBody || bodyLength > info.maxBody) {
    throw new ProtocolError(
      bodyLength > info.maxBody ? "too_long" : "bad_length",
      `Cannot decode ${info.kind}: body of ${bodyLength} bytes, allowed ${info.minBody}..${info.maxBody}`,
      10,
    );
  }
  return { type: info.type, code, txid, bodyLength, kind: info.kind, flags };
}
