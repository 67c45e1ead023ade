/**
 * The Shoal message vocabulary and its binary codec: `MessageType`,
 * `CommandType`, `ControlType` (the user's names), `DataType`, and
 * `createHeader`, `createMessage`, `parseMessage`.
 *
 * Every message, a UDP datagram or a TCP frame, is a 14-byte header followed
 * by a body whose length the header states and whose limits depend on the
 * message type (docs/PROTOCOL.md, "Header" and "Messages").
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
  MAX_CHUNK_COUNT,
  MAX_DATAGRAM_BYTES,
  MAX_ERROR_TEXT_BYTES,
  MAX_FILE_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_NAME_BYTES,
  MAX_PEERS_PER_LIST,
  PEER_ID_BYTES,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { ByteReader, ByteWriter, utf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { fileNameProblem } from "./file_name.ts";
import {
  type PeerAddress,
  peerAddressBytes,
  readPeerAddress,
  writePeerAddress,
} from "./address.ts";

/** The three kinds of message: requests, notifications and answers. */
export const MessageType = {
  /** A request that expects one answer with the same transaction id. */
  COMMAND: 1,
  /** A notification between peers that expects no answer. */
  DATA: 2,
  /** An answer to a COMMAND. */
  CONTROL: 3,
} as const;
/** One of {@linkcode MessageType}'s values. */
export type MessageType = typeof MessageType[keyof typeof MessageType];

/** Requests. REGISTER..BECOME_SEEDER are the user's; the rest extend them. */
export const CommandType = {
  /** Peer to tracker: I hold these files and listen on this TCP port. */
  REGISTER: 1,
  /** Peer to tracker: I am still here. */
  KEEPALIVE: 2,
  /** Peer to tracker: who holds this file (by id or by name)? */
  REQUEST: 3,
  /** Peer to peer: send me this chunk. */
  GET: 4,
  /** Peer to tracker: how many chunks does this file have? */
  GET_COUNT: 5,
  /** Peer to tracker: I now hold all of this file. */
  BECOME_SEEDER: 6,
  /** Peer to tracker: give me a cookie for my address (anti-spoofing). */
  CONNECT: 7,
  /** Peer to tracker: forget me now. */
  LEAVE: 8,
  /** Peer to peer, first frame on a connection: I want this file. */
  HANDSHAKE: 9,
  /** Peer to peer: send me the manifest of the file of this connection. */
  GET_MANIFEST: 10,
  /** Peer to tracker: list the files whose name contains this text. */
  LIST: 11,
} as const;
/** One of {@linkcode CommandType}'s values. */
export type CommandType = typeof CommandType[keyof typeof CommandType];

/** Answers. ACK..CHUNK_COUNT are the user's; the rest extend them. */
export const ControlType = {
  /** The command succeeded. */
  ACK: 1,
  /** The command failed; carries an {@linkcode ErrorCode} and a text. */
  ERROR: 2,
  /** Answer to REQUEST: the file and who holds it. */
  PEER_LIST: 3,
  /** Answer to GET: one chunk's bytes. */
  CHUNK_DATA: 4,
  /** Answer to GET_COUNT. */
  CHUNK_COUNT: 5,
  /** Answer to CONNECT: the cookie to echo in later requests. */
  COOKIE: 6,
  /** Answer to REQUEST by a name that several files share. */
  CANDIDATES: 7,
  /** Answer to GET_MANIFEST: the canonical manifest bytes. */
  MANIFEST: 8,
  /** Answer to LIST. */
  FILE_LIST: 9,
} as const;
/** One of {@linkcode ControlType}'s values. */
export type ControlType = typeof ControlType[keyof typeof ControlType];

/** Notifications between peers (no answer). */
export const DataType = {
  /** The chunks the sender holds, one bit each, most significant bit first. */
  BITFIELD: 1,
  /** The sender now holds one more chunk. */
  HAVE: 2,
  /** Forget an earlier GET for this chunk. */
  CANCEL: 3,
  /** The sender will not answer GETs for now. */
  CHOKE: 4,
  /** The sender will answer GETs again. */
  UNCHOKE: 5,
  /** The sender wants chunks the receiver has. */
  INTERESTED: 6,
  /** The sender wants nothing the receiver has. */
  NOT_INTERESTED: 7,
} as const;
/** One of {@linkcode DataType}'s values. */
export type DataType = typeof DataType[keyof typeof DataType];

