/**
 * The swarm registry: which peers hold which files, with caps that keep its
 * memory bounded whatever arrives. Pure data structure: no sockets, no clock
 * of its own (every call takes `nowMs`).
 *
 * A peer is keyed by the IP its datagrams come from and the TCP port it
 * announces. Its address is always that source IP, never a payload field.
 *
 * Memory is what bounds a tracker, so records are compact: peers and
 * holdings live in typed arrays indexed by slot number (struct of arrays),
 * peer ids in one shared slab, source IPs once per IP in a host table, and
 * the (IP, port) index is an open-addressing table of slot numbers. A peer
 * costs about 100 bytes, not one object, Map and id buffer each. PEER_LIST
 * replies are written straight from these arrays into the caller's buffer.
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
  MAGIC,
  MAX_DATAGRAM_BYTES,
  PEER_ID_BYTES,
  PROTOCOL_VERSION,
  toHex,
} from "@shoal/protocol";

const encoder = new TextEncoder();

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
  /** File id as lowercase hex. */
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
  /**
   * Holders, in no particular order (swap-removed, shuffled in place): a
   * snapshot made on each read, for tests and tools, not the hot path.
   */
  readonly holders: readonly Holding[];
  /** How many peers hold it. */
  readonly holderCount: number;
  /** How many holders are complete. */
  readonly seeders: number;
}

/** A tracked peer, as a snapshot. */
export interface PeerRecord {
  /** Source IP of its datagrams. */
  readonly host: string;
  /** Announced TCP port. */
  readonly port: number;
  /** True for an IPv6 address (IPv4-mapped sources arrive as IPv4). */
  readonly ipv6: boolean;
  /** The peer's 16-byte id (a copy). */
  readonly peerId: Uint8Array;
  /** Time of its last REGISTER, KEEPALIVE or BECOME_SEEDER. */
  readonly lastSeenMs: number;
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
/** PEER_LIST: ControlType.PEER_LIST in MessageType.CONTROL. */
const PEER_LIST_TYPE = 3;
const PEER_LIST_CODE = 3;
/** Slots allocated at first; every array doubles when full. */
const INITIAL_CAPACITY = 1024;
/** Above this many files a peer gets a Map from file to holding. */
const INDEXED_HOLDINGS = 16;
/** No slot. */
const NONE = -1;

/**
 * The map key of a file id: its 32 bytes as 16 UTF-16 code units. Cheaper
 * than hex, and the whole id, so colliding keys need colliding ids.
 *
 * @param bytes bytes that hold the id
 * @param offset where the id starts
 * @returns the key
 */
export function fileKey(bytes: Uint8Array, offset = 0): string {
  const b = bytes;
  const o = offset;
  return String.fromCharCode(
    (b[o]! << 8) | b[o + 1]!,
    (b[o + 2]! << 8) | b[o + 3]!,
    (b[o + 4]! << 8) | b[o + 5]!,
    (b[o + 6]! << 8) | b[o + 7]!,
    (b[o + 8]! << 8) | b[o + 9]!,
    (b[o + 10]! << 8) | b[o + 11]!,
    (b[o + 12]! << 8) | b[o + 13]!,
    (b[o + 14]! << 8) | b[o + 15]!,
    (b[o + 16]! << 8) | b[o + 17]!,
    (b[o + 18]! << 8) | b[o + 19]!,
    (b[o + 20]! << 8) | b[o + 21]!,
    (b[o + 22]! << 8) | b[o + 23]!,
    (b[o + 24]! << 8) | b[o + 25]!,
    (b[o + 26]! << 8) | b[o + 27]!,
    (b[o + 28]! << 8) | b[o + 29]!,
    (b[o + 30]! << 8) | b[o + 31]!,
  );
}

/** The UDP port of an "ip|udpPort" text, or 0 when there is none. */
function udpPortOf(udpSource: string | undefined): number {
  if (udpSource === undefined) return 0;
  const bar = udpSource.lastIndexOf("|");
  const port = bar < 0 ? NaN : Number(udpSource.slice(bar + 1));
  return Number.isInteger(port) && port > 0 && port <= 0xffff ? port : 0;
}

function grow<T extends Uint8Array | Uint16Array | Int32Array | Float64Array>(
  array: T,
  length: number,
  fill?: number,
): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  if (fill !== undefined) next.fill(fill, array.length);
  return next;
}

