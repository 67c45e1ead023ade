/**
 * The tracker's PEER_LIST writer: the same bytes as
 * `createMessage({ kind: "peer_list", ... })`, written straight into a
 * reply buffer the caller keeps, with no allocation for ASCII names. The
 * tracker answers most requests with one of these (docs/PROTOCOL.md,
 * "PEER_LIST").
 *
 * @module
 */
import {
  FILE_ID_BYTES,
  HEADER_BYTES,
  MAGIC,
  MAX_NAME_BYTES,
  MAX_PEERS_PER_LIST,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { ControlType, MessageType } from "./vocabulary.ts";

/** Bytes of an IPv6 address: the stride of {@linkcode PeerListPeers.addresses}. */
const ADDRESS_STRIDE = 16;

const encoder = new TextEncoder();

/**
 * The peers of a PEER_LIST as parallel arrays, peer `i` at index `i`: a
 * buffer a tracker fills again for every reply instead of making objects.
 *
 * @example
 * ```ts
 * import { PeerListPeers } from "@shoal/protocol";
 * const peers = new PeerListPeers();
 * peers.family[0] = 4;
 * peers.addresses.set([127, 0, 0, 1], 0);
 * peers.ports[0] = 6881;
 * peers.complete[0] = 1;
 * peers.count = 1;
 * ```
 */
export class PeerListPeers {
  /** Peers in use, from index 0. */
  count = 0;
  /** 1 when peer `i` holds every chunk, else 0. */
  readonly complete: Uint8Array;
  /** 1 when peer `i` is a BitTorrent client (announced over BEP 15), else 0. */
  readonly bittorrent: Uint8Array;
  /** 4 or 6: the family of peer `i`. */
  readonly family: Uint8Array;
  /** 16 bytes per peer (`i * 16`); an IPv4 address takes the first 4. */
  readonly addresses: Uint8Array;
  /** The TCP port of peer `i`. */
  readonly ports: Uint16Array;

  /**
   * @param capacity most peers it holds
   * @default {MAX_PEERS_PER_LIST}
   */
  constructor(capacity: number = MAX_PEERS_PER_LIST) {
    this.complete = new Uint8Array(capacity);
    this.bittorrent = new Uint8Array(capacity);
    this.family = new Uint8Array(capacity);
    this.addresses = new Uint8Array(capacity * ADDRESS_STRIDE);
    this.ports = new Uint16Array(capacity);
  }

  /** Most peers it holds. */
  get capacity(): number {
    return this.complete.length;
  }
}

/** The fields of a PEER_LIST, for {@linkcode writePeerList}. */
export interface PeerListFields {
  /** The REQUEST's transaction id. */
  txid: number;
  /** The 32-byte file id. */
  fileId: Uint8Array;
  /** File size in bytes (a safe integer). */
  size: number;
  /** Number of chunks. */
  chunkCount: number;
  /**
   * File name: one that passes `fileNameProblem` (the writer checks only
   * its length).
   */
  name: string;
  /** The peers, in order. */
  peers: PeerListPeers;
}

/** Bytes one peer takes in a PEER_LIST: flags, family, address and port. */
export function peerListEntryBytes(family: number): number {
  return family === 6 ? 20 : 8;
}

/**
 * Writes a whole PEER_LIST datagram into `out` from offset 0: the same
 * bytes `createMessage` makes for the same message.
 *
 * @param out the reply buffer
 * @param list what the PEER_LIST says
 * @returns the datagram's length
 * @throws {RangeError} when the datagram would not fit `out`, or the file id,
 *   the name or the peer count are out of range
 * @example
 * ```ts
 * import { MAX_DATAGRAM_BYTES, PeerListPeers, parseMessage, writePeerList } from "@shoal/protocol";
 * const out = new Uint8Array(MAX_DATAGRAM_BYTES);
 * const length = writePeerList(out, {
 *   txid: 1, fileId: new Uint8Array(32), size: 5, chunkCount: 1, name: "a.txt",
 *   peers: new PeerListPeers(),
 * });
 * parseMessage(out.subarray(0, length)).kind; // "peer_list"
 * ```
 */
export function writePeerList(out: Uint8Array, list: PeerListFields): number {
  const { fileId, peers } = list;
  const count = peers.count;
  if (fileId.byteLength !== FILE_ID_BYTES) {
    throw new RangeError(
      `Cannot write peer list: file id of ${fileId.byteLength} bytes, expected ${FILE_ID_BYTES}`,
    );
  }
  if (count < 0 || count > peers.capacity || count > 0xffff) {
    throw new RangeError(
      `Cannot write peer list: ${count} peers, expected 0 to ${peers.capacity}`,
    );
  }
  let at = writeFixed(out, list);
  let need = at + 2;
  const family = peers.family;
  for (let i = 0; i < count; i++) need += peerListEntryBytes(family[i]!);
  if (need > out.byteLength) {
    throw new RangeError(
      `Cannot write peer list: ${need} bytes do not fit a buffer of ${out.byteLength}`,
    );
  }
  out[at++] = count >>> 8;
  out[at++] = count & 0xff;
  const complete = peers.complete;
  const bittorrent = peers.bittorrent;
  const addresses = peers.addresses;
  const ports = peers.ports;
  for (let i = 0; i < count; i++) {
    // Flags: 1 complete, 2 a BitTorrent client (tracker_messages.ts).
    out[at++] = (complete[i]! & 1) | ((bittorrent[i]! & 1) << 1);
    const from = i * ADDRESS_STRIDE;
    if (family[i] === 6) {
      out[at++] = 6;
      for (let k = 0; k < 16; k++) out[at++] = addresses[from + k]!;
    } else {
      out[at++] = 4;
      out[at++] = addresses[from]!;
      out[at++] = addresses[from + 1]!;
      out[at++] = addresses[from + 2]!;
      out[at++] = addresses[from + 3]!;
    }
    const port = ports[i]!;
    out[at++] = port >>> 8;
    out[at++] = port & 0xff;
  }
  writeU32(out, 10, at - HEADER_BYTES);
  return at;
}

/**
 * Writes the header (body length still 0) and the fields before the peer
 * count; returns the offset after the name.
 */
function writeFixed(out: Uint8Array, list: PeerListFields): number {
  const name = list.name;
  // Header, id, size, chunk count, name length: checked before any write.
  const fixed = HEADER_BYTES + FILE_ID_BYTES + 8 + 4 + 1;
  if (out.byteLength < fixed + name.length) {
    throw new RangeError(
      `Cannot write peer list: a buffer of ${out.byteLength} bytes is too small`,
    );
  }
  out[0] = MAGIC >>> 8;
  out[1] = MAGIC & 0xff;
  out[2] = PROTOCOL_VERSION;
  out[3] = MessageType.CONTROL;
  out[4] = ControlType.PEER_LIST;
  out[5] = 0;
  writeU32(out, 6, list.txid >>> 0);
  writeU32(out, 10, 0);
  out.set(list.fileId, HEADER_BYTES);
  let at = HEADER_BYTES + FILE_ID_BYTES;
  const size = list.size;
  writeU32(out, at, Math.floor(size / 0x1_0000_0000));
  writeU32(out, at + 4, size >>> 0);
  writeU32(out, at + 8, list.chunkCount >>> 0);
  at += 13;
  let length = 0;
  for (; length < name.length; length++) {
    const code = name.charCodeAt(length);
    if (code > 0x7f) break;
    out[at + length] = code;
  }
  if (length < name.length) {
    // Not ASCII: rare, so encoding through a view is fine.
    const room = out.subarray(at, at + MAX_NAME_BYTES + 1);
    const { read, written } = encoder.encodeInto(name, room);
    if (read !== name.length) length = MAX_NAME_BYTES + 1;
    else length = written;
  }
  if (length > MAX_NAME_BYTES) {
    throw new RangeError(
      `Cannot write peer list: name longer than ${MAX_NAME_BYTES} bytes`,
    );
  }
  out[at - 1] = length;
  return at + length;
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}
