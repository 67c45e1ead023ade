/**
 * The swarm registry: which peers hold which files, with caps that keep its
 * memory bounded whatever arrives. Pure data structure: no sockets, no clock
 * of its own (every call takes `nowMs`).
 *
 * A peer is keyed by the IP its datagrams come from and the TCP port it
 * announces. Its address is always that source IP, never a payload field.
 * A file is keyed by the first 20 bytes of its id (its swarm key): a Shoal
 * peer registering the 32-byte id and a BitTorrent client announcing the
 * v2 infohash cut to 20 bytes (BEP 15) hold the same file, and each is in
 * the other's peer lists. The rest of the id is a claim, as the name is.
 *
 * This class coordinates the parts in this folder, each in its own file:
 * the peer, host, file and holding tables (struct of arrays, so a peer
 * costs about 100 bytes), the holder entries peers are picked from, the
 * claims and their votes, the name catalog, the sweeper and the quotas.
 *
 * @module
 */
import {
  BEP15_ANNOUNCE_REPLY_BYTES,
  BEP15_PEER_ID_BYTES,
  FILE_ID_BYTES,
  type FileAnnouncement,
  type FileSummary,
  type ListedPeer,
  PEER_ID_BYTES,
  PeerListPeers,
} from "@shoal/protocol";
import { Catalog } from "./catalog.ts";
import { ClaimVotes, FileEntry, peerListBaseBytes } from "./claims.ts";
import { FileTable, SWARM_KEY_BYTES } from "./file_table.ts";
import {
  BLOCK_ENTRIES,
  E_HOLD,
  E_HOST,
  E_PORTS,
  E_SEEN,
  HolderEntries,
} from "./holders.ts";
import { Holdings } from "./holdings.ts";
import { HostTable } from "./host_intern.ts";
import {
  BEP15_PEERS,
  PeerPicker,
  type PickedPeers,
  type Requester,
  SHOAL_PEERS,
} from "./peer_picker.ts";
import { PEER_BITTORRENT, PeerTable } from "./peer_table.ts";
import { Quotas, registryLimits } from "./quotas.ts";
import { topFiles } from "./stats.ts";
import { Sweeper } from "./sweeper.ts";
import { capacityFor, NONE, WorkMeter } from "./tables.ts";
import type {
  BitTorrentAnnounce,
  FileCounts,
  FileRecord,
  Holding,
  ListPage,
  PeerIdentity,
  PeerPick,
  PeerRecord,
  PeerRequest,
  RegistryOptions,
  RegistryResult,
  RegistryStats,
  RegistryTotals,
  SwarmCounts,
} from "./types.ts";

/** Default life of a BitTorrent client's announce: 45 minutes, as opentracker. */
export const DEFAULT_BITTORRENT_TTL_MS = 2_700_000;

/** The UDP port of an "ip|udpPort" text, or 0 when there is none. */
function udpPortOf(udpSource: string | undefined): number {
  if (udpSource === undefined) return 0;
  const bar = udpSource.lastIndexOf("|");
  const port = bar < 0 ? NaN : Number(udpSource.slice(bar + 1));
  return Number.isInteger(port) && port > 0 && port <= 0xffff ? port : 0;
}

/**
 * Peers per file and files per peer, with caps, expiry and a name index.
 *
 * @example
 * ```ts
 * import { SwarmRegistry } from "./mod.ts";
 * const registry = new SwarmRegistry({ peerTtlMs: 60_000 });
 * const peerId = new Uint8Array(16);
 * const file = { id: new Uint8Array(32), name: "a.txt", size: 3, chunkCount: 1, complete: true };
 * registry.register({ host: "127.0.0.1", port: 7000, peerId }, [file], Date.now()); // "ok"
 * ```
 */
