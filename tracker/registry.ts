/**
 * The swarm registry: which peers hold which files, with caps that keep its
 * memory bounded whatever arrives. Pure data structure: no sockets, no clock
 * of its own (every call takes `nowMs`).
 *
 * A peer is keyed by the IP its datagrams come from and the TCP port it
 * announces. Its address is always that source IP, never a payload field.
 *
 * @module
 */
import {
  FILE_ID_BYTES,
  type FileAnnouncement,
  type FileSummary,
  fileSummaryBytes,
  HEADER_BYTES,
  ipToBytes,
  type ListedPeer,
  MAX_DATAGRAM_BYTES,
  peerListBaseBytes,
  toHex,
} from "@shoal/protocol";

/** Limits of a {@linkcode SwarmRegistry}. Over any of them a change answers "busy". */
export interface RegistryLimits {
  /** Most files tracked at once. */
  maxFiles: number;
  /** Most peers tracked at once. */
  maxPeers: number;
  /** Most peers one file may list. */
  maxPeersPerFile: number;
  /** Most files one peer may hold. */
  maxFilesPerPeer: number;
  /** Most peers (TCP ports) behind one source IP. */
  maxPeersPerIp: number;
  /** Most (peer, file) pairs in total: the real memory bound. */
  maxHoldings: number;
}

/** Default limits: roughly 200 MB in the worst case. */
export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = {
  maxFiles: 100_000,
  maxPeers: 100_000,
  maxPeersPerFile: 10_000,
  maxFilesPerPeer: 10_000,
  maxPeersPerIp: 64,
  maxHoldings: 1_000_000,
};

/** Options for {@linkcode SwarmRegistry}. */
export interface RegistryOptions {
  /**
   * A peer silent longer than this is dropped by {@linkcode SwarmRegistry.sweep}
   * and no longer listed.
   *
   * @default {60_000}
   */
  peerTtlMs?: number;
  /**
   * Caps; missing fields take {@linkcode DEFAULT_REGISTRY_LIMITS}.
   *
   * @default {DEFAULT_REGISTRY_LIMITS}
   */
  limits?: Partial<RegistryLimits>;
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
}

/** Result of a change to the registry. */
export type RegistryResult = "ok" | "busy" | "unknown_peer";

/** A tracked file. Read-only outside this module. */
export interface FileRecord {
  /** File id bytes. */
  readonly id: Uint8Array;
  /** File id as lowercase hex (the map key). */
  readonly idHex: string;
  /** File name, as first announced. */
  readonly name: string;
  /** Lowercase name, for LIST. */
  readonly lowerName: string;
  /** Size in bytes. */
  readonly size: number;
  /** Number of chunks. */
  readonly chunkCount: number;
  /** Bytes of a PEER_LIST for this file before any peer. */
  readonly peerListBaseBytes: number;
  /** Holders, in no particular order (swap-removed, shuffled in place). */
  readonly holders: Holding[];
  /** How many holders are complete. */
  seeders: number;
}

/** A tracked peer. Read-only outside this module. */
export interface PeerRecord {
  /** "host|port": the registry key. */
  key: string;
  /** Source IP of its datagrams. */
  host: string;
  /** Announced TCP port. */
  port: number;
  /** Bytes the address takes in a PEER_LIST entry, flag byte included. */
  listEntryBytes: number;
  /** True for an IPv6 address (IPv4-mapped sources arrive as IPv4). */
  ipv6: boolean;
  /** The peer's 16-byte id. */
  peerId: Uint8Array;
  /** Time of its last REGISTER, KEEPALIVE or BECOME_SEEDER. */
  lastSeenMs: number;
  /** "ip|udpPort" it last announced from. */
  udpSource: string | undefined;
  /** Its files, by id hex. */
  holdings: Map<string, Holding>;
}

/** One peer holding one file. Read-only outside this module. */
export interface Holding {
  /** The peer. */
  peer: PeerRecord;
  /** The file. */
  file: FileRecord;
  /** True when the peer holds every chunk. */
  complete: boolean;
  /** Position in `file.holders`. */
  index: number;
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
}

/** One file in {@linkcode SwarmRegistry.topFiles}. */
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

/** What {@linkcode SwarmRegistry.list} returns. */
export interface ListPage {
  /** Every match, not only this page. */
  total: number;
  /** Matches from the offset on, as many as fit one FILE_LIST datagram. */
  files: FileSummary[];
}

