/**
 * Messages between a peer's main thread and its workers, with runtime
 * guards used on both sides (a worker boundary is a trust boundary for
 * shape, if not for intent). See peer/workers/.
 *
 * @module
 */
import { isRecord } from "./_fields.ts";

/** A peer as peer exchange (PEX) carries it between the threads. */
export interface PexPeerAddress {
  /** IPv4 dotted quad or IPv6 text. */
  host: string;
  /** TCP port it listens on. */
  port: number;
  /** It speaks BitTorrent. */
  bittorrent?: boolean;
  /** It holds the whole file. */
  complete?: boolean;
}

/** Main thread to a fetch worker. */
export type FetchWorkerCommand =
  | {
    type: "init";
    partPath: string;
    manifestBytes: Uint8Array;
    fileId: Uint8Array;
    peerId: Uint8Array;
    listenPort: number;
    /** Offer PEX (Shoal's flag, BEP 11 `ut_pex`) on the connections. */
    pex: boolean;
  }
  /** PEX: the peers this peer is connected to for the file now. */
  | { type: "pex_peers"; peers: PexPeerAddress[] }
  /** `protocol`: the peer wire to open it in (Shoal unless told). */
  | {
    type: "connect";
    connId: number;
    host: string;
    port: number;
    protocol?: "shoal" | "bittorrent";
  }
  | { type: "get"; connId: number; indices: number[] }
  | { type: "cancel"; connId: number; index: number }
  | { type: "interest"; connId: number; interested: boolean }
  | { type: "disconnect"; connId: number; reason: string }
  | { type: "shutdown" }
  /** Re-check chunks already in the part file (resume); answered by "verified". */
  | {
    type: "verify";
    requestId: number;
    partPath: string;
    manifestBytes: Uint8Array;
    indices: number[];
  };

/**
 * Why a fetch worker closed a connection: the download acts on the code,
 * never on the reason's text. "misbehaved": the peer broke the protocol or
 * sent bad data (it is banned); "refused": it said no to the handshake;
 * "unreachable": no connection; "timeout": it went quiet; "gone": the
 * connection ended or failed; "local": we closed it.
 */
export type CloseCode =
  | "misbehaved"
  | "refused"
  | "unreachable"
  | "timeout"
  | "gone"
  | "local";

const CLOSE_CODES: ReadonlySet<string> = new Set<CloseCode>([
  "misbehaved",
  "refused",
  "unreachable",
  "timeout",
  "gone",
  "local",
]);

/** The protocol a connection speaks: Shoal's own or BitTorrent's. */
export type PeerDialect = "shoal" | "bittorrent";

/** What a peer list shows for a peer that speaks Shoal's own protocol. */
export const SHOAL_CLIENT = "Shoal";

/** Longest client name a worker may send (UTF-16 units; names are cut shorter). */
const MAX_CLIENT_UNITS = 256;

/** A fetch worker to the main thread. */
export type FetchWorkerEvent =
  /**
   * The handshake is done. `client` is the peer's program, safe to show;
   * without it and `dialect`, the peer speaks Shoal (a BitTorrent link says both).
   */
  | {
    type: "connected";
    connId: number;
    bitfield: Uint8Array;
    client?: string;
    dialect?: PeerDialect;
  }
  /** The peer named its program after the handshake (BEP 10 `v`). */
  | { type: "peer_client"; connId: number; client: string }
  | { type: "peer_have"; connId: number; indices: number[] }
  /** Chunks checked and written, reported a few at a time (see fetch_worker.ts). */
  | { type: "chunks_ok"; connId: number; indices: number[] }
  | { type: "chunk_bad"; connId: number; index: number; reason: string }
  | { type: "chunk_refused"; connId: number; index: number }
  | { type: "chunk_busy"; connId: number; index: number }
  | { type: "choke"; connId: number; choked: boolean }
  | { type: "closed"; connId: number; reason: string; code: CloseCode }
  /**
   * The peer answered Shoal's handshake with silence or a BitTorrent
   * handshake; the connection goes on in BitTorrent (protocol_fallback.ts).
   */
  | { type: "speaks_bittorrent"; connId: number; host: string; port: number }
  /** PEX: peers the connection's peer told us about (checked candidates). */
  | { type: "pex"; connId: number; peers: PexPeerAddress[] }
  /** `code` is the system's error code ("ENOSPC"), or "" when it has none. */
  | { type: "write_failed"; index: number; message: string; code: string }
  | { type: "shut_down" }
  | { type: "verified"; requestId: number; good: number[]; bad: number[] };

function isClient(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_CLIENT_UNITS;
}

function isIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

function isPexPeers(value: unknown): value is PexPeerAddress[] {
  return Array.isArray(value) &&
    value.every((peer) =>
      isRecord(peer) && typeof peer.host === "string" && isIndex(peer.port) &&
      (peer.bittorrent === undefined || typeof peer.bittorrent === "boolean") &&
      (peer.complete === undefined || typeof peer.complete === "boolean")
    );
}

/**
 * True when `value` is a well-formed {@linkcode FetchWorkerCommand}.
 *
 * @param value anything received by `onmessage`
 * @returns whether it has the shape of a command
 * @example
 * ```ts
 * import { isFetchWorkerCommand } from "@shoal/protocol/worker_messages";
 * isFetchWorkerCommand({ type: "shutdown" }); // true
 * ```
 */
