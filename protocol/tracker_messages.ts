/**
 * Body codecs of the messages between a peer and the tracker (CONNECT,
 * COOKIE, REGISTER, KEEPALIVE, LEAVE, BECOME_SEEDER, REQUEST, PEER_LIST,
 * GET_COUNT, CHUNK_COUNT, LIST, FILE_LIST, CANDIDATES) and of ACK and
 * ERROR, which peers send too. See docs/PROTOCOL.md, "Tracker messages",
 * "Answers used by both" and "Common structures". `createMessage` and
 * `parseMessage` (messages.ts) add the header; the tracker's in-place
 * decoders of its hot requests are in tracker_fast.ts.
 *
 * @module
 */
import {
  CONNECT_PADDING_BYTES,
  COOKIE_BYTES,
  FILE_ID_BYTES,
  HEADER_BYTES,
  MAX_CHUNK_COUNT,
  MAX_FILE_BYTES,
  MAX_PEERS_PER_LIST,
  PEER_ID_BYTES,
} from "./constants.ts";
import { type ByteReader, type ByteWriter, utf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { fileNameProblem } from "./file_name.ts";
import {
  peerAddressBytes,
  readPeerAddress,
  writePeerAddress,
} from "./address.ts";
import {
  ANNOUNCE_BYTES,
  checkLength,
  FILE_ENTRY_MIN_BYTES,
  readCount,
} from "./_fields.ts";
import {
  type FileAnnouncement,
  type FileSummary,
  isIdPrefix,
  type ListedPeer,
  MIN_ID_PREFIX_DIGITS,
  type TrackerMessage,
} from "./message_types.ts";

/** PEER_LIST peer flag: the peer holds every chunk. */
export const PEER_COMPLETE = 1;
/** PEER_LIST peer flag: the peer is a BitTorrent client (announced over BEP 15). */
export const PEER_BITTORRENT = 2;

// ---- sizes -----------------------------------------------------------------

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
  return FILE_ENTRY_MIN_BYTES - 1 + nameBytes(file.name, "file").byteLength;
}

function summarySize(file: FileSummary): number {
  return FILE_ID_BYTES + 8 + 2 + 2 + 1 +
    nameBytes(file.name, "file").byteLength;
}

/**
 * The body length of a tracker message.
 *
 * @param message the message
 * @returns its body's length in bytes
 * @throws {TypeError} when a file name or id prefix is not one to send
 * @example
 * ```ts
 * import { trackerBodySize } from "./tracker_messages.ts";
 * trackerBodySize({ kind: "ack", txid: 0, intervalSeconds: 20 }); // 4
 * ```
 */
export function trackerBodySize(message: TrackerMessage): number {
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
    case "ack":
      return 4;
    case "get_count":
      return COOKIE_BYTES + FILE_ID_BYTES;
    case "become_seeder":
      return ANNOUNCE_BYTES + fileEntrySize(message.file);
    case "connect":
      return CONNECT_PADDING_BYTES;
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
    case "chunk_count":
      return FILE_ID_BYTES + 12;
    case "cookie":
      return COOKIE_BYTES;
    case "candidates":
      return 1 +
        message.files.reduce((sum, file) => sum + summarySize(file), 0);
    case "file_list":
      return 5 +
        message.files.reduce((sum, file) => sum + summarySize(file), 0);
  }
}

// ---- encoding --------------------------------------------------------------

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

/**
 * Writes a tracker message's body.
 *
 * @param writer a writer with {@linkcode trackerBodySize} bytes left
 * @param message the message
 * @throws {TypeError} when a field has the wrong shape (a bad name, a short id)
 * @example
 * ```ts
 * import { ByteWriter } from "./bytes.ts";
 * import { writeTrackerBody } from "./tracker_messages.ts";
 * const writer = new ByteWriter(4);
 * writeTrackerBody(writer, { kind: "ack", txid: 0, intervalSeconds: 20 });
 * writer.finish(); // 00 00 00 14
 * ```
 */
export function writeTrackerBody(
  writer: ByteWriter,
  message: TrackerMessage,
): void {
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
        writer.u8(
          (peer.complete ? PEER_COMPLETE : 0) |
            (peer.bittorrent ? PEER_BITTORRENT : 0),
        );
        writePeerAddress(writer, peer);
      }
      return;
    }
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
  }
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

/**
 * Reads a tracker message's body; the caller checks that no bytes are left.
 *
 * @param reader the body, from its first byte
 * @param kind the kind its header names
 * @param txid the header's transaction id
 * @returns the message
 * @throws {ProtocolError} when a field is short, out of range or not a safe name
 * @example
 * ```ts
 * import { ByteReader } from "./bytes.ts";
 * import { readTrackerBody } from "./tracker_messages.ts";
 * readTrackerBody(new ByteReader(new Uint8Array([0, 0, 0, 20])), "ack", 0).kind; // "ack"
 * ```
 */
export function readTrackerBody(
  reader: ByteReader,
  kind: TrackerMessage["kind"],
  txid: number,
): TrackerMessage {
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
        const flags = reader.u8("peer flags");
        const complete = (flags & PEER_COMPLETE) !== 0;
        peers.push({
          ...readPeerAddress(reader),
          complete,
          ...((flags & PEER_BITTORRENT) !== 0 ? { bittorrent: true } : {}),
        });
      }
      return { kind, txid, fileId, name, size, chunkCount, peers };
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
  }
}

// ---- sizes for callers that fill a datagram --------------------------------

/**
 * Bytes the fixed part of a PEER_LIST takes for a file name, header
 * included, before any peer.
 *
 * @param name the file name
 * @returns the bytes before the first listed peer
 * @example
 * ```ts
 * import { peerListBaseBytes } from "@shoal/protocol";
 * peerListBaseBytes("a.txt"); // 66
 * ```
 */
export function peerListBaseBytes(name: string): number {
  return HEADER_BYTES + FILE_ID_BYTES + 8 + 4 + 1 + utf8(name).byteLength + 2;
}

/**
 * Bytes one file takes in CANDIDATES or FILE_LIST.
 *
 * @param file the file
 * @returns its summary's length
 * @throws {TypeError} when its name is not a safe file name
 * @example
 * ```ts
 * import { fileSummaryBytes } from "@shoal/protocol";
 * fileSummaryBytes({ id: new Uint8Array(32), name: "a.txt", size: 5, peers: 1, seeders: 1 }); // 50
 * ```
 */
export function fileSummaryBytes(file: FileSummary): number {
  return summarySize(file);
}

/**
 * Bytes one file takes in REGISTER.
 *
 * @param file the file
 * @returns its file entry's length
 * @throws {TypeError} when its name is not a safe file name
 * @example
 * ```ts
 * import { fileAnnouncementBytes } from "@shoal/protocol";

 * fileAnnouncementBytes({ id: new Uint8Array(32), name: "a.txt", size: 5, chunkCount: 1, complete: true }); // 51
 * ```
 */
export function fileAnnouncementBytes(file: FileAnnouncement): number {
  return fileEntrySize(file);
}