const FILE_LIST_BASE_BYTES = HEADER_BYTES + 4 + 1;
const CANDIDATES_BASE_BYTES = HEADER_BYTES + 1;
const MAX_FILES_PER_REPLY = 255;
const NO_FILES: ReadonlySet<FileRecord> = new Set();

function peerKey(host: string, port: number): string {
  return `${host}|${port}`;
}

function peerIdEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function summaryOf(file: FileRecord): FileSummary {
  return {
    id: file.id,
    name: file.name,
    size: file.size,
    peers: file.holders.length,
    seeders: file.seeders,
  };
}

/**
 * Peers per file and files per peer, with caps, expiry and a name index.
 *
 * @example
 * ```ts
 * import { SwarmRegistry } from "./registry.ts";
 * const registry = new SwarmRegistry({ peerTtlMs: 60_000 });
 * const peerId = new Uint8Array(16);
 * const file = { id: new Uint8Array(32), name: "a.txt", size: 3, chunkCount: 1, complete: true };
 * registry.register({ host: "127.0.0.1", port: 7000, peerId }, [file], Date.now()); // "ok"
 * ```
 */
export class SwarmRegistry {
  readonly #peerTtlMs: number;
  readonly #limits: RegistryLimits;
  readonly #random: () => number;
  readonly #peers = new Map<string, PeerRecord>();
  readonly #files = new Map<string, FileRecord>();
  readonly #byName = new Map<string, Set<FileRecord>>();
  readonly #peersPerIp = new Map<string, number>();
  readonly #byUdpSource = new Map<string, PeerRecord>();
  #holdings = 0;
  #seedHoldings = 0;
  #ipv6Peers = 0;
  /** Files sorted by name for LIST; rebuilt lazily after files change. */
  #sorted: FileRecord[] | null = null;

  /** @param options TTL, caps and randomness */
  constructor(options: RegistryOptions = {}) {
    const peerTtlMs = options.peerTtlMs ?? 60_000;
    if (!Number.isFinite(peerTtlMs) || peerTtlMs <= 0) {
      throw new RangeError(
        `Cannot create registry: peer TTL of ${peerTtlMs} ms, expected more than 0`,
      );
    }
    this.#peerTtlMs = peerTtlMs;
    this.#limits = { ...DEFAULT_REGISTRY_LIMITS, ...options.limits };
    this.#random = options.random ?? Math.random;
  }

  /** The peer TTL in milliseconds. */
  get peerTtlMs(): number {
    return this.#peerTtlMs;
  }

  /** Current counts. */
  get stats(): RegistryStats {
    return {
      peers: this.#peers.size,
      files: this.#files.size,
      holdings: this.#holdings,
    };
  }

  /** Seeders, leechers and peers by address family. */
  get totals(): RegistryTotals {
    return {
      seeders: this.#seedHoldings,
      leechers: this.#holdings - this.#seedHoldings,
      ipv4Peers: this.#peers.size - this.#ipv6Peers,
      ipv6Peers: this.#ipv6Peers,
    };
  }