export function isFetchWorkerCommand(
  value: unknown,
): value is FetchWorkerCommand {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case "init":
      return typeof value.partPath === "string" &&
        value.manifestBytes instanceof Uint8Array &&
        value.fileId instanceof Uint8Array &&
        value.peerId instanceof Uint8Array &&
        isIndex(value.listenPort) && typeof value.pex === "boolean";
    case "pex_peers":
      return isPexPeers(value.peers);
    case "connect":
      return isIndex(value.connId) && typeof value.host === "string" &&
        isIndex(value.port) &&
        (value.protocol === undefined || value.protocol === "shoal" ||
          value.protocol === "bittorrent");
    case "get":
      return isIndex(value.connId) && Array.isArray(value.indices) &&
        value.indices.every(isIndex);
    case "cancel":
      return isIndex(value.connId) && isIndex(value.index);
    case "interest":
      return isIndex(value.connId) && typeof value.interested === "boolean";
    case "disconnect":
      return isIndex(value.connId) && typeof value.reason === "string";
    case "shutdown":
      return true;
    case "verify":
      return isIndex(value.requestId) && typeof value.partPath === "string" &&
        value.manifestBytes instanceof Uint8Array &&
        Array.isArray(value.indices) && value.indices.every(isIndex);
    default:
      return false;
  }
}

/**
 * True when `value` is a well-formed {@linkcode FetchWorkerEvent}.
 *
 * @param value anything received from a fetch worker
 * @returns whether it has the shape of an event
 * @example
 * ```ts
 * import { isFetchWorkerEvent } from "@shoal/protocol/worker_messages";
 * isFetchWorkerEvent({ type: "shut_down" }); // true
 * ```
 */
export function isFetchWorkerEvent(value: unknown): value is FetchWorkerEvent {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case "connected":
      return isIndex(value.connId) && value.bitfield instanceof Uint8Array &&
        (value.client === undefined || isClient(value.client)) &&
        (value.dialect === undefined || value.dialect === "shoal" ||
          value.dialect === "bittorrent");
    case "peer_client":
      return isIndex(value.connId) && isClient(value.client);
    case "peer_have":
    case "chunks_ok":
      return isIndex(value.connId) && Array.isArray(value.indices) &&
        value.indices.every(isIndex);
    case "chunk_refused":
    case "chunk_busy":
      return isIndex(value.connId) && isIndex(value.index);
    case "choke":
      return isIndex(value.connId) && typeof value.choked === "boolean";
    case "chunk_bad":
      return isIndex(value.connId) && isIndex(value.index) &&
        typeof value.reason === "string";
    case "closed":
      return isIndex(value.connId) && typeof value.reason === "string" &&
        typeof value.code === "string" && CLOSE_CODES.has(value.code);
    case "speaks_bittorrent":
      return isIndex(value.connId) && typeof value.host === "string" &&
        isIndex(value.port);
    case "pex":
      return isIndex(value.connId) && isPexPeers(value.peers);
    case "write_failed":
      return isIndex(value.index) && typeof value.message === "string" &&
        typeof value.code === "string";
    case "shut_down":
      return true;
    case "verified":
      return isIndex(value.requestId) && Array.isArray(value.good) &&
        value.good.every(isIndex) && Array.isArray(value.bad) &&
        value.bad.every(isIndex);
    default:
      return false;
  }
}

/** Main thread to a manifest worker. */
export type ManifestWorkerCommand = {
  type: "build";
  path: string;
  name: string;
  chunkSize: number;
};

/** A manifest worker to the main thread. */
export type ManifestWorkerEvent =
  | { type: "progress"; bytes: number }
  | { type: "built"; manifestBytes: Uint8Array; mtimeMs: number; size: number }
  | { type: "failed"; message: string };

/**
 * True when `value` is a well-formed {@linkcode ManifestWorkerCommand}.
 *
 * @param value anything received by the manifest worker
 * @returns whether it has the shape of a command
 * @example
 * ```ts
 * import { isManifestWorkerCommand } from "@shoal/protocol/worker_messages";
 * isManifestWorkerCommand({ type: "build", path: "a", name: "a", chunkSize: 524288 }); // true
 * ```
 */
export function isManifestWorkerCommand(
  value: unknown,
): value is ManifestWorkerCommand {
  return isRecord(value) && value.type === "build" &&
    typeof value.path === "string" &&
    typeof value.name === "string" && isIndex(value.chunkSize);
}

/**
 * True when `value` is a well-formed {@linkcode ManifestWorkerEvent}.
 *
 * @param value anything received from a manifest worker
 * @returns whether it has the shape of an event
 * @example
 * ```ts
 * import { isManifestWorkerEvent } from "@shoal/protocol/worker_messages";
 * isManifestWorkerEvent({ type: "progress", bytes: 1 }); // true
 * ```
 */
export function isManifestWorkerEvent(
  value: unknown,
): value is ManifestWorkerEvent {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case "progress":
      return isIndex(value.bytes);
    case "built":
      return value.manifestBytes instanceof Uint8Array &&
        typeof value.mtimeMs === "number" && isIndex(value.size);
    case "failed":
      return typeof value.message === "string";
    default:
      return false;
  }
}
