/**
 * Body codecs of the messages between two peers over TCP: HANDSHAKE,
 * GET_MANIFEST and MANIFEST, GET and CHUNK_DATA, and the notifications
 * (BITFIELD, HAVE, CANCEL, CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED,
 * PEX).
 * See docs/PROTOCOL.md, "Peer messages". `createMessage` and
 * `parseMessage` (messages.ts) add the header.
 *
 * @module
 */
import {
  FILE_ID_BYTES,
  HEADER_BYTES,
  MAX_CHUNK_COUNT,
  MAX_PEX_PEERS,
  PEER_ID_BYTES,
} from "./constants.ts";
import type { ByteReader, ByteWriter } from "./bytes.ts";
import { checkLength, readCount } from "./_fields.ts";
import { createHeader } from "./header.ts";
import type { ListedPeer, MessageKind, PeerMessage } from "./message_types.ts";
import {
  peerAddressBytes,
  readPeerAddress,
  writePeerAddress,
} from "./address.ts";
import { ProtocolError } from "./errors.ts";
import { PEER_BITTORRENT, PEER_COMPLETE } from "./tracker_messages.ts";

/** The kinds of {@linkcode PeerMessage}, for the dispatch in messages.ts. */
const PEER_KINDS: Record<PeerMessage["kind"], true> = {
  "get": true,
  "handshake": true,
  "get_manifest": true,
  "chunk_data": true,
  "manifest": true,
  "bitfield": true,
  "have": true,
  "cancel": true,
  "choke": true,
  "unchoke": true,
  "interested": true,
  "not_interested": true,
  "pex": true,
};

/**
 * True when `kind` names a message between peers.
 *
 * @param kind a message kind
 * @returns whether its body codec is this file's
 * @example
 * ```ts
 * import { isPeerKind } from "./peer_messages.ts";
 * isPeerKind("have"); // true
 * ```
 */
export function isPeerKind(kind: MessageKind): kind is PeerMessage["kind"] {
  return PEER_KINDS[kind as PeerMessage["kind"]] === true;
}

/**
 * The body length of a peer message.
 *
 * @param message the message
 * @returns its body's length in bytes
 * @example
 * ```ts
 * import { peerBodySize } from "./peer_messages.ts";
 * peerBodySize({ kind: "have", txid: 0, index: 1 }); // 4
 * ```
 */
export function peerBodySize(message: PeerMessage): number {
  switch (message.kind) {
    case "get":
    case "have":
    case "cancel":
      return 4;
    case "handshake":
      return FILE_ID_BYTES + PEER_ID_BYTES + 2;
    case "get_manifest":
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
      return 0;
    case "chunk_data":
      return 4 + message.data.byteLength;
    case "manifest":
      return message.bytes.byteLength;
    case "bitfield":
      return message.bits.byteLength;
    case "pex":
      return 2 + [...message.added, ...message.dropped].reduce(
        (sum, peer) => sum + 1 + peerAddressBytes(peer),
        0,
      );
  }
}

/**
 * Writes a peer message's body.
 *
 * @param writer a writer with {@linkcode peerBodySize} bytes left
 * @param message the message
 * @throws {TypeError} when an id has the wrong length
 * @example
 * ```ts
 * import { ByteWriter } from "./bytes.ts";
 * import { writePeerBody } from "./peer_messages.ts";
 * const writer = new ByteWriter(4);
 * writePeerBody(writer, { kind: "have", txid: 0, index: 1 });
 * writer.finish(); // 00 00 00 01
 * ```
 */
export function writePeerBody(writer: ByteWriter, message: PeerMessage): void {
  switch (message.kind) {
    case "get":
    case "have":
    case "cancel":
      writer.u32(message.index);
      return;
    case "handshake":
      writer.bytes(checkLength(message.fileId, FILE_ID_BYTES, "file id"))
        .bytes(checkLength(message.peerId, PEER_ID_BYTES, "peer id")).u16(
          message.port,
        );
      return;
    case "chunk_data":
      writer.u32(message.index).bytes(message.data);
      return;
    case "manifest":
      writer.bytes(message.bytes);
      return;
    case "bitfield":
      writer.bytes(message.bits);
      return;
    case "pex":
      for (const list of [message.added, message.dropped]) {
        if (list.length > MAX_PEX_PEERS) {
          throw new RangeError(
            `Cannot encode pex: ${list.length} peers in a list, at most ${MAX_PEX_PEERS}`,
          );
        }
      }
      writer.u8(message.added.length).u8(message.dropped.length);
      for (const peer of [...message.added, ...message.dropped]) {
        writer.u8(
          (peer.complete ? PEER_COMPLETE : 0) |
            (peer.bittorrent ? PEER_BITTORRENT : 0),
        );
        writePeerAddress(writer, peer);
      }
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
 * Reads a peer message's body. Bulk fields (chunk data, manifest, bitfield)
 * are views into the reader's bytes; the caller checks that none are left.
 *
 * @param reader the body, from its first byte
 * @param kind the kind its header names
 * @param txid the header's transaction id
 * @returns the message
 * @throws {ProtocolError} when a field is short or out of range
 * @example
 * ```ts
 * import { ByteReader } from "./bytes.ts";
 * import { readPeerBody } from "./peer_messages.ts";
 * readPeerBody(new ByteReader(new Uint8Array([0, 0, 0, 1])), "have", 0).kind; // "have"
 * ```
 */
export function readPeerBody(
  reader: ByteReader,
  kind: PeerMessage["kind"],
  txid: number,
): PeerMessage {
  switch (kind) {
    case "get":
    case "have":
    case "cancel":
      return {
        kind,
        txid,
        index: readCount(reader, "chunk index", MAX_CHUNK_COUNT - 1),
      };
    case "handshake":
      return {
        kind,
        txid,
        fileId: reader.copy(FILE_ID_BYTES, "file id"),
        peerId: reader.copy(PEER_ID_BYTES, "peer id"),
        port: reader.u16("port"),
      };
    case "chunk_data": {
      const index = readCount(reader, "chunk index", MAX_CHUNK_COUNT - 1);
      return {
        kind,
        txid,
        index,
        data: reader.bytes(reader.remaining, "chunk"),
      };
    }
    case "manifest":
      return { kind, txid, bytes: reader.bytes(reader.remaining, "manifest") };
    case "bitfield":
      return { kind, txid, bits: reader.bytes(reader.remaining, "bitfield") };
    case "pex": {
      const addedCount = readPexCount(reader, "added");
      const droppedCount = readPexCount(reader, "dropped");
      const added = readListedPeers(reader, addedCount);
      const dropped = readListedPeers(reader, droppedCount);
      return { kind, txid, added, dropped };
    }
    case "get_manifest":
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
      return { kind, txid };
  }
}

function readPexCount(reader: ByteReader, what: string): number {
  const at = reader.offset;
  const count = reader.u8(`${what} count`);
  if (count > MAX_PEX_PEERS) {
    throw new ProtocolError(
      "bad_value",
      `Cannot decode pex: ${count} ${what} peers, at most ${MAX_PEX_PEERS}`,
      at,
    );
  }
  return count;
}

/** Listed peers (flags, then an address), as in PEER_LIST. */
function readListedPeers(reader: ByteReader, count: number): ListedPeer[] {
  const peers: ListedPeer[] = [];
  for (let i = 0; i < count; i++) {
    const flags = reader.u8("peer flags");
    peers.push({
      ...readPeerAddress(reader),
      complete: (flags & PEER_COMPLETE) !== 0,
      ...((flags & PEER_BITTORRENT) !== 0 ? { bittorrent: true } : {}),
    });
  }
  return peers;
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