/** Why an ERROR was sent. */
export const ErrorCode = {
  /** KEEPALIVE or BECOME_SEEDER from a peer the tracker does not know: REGISTER again. */
  UNKNOWN_PEER: 1,
  /** No file has this id or name. */
  UNKNOWN_FILE: 2,
  /** The cookie is missing, wrong or expired: CONNECT again. */
  BAD_COOKIE: 3,
  /** The peer does not hold that chunk (or its copy no longer matches). */
  NOT_AVAILABLE: 4,
  /** The request made no sense in this state. */
  BAD_REQUEST: 5,
  /** Too many requests from this address: slow down. */
  RATE_LIMITED: 6,
  /** The receiver is at a limit (connections, files, peers). */
  BUSY: 7,
} as const;
/** One of {@linkcode ErrorCode}'s values. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** A file as a peer announces it to the tracker. */
export interface FileAnnouncement {
  /** SHA-256 of the canonical manifest (32 bytes). */
  id: Uint8Array;
  /** Safe file name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Number of chunks. */
  chunkCount: number;
  /** True when the peer holds every chunk (a seeder). */
  complete: boolean;
}

/** A file as the tracker describes it in CANDIDATES and FILE_LIST. */
export interface FileSummary {
  /** File id. */
  id: Uint8Array;
  /** File name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Peers that hold some or all of it. */
  peers: number;
  /** Peers that hold all of it. */
  seeders: number;
}

/** A peer in a PEER_LIST. */
export interface ListedPeer extends PeerAddress {
  /** True when the peer holds every chunk. */
  complete: boolean;
}

/** A REQUEST's query: a file id or an exact name. */
export type FileQuery = { id: Uint8Array } | { name: string };

/** Fewest hex digits an id prefix query may have (32 bits). */
export const MIN_ID_PREFIX_DIGITS = 8;

/**
 * What a REQUEST may ask for: a {@linkcode FileQuery}, or the files whose
 * id starts with these lowercase hex digits (8 to 64 of them).
 */
export type RequestQuery = FileQuery | { idPrefix: string };

/** True for lowercase hex digits an id prefix query may carry. */
function isIdPrefix(text: string): boolean {
  return text.length >= MIN_ID_PREFIX_DIGITS &&
    text.length <= FILE_ID_BYTES * 2 && /^[0-9a-f]+$/.test(text);
}

/** Any Shoal message, as `parseMessage` returns it and `createMessage` takes it. */
export type Message =
  | {
    kind: "register";
    txid: number;
    cookie: bigint;
    peerId: Uint8Array;
    port: number;
    files: FileAnnouncement[];
  }
  | {
    kind: "keepalive";
    txid: number;
    cookie: bigint;
    peerId: Uint8Array;
    port: number;
  }
  | {
    kind: "request";
    txid: number;
    cookie: bigint;
    wanted: number;
    query: RequestQuery;
  }
  | { kind: "get"; txid: number; index: number }
  | { kind: "get_count"; txid: number; cookie: bigint; fileId: Uint8Array }
  | {
    kind: "become_seeder";
    txid: number;
    cookie: bigint;
    peerId: Uint8Array;
    port: number;
    file: FileAnnouncement;
  }
  | { kind: "connect"; txid: number }
  | {
    kind: "leave";
    txid: number;
    cookie: bigint;
    peerId: Uint8Array;
    port: number;
  }
  | {
    kind: "handshake";
    txid: number;
    fileId: Uint8Array;
    peerId: Uint8Array;
    port: number;
  }
  | { kind: "get_manifest"; txid: number }
  | {
    kind: "list";
    txid: number;
    cookie: bigint;
    offset: number;
    query: string;
  }
  | { kind: "ack"; txid: number; intervalSeconds: number }
  | { kind: "error"; txid: number; code: number; text: string }
  | {
    kind: "peer_list";
    txid: number;
    fileId: Uint8Array;
    name: string;
    size: number;
    chunkCount: number;
    peers: ListedPeer[];
  }
  | { kind: "chunk_data"; txid: number; index: number; data: Uint8Array }
  | {
    kind: "chunk_count";
    txid: number;
    fileId: Uint8Array;
    chunkCount: number;
    size: number;
  }
  | { kind: "cookie"; txid: number; cookie: bigint }
  | { kind: "candidates"; txid: number; files: FileSummary[] }
  | { kind: "manifest"; txid: number; bytes: Uint8Array }
  | { kind: "file_list"; txid: number; total: number; files: FileSummary[] }
  | { kind: "bitfield"; txid: number; bits: Uint8Array }
  | { kind: "have"; txid: number; index: number }
  | { kind: "cancel"; txid: number; index: number }
  | { kind: "choke"; txid: number }
  | { kind: "unchoke"; txid: number }
  | { kind: "interested"; txid: number }
  | { kind: "not_interested"; txid: number };