  /**
   * The files with the most peers, most first (ties by id), without sorting
   * every file: memory stays O(limit).
   *
   * @param limit how many files at most
   * @returns their counts
   */
  topFiles(limit: number): FileCounts[] {
    const top: FileRecord[] = [];
    const before = (a: FileRecord, b: FileRecord) =>
      a.holders.length > b.holders.length ||
      (a.holders.length === b.holders.length && a.idHex < b.idHex);
    if (limit <= 0) return [];
    for (const file of this.#files.values()) {
      if (top.length === limit && !before(file, top[limit - 1]!)) continue;
      let low = 0;
      let high = top.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (before(top[mid]!, file)) low = mid + 1;
        else high = mid;
      }
      top.splice(low, 0, file);
      if (top.length > limit) top.pop();
    }
    return top.map((file) => ({
      id: file.idHex,
      name: file.name,
      size: file.size,
      peers: file.holders.length,
      seeders: file.seeders,
      leechers: file.holders.length - file.seeders,
    }));
  }

  /**
   * Adds or updates files for a peer, creating the peer if needed. A
   * different peer id on the same (host, port) replaces the old record.
   * All or nothing: when a cap would be crossed nothing changes.
   *
   * @param who the announcing peer
   * @param files the files it holds (added to those it already announced)
   * @param nowMs the current time
   * @returns "ok", or "busy" when a cap would be crossed
   */
  register(
    who: PeerIdentity,
    files: readonly FileAnnouncement[],
    nowMs: number,
  ): RegistryResult {
    const key = peerKey(who.host, who.port);
    let peer = this.#live(key, nowMs);
    if (peer && !peerIdEqual(peer.peerId, who.peerId)) {
      this.#removePeer(peer);
      peer = undefined;
    }
    if (!peer && !this.#canAddPeer(who.host)) return "busy";
    if (!this.#canAddFiles(peer, files)) return "busy";
    peer ??= this.#addPeer(key, who);
    this.#touch(peer, who, nowMs);
    for (const file of files) this.#hold(peer, file);
    return "ok";
  }

  /**
   * Marks a peer as alive.
   *
   * @param who the peer
   * @param nowMs the current time
   * @returns "ok", or "unknown_peer" when no live record has this key and id
   */
  keepalive(who: PeerIdentity, nowMs: number): RegistryResult {
    const peer = this.#live(peerKey(who.host, who.port), nowMs);
    if (!peer || !peerIdEqual(peer.peerId, who.peerId)) return "unknown_peer";
    this.#touch(peer, who, nowMs);
    return "ok";
  }

  /**
   * Records that a known peer now holds all of a file.
   *
   * @param who the peer
   * @param file the file, with full metadata
   * @param nowMs the current time
   * @returns "ok", "unknown_peer" (register first) or "busy"
   */
  becomeSeeder(
    who: PeerIdentity,
    file: FileAnnouncement,
    nowMs: number,
  ): RegistryResult {
    const peer = this.#live(peerKey(who.host, who.port), nowMs);
    if (!peer || !peerIdEqual(peer.peerId, who.peerId)) return "unknown_peer";
    const complete = { ...file, complete: true };
    if (!this.#canAddFiles(peer, [complete])) return "busy";
    this.#touch(peer, who, nowMs);
    this.#hold(peer, complete);
    return "ok";
  }

  /**
   * Removes a peer at once, when its key and id match.
   *
   * @param who the peer
   * @returns true when a record was removed
   */
  leave(who: PeerIdentity): boolean {
    const peer = this.#peers.get(peerKey(who.host, who.port));
    if (!peer || !peerIdEqual(peer.peerId, who.peerId)) return false;
    this.#removePeer(peer);
    return true;
  }

  /**
   * Finds a file by id.
   *
   * @param id 32-byte file id
   * @returns the file, or undefined
   */
  fileById(id: Uint8Array): FileRecord | undefined {
    if (id.byteLength !== FILE_ID_BYTES) return undefined;
    return this.#files.get(toHex(id));
  }

  /**
   * Files with exactly this name.
   *
   * @param name the name
   * @returns the set of files (live view: do not change it), possibly empty
   */
  filesByName(name: string): ReadonlySet<FileRecord> {
    return this.#byName.get(name) ?? NO_FILES;
  }

  /**
   * Picks up to `wanted` live holders of a file in random order, leaving
   * out the requester, as many as fit one PEER_LIST datagram. Peers of the
   * requester's address family come first (the one it reached the tracker
   * over, so the one it surely has); the other family fills what is left.
   * Shuffles the holder array in place (partial Fisher-Yates), so it
   * allocates only the answer.
   *
   * @param file the file
   * @param wanted how many peers at most
   * @param requesterUdpSource "ip|udpPort" of the request, to leave out
   * @param nowMs the current time, to skip expired peers
   * @returns the chosen peers
   */
  pickPeers(
    file: FileRecord,
    wanted: number,
    requesterUdpSource: string,
    nowMs: number,
  ): ListedPeer[] {
    const requester = this.#byUdpSource.get(requesterUdpSource);
    const requesterIpv6 = requesterUdpSource.includes(":");
    const holders = file.holders;
    const out: ListedPeer[] = [];
    const otherFamily: Holding[] = [];
    let budget = MAX_DATAGRAM_BYTES - file.peerListBaseBytes;
    const oldest = nowMs - this.#peerTtlMs;
    for (let i = 0; i < holders.length && out.length < wanted; i++) {
      const j = i + Math.floor(this.#random() * (holders.length - i));
      const picked = holders[j]!;
      const current = holders[i]!;
      holders[i] = picked;
      picked.index = i;
      holders[j] = current;
      current.index = j;
      const peer = picked.peer;
      if (peer === requester || peer.lastSeenMs < oldest) continue;
      if (peer.ipv6 !== requesterIpv6) {
        if (otherFamily.length < wanted) otherFamily.push(picked);
        continue;
      }
      if (peer.listEntryBytes > budget) continue;
      budget -= peer.listEntryBytes;
      out.push({ host: peer.host, port: peer.port, complete: picked.complete });
    }
    for (const holding of otherFamily) {
      if (out.length >= wanted) break;
      const peer = holding.peer;
      if (peer.listEntryBytes > budget) continue;
      budget -= peer.listEntryBytes;
      out.push({
        host: peer.host,
        port: peer.port,
        complete: holding.complete,
      });
    }
    return out;
  }

  /**
   * Summaries of several files (a name shared by several ids): most seeders
   * first, as many as fit one CANDIDATES datagram.
   *
   * @param files the files
   * @returns the summaries
   */
  candidates(files: Iterable<FileRecord>): FileSummary[] {
    const sorted = [...files].sort((a, b) =>
      b.seeders - a.seeders || b.holders.length - a.holders.length ||
      (a.idHex < b.idHex ? -1 : 1)
    );
    const out: FileSummary[] = [];
    let budget = MAX_DATAGRAM_BYTES - CANDIDATES_BASE_BYTES;
    for (const file of sorted) {
      if (out.length === MAX_FILES_PER_REPLY) break;
      const summary = summaryOf(file);
      const bytes = fileSummaryBytes(summary);
      if (bytes > budget) break;
      budget -= bytes;
      out.push(summary);
    }
    return out;
  }

  /**
   * Files whose name contains `query` (case-insensitive), sorted by name,
   * from `offset` on, as many as fit one FILE_LIST datagram.
   *
   * @param query substring, empty for every file
   * @param offset matches to skip
   * @returns the total and one page
   */
  list(query: string, offset: number): ListPage {
    const needle = query.toLowerCase();
    this.#sorted ??= [...this.#files.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : a.idHex < b.idHex ? -1 : 1
    );
    const files: FileSummary[] = [];
    let budget = MAX_DATAGRAM_BYTES - FILE_LIST_BASE_BYTES;
    let total = 0;
    let full = false;
    for (const file of this.#sorted) {
      if (needle !== "" && !file.lowerName.includes(needle)) continue;
      total++;
      if (total <= offset || full) continue;
      const summary = summaryOf(file);
      const bytes = fileSummaryBytes(summary);
      if (bytes > budget || files.length === MAX_FILES_PER_REPLY) {
        full = true;
        continue;
      }
      budget -= bytes;
      files.push(summary);
    }
    return { total, files };
  }

  /**
   * Removes every peer silent longer than the TTL, and files left with no
   * peer.
   *
   * @param nowMs the current time
   * @returns how many peers were removed
   */
  sweep(nowMs: number): number {
    const oldest = nowMs - this.#peerTtlMs;
    let removed = 0;
    for (const peer of this.#peers.values()) {
      if (peer.lastSeenMs < oldest) {
        this.#removePeer(peer);
        removed++;
      }
    }
    return removed;
  }

  // ---- internals ----------------------------------------------------------

  /** The record for a key, or undefined; an expired record is removed. */
  #live(key: string, nowMs: number): PeerRecord | undefined {
    const peer = this.#peers.get(key);
    if (peer && peer.lastSeenMs < nowMs - this.#peerTtlMs) {
      this.#removePeer(peer);
      return undefined;
    }
    return peer;
  }

  #canAddPeer(host: string): boolean {
    return this.#peers.size < this.#limits.maxPeers &&
      (this.#peersPerIp.get(host) ?? 0) < this.#limits.maxPeersPerIp;
  }

  #canAddFiles(
    peer: PeerRecord | undefined,
    files: readonly FileAnnouncement[],
  ): boolean {
    let newHoldings = 0;
    let newFiles = 0;
    const seen = new Set<string>();
    for (const file of files) {
      const idHex = toHex(file.id);
      if (seen.has(idHex) || peer?.holdings.has(idHex)) continue;
      seen.add(idHex);
      newHoldings++;
      const record = this.#files.get(idHex);
      if (!record) newFiles++;
      else if (record.holders.length >= this.#limits.maxPeersPerFile) {
        return false;
      }
    }
    const held = peer?.holdings.size ?? 0;
    return held + newHoldings <= this.#limits.maxFilesPerPeer &&
      this.#holdings + newHoldings <= this.#limits.maxHoldings &&
      this.#files.size + newFiles <= this.#limits.maxFiles;
  }

  #addPeer(key: string, who: PeerIdentity): PeerRecord {
    const ip = ipToBytes(who.host);
    const peer: PeerRecord = {
      key,
      host: who.host,
      port: who.port,
      listEntryBytes: 1 + 1 + (ip?.byteLength ?? 16) + 2,
      ipv6: ip?.byteLength !== 4,
      peerId: who.peerId.slice(),
      lastSeenMs: 0,
      udpSource: undefined,
      holdings: new Map(),
    };
    this.#peers.set(key, peer);
    if (peer.ipv6) this.#ipv6Peers++;
    this.#peersPerIp.set(who.host, (this.#peersPerIp.get(who.host) ?? 0) + 1);
    return peer;
  }

  #touch(peer: PeerRecord, who: PeerIdentity, nowMs: number): void {
    peer.lastSeenMs = Math.max(peer.lastSeenMs, nowMs);
    if (who.udpSource !== undefined && who.udpSource !== peer.udpSource) {
      if (
        peer.udpSource !== undefined &&
        this.#byUdpSource.get(peer.udpSource) === peer
      ) {
        this.#byUdpSource.delete(peer.udpSource);
      }
      peer.udpSource = who.udpSource;
      this.#byUdpSource.set(who.udpSource, peer);
    }
  }

  #hold(peer: PeerRecord, announced: FileAnnouncement): void {
    const idHex = toHex(announced.id);
    const existing = peer.holdings.get(idHex);
    if (existing) {
      if (existing.complete !== announced.complete) {
        existing.file.seeders += announced.complete ? 1 : -1;
        this.#seedHoldings += announced.complete ? 1 : -1;
        existing.complete = announced.complete;
      }
      return;
    }
    let file = this.#files.get(idHex);
    if (!file) {
      // The first announcement names the file; the id is a hash of the
      // manifest, so honest peers agree and the downloader verifies it.
      file = {
        id: announced.id.slice(),
        idHex,
        name: announced.name,
        lowerName: announced.name.toLowerCase(),
        size: announced.size,
        chunkCount: announced.chunkCount,
        peerListBaseBytes: peerListBaseBytes(announced.name),
        holders: [],
        seeders: 0,
      };
      this.#files.set(idHex, file);
      let named = this.#byName.get(file.name);
      if (!named) {
        named = new Set();
        this.#byName.set(file.name, named);
      }
      named.add(file);
      this.#sorted = null;
    }
    const holding: Holding = {
      peer,
      file,
      complete: announced.complete,
      index: file.holders.length,
    };
    file.holders.push(holding);
    if (holding.complete) {
      file.seeders++;
      this.#seedHoldings++;
    }
    peer.holdings.set(idHex, holding);
    this.#holdings++;
  }

  #removePeer(peer: PeerRecord): void {
    for (const holding of peer.holdings.values()) {
      const file = holding.file;
      const last = file.holders.pop()!;
      if (last !== holding) {
        file.holders[holding.index] = last;
        last.index = holding.index;
      }
      if (holding.complete) {
        file.seeders--;
        this.#seedHoldings--;
      }
      this.#holdings--;
      if (file.holders.length === 0) this.#removeFile(file);
    }
    peer.holdings.clear();
    this.#peers.delete(peer.key);
    if (peer.ipv6) this.#ipv6Peers--;
    const count = (this.#peersPerIp.get(peer.host) ?? 1) - 1;
    if (count === 0) this.#peersPerIp.delete(peer.host);
    else this.#peersPerIp.set(peer.host, count);
    if (
      peer.udpSource !== undefined &&
      this.#byUdpSource.get(peer.udpSource) === peer
    ) {
      this.#byUdpSource.delete(peer.udpSource);
    }
  }

  #removeFile(file: FileRecord): void {
    this.#files.delete(file.idHex);
    const named = this.#byName.get(file.name);
    named?.delete(file);
    if (named?.size === 0) this.#byName.delete(file.name);
    this.#sorted = null;
  }
}
