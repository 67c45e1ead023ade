/**
 * The swarm registry: which peers hold which files, with caps that keep its
 * memory bounded whatever arrives. Pure data structure: no sockets, no clock
 * of its own (every call takes `nowMs`).
 *
 * A peer is keyed by the IP its datagrams come from and the TCP port it
 * announces. Its address is always that source IP, never a payload field.
 *
 * This class coordinates the parts in this folder, each in its own file:
 * the peer, host, file and holding tables (struct of arrays, so a peer
 * costs about 100 bytes), the holder entries peers are picked from, the
 * claims and their votes, the name catalog, the sweeper and the quotas.
 *
 * @module
 */
import {
  FILE_ID_BYTES,
  type FileAnnouncement,
  type FileSummary,
  type ListedPeer,
  PEER_ID_BYTES,
  PeerListPeers,
} from "@shoal/protocol";
import { Catalog } from "./catalog.ts";
import { ClaimVotes, FileEntry, peerListBaseBytes } from "./claims.ts";
import { FileTable } from "./file_table.ts";
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
import { PeerPicker, type PickedPeers, type Requester } from "./peer_picker.ts";
import { PeerTable } from "./peer_table.ts";
import { Quotas, registryLimits } from "./quotas.ts";
import { topFiles } from "./stats.ts";
import { Sweeper } from "./sweeper.ts";
import { capacityFor, NONE, WorkMeter } from "./tables.ts";
import type {
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
} from "./types.ts";

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
  /** Reused by every pick. */
  readonly #requester: Requester = { hostId: NONE, udpPort: 0, ipv6: false };
  readonly #pick: {
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
      hostAt: (file, k) =>
        this.#entries.pool[this.#entries.entryAt(file, k) + E_HOST]!,
      named: (name, file) => catalog.named(name, file),
      unnamed: (name, file) => catalog.unnamed(name, file),
      lead: (file, claim) => catalog.lead(file, claim),
    }, this.#work);
    this.#picker = new PeerPicker(
      this.#entries,
      this.#hosts,
      options.random ?? Math.random,
      (field) => this.#peers.seen[this.#holdings.peerOf(field >>> 1)]!,
    );
    this.#pick = {
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
    let slot = this.#live(who.host, who.port, nowMs);
    if (slot !== NONE && !this.#peers.idEquals(slot, peerId, 0)) {
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
    for (const file of files) this.#hold(slot, file);
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
    if (slot === NONE || !this.#peers.idEquals(slot, who.peerId, 0)) {
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
    if (slot === NONE || !this.#peers.idEquals(slot, who.peerId, 0)) {
      return "unknown_peer";
    }
    const complete = { ...file, complete: true };
    if (!this.#quotas.canAddFiles(slot, who.host, [complete])) return "busy";
    this.#touch(slot, who.udpPort ?? udpPortOf(who.udpSource), nowMs);
    this.#hold(slot, complete);
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
    if (slot === NONE || !this.#peers.idEquals(slot, who.peerId, 0)) {
      return false;
    }
    this.#removePeer(slot);
    return true;
  }

  /**
   * Finds a file by id, with no copy: `id` may be a view of a datagram.
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
    pick.name = claim ? claim.name : file.name;
    pick.size = claim ? claim.size : file.size;
    pick.chunkCount = claim ? claim.chunkCount : file.chunkCount;
    pick.peers = this.#choose(
      entry,
      request.wanted,
      request.requesterHost,
      request.requesterUdpPort,
      request.nowMs,
      claim ? peerListBaseBytes(claim) : 0,
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
        peer = {
          host: hosts.names[hostId]!,
          port: peers.portOf(slot),
          ipv6: hosts.family[hostId] === 6,
          peerId: peers.ids.slice(
            slot * PEER_ID_BYTES,
            (slot + 1) * PEER_ID_BYTES,
          ),
          lastSeenMs: peers.seen[slot]!,
        };
        peerRecords.set(slot, peer);
      }
      out.push({ peer, file, complete: (field & 1) === 1, index: k });
    }
    return out;
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

  #addPeer(host: string, port: number, peerId: Uint8Array): number {
    if (peerId.byteLength !== PEER_ID_BYTES) return NONE;
    const hostId = this.#hosts.intern(host);
    if (hostId === NONE) return NONE;
    const slot = this.#peers.add(hostId, port, peerId);
    this.#hosts.peers[hostId]!++;
    if (this.#hosts.family[hostId] === 6) this.#ipv6Peers++;
    return slot;
  }

  #touch(slot: number, udpPort: number, nowMs: number): void {
    const peers = this.#peers;
    let changed = false;
    if (nowMs > peers.seen[slot]!) {
      peers.seen[slot] = nowMs;
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

  #addFile(announced: FileAnnouncement): FileEntry {
    const claim = this.#claims.create(announced);
    const file = this.#files.add(
      announced.id,
      (slot) => new FileEntry(slot, claim, this.#views),
    );
    this.#catalog.add(file);
    return file;
  }

  #hold(slot: number, announced: FileAnnouncement): void {
    const fileSlot = this.#files.find(announced.id, 0);
    const complete = announced.complete ? 1 : 0;
    const entries = this.#entries;
    const holdings = this.#holdings;
    if (fileSlot !== NONE) {
      const existing = this.#holdingOf(slot, fileSlot);
      if (existing !== NONE) {
        const file = this.#files.entries[fileSlot]!;
        const e = entries.entryAt(file, holdings.posOf(existing));
        if ((entries.pool[e + E_HOLD]! & 1) !== complete) {
          file.seeders += complete ? 1 : -1;
          holdings.seeders += complete ? 1 : -1;
          entries.pool[e + E_HOLD] = existing * 2 + complete;
        }
        return;
      }
    }
    const peers = this.#peers;
    const hostId = peers.hostOf(slot);
    let file: FileEntry;
    if (fileSlot === NONE) file = this.#addFile(announced);
    else {
      file = this.#files.entries[fileSlot]!;
      this.#claims.vote(file, hostId, announced);
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
    const held = ++peers.holdings[slot]!;
    holdings.indexAdded(slot, holding, held);
  }

  #removePeer(slot: number): void {
    const peers = this.#peers;
    const hosts = this.#hosts;
    const holdings = this.#holdings;
    const entries = this.#entries;
    const hostId = peers.hostOf(slot);
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
      else this.#claims.unvote(file, hostId);
      h = next;
    }
    holdings.dropIndex(slot);
    peers.remove(slot);
    if (hosts.family[hostId] === 6) this.#ipv6Peers--;
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