export class SwarmRegistry {
  readonly #peerTtlMs: number;
  /** How much longer a BitTorrent client lives than a Shoal peer. */
  readonly #bittorrentExtraMs: number;
  readonly #quotas: Quotas;
  readonly #work = new WorkMeter();
  readonly #peers: PeerTable;
  readonly #hosts: HostTable;
  readonly #holdings: Holdings;
  readonly #entries: HolderEntries;
  readonly #files: FileTable;
  readonly #catalog: Catalog;
  readonly #claims: ClaimVotes;
  readonly #picker: PeerPicker;
  readonly #sweeper: Sweeper;
  #ipv6Peers = 0;
  #bittorrentPeers = 0;
  /** Reused by every pick. */
  readonly #requester: Requester = { hostId: NONE, udpPort: 0, ipv6: false };
  readonly #pick: {
    id: Uint8Array;
    name: string;
    size: number;
    chunkCount: number;
    peers: PeerListPeers;
  };
  readonly #views = {
    idOf: (file: FileEntry) => this.#files.idOf(file.slot),
    holdersOf: (file: FileEntry) => this.#holdersOf(file),
  };

  /** @param options TTL, caps and randomness */
  constructor(options: RegistryOptions = {}) {
    const peerTtlMs = options.peerTtlMs ?? 60_000;
    if (!Number.isFinite(peerTtlMs) || peerTtlMs <= 0) {
      throw new RangeError(
        `Cannot create registry: peer TTL of ${peerTtlMs} ms, expected more than 0`,
      );
    }
    this.#peerTtlMs = peerTtlMs;
    const bittorrentTtlMs = options.bittorrentTtlMs ??
      DEFAULT_BITTORRENT_TTL_MS;
    if (!Number.isFinite(bittorrentTtlMs) || bittorrentTtlMs <= 0) {
      throw new RangeError(
        `Cannot create registry: BitTorrent TTL of ${bittorrentTtlMs} ms, expected more than 0`,
      );
    }
    this.#bittorrentExtraMs = Math.max(0, bittorrentTtlMs - peerTtlMs);
    const limits = registryLimits(options.limits);
    const seed = (Math.random() * 0x1_0000_0000) >>> 0;
    const peerCapacity = capacityFor(limits.maxPeers);
    this.#peers = new PeerTable(peerCapacity, seed);
    this.#hosts = new HostTable(peerCapacity);
    this.#holdings = new Holdings(capacityFor(limits.maxHoldings));
    this.#entries = new HolderEntries(
      capacityFor(limits.maxFiles + limits.maxHoldings / BLOCK_ENTRIES + 1),
    );
    this.#files = new FileTable(capacityFor(limits.maxFiles), seed);
    const compareIds = (a: FileEntry, b: FileEntry) =>
      this.#files.compare(a, b);
    this.#catalog = new Catalog(compareIds, this.#work);
    const catalog = this.#catalog;
    this.#claims = new ClaimVotes({
      hostAt: (file, k) => {
        const pool = this.#entries.pool;
        const e = this.#entries.entryAt(file, k);
        const slot = this.#holdings.peerOf(pool[e + E_HOLD]! >>> 1);
        // BitTorrent clients say nothing of a file's name: no vote.
        return this.#peers.isBitTorrent(slot) ? NONE : pool[e + E_HOST]!;
      },
      named: (name, file) => catalog.named(name, file),
      unnamed: (name, file) => catalog.unnamed(name, file),
      lead: (file, claim) =>
        catalog.lead(
          file,
          claim,
          () => this.#files.setTail(file.slot, claim.tail),
        ),
    }, this.#work);
    this.#picker = new PeerPicker(
      this.#entries,
      this.#hosts,
      options.random ?? Math.random,
      (field) => this.#peers.seen[this.#holdings.peerOf(field >>> 1)]!,
      (field) => this.#peers.isBitTorrent(this.#holdings.peerOf(field >>> 1)),
    );
    this.#pick = {
      id: new Uint8Array(FILE_ID_BYTES),
      name: "",
      size: 0,
      chunkCount: 0,
      peers: new PeerListPeers(0),
    };
    this.#quotas = new Quotas(limits, {
      peers: this.#peers,
      hosts: this.#hosts,
      files: this.#files,
      holdings: this.#holdings,
    });
    this.#sweeper = new Sweeper(this.#peers, (slot) => this.#removePeer(slot));
  }

  /** The peer TTL in milliseconds. */
  get peerTtlMs(): number {
    return this.#peerTtlMs;
  }

  /** How long a BitTorrent client stays listed after an announce, in milliseconds. */
  get bittorrentTtlMs(): number {
    return this.#peerTtlMs + this.#bittorrentExtraMs;
  }

  /**
   * Steps of work done so far for requests (files scanned by LIST or a
   * name lookup, holdings visited on a change): a caller reads it before
   * and after a request to charge the sender for what it cost. Sweeps of
   * expired peers are the tracker's own work and not counted.
   */
  get work(): number {
    return this.#work.steps;
  }

  /** Current counts. */
  get stats(): RegistryStats {
    return {
      peers: this.#peers.count,
      files: this.#files.count,
      holdings: this.#holdings.count,
    };
  }

  /** Seeders, leechers and peers by address family. */
  get totals(): RegistryTotals {
    const holdings = this.#holdings;
    return {
      seeders: holdings.seeders,
      leechers: holdings.count - holdings.seeders,
      ipv4Peers: this.#peers.count - this.#ipv6Peers,
      ipv6Peers: this.#ipv6Peers,
      bittorrentPeers: this.#bittorrentPeers,
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
    const files = this.#files;
    return topFiles(this.#allFiles(), {
      limit,
      compareIds: (a, b) => files.compare(a, b),
    });
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
    const peerId = who.peerId;
    for (const file of files) {
      if (file.id.byteLength !== FILE_ID_BYTES) return "busy";
    }
    let slot = this.#live(who.host, who.port, nowMs);
    if (
      slot !== NONE &&
      (this.#peers.isBitTorrent(slot) || !this.#peers.idEquals(slot, peerId, 0))
    ) {
      this.#removePeer(slot);
      slot = NONE;
    }
    if (slot === NONE && !this.#quotas.canAddPeer(who.host)) return "busy";
    if (!this.#quotas.canAddFiles(slot, who.host, files)) return "busy";
    if (slot === NONE) {
      const added = this.#addPeer(who.host, who.port, peerId);
      if (added === NONE) return "busy";
      slot = added;
    }
    this.#touch(slot, who.udpPort ?? udpPortOf(who.udpSource), nowMs);
    for (const file of files) {
      this.#hold(slot, file.id, file.complete, file, false);
    }
    return "ok";
  }

  /**
   * A BitTorrent client's announce (BEP 15): joins it to the file whose id
   * starts with the infohash (creating a nameless file when none does),
   * marks it complete or not, or with "stopped" takes it out of that
   * file. It lives {@linkcode SwarmRegistry.bittorrentTtlMs} after its
   * last announce. A client is keyed by (host, port) like a Shoal peer,
   * without its peer id (clients use one per torrent); a Shoal peer on the
   * same key is replaced. All or nothing, as REGISTER.
   *
   * @param who the client, its infohash, completeness and event
   * @param nowMs the current time
   * @returns "ok", or "busy" when a cap would be crossed
   */
  announce(who: BitTorrentAnnounce, nowMs: number): RegistryResult {
    if (
      who.infohash.byteLength < SWARM_KEY_BYTES ||
      who.peerId.byteLength !== BEP15_PEER_ID_BYTES
    ) {
      return "busy";
    }
    let slot = this.#live(who.host, who.port, nowMs);
    const bittorrent = slot !== NONE && this.#peers.isBitTorrent(slot);
    const fileSlot = this.#files.find(who.infohash, 0);
    const holding = bittorrent && fileSlot !== NONE
      ? this.#holdingOf(slot, fileSlot)
      : NONE;
    if (who.event === "stopped") {
      if (holding !== NONE) this.#drop(slot, holding);
      return "ok";
    }
    if (slot !== NONE && !bittorrent) {
      this.#removePeer(slot);
      slot = NONE;
    }
    if (holding === NONE) {
      if (slot === NONE && !this.#quotas.canAddPeer(who.host)) return "busy";
      if (!this.#quotas.canAddFiles(slot, who.host, [{ id: who.infohash }])) {
        return "busy";
      }
    }
    if (slot === NONE) {
      const added = this.#addPeer(
        who.host,
        who.port,
        who.peerId.subarray(BEP15_PEER_ID_BYTES - PEER_ID_BYTES),
        PEER_BITTORRENT,
      );
      if (added === NONE) return "busy";
      slot = added;
    }
    this.#touch(slot, who.udpPort, nowMs + this.#bittorrentExtraMs);
    this.#hold(
      slot,
      who.infohash,
      who.complete,
      null,
      who.event === "completed",
    );
    return "ok";
  }

  /**
   * Marks a peer as alive. `who.peerId` may be a view of the datagram.
   *
   * @param who the peer
   * @param nowMs the current time
   * @returns "ok", or "unknown_peer" when no live record has this key and id
   */
  keepalive(who: PeerIdentity, nowMs: number): RegistryResult {
    const slot = this.#live(who.host, who.port, nowMs);
    if (slot === NONE || !this.#isShoalPeer(slot, who.peerId)) {
      return "unknown_peer";
    }
    this.#touch(slot, who.udpPort ?? udpPortOf(who.udpSource), nowMs);
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
    const slot = this.#live(who.host, who.port, nowMs);
    if (slot === NONE || !this.#isShoalPeer(slot, who.peerId)) {
      return "unknown_peer";
    }
    if (file.id.byteLength !== FILE_ID_BYTES) return "busy";
    const complete = { ...file, complete: true };
    if (!this.#quotas.canAddFiles(slot, who.host, [complete])) return "busy";
    this.#touch(slot, who.udpPort ?? udpPortOf(who.udpSource), nowMs);
    this.#hold(slot, complete.id, true, complete, false);
    return "ok";
  }

  /**
   * Removes a peer at once, when its key and id match.
   *
   * @param who the peer
   * @returns true when a record was removed
   */
  leave(who: PeerIdentity): boolean {
    const slot = this.#find(who.host, who.port);
    if (slot === NONE || !this.#isShoalPeer(slot, who.peerId)) return false;
    this.#removePeer(slot);
    return true;
  }

  /**
   * Finds a file by id, with no copy: `id` may be a view of a datagram.
   * The file found is the one of the id's swarm key (its first 20 bytes):
   * the id's other bytes are a claim, which holders may make differently.
   *
   * @param id 32-byte file id
   * @returns the file, or undefined
   */
  fileById(id: Uint8Array): FileRecord | undefined {
    if (id.byteLength !== FILE_ID_BYTES) return undefined;
    const slot = this.#files.find(id, 0);
    return slot === NONE ? undefined : this.#files.entries[slot];
  }

  /**
   * Finds a file by a BitTorrent infohash (20 bytes: a v2 infohash cut, as
   * BEP 15 carries it), with no copy.
   *
   * @param infohash 20 bytes (a view is fine)
   * @returns the file, or undefined
   */
  fileByInfohash(infohash: Uint8Array): FileRecord | undefined {
    if (infohash.byteLength < SWARM_KEY_BYTES) return undefined;
    const slot = this.#files.find(infohash, 0);
    return slot === NONE ? undefined : this.#files.entries[slot];
  }

  /**
   * What a BEP 15 scrape says of an infohash: fills `out` and returns
   * true, or returns false when no file has it. Counts one step of work.
   *
   * @param infohash 20 bytes (a view is fine)
   * @param out where the counts go
   * @returns whether a file has this infohash
   */
  swarmCounts(infohash: Uint8Array, out: SwarmCounts): boolean {
    this.#work.steps++;
    const slot = infohash.byteLength < SWARM_KEY_BYTES
      ? NONE
      : this.#files.find(infohash, 0);
    if (slot === NONE) return false;
    const file = this.#files.entries[slot]!;
    out.seeders = file.seeders;
    out.leechers = file.count - file.seeders;
    out.completed = file.downloads;
    return true;
  }

  /**
   * Files with exactly this name.
   *
   * @param name the name
   * @returns the set of files (do not change it), possibly empty
   */
  filesByName(name: string): ReadonlySet<FileRecord> {
    return this.#catalog.byName(name);
  }

  /**
   * Files whose id starts with these hex digits, at most `limit` of them.
   * Ids are hashed, not sorted, so this scans every id once (counted in
   * {@linkcode SwarmRegistry.work}, as a LIST query is).
   *
   * @param prefix hex digits (1 to 64)
   * @param limit most files returned
   * @returns the files, in no particular order
   */
  filesByIdPrefix(prefix: string, limit: number): FileRecord[] {
    return this.#files.byIdPrefix(prefix, limit, this.#work);
  }

  /**
   * Picks up to `request.wanted` live holders of a file in random order,
   * leaving out the requester, as many as fit one PEER_LIST datagram.
   * Peers of the requester's address family come first (the one it
   * reached the tracker over, so the one it surely has); the other family
   * fills what is left. The requester is every peer that last announced
   * from its source IP and UDP port. The answer is what a PEER_LIST says
   * (but the txid and file id), ready for protocol's `writePeerList`.
   *
   * @param file the file
   * @param request who asks, for how many, and by which name
   * @returns the claim and the peers, in a buffer the next pick reuses
   */
  pick(file: FileRecord, request: PeerRequest): PeerPick {
    const entry = this.#entry(file);
    const claim = entry?.claimNamed(request.name);
    const pick = this.#pick;
    if (entry && claim) {
      this.#files.copyId(entry.slot, pick.id);
      if (claim !== entry.leader && claim.tail) {
        pick.id.set(claim.tail, SWARM_KEY_BYTES);
      }
    } else pick.id.set(file.id);
    pick.name = claim ? claim.name : file.name;
    pick.size = claim ? claim.size : file.size;
    pick.chunkCount = claim ? claim.chunkCount : file.chunkCount;
    const bep15 = request.format === "bep15";
    pick.peers = this.#choose(
      entry,
      request.wanted,
      request.requesterHost,
      request.requesterUdpPort,
      request.nowMs,
      bep15 ? BEP15_ANNOUNCE_REPLY_BYTES : claim ? peerListBaseBytes(claim) : 0,
      bep15,
    );
    return pick;
  }

  /**
   * {@linkcode SwarmRegistry.pick} as a list of peers, for tests and tools.
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
    const entry = this.#entry(file);
    if (!entry) return [];
    const bar = requesterUdpSource.lastIndexOf("|");
    const peers = this.#choose(
      entry,
      wanted,
      requesterUdpSource.slice(0, bar),
      udpPortOf(requesterUdpSource),
      nowMs,
      entry.peerListBaseBytes,
    );
    const out: ListedPeer[] = [];
    for (let i = 0; i < peers.count; i++) {
      out.push({
        host: this.#hosts.names[peers.hosts[i]!]!,
        port: peers.ports[i]!,
        complete: peers.complete[i] === 1,
        ...(peers.bittorrent[i] === 1 ? { bittorrent: true } : {}),
      });
    }
    return out;
  }

  /**
   * Summaries of several files (a name shared by several ids): most seeders
   * first, as many as fit one CANDIDATES datagram.
   *
   * @param files the files
   * @param name the name they were found by: each summary shows the claim
   *   of that name
   * @returns the summaries
   */
  candidates(files: Iterable<FileRecord>, name?: string): FileSummary[] {
    const entries: FileEntry[] = [];
    for (const file of files) {
      const entry = this.#entry(file);
      if (entry) entries.push(entry);
    }
    return this.#catalog.candidates(entries, name);
  }

  /**
   * Files whose shown name contains `query` (case-insensitive), sorted by
   * name, from `offset` on, as many as fit one FILE_LIST datagram. With no
   * query this costs the page, not the table; a query scans every file
   * once (counted in {@linkcode SwarmRegistry.work}), and its matches are
   * kept for the next pages until a file changes.
   *
   * @param query substring, empty for every file
   * @param offset matches to skip
   * @returns the total and one page
   */
  list(query: string, offset: number): ListPage {
    return this.#catalog.list(query, offset);
  }

  /**
   * Removes every peer silent longer than the TTL, and files left with no
   * peer.
   *
   * @param nowMs the current time
   * @returns how many peers were removed
   */
  sweep(nowMs: number): number {
    this.#sweeper.restart();
    return this.sweepSome(nowMs, this.#peers.high);
  }

  /**
   * Sweeps the next `maxSlots` peer slots (wrapping around), so a caller
   * can spread one pass over the registry across many calls instead of
   * pausing for all of it at once.
   *
   * @param nowMs the current time
   * @param maxSlots how many slots to look at, at most every slot once
   * @returns how many peers were removed
   */
  sweepSome(nowMs: number, maxSlots: number): number {
    const work = this.#work.steps;
    const removed = this.#sweeper.sweep(nowMs - this.#peerTtlMs, maxSlots);
    this.#work.steps = work;
    return removed;
  }

  /** Slots in use or used before: what one sweep pass looks at. */
  get peerSlots(): number {
    return this.#peers.high;
  }

  // ---- internals ----------------------------------------------------------

  #entry(file: FileRecord): FileEntry | undefined {
    if (file instanceof FileEntry && this.#files.entries[file.slot] === file) {
      return file;
    }
    return undefined;
  }

  *#allFiles(): Iterable<FileEntry> {
    for (const file of this.#files.entries) if (file) yield file;
  }

  /** The picker's answer for a requester known by its source. */
  #choose(
    entry: FileEntry | undefined,
    wanted: number,
    host: string,
    udpPort: number,
    nowMs: number,
    baseBytes: number,
    bep15 = false,
  ): PickedPeers {
    const requester = this.#requester;
    requester.hostId = udpPort === 0 ? NONE : this.#hosts.idOf(host);
    requester.udpPort = udpPort;
    requester.ipv6 = host.includes(":");
    return this.#picker.pick(
      entry ?? EMPTY_LIST,
      wanted,
      requester,
      nowMs - this.#peerTtlMs,
      baseBytes,
      bep15 ? BEP15_PEERS : SHOAL_PEERS,
    );
  }

  #holdersOf(file: FileEntry): Holding[] {
    const peerRecords = new Map<number, PeerRecord>();
    const out: Holding[] = [];
    const peers = this.#peers;
    const hosts = this.#hosts;
    for (let k = 0; k < file.count; k++) {
      const field = this.#entries
        .pool[this.#entries.entryAt(file, k) + E_HOLD]!;
      const slot = this.#holdings.peerOf(field >>> 1);
      let peer = peerRecords.get(slot);
      if (!peer) {
        const hostId = peers.hostOf(slot);
        const bittorrent = peers.isBitTorrent(slot);
        peer = {
          host: hosts.names[hostId]!,
          port: peers.portOf(slot),
          ipv6: hosts.family[hostId] === 6,
          peerId: peers.ids.slice(
            slot * PEER_ID_BYTES,
            (slot + 1) * PEER_ID_BYTES,
          ),
          lastSeenMs: peers.seen[slot]! -
            (bittorrent ? this.#bittorrentExtraMs : 0),
          bittorrent,
        };
        peerRecords.set(slot, peer);
      }
      out.push({ peer, file, complete: (field & 1) === 1, index: k });
    }
    return out;
  }

  /** True when the peer in `slot` is a Shoal peer with this id. */
  #isShoalPeer(slot: number, peerId: Uint8Array): boolean {
    return !this.#peers.isBitTorrent(slot) &&
      this.#peers.idEquals(slot, peerId, 0);
  }

  /** The slot of (host, port), or NONE. */
  #find(host: string, port: number): number {
    const hostId = this.#hosts.idOf(host);
    return hostId === NONE ? NONE : this.#peers.find(hostId, port);
  }

  /** The slot for (host, port), or NONE; an expired record is removed. */
  #live(host: string, port: number, nowMs: number): number {
    const slot = this.#find(host, port);
    if (slot !== NONE && this.#peers.seen[slot]! < nowMs - this.#peerTtlMs) {
      this.#removePeer(slot);
      return NONE;
    }
    return slot;
  }

  #holdingOf(slot: number, fileSlot: number): number {
    return this.#holdings.find(slot, this.#peers.first[slot]!, fileSlot);
  }

  #addPeer(
    host: string,
    port: number,
    peerId: Uint8Array,
    flags = 0,
  ): number {
    if (peerId.byteLength !== PEER_ID_BYTES) return NONE;
    const hostId = this.#hosts.intern(host);
    if (hostId === NONE) return NONE;
    const slot = this.#peers.add(hostId, port, peerId, flags);
    this.#hosts.peers[hostId]!++;
    if (this.#hosts.family[hostId] === 6) this.#ipv6Peers++;
    if ((flags & PEER_BITTORRENT) !== 0) this.#bittorrentPeers++;
    return slot;
  }

  /** Marks a peer alive from `seenMs` (see PeerTable.seen) on. */
  #touch(slot: number, udpPort: number, seenMs: number): void {
    const peers = this.#peers;
    let changed = false;
    if (seenMs > peers.seen[slot]!) {
      peers.seen[slot] = seenMs;
      changed = true;
    }
    if (peers.setUdpPort(slot, udpPort)) changed = true;
    if (!changed) return;
    this.#work.steps += peers.holdings[slot]!;
    // Copy into the peer's entries, where picking reads them.
    const entries = this.#entries;
    const seen = entries.units(peers.seen[slot]!);
    const ports = peers.portsOf(slot);
    const holdings = this.#holdings;
    const files = this.#files.entries;
    const pool = entries.pool;
    for (
      let h = peers.first[slot]! - 1;
      h !== NONE;
      h = holdings.nextOf(h)
    ) {
      const file = files[holdings.fileOf(h)]!;
      const e = entries.entryAt(file, holdings.posOf(h));
      pool[e + E_SEEN] = seen;
      pool[e + E_PORTS] = ports;
    }
  }

  /** A new file under a Shoal peer's claim, or a nameless one for a swarm key. */
  #addFile(announced: FileAnnouncement | null, key: Uint8Array): FileEntry {
    const claim = announced
      ? this.#claims.create(announced)
      : this.#claims.placeholder(key);
    const file = this.#files.add(
      announced ? announced.id : key.subarray(0, SWARM_KEY_BYTES),
      (slot) => new FileEntry(slot, claim, this.#views),
    );
    this.#catalog.add(file);
    return file;
  }

  /**
   * Names a file only BitTorrent clients announced: the first Shoal claim
   * takes the placeholder's place (name, size, the rest of the id), and
   * the file is listed and found by name from then on.
   */
  #name(file: FileEntry, announced: FileAnnouncement): void {
    const claim = this.#claims.create(announced);
    file.claims[0] = claim;
    file.leader = claim;
    file.sortName = claim.name;
    this.#files.setTail(file.slot, claim.tail);
    this.#catalog.add(file);
  }

  /**
   * Records that the peer in `slot` holds the file of `id`'s swarm key,
   * complete or not. `announced` is a Shoal peer's claim; null for a
   * BitTorrent client, which makes none. A holder that becomes complete,
   * or a new one that says it just completed, counts a download.
   */
  #hold(
    slot: number,
    id: Uint8Array,
    completeFlag: boolean,
    announced: FileAnnouncement | null,
    completedEvent: boolean,
  ): void {
    const fileSlot = this.#files.find(id, 0);
    const complete = completeFlag ? 1 : 0;
    const entries = this.#entries;
    const holdings = this.#holdings;
    const peers = this.#peers;
    const hostId = peers.hostOf(slot);
    let file: FileEntry;
    if (fileSlot === NONE) file = this.#addFile(announced, id);
    else {
      file = this.#files.entries[fileSlot]!;
      const existing = this.#holdingOf(slot, fileSlot);
      if (existing !== NONE) {
        const e = entries.entryAt(file, holdings.posOf(existing));
        if ((entries.pool[e + E_HOLD]! & 1) !== complete) {
          file.seeders += complete ? 1 : -1;
          holdings.seeders += complete ? 1 : -1;
          if (complete) file.downloads++;
          entries.pool[e + E_HOLD] = existing * 2 + complete;
        }
        return;
      }
      if (announced && file.truncated) this.#name(file, announced);
      else if (announced) this.#claims.vote(file, hostId, announced);
    }
    this.#hosts.holdings[hostId]!++;
    const k = entries.append(file);
    const holding = holdings.add(slot, file.slot, k, peers.first[slot]!);
    peers.first[slot] = holding + 1;
    const e = entries.entryAt(file, k);
    const pool = entries.pool;
    pool[e + E_HOLD] = holding * 2 + complete;
    pool[e + E_HOST] = hostId;
    pool[e + E_PORTS] = peers.portsOf(slot);
    pool[e + E_SEEN] = entries.units(peers.seen[slot]!);
    if (complete) {
      file.seeders++;
      holdings.seeders++;
    }
    if (completedEvent && complete) file.downloads++;
    const held = ++peers.holdings[slot]!;
    holdings.indexAdded(slot, holding, held);
  }

  /** Drops one holding of a peer; a peer left with none is removed. */
  #drop(slot: number, h: number): void {
    const peers = this.#peers;
    const holdings = this.#holdings;
    const entries = this.#entries;
    const hostId = peers.hostOf(slot);
    const file = this.#files.entries[holdings.fileOf(h)]!;
    const k = holdings.posOf(h);
    // Unlinking walks the peer's chain.
    this.#work.steps += peers.holdings[slot]!;
    if ((entries.pool[entries.entryAt(file, k) + E_HOLD]! & 1) === 1) {
      file.seeders--;
      holdings.seeders--;
    }
    const moved = entries.removeAt(file, k);
    if (moved !== NONE) holdings.setPos(moved, k);
    peers.first[slot] = holdings.unlink(slot, peers.first[slot]!, h);
    holdings.release(h);
    peers.holdings[slot]!--;
    this.#hosts.holdings[hostId]!--;
    if (file.count === 0) this.#removeFile(file);
    else if (!peers.isBitTorrent(slot)) this.#claims.unvote(file, hostId);
    if (peers.holdings[slot] === 0) this.#removePeer(slot);
  }

  #removePeer(slot: number): void {
    const peers = this.#peers;
    const hosts = this.#hosts;
    const holdings = this.#holdings;
    const entries = this.#entries;
    const hostId = peers.hostOf(slot);
    const bittorrent = peers.isBitTorrent(slot);
    this.#work.steps += peers.holdings[slot]!;
    hosts.holdings[hostId]! -= peers.holdings[slot]!;
    for (let h = peers.first[slot]! - 1; h !== NONE;) {
      const next = holdings.nextOf(h);
      const file = this.#files.entries[holdings.fileOf(h)]!;
      const k = holdings.posOf(h);
      if ((entries.pool[entries.entryAt(file, k) + E_HOLD]! & 1) === 1) {
        file.seeders--;
        holdings.seeders--;
      }
      const moved = entries.removeAt(file, k);
      if (moved !== NONE) holdings.setPos(moved, k);
      holdings.release(h);
      if (file.count === 0) this.#removeFile(file);
      else if (!bittorrent) this.#claims.unvote(file, hostId);
      h = next;
    }
    holdings.dropIndex(slot);
    peers.remove(slot);
    if (hosts.family[hostId] === 6) this.#ipv6Peers--;
    if (bittorrent) this.#bittorrentPeers--;
    if (--hosts.peers[hostId]! === 0) hosts.release(hostId);
  }

  #removeFile(file: FileEntry): void {
    // First, while its id is still there to compare by.
    this.#catalog.remove(file);
    this.#files.remove(file);
  }
}

/** A file with no holder, for a pick of a file the registry no longer has. */
const EMPTY_LIST = { block0: NONE, more: null, count: 0 };