/** The `kind` of a {@linkcode Message}. */
export type MessageKind = Message["kind"];
/** The message of one kind. */
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;

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
  /** Message kind named by type and code. */
  kind: MessageKind;
}

interface KindInfo {
  kind: MessageKind;
  type: MessageType;
  code: number;
  minBody: number;
  maxBody: number;
}

const DATAGRAM_BODY = MAX_DATAGRAM_BYTES - HEADER_BYTES;
const ANNOUNCE_BYTES = COOKIE_BYTES + PEER_ID_BYTES + 2;
const FILE_ENTRY_MIN = FILE_ID_BYTES + 8 + 4 + 1 + 1 + 1;

// One row per message: its numbers and the body lengths it may have
// (docs/PROTOCOL.md, "Messages"). Checked before any body byte is buffered.
const KINDS: KindInfo[] = [
  {
    kind: "register",
    type: 1,
    code: 1,
    minBody: ANNOUNCE_BYTES + 1,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "keepalive",
    type: 1,
    code: 2,
    minBody: ANNOUNCE_BYTES,
    maxBody: ANNOUNCE_BYTES,
  },
  {
    kind: "request",
    type: 1,
    code: 3,
    minBody: COOKIE_BYTES + 3,
    maxBody: DATAGRAM_BODY,
  },
  { kind: "get", type: 1, code: 4, minBody: 4, maxBody: 4 },
  {
    kind: "get_count",
    type: 1,
    code: 5,
    minBody: COOKIE_BYTES + FILE_ID_BYTES,
    maxBody: COOKIE_BYTES + FILE_ID_BYTES,
  },
  {
    kind: "become_seeder",
    type: 1,
    code: 6,
    minBody: ANNOUNCE_BYTES + FILE_ENTRY_MIN,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "connect",
    type: 1,
    code: 7,
    minBody: CONNECT_PADDING_BYTES,
    maxBody: CONNECT_PADDING_BYTES,
  },
  {
    kind: "leave",
    type: 1,
    code: 8,
    minBody: ANNOUNCE_BYTES,
    maxBody: ANNOUNCE_BYTES,
  },
  {
    kind: "handshake",
    type: 1,
    code: 9,
    minBody: FILE_ID_BYTES + PEER_ID_BYTES + 2,
    maxBody: FILE_ID_BYTES + PEER_ID_BYTES + 2,
  },
  { kind: "get_manifest", type: 1, code: 10, minBody: 0, maxBody: 0 },
  {
    kind: "list",
    type: 1,
    code: 11,
    minBody: COOKIE_BYTES + 5,
    maxBody: COOKIE_BYTES + 5 + MAX_NAME_BYTES,
  },
  {
    kind: "bitfield",
    type: 2,
    code: 1,
    minBody: 0,
    maxBody: MAX_BITFIELD_BYTES,
  },
  { kind: "have", type: 2, code: 2, minBody: 4, maxBody: 4 },
  { kind: "cancel", type: 2, code: 3, minBody: 4, maxBody: 4 },
  { kind: "choke", type: 2, code: 4, minBody: 0, maxBody: 0 },
  { kind: "unchoke", type: 2, code: 5, minBody: 0, maxBody: 0 },
  { kind: "interested", type: 2, code: 6, minBody: 0, maxBody: 0 },
  { kind: "not_interested", type: 2, code: 7, minBody: 0, maxBody: 0 },
  { kind: "ack", type: 3, code: 1, minBody: 4, maxBody: 4 },
  {
    kind: "error",
    type: 3,
    code: 2,
    minBody: 3,
    maxBody: 3 + MAX_ERROR_TEXT_BYTES,
  },
  {
    kind: "peer_list",
    type: 3,
    code: 3,
    minBody: FILE_ID_BYTES + 8 + 4 + 1 + 1 + 2,
    maxBody: DATAGRAM_BODY,
  },
  {
    kind: "chunk_data",
    type: 3,
    code: 4,
    minBody: 4,
    maxBody: 4 + MAX_CHUNK_BYTES,
  },
  {
    kind: "chunk_count",
    type: 3,
    code: 5,
    minBody: FILE_ID_BYTES + 12,
    maxBody: FILE_ID_BYTES + 12,
  },
  {
    kind: "cookie",
    type: 3,
    code: 6,
    minBody: COOKIE_BYTES,
    maxBody: COOKIE_BYTES,
  },
  { kind: "candidates", type: 3, code: 7, minBody: 1, maxBody: DATAGRAM_BODY },
  {
    kind: "manifest",
    type: 3,
    code: 8,
    minBody: 1,
    maxBody: MAX_MANIFEST_BYTES,
  },
  { kind: "file_list", type: 3, code: 9, minBody: 5, maxBody: DATAGRAM_BODY },
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
 * @param options transaction id and body length
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
  options: { txid: number; bodyLength: number },
): Uint8Array {
  const info = BY_KIND.get(kind)!;
  if (options.bodyLength < info.minBody || options.bodyLength > info.maxBody) {
    throw new RangeError(
      `Cannot create ${kind} header: body of ${options.bodyLength} bytes, allowed ${info.minBody}..${info.maxBody}`,
    );
  }
  return new ByteWriter(HEADER_BYTES)
    .u16(MAGIC).u8(PROTOCOL_VERSION).u8(info.type).u8(info.code).u8(0)
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
  reader.u8(); // flags: reserved, ignored by version 1 receivers
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
  return { type: info.type, code, txid, bodyLength, kind: info.kind };
}

