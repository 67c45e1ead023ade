/**
 * The types of the swarm registry's public surface: options, who announces,
 * and the read-only views of files, peers and counts it hands out.
 *
 * @module
 */
import type { FileSummary, PeerListPeers } from "@shoal/protocol";
import type { RegistryLimits } from "./quotas.ts";

/** Options for `SwarmRegistry`. */
export interface RegistryOptions {
  /**
   * A peer silent longer than this is dropped by `SwarmRegistry.sweep`
   * and no longer listed.
   *
   * @default {60_000}
   */
  peerTtlMs?: number;
  /**
   * Caps; missing fields take `DEFAULT_REGISTRY_LIMITS`.
   *
   * @default {DEFAULT_REGISTRY_LIMITS}
   */
  limits?: Partial<RegistryLimits>;
  /**
   * How long a BitTorrent client stays listed after its last announce. It
   * is told to announce every two thirds of this (BEP 15 `interval`), and
   * BitTorrent clients announce far less often than Shoal peers send
   * KEEPALIVE (libtorrent: at most every 5 minutes). At least `peerTtlMs`.
   *
   * @default {2_700_000 (45 minutes, as opentracker)}
   */
  bittorrentTtlMs?: number;
  /**
   * Random numbers in [0, 1) for the order of peer lists.
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/** Who announces: the datagram's source IP, the announced TCP port, the peer id. */
export interface PeerIdentity {
  /** Source IP of the datagram (normalised: no IPv4-mapped IPv6). */
  host: string;
  /** TCP port the peer says it listens on. */
  port: number;
  /** The peer's 16-byte random id. */
  peerId: Uint8Array;
  /** "ip|udpPort" the announce came from, to leave the peer out of its own lists. */
  udpSource?: string;
  /** The UDP port the announce came from; when given, `udpSource` is not read. */
  udpPort?: number;
}

/** A BitTorrent client's announce (BEP 15), as the registry takes it. */
export interface BitTorrentAnnounce {
  /** Source IP of the datagram (normalised). */
  host: string;
  /** The TCP port it announces. */
  port: number;
  /** Its 20-byte peer id (a view is fine). */
  peerId: Uint8Array;
  /** The UDP port the announce came from. */
  udpPort: number;
  /** The 20-byte infohash: a v2 infohash cut to 20 bytes (a view is fine). */
  infohash: Uint8Array;
  /** True when the client has the whole file (`left` is 0). */
  complete: boolean;
  /** The announce's event. */
  event: "none" | "completed" | "started" | "stopped";
}

/** What a scrape says of one file. */
export interface SwarmCounts {
  /** Holders with every byte. */
  seeders: number;
  /** Holders with part of it. */
  leechers: number;
  /** Downloads finished while tracked ("completed" in BEP 15). */
  completed: number;
}

/** Result of a change to the registry. */
export type RegistryResult = "ok" | "busy" | "unknown_peer";

/** A tracked file. Read-only outside this module. */
export interface FileRecord {
  /** File id bytes. */
  readonly id: Uint8Array;
  /** File id as lowercase hex. */
  readonly idHex: string;
  /**
   * File name: the one most source IPs holding it claim (ties: the claim
   * made first among those still held). A hint; the manifest decides.
   */
  readonly name: string;
  /** Lowercase name, for LIST. */
  readonly lowerName: string;
  /** Size in bytes, from the same claim as the name. */
  readonly size: number;
  /** Number of chunks, from the same claim as the name. */
  readonly chunkCount: number;
  /** Bytes of a PEER_LIST for this file before any peer. */
  readonly peerListBaseBytes: number;
  /**
   * Holders, in no particular order (swap-removed, shuffled in place): a
   * snapshot made on each read, for tests and tools, not the hot path.
   */
  readonly holders: readonly Holding[];
  /** How many peers hold it. */
  readonly holderCount: number;
  /** How many holders are complete. */
  readonly seeders: number;
  /** Downloads finished while tracked (a holder that became complete). */
  readonly downloads: number;
  /**
   * True while only BitTorrent clients announced it: the tracker knows its
   * id's first 20 bytes alone, and no name (its name is those 40 hex
   * digits, its size 0). It is not listed and not found by name.
   */
  readonly truncated: boolean;
}

/** A tracked peer, as a snapshot. */
export interface PeerRecord {
  /** Source IP of its datagrams. */
  readonly host: string;
  /** Announced TCP port. */
  readonly port: number;
  /** True for an IPv6 address (IPv4-mapped sources arrive as IPv4). */
  readonly ipv6: boolean;
  /** The peer's 16-byte id (a copy; a BitTorrent client's last 16 of 20). */
  readonly peerId: Uint8Array;
  /** Time of its last REGISTER, KEEPALIVE or BECOME_SEEDER, or announce. */
  readonly lastSeenMs: number;
  /** True for a BitTorrent client (it announced over BEP 15). */
  readonly bittorrent: boolean;
}

/** One peer holding one file, as a snapshot. */
export interface Holding {
  /** The peer. */
  readonly peer: PeerRecord;
  /** The file. */
  readonly file: FileRecord;
  /** True when the peer holds every chunk. */
  readonly complete: boolean;
  /** Position in `file.holders`. */
  readonly index: number;
}

/** Counts, for logs and tests. */
export interface RegistryStats {
  /** Peers tracked. */
  peers: number;
  /** Files tracked. */
  files: number;
  /** (peer, file) pairs. */
  holdings: number;
}

/** Totals beyond {@linkcode RegistryStats}, for the statistics endpoints. */
export interface RegistryTotals {
  /** Holdings of complete files. */
  seeders: number;
  /** Holdings of incomplete files. */
  leechers: number;
  /** Peers whose address is IPv4. */
  ipv4Peers: number;
  /** Peers whose address is IPv6. */
  ipv6Peers: number;
  /** Peers that are BitTorrent clients (the rest are Shoal peers). */
  bittorrentPeers: number;
}

/** One file in `SwarmRegistry.topFiles`. */
export interface FileCounts {
  /** File id, hex. */
  id: string;
  /** File name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Peers holding it. */
  peers: number;
  /** Peers holding all of it. */
  seeders: number;
  /** Peers holding part of it. */
  leechers: number;
}

/** What `SwarmRegistry.list` returns. */
export interface ListPage {
  /** Every match, not only this page. */
  total: number;
  /** Matches from the offset on, as many as fit one FILE_LIST datagram. */
  files: FileSummary[];
}

/** What a pick of peers is for: see `SwarmRegistry.pick`. */
export interface PeerRequest {
  /** How many peers at most. */
  wanted: number;
  /** The requester's source IP (normalised), to leave it out. */
  requesterHost: string;
  /** The requester's source UDP port, 0 for unknown. */
  requesterUdpPort: number;
  /** The current time, to skip expired peers. */
  nowMs: number;
  /**
   * The name the file was asked for by, if any: the claim of that name is
   * the one listed (see `SwarmRegistry.filesByName`).
   */
  name?: string | undefined;
  /**
   * The reply the peers go in: Shoal's PEER_LIST (both families, 8 or 20
   * bytes a peer) or a BEP 15 announce reply (the requester's family only,
   * 6 or 18 bytes a peer, after 20 bytes).
   *
   * @default {"shoal"}
   */
  format?: "shoal" | "bep15";
}

/**
 * A pick of peers and the claim to list them under: the fields of a
 * PEER_LIST but the txid and file id. Valid until the next pick.
 */
export interface PeerPick {
  /** The full id of the claim listed (the swarm key, then its tail). */
  readonly id: Uint8Array;
  /** The name to list. */
  readonly name: string;
  /** The size of that claim. */
  readonly size: number;
  /** The chunk count of that claim. */
  readonly chunkCount: number;
  /** The peers picked, for protocol's `writePeerList`. */
  readonly peers: PeerListPeers;
}
