/**
 * What a decoded Shoal message is: the {@linkcode Message} union that
 * `parseMessage` returns and `createMessage` takes, in two families (the
 * tracker's datagrams and the peers' TCP frames), and the records they carry.
 * Types only, apart from the id prefix rule both codec directions share.
 * See docs/PROTOCOL.md, "Messages".
 *
 * @module
 */
import { FILE_ID_BYTES } from "./constants.ts";
import type { PeerAddress } from "./address.ts";

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
  /**
   * True when the peer is a BitTorrent client (it announced over BEP 15):
   * speak BitTorrent to it, not Shoal. Absent for Shoal peers.
   */
  bittorrent?: boolean;
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

/**
 * True for lowercase hex digits an id prefix query may carry.
 *
 * @param text the digits
 * @returns whether a REQUEST may carry them as an id prefix
 * @example
 * ```ts
 * import { isIdPrefix } from "./message_types.ts";
 * isIdPrefix("01ff637e"); // true
 * ```
 */
export function isIdPrefix(text: string): boolean {
  return text.length >= MIN_ID_PREFIX_DIGITS &&
    text.length <= FILE_ID_BYTES * 2 && /^[0-9a-f]+$/.test(text);
}

/**
 * The messages between a peer and the tracker, over UDP (docs/PROTOCOL.md,
 * "Tracker messages"), with ACK and ERROR, which answer peers' commands
 * too ("Answers used by both").
 */
export type TrackerMessage =
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
    kind: "list";
    txid: number;
    cookie: bigint;
    offset: number;
    query: string;
  }
  | {
    kind: "ack";
    txid: number;
    intervalSeconds: number;
    /**
     * From a peer answering a HANDSHAKE: it understands PEX (header flag
     * `HeaderFlag.PEX`); absent when not.
     */
    pex?: boolean;
  }
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
  | {
    kind: "chunk_count";
    txid: number;
    fileId: Uint8Array;
    chunkCount: number;
    size: number;
  }
  | { kind: "cookie"; txid: number; cookie: bigint }
  | { kind: "candidates"; txid: number; files: FileSummary[] }
  | { kind: "file_list"; txid: number; total: number; files: FileSummary[] };

/** The messages between two peers, over TCP (docs/PROTOCOL.md, "Peer messages"). */
export type PeerMessage =
  | { kind: "get"; txid: number; index: number }
  | {
    kind: "handshake";
    txid: number;
    fileId: Uint8Array;
    peerId: Uint8Array;
    port: number;
    /** The sender understands PEX (header flag `HeaderFlag.PEX`); absent when not. */
    pex?: boolean;
  }
  | { kind: "get_manifest"; txid: number }
  | { kind: "chunk_data"; txid: number; index: number; data: Uint8Array }
  | { kind: "manifest"; txid: number; bytes: Uint8Array }
  | { kind: "bitfield"; txid: number; bits: Uint8Array }
  | { kind: "have"; txid: number; index: number }
  | { kind: "cancel"; txid: number; index: number }
  | { kind: "choke"; txid: number }
  | { kind: "unchoke"; txid: number }
  | { kind: "interested"; txid: number }
  | { kind: "not_interested"; txid: number }
  /**
   * Peer exchange (DATA 8): peers the sender is now connected to for this
   * file, and peers it no longer is; at most `MAX_PEX_PEERS` each.
   */
  | { kind: "pex"; txid: number; added: ListedPeer[]; dropped: ListedPeer[] };

/** Any Shoal message, as `parseMessage` returns it and `createMessage` takes it. */
export type Message = TrackerMessage | PeerMessage;

/** The `kind` of a {@linkcode Message}. */
export type MessageKind = Message["kind"];
/** The message of one kind. */
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;
