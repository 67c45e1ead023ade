/**
 * What every connection of a fetch worker is, whichever protocol it speaks:
 * the worker routes the scheduler's commands to a {@linkcode PeerLink} by
 * connection id and never looks at its wire. Each link owns its
 * connection's wire state in one place (shoal_link.ts for Shoal's protocol,
 * bt_link.ts for BitTorrent's); the scheduler (peer/download/scheduler.ts)
 * owns the policy: which chunks are asked of which connection, and when.
 *
 * @module
 */
import type {
  CloseCode,
  FetchWorkerEvent,
  PexPeerAddress,
} from "@shoal/protocol/worker_messages";
import type { Pieces } from "./pieces.ts";

/** One connection of a fetch worker, driven by the scheduler's commands. */
export interface PeerLink {
  /** The scheduler's id for this connection. */
  readonly connId: number;
  /** True once closed. */
  readonly closed: boolean;
  /** Connects, shakes hands and serves the connection until it closes. */
  run(hostname: string, port: number): Promise<void>;
  /** The scheduler asks for these chunks. */
  get(indices: readonly number[]): void | Promise<void>;
  /** The scheduler takes chunk `index` back (another peer sent it). */
  cancel(index: number): void | Promise<void>;
  /** Tells the peer whether it has anything we want. */
  interest(interested: boolean): void | Promise<void>;
  /** A chunk this link brought is checked and on disk: report it. */
  written(index: number): void;
  /** Called about once a second: drops a connection silent too long. */
  checkTimeouts(nowMs: number): void;
  /** Closes the connection and tells the main thread why. */
  close(reason: string, code: CloseCode): void;
}

/** What a link needs from its fetch worker. */
export interface LinkHost {
  /** The file's or folder's chunks (its piece layers check every chunk). */
  pieces: Pieces;
  /** The file id (v2 infohash; BitTorrent uses its first 20 bytes). */
  fileId: Uint8Array;
  /** Sends an event to the main thread. */
  post(event: FetchWorkerEvent): void;
  /** Writes a checked chunk at its offset; resolves once written and reported. */
  write(index: number, bytes: Uint8Array, connId: number): Promise<void>;
  /** The link closed: forget it. */
  closed(connId: number): void;
  /** Offer peer exchange (Shoal's PEX flag, BEP 11 `ut_pex`). */
  pex: boolean;
  /** The peers we are connected to for the file now (what our PEX tells). */
  pexPeers(): PexPeerAddress[];
}