/** A tracked file: metadata, the start of its PEER_LIST, its holding ids. */
class FileEntry implements FileRecord {
  readonly slot: number;
  readonly key: string;
  readonly name: string;
  readonly size: number;
  readonly chunkCount: number;
  /**
   * PEER_LIST bytes up to and including the name (txid and body length
   * still zero); the id is at HEADER_BYTES.
   */
  readonly prefix: Uint8Array;
  /** Holding ids (swap-removed; each holding's position is in its record). */
  readonly holderIds: number[] = [];
  seeders = 0;
  readonly #snapshot: (file: FileEntry) => Holding[];

  constructor(
    slot: number,
    key: string,
    announced: FileAnnouncement,
    snapshot: (file: FileEntry) => Holding[],
  ) {
    this.slot = slot;
    this.key = key;
    this.name = announced.name;
    this.size = announced.size;
    this.chunkCount = announced.chunkCount;
    this.#snapshot = snapshot;
    const name = encoder.encode(announced.name);
    const prefix = new Uint8Array(
      HEADER_BYTES + FILE_ID_BYTES + 8 + 4 + 1 + name.byteLength,
    );
    const view = new DataView(prefix.buffer);
    view.setUint16(0, MAGIC);
    prefix[2] = PROTOCOL_VERSION;
    prefix[3] = PEER_LIST_TYPE;
    prefix[4] = PEER_LIST_CODE;
    let at = HEADER_BYTES;
    prefix.set(announced.id.subarray(0, FILE_ID_BYTES), at);
    at += FILE_ID_BYTES;
    view.setBigUint64(at, BigInt(announced.size));
    at += 8;
    view.setUint32(at, announced.chunkCount);
    at += 4;
    prefix[at++] = name.byteLength;
    prefix.set(name, at);
    this.prefix = prefix;
  }

  get id(): Uint8Array {
    return this.prefix.slice(HEADER_BYTES, HEADER_BYTES + FILE_ID_BYTES);
  }

  get idHex(): string {
    return toHex(this.id);
  }

  get lowerName(): string {
    return this.name.toLowerCase();
  }

  get peerListBaseBytes(): number {
    return this.prefix.byteLength + 2;
  }

  get holderCount(): number {
    return this.holderIds.length;
  }

  get holders(): Holding[] {
    return this.#snapshot(this);
  }
}

function summaryOf(file: FileEntry): FileSummary {
  return {
    id: file.id,
    name: file.name,
    size: file.size,
    peers: file.holderIds.length,
    seeders: file.seeders,
  };
}