// ---- body sizes ------------------------------------------------------------

function nameBytes(name: string, what: string): Uint8Array {
  const problem = fileNameProblem(name);
  if (problem) {
    throw new TypeError(
      `Cannot encode ${what}: file name "${name}" ${problem}`,
    );
  }
  return utf8(name);
}

function idPrefixText(prefix: string): Uint8Array {
  if (!isIdPrefix(prefix)) {
    throw new TypeError(
      `Cannot encode request: id prefix "${prefix}" is not ${MIN_ID_PREFIX_DIGITS} to ${
        FILE_ID_BYTES * 2
      } lowercase hex digits`,
    );
  }
  return utf8(prefix);
}

function fileEntrySize(file: FileAnnouncement): number {
  return FILE_ENTRY_MIN - 1 + nameBytes(file.name, "file").byteLength;
}

function summarySize(file: FileSummary): number {
  return FILE_ID_BYTES + 8 + 2 + 2 + 1 +
    nameBytes(file.name, "file").byteLength;
}

function bodySize(message: Message): number {
  switch (message.kind) {
    case "register":
      return ANNOUNCE_BYTES + 1 +
        message.files.reduce((sum, file) => sum + fileEntrySize(file), 0);
    case "keepalive":
    case "leave":
      return ANNOUNCE_BYTES;
    case "request":
      return COOKIE_BYTES + 2 +
        ("id" in message.query
          ? FILE_ID_BYTES
          : "idPrefix" in message.query
          ? 1 + idPrefixText(message.query.idPrefix).byteLength
          : 1 + nameBytes(message.query.name, "request").byteLength);
    case "get":
    case "have":
    case "cancel":
    case "ack":
      return 4;
    case "get_count":
      return COOKIE_BYTES + FILE_ID_BYTES;
    case "become_seeder":
      return ANNOUNCE_BYTES + fileEntrySize(message.file);
    case "connect":
      return CONNECT_PADDING_BYTES;
    case "handshake":
      return FILE_ID_BYTES + PEER_ID_BYTES + 2;
    case "get_manifest":
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
      return 0;
    case "list":
      return COOKIE_BYTES + 5 + utf8(message.query).byteLength;
    case "error":
      return 3 + utf8(message.text).byteLength;
    case "peer_list":
      return FILE_ID_BYTES + 8 + 4 + 1 +
        nameBytes(message.name, "peer list").byteLength + 2 +
        message.peers.reduce(
          (sum, peer) => sum + 1 + peerAddressBytes(peer),
          0,
        );
    case "chunk_data":
      return 4 + message.data.byteLength;
    case "chunk_count":
      return FILE_ID_BYTES + 12;
    case "cookie":
      return COOKIE_BYTES;
    case "candidates":
      return 1 +
        message.files.reduce((sum, file) => sum + summarySize(file), 0);
    case "manifest":
      return message.bytes.byteLength;
    case "file_list":
      return 5 +
        message.files.reduce((sum, file) => sum + summarySize(file), 0);
    case "bitfield":
      return message.bits.byteLength;
  }
}