/** Orders files by key: the same order as by hex id. */
function byKey(a: FileEntry, b: FileEntry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
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
  readonly #seed = (Math.random() * 0x1_0000_0000) >>> 0;

  // ---- peers: struct of arrays by slot ----
  #peerCapacity = INITIAL_CAPACITY;
  /** Host id of each slot, NONE when the slot is free. */
  #peerHost = new Int32Array(INITIAL_CAPACITY).fill(NONE);
  #peerPort = new Uint16Array(INITIAL_CAPACITY);
  /** UDP port it last announced from, 0 for none. */
  #peerUdpPort = new Uint16Array(INITIAL_CAPACITY);
  #peerSeenMs = new Float64Array(INITIAL_CAPACITY);
  #peerIds = new Uint8Array(INITIAL_CAPACITY * PEER_ID_BYTES);
  /** First holding of the peer's list, NONE for none. */
  #peerFirst = new Int32Array(INITIAL_CAPACITY).fill(NONE);
  #peerHoldings = new Int32Array(INITIAL_CAPACITY);
  /** Slots above this were never used. */
  #peerHigh = 0;
  readonly #freePeers: number[] = [];
  #peerCount = 0;
  #ipv6Peers = 0;
  /** Open addressing (host id, port) -> slot + 1, 0 empty; size 2 x capacity. */
  #peerTable = new Int32Array(INITIAL_CAPACITY * 2);
  /** Peers with many files: file slot -> holding id. */
  readonly #peerIndex = new Map<number, Map<number, number>>();
  #sweepCursor = 0;

  // ---- hosts: one entry per source IP with peers ----
  readonly #hostIds = new Map<string, number>();
  #hostNames: string[] = [];
  #hostPeers = new Int32Array(INITIAL_CAPACITY);
  /** 4 or 6. */
  #hostFamily = new Uint8Array(INITIAL_CAPACITY);
  #hostAddr = new Uint8Array(INITIAL_CAPACITY * 16);
  #hostCapacity = INITIAL_CAPACITY;
  readonly #freeHosts: number[] = [];

  // ---- holdings: struct of arrays by holding id ----
  #holdCapacity = INITIAL_CAPACITY;
  #holdPeer = new Int32Array(INITIAL_CAPACITY);
  #holdFile = new Int32Array(INITIAL_CAPACITY);
  /** Position in its file's holderIds. */
  #holdPos = new Int32Array(INITIAL_CAPACITY);
  /** Next holding of the same peer, NONE at the end. */
  #holdNext = new Int32Array(INITIAL_CAPACITY);
  #holdComplete = new Uint8Array(INITIAL_CAPACITY);
  #holdHigh = 0;
  readonly #freeHoldings: number[] = [];
  #holdings = 0;
  #seedHoldings = 0;

  // ---- files ----
  readonly #files = new Map<string, FileEntry>();
  readonly #fileSlots: (FileEntry | undefined)[] = [];
  readonly #freeFiles: number[] = [];
  readonly #byName = new Map<string, FileEntry | Set<FileEntry>>();
  /** Files sorted by name for LIST; rebuilt lazily after files change. */
  #sorted: FileEntry[] | null = null;

  // ---- scratch for peer picking ----
  #picked = new Int32Array(256);
  #otherFamily = new Int32Array(256);
  readonly #snapshot = (file: FileEntry) => this.#holdersOf(file);

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
      peers: this.#peerCount,
      files: this.#files.size,
      holdings: this.#holdings,
    };
  }

  /** Seeders, leechers and peers by address family. */
  get totals(): RegistryTotals {
    return {
      seeders: this.#seedHoldings,
      leechers: this.#holdings - this.#seedHoldings,
      ipv4Peers: this.#peerCount - this.#ipv6Peers,
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
    const top: FileEntry[] = [];
    const before = (a: FileEntry, b: FileEntry) =>
      a.holderIds.length > b.holderIds.length ||
      (a.holderIds.length === b.holderIds.length && a.key < b.key);
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
      peers: file.holderIds.length,
      seeders: file.seeders,
      leechers: file.holderIds.length - file.seeders,
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
    const peerId = who.peerId;
    let slot = this.#live(who.host, who.port, nowMs);
    if (slot !== NONE && !this.#idEquals(slot, peerId, 0)) {
      this.#removePeer(slot);
      slot = NONE;
    }
    if (slot === NONE && !this.#canAddPeer(who.host)) return "busy";
    if (!this.#canAddFiles(slot, files)) return "busy";
    if (slot === NONE) {
      const added = this.#addPeer(who.host, who.port, peerId);
      if (added === NONE) return "busy";
      slot = added;
    }
    this.#touch(slot, udpPortOf(who.udpSource), nowMs);
    for (const file of files) this.#hold(slot, file);
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
    return this.keepaliveFrom(
      who.host,
      who.port,
      who.peerId,
      0,
      udpPortOf(who.udpSource),
      nowMs,
    );
  }

  /**
   * {@linkcode SwarmRegistry.keepalive} with the peer id read in place from
   * a datagram: the handler's allocation-free path.
   *
   * @param host source IP
   * @param port announced TCP port
   * @param bytes bytes holding the 16-byte peer id
   * @param idOffset where the peer id starts in `bytes`
   * @param udpPort source UDP port, 0 for unknown
   * @param nowMs the current time
   * @returns "ok", or "unknown_peer" when no live record has this key and id
   */
  keepaliveFrom(
    host: string,
    port: number,
    bytes: Uint8Array,
    idOffset: number,
    udpPort: number,
    nowMs: number,
  ): RegistryResult {
    if (bytes.byteLength < idOffset + PEER_ID_BYTES) return "unknown_peer";
    const slot = this.#live(host, port, nowMs);
    if (slot === NONE || !this.#idEquals(slot, bytes, idOffset)) {
      return "unknown_peer";
    }
    this.#touch(slot, udpPort, nowMs);
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
    if (slot === NONE || !this.#idEquals(slot, who.peerId, 0)) {
      return "unknown_peer";
    }
    const complete = { ...file, complete: true };
    if (!this.#canAddFiles(slot, [complete])) return "busy";
    this.#touch(slot, udpPortOf(who.udpSource), nowMs);
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
    if (slot === NONE || !this.#idEquals(slot, who.peerId, 0)) return false;
    this.#removePeer(slot);
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
    return this.#files.get(fileKey(id));
  }

  /**
   * Finds a file by the 32-byte id at `offset` in `bytes`, with no copy.
   *
   * @param bytes bytes holding the id
   * @param offset where the id starts
   * @returns the file, or undefined
   */
  fileAt(bytes: Uint8Array, offset: number): FileRecord | undefined {
    if (bytes.byteLength < offset + FILE_ID_BYTES) return undefined;
    return this.#files.get(fileKey(bytes, offset));
  }

  /**
   * Files with exactly this name.
   *
   * @param name the name
   * @returns the set of files (do not change it), possibly empty
   */
  filesByName(name: string): ReadonlySet<FileRecord> {
    const named = this.#byName.get(name);
    if (named === undefined) return NO_FILES;
    return named instanceof Set ? named : new Set([named]);
  }

  /**
   * Picks up to `wanted` live holders of a file in random order, leaving
   * out the requester, as many as fit one PEER_LIST datagram. Peers of the
   * requester's address family come first (the one it reached the tracker
   * over, so the one it surely has); the other family fills what is left.
   * The requester is every peer that last announced from its "ip|udpPort".
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
    const udpPort = udpPortOf(requesterUdpSource);
    const count = this.#pick(
      entry,
      wanted,
      udpPort === 0
        ? NONE
        : this.#hostIds.get(requesterUdpSource.slice(0, bar)) ?? NONE,
      udpPort,
      requesterUdpSource.includes(":"),
      nowMs,
    );
    const out: ListedPeer[] = [];
    for (let i = 0; i < count; i++) {
      const holding = this.#picked[i]!;
      const slot = this.#holdPeer[holding]!;
      out.push({
        host: this.#hostNames[this.#peerHost[slot]!]!,
        port: this.#peerPort[slot]!,
        complete: this.#holdComplete[holding] === 1,
      });
    }
    return out;
  }

  /**
   * Writes a whole PEER_LIST datagram for `file` into `out` from offset 0:
   * the pick of {@linkcode SwarmRegistry.pickPeers}, encoded straight from
   * the registry's arrays (docs/PROTOCOL.md, "PEER_LIST").
   *
   * @param out a buffer of at least MAX_DATAGRAM_BYTES
   * @param options txid, file, wanted and the requester's source
   * @returns the datagram's length
   */
  writePeerList(
    out: Uint8Array,
    options: {
      txid: number;
      file: FileRecord;
      wanted: number;
      requesterHost: string;
      requesterUdpPort: number;
      nowMs: number;
    },
  ): number {
    const file = this.#entry(options.file)!;
    const host = options.requesterHost;
    const count = this.#pick(
      file,
      options.wanted,
      this.#hostIds.get(host) ?? NONE,
      options.requesterUdpPort,
      host.includes(":"),
      options.nowMs,
    );
    const prefix = file.prefix;
    out.set(prefix, 0);
    let at = prefix.byteLength;
    out[at++] = count >>> 8;
    out[at++] = count & 0xff;
    const picked = this.#picked;
    const holdPeer = this.#holdPeer;
    const peerHost = this.#peerHost;
    const peerPort = this.#peerPort;
    const family = this.#hostFamily;
    const addr = this.#hostAddr;
    for (let i = 0; i < count; i++) {
      const holding = picked[i]!;
      const slot = holdPeer[holding]!;
      const hostId = peerHost[slot]!;
      out[at++] = this.#holdComplete[holding]!;
      const from = hostId * 16;
      if (family[hostId] === 4) {
        out[at++] = 4;
        out[at++] = addr[from]!;
        out[at++] = addr[from + 1]!;
        out[at++] = addr[from + 2]!;
        out[at++] = addr[from + 3]!;
      } else {
        out[at++] = 6;
        out.set(addr.subarray(from, from + 16), at);
        at += 16;
      }
      const port = peerPort[slot]!;
      out[at++] = port >>> 8;
      out[at++] = port & 0xff;
    }
    const txid = options.txid >>> 0;
    out[6] = txid >>> 24;
    out[7] = (txid >>> 16) & 0xff;
    out[8] = (txid >>> 8) & 0xff;
    out[9] = txid & 0xff;
    const body = at - HEADER_BYTES;
    out[10] = body >>> 24;
    out[11] = (body >>> 16) & 0xff;
    out[12] = (body >>> 8) & 0xff;
    out[13] = body & 0xff;
    return at;
  }

  /**
   * Summaries of several files (a name shared by several ids): most seeders
   * first, as many as fit one CANDIDATES datagram.
   *
   * @param files the files
   * @returns the summaries
   */
  candidates(files: Iterable<FileRecord>): FileSummary[] {
    const entries: FileEntry[] = [];
    for (const file of files) {
      const entry = this.#entry(file);
      if (entry) entries.push(entry);
    }
    entries.sort((a, b) =>
      b.seeders - a.seeders ||
      b.holderIds.length - a.holderIds.length || byKey(a, b)
    );
    const out: FileSummary[] = [];
    let budget = MAX_DATAGRAM_BYTES - CANDIDATES_BASE_BYTES;
    for (const file of entries) {
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
      a.name < b.name ? -1 : a.name > b.name ? 1 : byKey(a, b)
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
    this.#sweepCursor = 0;
    return this.sweepSome(nowMs, this.#peerHigh);
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
    const oldest = nowMs - this.#peerTtlMs;
    const high = this.#peerHigh;
    const count = Math.min(maxSlots, high);
    let removed = 0;
    let cursor = this.#sweepCursor;
    for (let i = 0; i < count; i++) {
      if (cursor >= high) cursor = 0;
      if (
        this.#peerHost[cursor] !== NONE && this.#peerSeenMs[cursor]! < oldest
      ) {
        this.#removePeer(cursor);
        removed++;
      }
      cursor++;
    }
    this.#sweepCursor = cursor;
    return removed;
  }

  /** Slots in use or used before: what one sweep pass looks at. */
  get peerSlots(): number {
    return this.#peerHigh;
  }

  // ---- internals ----------------------------------------------------------

  #entry(file: FileRecord): FileEntry | undefined {
    if (file instanceof FileEntry && this.#fileSlots[file.slot] === file) {
      return file;
    }
    return undefined;
  }

  #holdersOf(file: FileEntry): Holding[] {
    const peers = new Map<number, PeerRecord>();
    return file.holderIds.map((holding, index) => {
      const slot = this.#holdPeer[holding]!;
      let peer = peers.get(slot);
      if (!peer) {
        const hostId = this.#peerHost[slot]!;
        peer = {
          host: this.#hostNames[hostId]!,
          port: this.#peerPort[slot]!,
          ipv6: this.#hostFamily[hostId] === 6,
          peerId: this.#peerIds.slice(
            slot * PEER_ID_BYTES,
            (slot + 1) * PEER_ID_BYTES,
          ),
          lastSeenMs: this.#peerSeenMs[slot]!,
        };
        peers.set(slot, peer);
      }
      return {
        peer,
        file,
        complete: this.#holdComplete[holding] === 1,
        index,
      };
    });
  }

  /**
   * Fills #picked with up to `wanted` holding ids and returns how many:
   * a partial Fisher-Yates shuffle of the holders in place, skipping the
   * requester and expired peers, the requester's family first, within one
   * datagram's bytes.
   */
  #pick(
    file: FileEntry,
    wanted: number,
    requesterHost: number,
    requesterUdpPort: number,
    requesterIpv6: boolean,
    nowMs: number,
  ): number {
    if (this.#picked.length < wanted) {
      this.#picked = new Int32Array(wanted);
      this.#otherFamily = new Int32Array(wanted);
    }
    const picked = this.#picked;
    const otherFamily = this.#otherFamily;
    const holders = file.holderIds;
    const holdPos = this.#holdPos;
    const holdPeer = this.#holdPeer;
    const peerHost = this.#peerHost;
    const family = this.#hostFamily;
    const length = holders.length;
    let budget = MAX_DATAGRAM_BYTES - (file.prefix.byteLength + 2);
    const oldest = nowMs - this.#peerTtlMs;
    let out = 0;
    let others = 0;
    for (let i = 0; i < length && out < wanted; i++) {
      const j = i + Math.floor(this.#random() * (length - i));
      const holding = holders[j]!;
      const current = holders[i]!;
      holders[i] = holding;
      holdPos[holding] = i;
      holders[j] = current;
      holdPos[current] = j;
      const slot = holdPeer[holding]!;
      const hostId = peerHost[slot]!;
      if (
        (hostId === requesterHost &&
          this.#peerUdpPort[slot] === requesterUdpPort) ||
        this.#peerSeenMs[slot]! < oldest
      ) {
        continue;
      }
      const ipv6 = family[hostId] === 6;
      if (ipv6 !== requesterIpv6) {
        if (others < wanted) otherFamily[others++] = holding;
        continue;
      }
      const bytes = ipv6 ? 20 : 8;
      if (bytes > budget) continue;
      budget -= bytes;
      picked[out++] = holding;
    }
    for (let k = 0; k < others && out < wanted; k++) {
      const holding = otherFamily[k]!;
      const bytes = family[peerHost[holdPeer[holding]!]!] === 6 ? 20 : 8;
      if (bytes > budget) continue;
      budget -= bytes;
      picked[out++] = holding;
    }
    return out;
  }

  #idEquals(slot: number, bytes: Uint8Array, offset: number): boolean {
    if (bytes.byteLength - offset < PEER_ID_BYTES) return false;
    const ids = this.#peerIds;
    const base = slot * PEER_ID_BYTES;
    for (let i = 0; i < PEER_ID_BYTES; i++) {
      if (ids[base + i] !== bytes[offset + i]) return false;
    }
    return true;
  }

  // ---- (host id, port) -> slot table ----

  #hash(hostId: number, port: number): number {
    let h = Math.imul(hostId ^ this.#seed, 0x9e3779b1) ^ port;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
    return (h ^ (h >>> 13)) & (this.#peerTable.length - 1);
  }

  /** The slot of (host, port), or NONE. */
  #find(host: string, port: number): number {
    const hostId = this.#hostIds.get(host);
    if (hostId === undefined) return NONE;
    return this.#findId(hostId, port);
  }

  #findId(hostId: number, port: number): number {
    const table = this.#peerTable;
    const mask = table.length - 1;
    for (let i = this.#hash(hostId, port);; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) return NONE;
      const slot = entry - 1;
      if (this.#peerHost[slot] === hostId && this.#peerPort[slot] === port) {
        return slot;
      }
    }
  }

  #tableInsert(slot: number): void {
    const table = this.#peerTable;
    const mask = table.length - 1;
    let i = this.#hash(this.#peerHost[slot]!, this.#peerPort[slot]!);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }

  /** Removes a slot by backward-shift deletion (no tombstones). */
  #tableDelete(slot: number): void {
    const table = this.#peerTable;
    const mask = table.length - 1;
    let i = this.#hash(this.#peerHost[slot]!, this.#peerPort[slot]!);
    while (table[i] !== slot + 1) i = (i + 1) & mask;
    table[i] = 0;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const other = table[j]! - 1;
      const home = this.#hash(this.#peerHost[other]!, this.#peerPort[other]!);
      // It stays when its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      table[i] = table[j]!;
      table[j] = 0;
      i = j;
    }
  }

  // ---- peers ----

  /** The slot for (host, port), or NONE; an expired record is removed. */
  #live(host: string, port: number, nowMs: number): number {
    const slot = this.#find(host, port);
    if (slot !== NONE && this.#peerSeenMs[slot]! < nowMs - this.#peerTtlMs) {
      this.#removePeer(slot);
      return NONE;
    }
    return slot;
  }

  #canAddPeer(host: string): boolean {
    if (this.#peerCount >= this.#limits.maxPeers) return false;
    const hostId = this.#hostIds.get(host);
    return hostId === undefined ||
      this.#hostPeers[hostId]! < this.#limits.maxPeersPerIp;
  }

  #holdingOf(slot: number, fileSlot: number): number {
    const index = this.#peerIndex.get(slot);
    if (index) return index.get(fileSlot) ?? NONE;
    for (let h = this.#peerFirst[slot]!; h !== NONE; h = this.#holdNext[h]!) {
      if (this.#holdFile[h] === fileSlot) return h;
    }
    return NONE;
  }

  #canAddFiles(slot: number, files: readonly FileAnnouncement[]): boolean {
    let newHoldings = 0;
    let newFiles = 0;
    const seen = new Set<string>();
    for (const file of files) {
      const key = fileKey(file.id);
      if (seen.has(key)) continue;
      seen.add(key);
      const record = this.#files.get(key);
      if (
        record && slot !== NONE && this.#holdingOf(slot, record.slot) !== NONE
      ) {
        continue;
      }
      newHoldings++;
      if (!record) newFiles++;
      else if (record.holderIds.length >= this.#limits.maxPeersPerFile) {
        return false;
      }
    }
    const held = slot === NONE ? 0 : this.#peerHoldings[slot]!;
    return held + newHoldings <= this.#limits.maxFilesPerPeer &&
      this.#holdings + newHoldings <= this.#limits.maxHoldings &&
      this.#files.size + newFiles <= this.#limits.maxFiles;
  }

  #internHost(host: string): number {
    const known = this.#hostIds.get(host);
    if (known !== undefined) return known;
    const ip = ipToBytes(host);
    if (!ip) return NONE;
    let hostId = this.#freeHosts.pop();
    if (hostId === undefined) {
      hostId = this.#hostNames.length;
      if (hostId >= this.#hostCapacity) {
        const capacity = this.#hostCapacity * 2;
        this.#hostPeers = grow(this.#hostPeers, capacity);
        this.#hostFamily = grow(this.#hostFamily, capacity);
        this.#hostAddr = grow(this.#hostAddr, capacity * 16);
        this.#hostCapacity = capacity;
      }
      this.#hostNames.push(host);
    } else {
      this.#hostNames[hostId] = host;
    }
    this.#hostIds.set(host, hostId);
    this.#hostPeers[hostId] = 0;
    this.#hostFamily[hostId] = ip.byteLength === 4 ? 4 : 6;
    this.#hostAddr.fill(0, hostId * 16, hostId * 16 + 16);
    this.#hostAddr.set(ip, hostId * 16);
    return hostId;
  }

  #growPeers(): void {
    const capacity = this.#peerCapacity * 2;
    this.#peerHost = grow(this.#peerHost, capacity, NONE);
    this.#peerPort = grow(this.#peerPort, capacity);
    this.#peerUdpPort = grow(this.#peerUdpPort, capacity);
    this.#peerSeenMs = grow(this.#peerSeenMs, capacity);
    this.#peerIds = grow(this.#peerIds, capacity * PEER_ID_BYTES);
    this.#peerFirst = grow(this.#peerFirst, capacity, NONE);
    this.#peerHoldings = grow(this.#peerHoldings, capacity);
    this.#peerCapacity = capacity;
    this.#peerTable = new Int32Array(capacity * 2);
    for (let slot = 0; slot < this.#peerHigh; slot++) {
      if (this.#peerHost[slot] !== NONE) this.#tableInsert(slot);
    }
  }

  #addPeer(host: string, port: number, peerId: Uint8Array): number {
    const hostId = this.#internHost(host);
    if (hostId === NONE) return NONE;
    let slot = this.#freePeers.pop();
    if (slot === undefined) {
      if (this.#peerHigh === this.#peerCapacity) this.#growPeers();
      slot = this.#peerHigh++;
    }
    this.#peerHost[slot] = hostId;
    this.#peerPort[slot] = port;
    this.#peerUdpPort[slot] = 0;
    this.#peerSeenMs[slot] = 0;
    this.#peerIds.set(peerId.subarray(0, PEER_ID_BYTES), slot * PEER_ID_BYTES);
    this.#peerFirst[slot] = NONE;
    this.#peerHoldings[slot] = 0;
    this.#tableInsert(slot);
    this.#peerCount++;
    this.#hostPeers[hostId]!++;
    if (this.#hostFamily[hostId] === 6) this.#ipv6Peers++;
    return slot;
  }

  #touch(slot: number, udpPort: number, nowMs: number): void {
    if (nowMs > this.#peerSeenMs[slot]!) this.#peerSeenMs[slot] = nowMs;
    if (udpPort !== 0) this.#peerUdpPort[slot] = udpPort;
  }

  #addFile(key: string, announced: FileAnnouncement): FileEntry {
    let fileSlot = this.#freeFiles.pop();
    if (fileSlot === undefined) fileSlot = this.#fileSlots.length;
    // The first announcement names the file; the id is a hash of the
    // manifest, so honest peers agree and the downloader verifies it.
    const file = new FileEntry(fileSlot, key, announced, this.#snapshot);
    this.#fileSlots[fileSlot] = file;
    this.#files.set(key, file);
    const named = this.#byName.get(file.name);
    if (named === undefined) this.#byName.set(file.name, file);
    else if (named instanceof Set) named.add(file);
    else this.#byName.set(file.name, new Set([named, file]));
    this.#sorted = null;
    return file;
  }

  #hold(slot: number, announced: FileAnnouncement): void {
    const key = fileKey(announced.id);
    let file = this.#files.get(key);
    const existing = file ? this.#holdingOf(slot, file.slot) : NONE;
    if (existing !== NONE) {
      const complete = announced.complete ? 1 : 0;
      if (this.#holdComplete[existing] !== complete) {
        file!.seeders += complete ? 1 : -1;
        this.#seedHoldings += complete ? 1 : -1;
        this.#holdComplete[existing] = complete;
      }
      return;
    }
    file ??= this.#addFile(key, announced);
    let holding = this.#freeHoldings.pop();
    if (holding === undefined) {
      if (this.#holdHigh === this.#holdCapacity) {
        const capacity = this.#holdCapacity * 2;
        this.#holdPeer = grow(this.#holdPeer, capacity);
        this.#holdFile = grow(this.#holdFile, capacity);
        this.#holdPos = grow(this.#holdPos, capacity);
        this.#holdNext = grow(this.#holdNext, capacity);
        this.#holdComplete = grow(this.#holdComplete, capacity);
        this.#holdCapacity = capacity;
      }
      holding = this.#holdHigh++;
    }
    this.#holdPeer[holding] = slot;
    this.#holdFile[holding] = file.slot;
    this.#holdPos[holding] = file.holderIds.length;
    this.#holdComplete[holding] = announced.complete ? 1 : 0;
    this.#holdNext[holding] = this.#peerFirst[slot]!;
    this.#peerFirst[slot] = holding;
    file.holderIds.push(holding);
    if (announced.complete) {
      file.seeders++;
      this.#seedHoldings++;
    }
    const held = ++this.#peerHoldings[slot]!;
    this.#holdings++;
    let index = this.#peerIndex.get(slot);
    if (!index && held > INDEXED_HOLDINGS) {
      index = new Map();
      for (let h = this.#peerFirst[slot]!; h !== NONE; h = this.#holdNext[h]!) {
        index.set(this.#holdFile[h]!, h);
      }
      this.#peerIndex.set(slot, index);
    } else index?.set(file.slot, holding);
  }

  #removePeer(slot: number): void {
    for (let h = this.#peerFirst[slot]!; h !== NONE;) {
      const next = this.#holdNext[h]!;
      const file = this.#fileSlots[this.#holdFile[h]!]!;
      const holders = file.holderIds;
      const last = holders.pop()!;
      if (last !== h) {
        const at = this.#holdPos[h]!;
        holders[at] = last;
        this.#holdPos[last] = at;
      }
      if (this.#holdComplete[h] === 1) {
        file.seeders--;
        this.#seedHoldings--;
      }
      this.#holdings--;
      this.#freeHoldings.push(h);
      if (holders.length === 0) this.#removeFile(file);
      h = next;
    }
    this.#peerIndex.delete(slot);
    this.#tableDelete(slot);
    const hostId = this.#peerHost[slot]!;
    if (this.#hostFamily[hostId] === 6) this.#ipv6Peers--;
    if (--this.#hostPeers[hostId]! === 0) {
      this.#hostIds.delete(this.#hostNames[hostId]!);
      this.#hostNames[hostId] = "";
      this.#freeHosts.push(hostId);
    }
    this.#peerHost[slot] = NONE;
    this.#peerFirst[slot] = NONE;
    this.#peerHoldings[slot] = 0;
    this.#peerCount--;
    this.#freePeers.push(slot);
  }

  #removeFile(file: FileEntry): void {
    this.#files.delete(file.key);
    this.#fileSlots[file.slot] = undefined;
    this.#freeFiles.push(file.slot);
    const named = this.#byName.get(file.name);
    if (named === file) this.#byName.delete(file.name);
    else if (named instanceof Set) {
      named.delete(file);
      if (named.size === 1) {
        for (const only of named) this.#byName.set(file.name, only);
      }
    }
    this.#sorted = null;
  }
}