// ---- encoding --------------------------------------------------------------

function checkLength(
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

function writeAnnounce(
  writer: ByteWriter,
  message: { cookie: bigint; peerId: Uint8Array; port: number },
): void {
  writer.u64(message.cookie).bytes(
    checkLength(message.peerId, PEER_ID_BYTES, "peer id"),
  ).u16(message.port);
}

function writeFileEntry(writer: ByteWriter, file: FileAnnouncement): void {
  const name = nameBytes(file.name, "file");
  writer.bytes(checkLength(file.id, FILE_ID_BYTES, "file id")).u64(file.size)
    .u32(file.chunkCount)
    .u8(file.complete ? 1 : 0).u8(name.byteLength).bytes(name);
}

function writeSummary(writer: ByteWriter, file: FileSummary): void {
  const name = nameBytes(file.name, "file");
  writer.bytes(checkLength(file.id, FILE_ID_BYTES, "file id")).u64(file.size)
    .u16(Math.min(file.peers, 0xffff)).u16(Math.min(file.seeders, 0xffff))
    .u8(name.byteLength).bytes(name);
}

function writeBody(writer: ByteWriter, message: Message): void {
  switch (message.kind) {
    case "register":
      writeAnnounce(writer, message);
      writer.u8(message.files.length);
      for (const file of message.files) writeFileEntry(writer, file);
      return;
    case "keepalive":
    case "leave":
      writeAnnounce(writer, message);
      return;
    case "request":
      writer.u64(message.cookie).u8(message.wanted);
      if ("id" in message.query) {
        writer.u8(0).bytes(
          checkLength(message.query.id, FILE_ID_BYTES, "file id"),
        );
      } else if ("idPrefix" in message.query) {
        const digits = idPrefixText(message.query.idPrefix);
        writer.u8(2).u8(digits.byteLength).bytes(digits);
      } else {
        const name = nameBytes(message.query.name, "request");
        writer.u8(1).u8(name.byteLength).bytes(name);
      }
      return;
    case "get":
    case "have":
    case "cancel":
      writer.u32(message.index);
      return;
    case "get_count":
      writer.u64(message.cookie).bytes(
        checkLength(message.fileId, FILE_ID_BYTES, "file id"),
      );
      return;
    case "become_seeder":
      writeAnnounce(writer, message);
      writeFileEntry(writer, message.file);
      return;
    case "connect":
      writer.bytes(new Uint8Array(CONNECT_PADDING_BYTES));
      return;
    case "handshake":
      writer.bytes(checkLength(message.fileId, FILE_ID_BYTES, "file id"))
        .bytes(checkLength(message.peerId, PEER_ID_BYTES, "peer id")).u16(
          message.port,
        );
      return;
    case "list": {
      const query = utf8(message.query);
      writer.u64(message.cookie).u32(message.offset).u8(query.byteLength).bytes(
        query,
      );
      return;
    }
    case "ack":
      writer.u32(message.intervalSeconds);
      return;
    case "error": {
      const text = utf8(message.text);
      writer.u16(message.code).u8(text.byteLength).bytes(text);
      return;
    }
    case "peer_list": {
      const name = nameBytes(message.name, "peer list");
      writer.bytes(checkLength(message.fileId, FILE_ID_BYTES, "file id")).u64(
        message.size,
      )
        .u32(message.chunkCount).u8(name.byteLength).bytes(name).u16(
          message.peers.length,
        );
      for (const peer of message.peers) {
        writer.u8(peer.complete ? 1 : 0);
        writePeerAddress(writer, peer);
      }
      return;
    }
    case "chunk_data":
      writer.u32(message.index).bytes(message.data);
      return;
    case "chunk_count":
      writer.bytes(checkLength(message.fileId, FILE_ID_BYTES, "file id")).u32(
        message.chunkCount,
      ).u64(message.size);
      return;
    case "cookie":
      writer.u64(message.cookie);
      return;
    case "candidates":
      writer.u8(message.files.length);
      for (const file of message.files) writeSummary(writer, file);
      return;
    case "file_list":
      writer.u32(message.total).u8(message.files.length);
      for (const file of message.files) writeSummary(writer, file);
      return;
    case "manifest":
      writer.bytes(message.bytes);
      return;
    case "bitfield":
      writer.bytes(message.bits);
      return;
    case "get_manifest":
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
      return;
  }
}

/**
 * Encodes a message: header and body in one buffer.
 *
 * @param message the message to encode
 * @returns the bytes to send (one datagram, or one TCP frame)
 * @throws {TypeError} when a field has the wrong shape (a bad name, a short id)
 * @throws {RangeError} when the body is outside the message's limits
 * @example
 * ```ts
 * import { createMessage, parseMessage } from "@shoal/protocol";
 * const bytes = createMessage({ kind: "get", txid: 1, index: 3 });
 * parseMessage(bytes); // { kind: "get", txid: 1, index: 3 }
 * ```
 */
export function createMessage(message: Message): Uint8Array {
  const size = bodySize(message);
  const header = createHeader(message.kind, {
    txid: message.txid,
    bodyLength: size,
  });
  const writer = new ByteWriter(HEADER_BYTES + size);
  writer.bytes(header);
  writeBody(writer, message);
  return writer.finish();
}

// ---- decoding --------------------------------------------------------------

function readAnnounce(
  reader: ByteReader,
): { cookie: bigint; peerId: Uint8Array; port: number } {
  return {
    cookie: reader.u64Raw("cookie"),
    peerId: reader.copy(PEER_ID_BYTES, "peer id"),
    port: reader.u16("port"),
  };
}

function readName(reader: ByteReader, length: number, what: string): string {
  const at = reader.offset;
  const name = reader.string(length, what);
  const problem = fileNameProblem(name);
  if (problem) {
    throw new ProtocolError(
      "bad_string",
      `Cannot decode ${what}: file name ${problem}`,
      at,
    );
  }
  return name;
}

function readCount(reader: ByteReader, what: string, max: number): number {
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

function readFileEntry(reader: ByteReader): FileAnnouncement {
  const id = reader.copy(FILE_ID_BYTES, "file id");
  const size = reader.u64("file size", MAX_FILE_BYTES);
  const chunkCount = readCount(reader, "chunk count", MAX_CHUNK_COUNT);
  const flags = reader.u8("file flags");
  const name = readName(reader, reader.u8("name length"), "file name");
  return { id, name, size, chunkCount, complete: (flags & 1) === 1 };
}

function readSummary(reader: ByteReader): FileSummary {
  const id = reader.copy(FILE_ID_BYTES, "file id");
  const size = reader.u64("file size", MAX_FILE_BYTES);
  const peers = reader.u16("peer count");
  const seeders = reader.u16("seeder count");
  const name = readName(reader, reader.u8("name length"), "file name");
  return { id, name, size, peers, seeders };
}

function readBody(
  reader: ByteReader,
  kind: MessageKind,
  txid: number,
): Message {
  switch (kind) {
    case "register": {
      const announce = readAnnounce(reader);
      const count = reader.u8("file count");
      const files: FileAnnouncement[] = [];
      for (let i = 0; i < count; i++) files.push(readFileEntry(reader));
      return { kind, txid, ...announce, files };
    }
    case "keepalive":
    case "leave":
      return { kind, txid, ...readAnnounce(reader) };
    case "request": {
      const cookie = reader.u64Raw("cookie");
      const wanted = reader.u8("wanted peers");
      const at = reader.offset;
      const queryKind = reader.u8("query kind");
      if (queryKind === 0) {
        return {
          kind,
          txid,
          cookie,
          wanted,
          query: { id: reader.copy(FILE_ID_BYTES, "file id") },
        };
      }
      if (queryKind === 1) {
        return {
          kind,
          txid,
          cookie,
          wanted,
          query: { name: readName(reader, reader.u8("name length"), "query") },
        };
      }
      if (queryKind === 2) {
        const digitsAt = reader.offset;
        const digits = reader.string(reader.u8("prefix length"), "id prefix");
        if (!isIdPrefix(digits)) {
          throw new ProtocolError(
            "bad_value",
            `Cannot decode request: id prefix is not ${MIN_ID_PREFIX_DIGITS} to ${
              FILE_ID_BYTES * 2
            } lowercase hex digits`,
            digitsAt,
          );
        }
        return { kind, txid, cookie, wanted, query: { idPrefix: digits } };
      }
      throw new ProtocolError(
        "bad_value",
        `Cannot decode request: query kind ${queryKind}`,
        at,
      );
    }
    case "get":
    case "have":
    case "cancel":
      return {
        kind,
        txid,
        index: readCount(reader, "chunk index", MAX_CHUNK_COUNT - 1),
      };
    case "get_count":
      return {
        kind,
        txid,
        cookie: reader.u64Raw("cookie"),
        fileId: reader.copy(FILE_ID_BYTES, "file id"),
      };
    case "become_seeder":
      return {
        kind,
        txid,
        ...readAnnounce(reader),
        file: readFileEntry(reader),
      };
    case "connect": {
      const padding = reader.bytes(CONNECT_PADDING_BYTES, "padding");
      if (padding.some((byte) => byte !== 0)) {
        throw new ProtocolError(
          "bad_value",
          "Cannot decode connect: padding is not zero",
          HEADER_BYTES,
        );
      }
      return { kind, txid };
    }
    case "handshake":
      return {
        kind,
        txid,
        fileId: reader.copy(FILE_ID_BYTES, "file id"),
        peerId: reader.copy(PEER_ID_BYTES, "peer id"),
        port: reader.u16("port"),
      };
    case "list": {
      const cookie = reader.u64Raw("cookie");
      const offset = reader.u32("offset");
      const query = reader.string(reader.u8("query length"), "query");
      return { kind, txid, cookie, offset, query };
    }
    case "ack":
      return { kind, txid, intervalSeconds: reader.u32("interval") };
    case "error": {
      const code = reader.u16("error code");
      const text = reader.string(reader.u8("text length"), "error text");
      return { kind, txid, code, text };
    }
    case "peer_list": {
      const fileId = reader.copy(FILE_ID_BYTES, "file id");
      const size = reader.u64("file size", MAX_FILE_BYTES);
      const chunkCount = readCount(reader, "chunk count", MAX_CHUNK_COUNT);
      const name = readName(reader, reader.u8("name length"), "file name");
      const at = reader.offset;
      const count = reader.u16("peer count");
      if (count > MAX_PEERS_PER_LIST) {
        throw new ProtocolError(
          "bad_value",
          `Cannot decode peer list: ${count} peers, at most ${MAX_PEERS_PER_LIST}`,
          at,
        );
      }
      const peers: ListedPeer[] = [];
      for (let i = 0; i < count; i++) {
        const complete = (reader.u8("peer flags") & 1) === 1;
        peers.push({ ...readPeerAddress(reader), complete });
      }
      return { kind, txid, fileId, name, size, chunkCount, peers };
    }
    case "chunk_data": {
      const index = readCount(reader, "chunk index", MAX_CHUNK_COUNT - 1);
      return {
        kind,
        txid,
        index,
        data: reader.bytes(reader.remaining, "chunk"),
      };
    }
    case "chunk_count": {
      const fileId = reader.copy(FILE_ID_BYTES, "file id");
      const chunkCount = readCount(reader, "chunk count", MAX_CHUNK_COUNT);
      return {
        kind,
        txid,
        fileId,
        chunkCount,
        size: reader.u64("file size", MAX_FILE_BYTES),
      };
    }
    case "cookie":
      return { kind, txid, cookie: reader.u64Raw("cookie") };
    case "candidates": {
      const count = reader.u8("file count");
      const files: FileSummary[] = [];
      for (let i = 0; i < count; i++) files.push(readSummary(reader));
      return { kind, txid, files };
    }
    case "file_list": {
      const total = reader.u32("total");
      const count = reader.u8("file count");
      const files: FileSummary[] = [];
      for (let i = 0; i < count; i++) files.push(readSummary(reader));
      return { kind, txid, total, files };
    }
    case "manifest":
      return { kind, txid, bytes: reader.bytes(reader.remaining, "manifest") };
    case "bitfield":
      return { kind, txid, bits: reader.bytes(reader.remaining, "bitfield") };
    case "get_manifest":
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
      return { kind, txid };
  }
}

/**
 * Decodes one whole message (a datagram, or a header and its body).
 * Total: any input gives a typed message or a {@linkcode ProtocolError}.
 * Bulk fields (chunk data, manifest, bitfield) are views into `bytes`.
 *
 * @param bytes untrusted bytes
 * @returns the message
 * @throws {ProtocolError} when the bytes are not exactly one valid message
 * @example
 * ```ts
 * import { createMessage, parseMessage } from "@shoal/protocol";
 * parseMessage(createMessage({ kind: "connect", txid: 9 })).kind; // "connect"
 * ```
 */
export function parseMessage(bytes: Uint8Array): Message {
  const header = parseHeader(bytes);
  if (bytes.byteLength !== HEADER_BYTES + header.bodyLength) {
    throw new ProtocolError(
      bytes.byteLength < HEADER_BYTES + header.bodyLength
        ? "too_short"
        : "trailing_bytes",
      `Cannot decode ${header.kind}: ${
        bytes.byteLength - HEADER_BYTES
      } body bytes, header says ${header.bodyLength}`,
      HEADER_BYTES,
    );
  }
  return parseBody(header, bytes.subarray(HEADER_BYTES));
}

/**
 * Decodes a body whose header was already checked with {@linkcode parseHeader}.
 *
 * @param header the checked header
 * @param body exactly `header.bodyLength` bytes
 * @returns the message
 * @throws {ProtocolError} when the body is not valid for its kind
 * @example
 * ```ts
 * import { createMessage, parseBody, parseHeader, HEADER_BYTES } from "@shoal/protocol";
 * const bytes = createMessage({ kind: "have", txid: 0, index: 2 });
 * parseBody(parseHeader(bytes), bytes.subarray(HEADER_BYTES)); // { kind: "have", ... }
 * ```
 */
export function parseBody(header: Header, body: Uint8Array): Message {
  if (body.byteLength !== header.bodyLength) {
    throw new ProtocolError(
      "bad_length",
      `Cannot decode ${header.kind}: body has ${body.byteLength} bytes, header says ${header.bodyLength}`,
    );
  }
  const reader = new ByteReader(body);
  const message = readBody(reader, header.kind, header.txid);
  reader.end(header.kind);
  return message;
}

/**
 * Encodes only the header and chunk index of a CHUNK_DATA frame, so a sender
 * can read the chunk from disk straight after it with no copy.
 *
 * @param txid the GET's transaction id
 * @param index the chunk index
 * @param dataLength the chunk's length in bytes
 * @returns 18 bytes: header and index
 * @example
 * ```ts
 * import { createChunkDataPrefix } from "@shoal/protocol";
 * createChunkDataPrefix(1, 0, 1024).byteLength; // 18
 * ```
 */
export function createChunkDataPrefix(
  txid: number,
  index: number,
  dataLength: number,
): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + 4);
  out.set(createHeader("chunk_data", { txid, bodyLength: 4 + dataLength }));
  new DataView(out.buffer).setUint32(HEADER_BYTES, index);
  return out;
}

/** Bytes the fixed part of a PEER_LIST takes for a file name, before any peer. */
export function peerListBaseBytes(name: string): number {
  return HEADER_BYTES + FILE_ID_BYTES + 8 + 4 + 1 + utf8(name).byteLength + 2;
}

/** Bytes one file takes in CANDIDATES or FILE_LIST. */
export function fileSummaryBytes(file: FileSummary): number {
  return summarySize(file);
}

/** Bytes one file takes in REGISTER. */
export function fileAnnouncementBytes(file: FileAnnouncement): number {
  return fileEntrySize(file);
}
