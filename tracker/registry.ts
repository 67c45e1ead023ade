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
  bytesEqual,
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
import { SortedBlocks } from "./sorted_blocks.ts";

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
  /**
   * Most (peer, file) pairs of all the peers behind one source IP. A file
   * needs a holder, so this also bounds the files one IP keeps listed.
   */
  maxHoldingsPerIp: number;
}

/**
 * The share of a table one source IP may fill: 1 %, so that filling any
 * table takes at least 100 addresses.
 */
export const SOURCE_SHARE_OF_TABLE = 0.01;
/** One source IP may always hold this many files, however small the tables. */
export const MIN_HOLDINGS_PER_IP = 16;
/** Most peers (TCP ports) behind one source IP, when the peer table allows it. */
export const MAX_PEERS_PER_IP = 64;

/**
 * The limits with every per-IP cap not given derived from the tables:
 * {@linkcode SOURCE_SHARE_OF_TABLE} of them (peers: at most
 * {@linkcode MAX_PEERS_PER_IP}; holdings: at least
 * {@linkcode MIN_HOLDINGS_PER_IP}).
 *
 * @param limits caps to set; the rest take the defaults
 * @returns every cap
 */
export function registryLimits(
  limits: Partial<RegistryLimits> = {},
): RegistryLimits {
  const maxFiles = limits.maxFiles ?? 100_000;
  const maxPeers = limits.maxPeers ?? 100_000;
  const maxHoldings = limits.maxHoldings ?? 1_000_000;
  const share = (table: number) =>
    Math.max(1, Math.floor(table * SOURCE_SHARE_OF_TABLE));
  return {
    maxFiles,
    maxPeers,
    maxHoldings,
    maxPeersPerFile: limits.maxPeersPerFile ?? 10_000,
    maxFilesPerPeer: limits.maxFilesPerPeer ?? 10_000,
    maxPeersPerIp: limits.maxPeersPerIp ??
      Math.min(MAX_PEERS_PER_IP, share(maxPeers)),
    maxHoldingsPerIp: limits.maxHoldingsPerIp ??
      Math.max(MIN_HOLDINGS_PER_IP, share(Math.min(maxFiles, maxHoldings))),
  };
}

/**
 * Default limits: roughly 200 MB in the worst case, and one source IP at
 * most 64 peers and 1,000 (peer, file) pairs (so at most 1,000 files):
 * about 1 MB.
 */
export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = Object
  .freeze(registryLimits());

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
  /** The UDP port the announce came from; when given, `udpSource` is not read. */
  udpPort?: number;
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
/**
 * Slots allocated at once, at most: arrays are sized to the caps up front.
 * Their pages are zero until touched, so a slot costs memory only once
 * used, and no array is ever copied and left behind as garbage.
 */
const MAX_PREALLOCATED = 1 << 22;
/** Above this many files a peer gets a Map from file to holding. */
const INDEXED_HOLDINGS = 16;
/** No slot. */
const NONE = -1;
/** Fields of a peer in #peers: host id + 1 (0 free), TCP port, UDP port (0 unknown). Its last-seen time is in #peerSeen. */
const PEER_FIELDS = 4;
const P_HOST = 0;
const P_PORT = 1;
const P_UDP = 2;
/** Fields of a holding in #holds: peer slot, file slot, entry offset in the file's list, next holding of the peer + 1. */
const HOLD_FIELDS = 4;
const H_PEER = 0;
const H_FILE = 1;
const H_POS = 2;
const H_NEXT = 3;
/**
 * Fields of a holder entry in a file's list: holding id * 2 + complete,
 * host id, TCP port | UDP port << 16, and the peer's last-seen time in
 * units of 1,024 ms since the registry's epoch (exact time in the peer's
 * record, read only near the expiry edge). What a PEER_LIST needs sits
 * together, so picking peers reads one run of memory per file, not a peer
 * record per holder. Entries live in blocks of BLOCK_ENTRIES in one pool.
 */
const ENTRY_FIELDS = 4;
const E_HOLD = 0;
const E_HOST = 1;
const E_PORTS = 2;
const E_SEEN = 3;
const BLOCK_SHIFT = 4;
const BLOCK_ENTRIES = 1 << BLOCK_SHIFT;
const BLOCK_INTS = BLOCK_ENTRIES * ENTRY_FIELDS;
const SEEN_UNIT_MS = 1024;
/** Files with at most this many holders are shuffled in a dense scratch array. */
const DENSE_PICK = 4096;
/** The file table starts this size and doubles at half full. */
const INITIAL_FILE_TABLE = 1024;
/** LIST results of this many recent queries are kept until files change. */
const LIST_CACHE_QUERIES = 4;

const encoder = new TextEncoder();

/** The UDP port of an "ip|udpPort" text, or 0 when there is none. */
function udpPortOf(udpSource: string | undefined): number {
  if (udpSource === undefined) return 0;
  const bar = udpSource.lastIndexOf("|");
  const port = bar < 0 ? NaN : Number(udpSource.slice(bar + 1));
  return Number.isInteger(port) && port > 0 && port <= 0xffff ? port : 0;
}

function grow<T extends Uint8Array | Int32Array | Float64Array>(
  array: T,
  length: number,
): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  return next;
}

/** The items of an array from `offset` on, without a copy. */
function* itemsFrom<T>(items: readonly T[], offset: number): Generator<T> {
  for (let i = Math.max(0, offset); i < items.length; i++) yield items[i]!;
}

/** The smallest power of two at least `n`. */
function powerOfTwo(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/** True when every character is ASCII, so the name is its own UTF-8. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

/**
 * What holders say a file is: its name, size and chunk count. Only hints:
 * the file id is a hash of the manifest, which a downloader checks, so the
 * tracker cannot tell who is right, only how many addresses agree.
 */
class Claim {
  readonly name: string;
  /** Lowercase name, for LIST. */
  readonly lowerName: string;
  readonly size: number;
  readonly chunkCount: number;
  /** The name's UTF-8 bytes, or null when the name is ASCII. */
  readonly nameBytes: Uint8Array | null;
  /** Bytes of the name in UTF-8. */
  readonly nameLength: number;
  /** Order of creation: an older claim wins a tie. */
  readonly seq: number;
  /** Source IPs that vote for it (counted only once its file is contested). */
  votes = 0;

  constructor(announced: FileAnnouncement, seq: number) {
    this.name = announced.name;
    this.lowerName = announced.name.toLowerCase();
    this.size = announced.size;
    this.chunkCount = announced.chunkCount;
    this.seq = seq;
    if (isAscii(announced.name)) {
      this.nameBytes = null;
      this.nameLength = announced.name.length;
    } else {
      this.nameBytes = encoder.encode(announced.name);
      this.nameLength = this.nameBytes.byteLength;
    }
  }

  matches(announced: FileAnnouncement): boolean {
    return this.name === announced.name && this.size === announced.size &&
      this.chunkCount === announced.chunkCount;
  }

  /** True when this claim should be shown before `other`: more votes, then older. */
  beats(other: Claim): boolean {
    return this.votes > other.votes ||
      (this.votes === other.votes && this.seq < other.seq);
  }
}

/** One source IP's vote on a contested file: its first peer's claim. */
interface Vote {
  claim: Claim;
  /** Its peers holding the file. */
  peers: number;
}

/** A tracked file: its claims and its holding ids. Its id is in the registry's slab. */
class FileEntry implements FileRecord {
  readonly slot: number;
  /** Every claim some holder makes, oldest first. */
  readonly claims: Claim[];
  /** The claim most source IPs agree on (ties: the oldest): what is shown. */
  leader: Claim;
  /** The name it is sorted under in LIST (the leader's, once added). */
  sortName: string;
  /**
   * Votes by host id, once holders disagree (null before: every holder
   * made the first claim). Kept from then on, so that a claim coming and
   * going costs one step, not a count of every holder.
   */
  votes: Map<number, Vote> | null = null;
  /** The pool block of entries 0..BLOCK_ENTRIES-1, NONE before the first. */
  block0 = NONE;
  /** Blocks of the entries after those, for a file with many holders. */
  more: number[] | null = null;
  /** Holders (entries in use; swap-removed, each holding knows its index). */
  count = 0;
  seeders = 0;
  readonly #registry: FileViews;

  constructor(slot: number, claim: Claim, registry: FileViews) {
    this.slot = slot;
    this.claims = [claim];
    this.leader = claim;
    this.sortName = claim.name;
    this.#registry = registry;
  }

  get name(): string {
    return this.leader.name;
  }

  get size(): number {
    return this.leader.size;
  }

  get chunkCount(): number {
    return this.leader.chunkCount;
  }

  get id(): Uint8Array {
    return this.#registry.idOf(this);
  }

  get idHex(): string {
    return toHex(this.id);
  }

  get lowerName(): string {
    return this.leader.lowerName;
  }

  get peerListBaseBytes(): number {
    return peerListBaseBytes(this.leader);
  }

  get holderCount(): number {
    return this.count;
  }

  get holders(): Holding[] {
    return this.#registry.holdersOf(this);
  }

  /** The claim named `name` with the most votes, or the leader. */
  claimNamed(name: string | undefined): Claim {
    if (name === undefined || this.leader.name === name) return this.leader;
    let best: Claim | null = null;
    for (const claim of this.claims) {
      if (claim.name === name && (best === null || claim.beats(best))) {
        best = claim;
      }
    }
    return best ?? this.leader;
  }

  /** True when another claim than `claim` has its name. */
  otherClaimNamed(claim: Claim): boolean {
    return this.claims.some((other) =>
      other !== claim && other.name === claim.name
    );
  }
}

/** Bytes of a PEER_LIST for a file under this claim, before any peer. */
function peerListBaseBytes(claim: Claim): number {
  return HEADER_BYTES + FILE_ID_BYTES + 8 + 4 + 1 + claim.nameLength + 2;
}

/** What a FileEntry asks its registry for. */
interface FileViews {
  idOf(file: FileEntry): Uint8Array;
  holdersOf(file: FileEntry): Holding[];
}

function summaryOf(file: FileEntry, claim: Claim = file.leader): FileSummary {
  return {
    id: file.id,
    name: claim.name,
    size: claim.size,
    peers: file.holderCount,
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
  readonly #seed = (Math.random() * 0x1_0000_0000) >>> 0;

  // ---- peers: PEER_FIELDS numbers per slot ----
  #peerCapacity: number;
  #peers: Int32Array;
  #peerSeen: Float64Array;
  #peerIds: Uint8Array;
  /** First holding of the peer + 1, 0 for none. */
  #peerFirst: Int32Array;
  #peerHoldings: Int32Array;
  /** Slots above this were never used. */
  #peerHigh = 0;
  readonly #freePeers: number[] = [];
  #peerCount = 0;
  #ipv6Peers = 0;
  /** Open addressing (host id, port) -> slot + 1, 0 empty; at least 2 x capacity. */
  #peerTable: Int32Array;
  /** Peers with many files: file slot -> holding id. */
  readonly #peerIndex = new Map<number, Map<number, number>>();
  #sweepCursor = 0;

  // ---- hosts: one entry per source IP with peers ----
  readonly #hostIds = new Map<string, number>();
  readonly #hostNames: string[] = [];
  #hostCapacity: number;
  #hostPeers: Int32Array;
  /** 4 or 6. */
  #hostFamily: Uint8Array;
  #hostAddr: Uint8Array;
  /** (peer, file) pairs of every peer of the host. */
  #hostHoldings: Int32Array;
  readonly #freeHosts: number[] = [];

  // ---- holdings: HOLD_FIELDS numbers per holding id ----
  #holdCapacity: number;
  #holds: Int32Array;
  #holdHigh = 0;
  readonly #freeHoldings: number[] = [];
  #holdings = 0;
  #seedHoldings = 0;

  // ---- holder entry blocks ----
  #pool: Int32Array;
  #blockCapacity: number;
  #blockHigh = 0;
  readonly #freeBlocks: number[] = [];
  /** Last-seen units are counted from here (set at the first touch). */
  #epochUnits = NaN;

  // ---- files ----
  #fileCapacity: number;
  readonly #fileSlots: (FileEntry | undefined)[] = [];
  /** File ids by slot, FILE_ID_BYTES each. */
  #fileIds: Uint8Array;
  /** Open addressing hash(id) -> slot + 1, 0 empty; at least 2 x capacity. */
  #fileTable: Int32Array;
  #fileCount = 0;
  readonly #freeFiles: number[] = [];
  /** Files by every name a holder claims for them. */
  readonly #byName = new Map<string, FileEntry | Set<FileEntry>>();
  /** Files sorted by shown name, then id, for LIST; kept up to date. */
  readonly #sorted = new SortedBlocks<FileEntry>((a, b) =>
    a.sortName < b.sortName
      ? -1
      : a.sortName > b.sortName
      ? 1
      : this.#compareIds(a, b)
  );
  /** Changes whenever a file is added or removed or its shown name changes. */
  #filesVersion = 0;
  /** Matches of recent LIST queries, valid while #filesVersion is unchanged. */
  readonly #listCache = new Map<
    string,
    { version: number; matches: FileEntry[] }
  >();
  #claimSeq = 0;
  /** Steps of work done for requests: see {@linkcode SwarmRegistry.work}. */
  #work = 0;

  // ---- scratch for peer picking ----
  /** Entry offsets chosen by #pick. */
  #picked = new Int32Array(256);
  #otherFamily = new Int32Array(256);
  readonly #dense = new Int32Array(DENSE_PICK);
  readonly #views: FileViews = {
    idOf: (file) =>
      this.#fileIds.slice(
        file.slot * FILE_ID_BYTES,
        (file.slot + 1) * FILE_ID_BYTES,
      ),
    holdersOf: (file) => this.#holdersOf(file),
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
    this.#limits = registryLimits(options.limits);
    this.#random = options.random ?? Math.random;
    const capacity = (limit: number) =>
      Math.max(1, Math.min(MAX_PREALLOCATED, Math.floor(limit)));
    this.#peerCapacity = capacity(this.#limits.maxPeers);
    this.#peers = new Int32Array(this.#peerCapacity * PEER_FIELDS);
    this.#peerSeen = new Float64Array(this.#peerCapacity);
    this.#peerIds = new Uint8Array(this.#peerCapacity * PEER_ID_BYTES);
    this.#peerFirst = new Int32Array(this.#peerCapacity);
    this.#peerHoldings = new Int32Array(this.#peerCapacity);
    this.#peerTable = new Int32Array(powerOfTwo(this.#peerCapacity * 2));
    this.#hostCapacity = this.#peerCapacity;
    this.#hostPeers = new Int32Array(this.#hostCapacity);
    this.#hostFamily = new Uint8Array(this.#hostCapacity);
    this.#hostAddr = new Uint8Array(this.#hostCapacity * 16);
    this.#hostHoldings = new Int32Array(this.#hostCapacity);
    this.#holdCapacity = capacity(this.#limits.maxHoldings);
    this.#holds = new Int32Array(this.#holdCapacity * HOLD_FIELDS);
    this.#blockCapacity = capacity(
      this.#limits.maxFiles + this.#limits.maxHoldings / BLOCK_ENTRIES + 1,
    );
    this.#pool = new Int32Array(this.#blockCapacity * BLOCK_INTS);
    this.#fileCapacity = capacity(this.#limits.maxFiles);
    this.#fileIds = new Uint8Array(this.#fileCapacity * FILE_ID_BYTES);
    this.#fileTable = new Int32Array(INITIAL_FILE_TABLE);
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
    return this.#work;
  }

  /** Current counts. */
  get stats(): RegistryStats {
    return {
      peers: this.#peerCount,
      files: this.#fileCount,
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
      a.holderCount > b.holderCount ||
      (a.holderCount === b.holderCount && this.#compareIds(a, b) < 0);
    if (limit <= 0) return [];
    for (const file of this.#allFiles()) {
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
      peers: file.holderCount,
      seeders: file.seeders,
      leechers: file.holderCount - file.seeders,
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
    if (!this.#canAddFiles(slot, who.host, files)) return "busy";
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
      who.udpPort ?? udpPortOf(who.udpSource),
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
    if (!this.#canAddFiles(slot, who.host, [complete])) return "busy";
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
    return this.fileAt(id, 0);
  }

  /**
   * Finds a file by the 32-byte id at `offset` in `bytes`, with no copy.
   *
   * @param bytes bytes holding the id
   * @param offset where the id starts
   * @returns the file, or undefined
   */
  fileAt(bytes: Uint8Array, offset: number): FileRecord | undefined {
    if (offset < 0 || bytes.byteLength < offset + FILE_ID_BYTES) {
      return undefined;
    }
    const slot = this.#findFile(bytes, offset);
    return slot === NONE ? undefined : this.#fileSlots[slot];
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
   * Files whose id starts with these hex digits, at most `limit` of them.
   * Ids are hashed, not sorted, so this scans every id once (counted in
   * {@linkcode SwarmRegistry.work}, as a LIST query is).
   *
   * @param prefix hex digits (1 to 64)
   * @param limit most files returned
   * @returns the files, in no particular order
   */
  filesByIdPrefix(prefix: string, limit: number): FileRecord[] {
    const digits = prefix.slice(0, FILE_ID_BYTES * 2);
    const nibbles = new Uint8Array(digits.length);
    for (let i = 0; i < digits.length; i++) {
      const value = parseInt(digits[i]!, 16);
      if (Number.isNaN(value)) return [];
      nibbles[i] = value;
    }
    const ids = this.#fileIds;
    const out: FileRecord[] = [];
    const slots = this.#fileSlots;
    this.#work += slots.length;
    for (const file of slots) {
      if (!file) continue;
      const base = file.slot * FILE_ID_BYTES;
      let i = 0;
      while (i < nibbles.length) {
        const byte = ids[base + (i >> 1)]!;
        if (((i & 1) === 0 ? byte >> 4 : byte & 15) !== nibbles[i]) break;
        i++;
      }
      if (i < nibbles.length) continue;
      out.push(file);
      if (out.length >= limit) break;
    }
    return out;
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
      entry.peerListBaseBytes,
    );
    const out: ListedPeer[] = [];
    const pool = this.#pool;
    for (let i = 0; i < count; i++) {
      const at = this.#picked[i]!;
      out.push({
        host: this.#hostNames[pool[at + E_HOST]!]!,
        port: pool[at + E_PORTS]! & 0xffff,
        complete: (pool[at + E_HOLD]! & 1) === 1,
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
   * @param options txid, file, wanted and the requester's source; `name`
   *   when the file was asked for by a name: the name, size and chunk count
   *   written are then those of the claim of that name (see
   *   {@linkcode SwarmRegistry.filesByName})
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
      name?: string | undefined;
    },
  ): number {
    const file = this.#entry(options.file)!;
    const claim = file.claimNamed(options.name);
    const host = options.requesterHost;
    const udpPort = options.requesterUdpPort;
    const count = this.#pick(
      file,
      options.wanted,
      udpPort === 0 ? NONE : this.#hostIds.get(host) ?? NONE,
      udpPort,
      host.includes(":"),
      options.nowMs,
      peerListBaseBytes(claim),
    );
    let at = this.#writePrefix(out, file, claim);
    out[at++] = count >>> 8;
    out[at++] = count & 0xff;
    const picked = this.#picked;
    const entries = this.#pool;
    const family = this.#hostFamily;
    const addr = this.#hostAddr;
    for (let i = 0; i < count; i++) {
      const e = picked[i]!;
      const hostId = entries[e + E_HOST]!;
      out[at++] = entries[e + E_HOLD]! & 1;
      const from = hostId * 16;
      if (family[hostId] === 4) {
        out[at++] = 4;
        out[at++] = addr[from]!;
        out[at++] = addr[from + 1]!;
        out[at++] = addr[from + 2]!;
        out[at++] = addr[from + 3]!;
      } else {
        out[at++] = 6;
        for (let k = 0; k < 16; k++) out[at++] = addr[from + k]!;
      }
      const ports = entries[e + E_PORTS]!;
      out[at++] = (ports >>> 8) & 0xff;
      out[at++] = ports & 0xff;
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
    this.#work += entries.length;
    entries.sort((a, b) =>
      b.seeders - a.seeders ||
      b.holderCount - a.holderCount || this.#compareIds(a, b)
    );
    const out: FileSummary[] = [];
    let budget = MAX_DATAGRAM_BYTES - CANDIDATES_BASE_BYTES;
    for (const file of entries) {
      if (out.length === MAX_FILES_PER_REPLY) break;
      const summary = summaryOf(file, file.claimNamed(name));
      const bytes = fileSummaryBytes(summary);
      if (bytes > budget) break;
      budget -= bytes;
      out.push(summary);
    }
    return out;
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
    const needle = query.toLowerCase();
    let total: number;
    let matches: Iterable<FileEntry>;
    if (needle === "") {
      total = this.#sorted.size;
      matches = this.#sorted.from(offset);
    } else {
      const found = this.#matches(needle);
      total = found.length;
      matches = itemsFrom(found, offset);
    }
    const files: FileSummary[] = [];
    let budget = MAX_DATAGRAM_BYTES - FILE_LIST_BASE_BYTES;
    for (const file of matches) {
      if (files.length === MAX_FILES_PER_REPLY) break;
      const summary = summaryOf(file);
      const bytes = fileSummaryBytes(summary);
      if (bytes > budget) break;
      budget -= bytes;
      files.push(summary);
    }
    this.#work += files.length;
    return { total, files };
  }

  /** Files whose shown name contains `needle` (lowercase), in LIST order. */
  #matches(needle: string): FileEntry[] {
    const cache = this.#listCache;
    const cached = cache.get(needle);
    cache.delete(needle);
    if (cached && cached.version === this.#filesVersion) {
      cache.set(needle, cached);
      return cached.matches;
    }
    const matches: FileEntry[] = [];
    for (const file of this.#sorted.from(0)) {
      if (file.leader.lowerName.includes(needle)) matches.push(file);
    }
    this.#work += this.#sorted.size;
    cache.set(needle, { version: this.#filesVersion, matches });
    // Map keeps insertion order: the first key is the least recently used.
    if (cache.size > LIST_CACHE_QUERIES) {
      cache.delete(cache.keys().next().value!);
    }
    return matches;
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
    const work = this.#work;
    const oldest = nowMs - this.#peerTtlMs;
    const high = this.#peerHigh;
    const count = Math.min(maxSlots, high);
    const peers = this.#peers;
    let removed = 0;
    let cursor = this.#sweepCursor;
    for (let i = 0; i < count; i++) {
      if (cursor >= high) cursor = 0;
      const at = cursor * PEER_FIELDS;
      if (peers[at + P_HOST] !== 0 && this.#peerSeen[cursor]! < oldest) {
        this.#removePeer(cursor);
        removed++;
      }
      cursor++;
    }
    this.#sweepCursor = cursor;
    this.#work = work;
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

  *#allFiles(): Iterable<FileEntry> {
    for (const file of this.#fileSlots) if (file) yield file;
  }

  /** Orders files by id bytes: the same order as by hex id. */
  #compareIds(a: FileEntry, b: FileEntry): number {
    const ids = this.#fileIds;
    const x = a.slot * FILE_ID_BYTES;
    const y = b.slot * FILE_ID_BYTES;
    for (let i = 0; i < FILE_ID_BYTES; i++) {
      const d = ids[x + i]! - ids[y + i]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /** Writes the PEER_LIST header (txid and length zero) and fixed body; returns the offset after the name. */
  #writePrefix(out: Uint8Array, file: FileEntry, claim: Claim): number {
    out[0] = MAGIC >>> 8;
    out[1] = MAGIC & 0xff;
    out[2] = PROTOCOL_VERSION;
    out[3] = PEER_LIST_TYPE;
    out[4] = PEER_LIST_CODE;
    out[5] = 0;
    let at = HEADER_BYTES;
    const ids = this.#fileIds;
    const from = file.slot * FILE_ID_BYTES;
    for (let i = 0; i < FILE_ID_BYTES; i++) out[at++] = ids[from + i]!;
    const high = Math.floor(claim.size / 0x1_0000_0000);
    const low = claim.size >>> 0;
    out[at++] = high >>> 24;
    out[at++] = (high >>> 16) & 0xff;
    out[at++] = (high >>> 8) & 0xff;
    out[at++] = high & 0xff;
    out[at++] = low >>> 24;
    out[at++] = (low >>> 16) & 0xff;
    out[at++] = (low >>> 8) & 0xff;
    out[at++] = low & 0xff;
    const chunks = claim.chunkCount;
    out[at++] = chunks >>> 24;
    out[at++] = (chunks >>> 16) & 0xff;
    out[at++] = (chunks >>> 8) & 0xff;
    out[at++] = chunks & 0xff;
    out[at++] = claim.nameLength;
    if (claim.nameBytes === null) {
      const name = claim.name;
      for (let i = 0; i < name.length; i++) out[at++] = name.charCodeAt(i);
    } else {
      out.set(claim.nameBytes, at);
      at += claim.nameBytes.byteLength;
    }
    return at;
  }

  #holdersOf(file: FileEntry): Holding[] {
    const peers = new Map<number, PeerRecord>();
    const out: Holding[] = [];
    for (let k = 0; k < file.count; k++) {
      const field = this.#pool[this.#entryAt(file, k) + E_HOLD]!;
      const slot = this.#holds[(field >>> 1) * HOLD_FIELDS + H_PEER]!;
      let peer = peers.get(slot);
      if (!peer) {
        const at = slot * PEER_FIELDS;
        const hostId = (this.#peers[at + P_HOST]! | 0) - 1;
        peer = {
          host: this.#hostNames[hostId]!,
          port: this.#peers[at + P_PORT]! | 0,
          ipv6: this.#hostFamily[hostId] === 6,
          peerId: this.#peerIds.slice(
            slot * PEER_ID_BYTES,
            (slot + 1) * PEER_ID_BYTES,
          ),
          lastSeenMs: this.#peerSeen[slot]!,
        };
        peers.set(slot, peer);
      }
      out.push({
        peer,
        file,
        complete: (field & 1) === 1,
        index: k,
      });
    }
    return out;
  }

  /**
   * Fills #picked with up to `wanted` entry offsets and returns how many:
   * holders in random order (a partial Fisher-Yates shuffle of their
   * indexes; the list itself stays as it is), skipping the requester and
   * expired peers, the requester's family first, within one datagram.
   */
  #pick(
    file: FileEntry,
    wanted: number,
    requesterHost: number,
    requesterUdpPort: number,
    requesterIpv6: boolean,
    nowMs: number,
    baseBytes: number,
  ): number {
    if (this.#picked.length < wanted) {
      this.#picked = new Int32Array(wanted);
      this.#otherFamily = new Int32Array(wanted);
    }
    const picked = this.#picked;
    const otherFamily = this.#otherFamily;
    const entries = this.#pool;
    const block0 = file.block0;
    const more = file.more;
    const family = this.#hostFamily;
    const random = this.#random;
    const length = file.count;
    // Indexes 0..length-1, shuffled lazily: in a dense scratch array, or as
    // a map of the few positions swapped for a very large swarm.
    const dense = length <= DENSE_PICK ? this.#dense : null;
    if (dense) { for (let k = 0; k < length; k++) dense[k] = k; }
    const swapped = dense ? null : new Map<number, number>();
    let budget = MAX_DATAGRAM_BYTES - baseBytes;
    const oldest = nowMs - this.#peerTtlMs;
    const oldestUnits = this.#units(oldest);
    let out = 0;
    let others = 0;
    for (let i = 0; i < length && out < wanted; i++) {
      const j = i + Math.floor(random() * (length - i));
      let index: number;
      if (dense) {
        index = dense[j]!;
        dense[j] = dense[i]!;
      } else {
        index = swapped!.get(j) ?? j;
        swapped!.set(j, swapped!.get(i) ?? i);
      }
      const block = index < BLOCK_ENTRIES
        ? block0
        : more![(index >>> BLOCK_SHIFT) - 1]!;
      const e = block * BLOCK_INTS +
        (index & (BLOCK_ENTRIES - 1)) * ENTRY_FIELDS;
      const hostId = entries[e + E_HOST]!;
      if (
        hostId === requesterHost &&
        entries[e + E_PORTS]! >>> 16 === requesterUdpPort
      ) {
        continue;
      }
      const seen = entries[e + E_SEEN]!;
      if (
        seen < oldestUnits ||
        (seen === oldestUnits && this.#seenMs(entries[e + E_HOLD]!) < oldest)
      ) {
        continue;
      }
      const ipv6 = family[hostId] === 6;
      if (ipv6 !== requesterIpv6) {
        if (others < wanted) otherFamily[others++] = e;
        continue;
      }
      const bytes = ipv6 ? 20 : 8;
      if (bytes > budget) continue;
      budget -= bytes;
      picked[out++] = e;
    }
    for (let k = 0; k < others && out < wanted; k++) {
      const e = otherFamily[k]!;
      const bytes = family[entries[e + E_HOST]!] === 6 ? 20 : 8;
      if (bytes > budget) continue;
      budget -= bytes;
      picked[out++] = e;
    }
    return out;
  }

  #idEquals(slot: number, bytes: Uint8Array, offset: number): boolean {
    if (offset < 0 || bytes.byteLength - offset < PEER_ID_BYTES) return false;
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

  #hashOf(slot: number): number {
    const at = slot * PEER_FIELDS;
    return this.#hash(
      (this.#peers[at + P_HOST]! | 0) - 1,
      this.#peers[at + P_PORT]! | 0,
    );
  }

  /** The slot of (host, port), or NONE. */
  #find(host: string, port: number): number {
    const hostId = this.#hostIds.get(host);
    if (hostId === undefined) return NONE;
    const table = this.#peerTable;
    const mask = table.length - 1;
    const peers = this.#peers;
    for (let i = this.#hash(hostId, port);; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) return NONE;
      const at = (entry - 1) * PEER_FIELDS;
      if (
        peers[at + P_HOST] === hostId + 1 &&
        (peers[at + P_PORT]! | 0) === port
      ) {
        return entry - 1;
      }
    }
  }

  #tableInsert(slot: number): void {
    const table = this.#peerTable;
    const mask = table.length - 1;
    let i = this.#hashOf(slot);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }

  /** Removes an entry by backward-shift deletion (no tombstones). */
  #tableDelete(
    table: Int32Array,
    entry: number,
    home: (entry: number) => number,
  ): void {
    const mask = table.length - 1;
    let i = home(entry);
    while (table[i] !== entry) i = (i + 1) & mask;
    table[i] = 0;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const start = home(table[j]!);
      // It stays when its home lies cyclically in (i, j].
      const stays = i <= j ? i < start && start <= j : i < start || start <= j;
      if (stays) continue;
      table[i] = table[j]!;
      table[j] = 0;
      i = j;
    }
  }

  readonly #peerHome = (entry: number) => this.#hashOf(entry - 1);
  readonly #fileHome = (entry: number) =>
    this.#fileHash(this.#fileIds, (entry - 1) * FILE_ID_BYTES);

  // ---- file id -> slot table ----

  #fileHash(bytes: Uint8Array, offset: number): number {
    let h = this.#seed;
    for (let i = 0; i < FILE_ID_BYTES; i += 4) {
      const word = (bytes[offset + i]! << 24) | (bytes[offset + i + 1]! << 16) |
        (bytes[offset + i + 2]! << 8) | bytes[offset + i + 3]!;
      h = Math.imul(h ^ word, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0x85ebca77);
    return (h ^ (h >>> 16)) & (this.#fileTable.length - 1);
  }

  #findFile(bytes: Uint8Array, offset: number): number {
    const table = this.#fileTable;
    const mask = table.length - 1;
    const ids = this.#fileIds;
    for (let i = this.#fileHash(bytes, offset);; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) return NONE;
      const base = (entry - 1) * FILE_ID_BYTES;
      let k = 0;
      while (k < FILE_ID_BYTES && ids[base + k] === bytes[offset + k]) k++;
      if (k === FILE_ID_BYTES) return entry - 1;
    }
  }

  // ---- peers ----

  /** The slot for (host, port), or NONE; an expired record is removed. */
  #live(host: string, port: number, nowMs: number): number {
    const slot = this.#find(host, port);
    if (
      slot !== NONE &&
      this.#peerSeen[slot]! < nowMs - this.#peerTtlMs
    ) {
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
    const holds = this.#holds;
    for (
      let h = this.#peerFirst[slot]! - 1;
      h !== NONE;
      h = holds[h * HOLD_FIELDS + H_NEXT]! - 1
    ) {
      if (holds[h * HOLD_FIELDS + H_FILE] === fileSlot) return h;
    }
    return NONE;
  }

  #canAddFiles(
    slot: number,
    host: string,
    files: readonly FileAnnouncement[],
  ): boolean {
    let newHoldings = 0;
    let newFiles = 0;
    const seen: number[] = [];
    const fresh: Uint8Array[] = [];
    for (const file of files) {
      if (file.id.byteLength !== FILE_ID_BYTES) return false;
      const fileSlot = this.#findFile(file.id, 0);
      if (fileSlot === NONE) {
        // A new file, unless listed twice in this call.
        if (fresh.some((id) => bytesEqual(id, file.id))) continue;
        fresh.push(file.id);
        newHoldings++;
        newFiles++;
        continue;
      }
      if (seen.includes(fileSlot)) continue;
      seen.push(fileSlot);
      if (slot !== NONE && this.#holdingOf(slot, fileSlot) !== NONE) continue;
      newHoldings++;
      if (
        this.#fileSlots[fileSlot]!.holderCount >=
          this.#limits.maxPeersPerFile
      ) {
        return false;
      }
    }
    const held = slot === NONE ? 0 : this.#peerHoldings[slot]!;
    const hostId = this.#hostIds.get(host);
    const hostHeld = hostId === undefined ? 0 : this.#hostHoldings[hostId]!;
    return held + newHoldings <= this.#limits.maxFilesPerPeer &&
      hostHeld + newHoldings <= this.#limits.maxHoldingsPerIp &&
      this.#holdings + newHoldings <= this.#limits.maxHoldings &&
      this.#fileCount + newFiles <= this.#limits.maxFiles;
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
        this.#hostHoldings = grow(this.#hostHoldings, capacity);
        this.#hostCapacity = capacity;
      }
      this.#hostNames.push(host);
    } else {
      this.#hostNames[hostId] = host;
    }
    this.#hostIds.set(host, hostId);
    this.#hostPeers[hostId] = 0;
    this.#hostHoldings[hostId] = 0;
    this.#hostFamily[hostId] = ip.byteLength === 4 ? 4 : 6;
    this.#hostAddr.fill(0, hostId * 16, hostId * 16 + 16);
    this.#hostAddr.set(ip, hostId * 16);
    return hostId;
  }

  /** Doubles the peer arrays: only when the cap is above MAX_PREALLOCATED. */
  #growPeers(): void {
    const capacity = this.#peerCapacity * 2;
    this.#peers = grow(this.#peers, capacity * PEER_FIELDS);
    this.#peerSeen = grow(this.#peerSeen, capacity);
    this.#peerIds = grow(this.#peerIds, capacity * PEER_ID_BYTES);
    this.#peerFirst = grow(this.#peerFirst, capacity);
    this.#peerHoldings = grow(this.#peerHoldings, capacity);
    this.#peerCapacity = capacity;
    this.#peerTable = new Int32Array(powerOfTwo(capacity * 2));
    for (let slot = 0; slot < this.#peerHigh; slot++) {
      if (this.#peers[slot * PEER_FIELDS + P_HOST] !== 0) {
        this.#tableInsert(slot);
      }
    }
  }

  #addPeer(host: string, port: number, peerId: Uint8Array): number {
    if (peerId.byteLength !== PEER_ID_BYTES) return NONE;
    const hostId = this.#internHost(host);
    if (hostId === NONE) return NONE;
    let slot = this.#freePeers.pop();
    if (slot === undefined) {
      if (this.#peerHigh === this.#peerCapacity) this.#growPeers();
      slot = this.#peerHigh++;
    }
    const at = slot * PEER_FIELDS;
    this.#peerSeen[slot] = 0;
    this.#peers[at + P_HOST] = hostId + 1;
    this.#peers[at + P_PORT] = port;
    this.#peers[at + P_UDP] = 0;
    this.#peerFirst[slot] = 0;
    this.#peerIds.set(peerId, slot * PEER_ID_BYTES);
    this.#peerHoldings[slot] = 0;
    this.#tableInsert(slot);
    this.#peerCount++;
    this.#hostPeers[hostId]!++;
    if (this.#hostFamily[hostId] === 6) this.#ipv6Peers++;
    return slot;
  }

  #touch(slot: number, udpPort: number, nowMs: number): void {
    const peers = this.#peers;
    const at = slot * PEER_FIELDS;
    let changed = false;
    if (nowMs > this.#peerSeen[slot]!) {
      this.#peerSeen[slot] = nowMs;
      changed = true;
    }
    if (udpPort !== 0 && udpPort !== peers[at + P_UDP]) {
      peers[at + P_UDP] = udpPort;
      changed = true;
    }
    if (!changed) return;
    this.#work += this.#peerHoldings[slot]!;
    // Copy into the peer's entries, where picking reads them.
    const seen = this.#units(this.#peerSeen[slot]!);
    const ports = this.#portsOf(slot);
    const holds = this.#holds;
    const pool = this.#pool;
    for (
      let h = this.#peerFirst[slot]! - 1;
      h !== NONE;
      h = holds[h * HOLD_FIELDS + H_NEXT]! - 1
    ) {
      const file = this.#fileSlots[holds[h * HOLD_FIELDS + H_FILE]!]!;
      const e = this.#entryAt(file, holds[h * HOLD_FIELDS + H_POS]!);
      pool[e + E_SEEN] = seen;
      pool[e + E_PORTS] = ports;
    }
  }

  /** A time in SEEN_UNIT_MS units since the epoch, an int32. */
  #units(ms: number): number {
    if (Number.isNaN(this.#epochUnits)) {
      this.#epochUnits = Math.floor(ms / SEEN_UNIT_MS);
    }
    const units = Math.floor(ms / SEEN_UNIT_MS) - this.#epochUnits;
    return Math.max(-0x7fff_ffff, Math.min(0x7fff_ffff, units));
  }

  /** The exact last-seen time of the peer of a holding field. */
  #seenMs(field: number): number {
    const slot = this.#holds[(field >>> 1) * HOLD_FIELDS + H_PEER]!;
    return this.#peerSeen[slot]!;
  }

  /** The pool offset of a file's entry k. */
  #entryAt(file: FileEntry, k: number): number {
    const block = k < BLOCK_ENTRIES
      ? file.block0
      : file.more![(k >>> BLOCK_SHIFT) - 1]!;
    return block * BLOCK_INTS + (k & (BLOCK_ENTRIES - 1)) * ENTRY_FIELDS;
  }

  /** TCP port | UDP port << 16, as an int32. */
  #portsOf(slot: number): number {
    const at = slot * PEER_FIELDS;
    return ((this.#peers[at + P_PORT]! | 0) |
      ((this.#peers[at + P_UDP]! | 0) << 16)) | 0;
  }

  #addFile(announced: FileAnnouncement): FileEntry {
    let fileSlot = this.#freeFiles.pop();
    if (fileSlot === undefined) {
      fileSlot = this.#fileSlots.length;
      if (fileSlot >= this.#fileCapacity) {
        this.#fileCapacity *= 2;
        this.#fileIds = grow(
          this.#fileIds,
          this.#fileCapacity * FILE_ID_BYTES,
        );
      }
      this.#fileSlots.push(undefined);
    }
    if ((this.#fileCount + 1) * 2 > this.#fileTable.length) {
      this.#fileTable = new Int32Array(this.#fileTable.length * 2);
      for (const file of this.#fileSlots) {
        if (file) this.#fileInsert(file.slot);
      }
    }
    this.#fileIds.set(announced.id, fileSlot * FILE_ID_BYTES);
    const claim = new Claim(announced, this.#claimSeq++);
    const file = new FileEntry(fileSlot, claim, this.#views);
    this.#fileSlots[fileSlot] = file;
    this.#fileInsert(fileSlot);
    this.#fileCount++;
    this.#nameAdd(claim.name, file);
    this.#sorted.add(file);
    this.#filesVersion++;
    return file;
  }

  #nameAdd(name: string, file: FileEntry): void {
    const named = this.#byName.get(name);
    if (named === undefined) this.#byName.set(name, file);
    else if (named instanceof Set) named.add(file);
    else if (named !== file) this.#byName.set(name, new Set([named, file]));
  }

  #nameDelete(name: string, file: FileEntry): void {
    const named = this.#byName.get(name);
    if (named === file) this.#byName.delete(name);
    else if (named instanceof Set) {
      named.delete(file);
      if (named.size === 1) {
        for (const only of named) this.#byName.set(name, only);
      }
    }
  }

  /**
   * Counts a new holder's claim on an existing file, before its entry is
   * added. While every holder agrees nothing is counted; the first
   * disagreement counts the votes of the holders so far (once per file).
   * Each source IP has one vote per file, its first peer's claim, so one
   * address cannot outvote others by opening many peers.
   */
  #vote(file: FileEntry, hostId: number, announced: FileAnnouncement): void {
    let votes = file.votes;
    if (votes === null) {
      if (file.leader.matches(announced)) return;
      votes = new Map();
      const first = file.claims[0]!;
      for (let k = 0; k < file.count; k++) {
        const host = this.#pool[this.#entryAt(file, k) + E_HOST]!;
        const vote = votes.get(host);
        if (vote) vote.peers++;
        else votes.set(host, { claim: first, peers: 1 });
      }
      this.#work += file.count;
      first.votes = votes.size;
      file.votes = votes;
    }
    const vote = votes.get(hostId);
    if (vote) {
      vote.peers++;
      return;
    }
    let claim = file.claims.find((c) => c.matches(announced));
    if (!claim) {
      claim = new Claim(announced, this.#claimSeq++);
      file.claims.push(claim);
      this.#nameAdd(claim.name, file);
    }
    this.#work += file.claims.length;
    claim.votes++;
    votes.set(hostId, { claim, peers: 1 });
    if (claim !== file.leader && claim.beats(file.leader)) {
      this.#setLeader(file, claim);
    }
  }

  /** Takes back the vote of a holder of a file that keeps other holders. */
  #unvote(file: FileEntry, hostId: number): void {
    const votes = file.votes;
    if (votes === null) return;
    const vote = votes.get(hostId);
    if (!vote || --vote.peers > 0) return;
    votes.delete(hostId);
    const claim = vote.claim;
    claim.votes--;
    if (claim.votes === 0 && file.claims.length > 1) {
      file.claims.splice(file.claims.indexOf(claim), 1);
      if (!file.otherClaimNamed(claim)) this.#nameDelete(claim.name, file);
    }
    if (claim !== file.leader) return;
    let best = file.claims[0]!;
    for (const other of file.claims) if (other.beats(best)) best = other;
    this.#work += file.claims.length;
    if (best !== claim) this.#setLeader(file, best);
  }

  /** Shows a file under another claim: moves it in the LIST order. */
  #setLeader(file: FileEntry, claim: Claim): void {
    this.#sorted.delete(file);
    file.leader = claim;
    file.sortName = claim.name;
    this.#sorted.add(file);
    this.#filesVersion++;
  }

  #newBlock(): number {
    const free = this.#freeBlocks.pop();
    if (free !== undefined) return free;
    if (this.#blockHigh === this.#blockCapacity) {
      this.#blockCapacity *= 2;
      this.#pool = grow(this.#pool, this.#blockCapacity * BLOCK_INTS);
    }
    return this.#blockHigh++;
  }

  #fileInsert(fileSlot: number): void {
    const table = this.#fileTable;
    const mask = table.length - 1;
    let i = this.#fileHash(this.#fileIds, fileSlot * FILE_ID_BYTES);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = fileSlot + 1;
  }

  #hold(slot: number, announced: FileAnnouncement): void {
    const fileSlot = this.#findFile(announced.id, 0);
    const complete = announced.complete ? 1 : 0;
    if (fileSlot !== NONE) {
      const existing = this.#holdingOf(slot, fileSlot);
      if (existing !== NONE) {
        const file = this.#fileSlots[fileSlot]!;
        const e = this.#entryAt(
          file,
          this.#holds[existing * HOLD_FIELDS + H_POS]!,
        );
        if ((this.#pool[e + E_HOLD]! & 1) !== complete) {
          file.seeders += complete ? 1 : -1;
          this.#seedHoldings += complete ? 1 : -1;
          this.#pool[e + E_HOLD] = existing * 2 + complete;
        }
        return;
      }
    }
    const record = slot * PEER_FIELDS;
    const hostId = (this.#peers[record + P_HOST]! | 0) - 1;
    let file: FileEntry;
    if (fileSlot === NONE) file = this.#addFile(announced);
    else {
      file = this.#fileSlots[fileSlot]!;
      this.#vote(file, hostId, announced);
    }
    this.#hostHoldings[hostId]!++;
    let holding = this.#freeHoldings.pop();
    if (holding === undefined) {
      if (this.#holdHigh === this.#holdCapacity) {
        this.#holdCapacity *= 2;
        this.#holds = grow(this.#holds, this.#holdCapacity * HOLD_FIELDS);
      }
      holding = this.#holdHigh++;
    }
    const at = holding * HOLD_FIELDS;
    const k = file.count++;
    if (k === 0) file.block0 = this.#newBlock();
    else if ((k & (BLOCK_ENTRIES - 1)) === 0) {
      (file.more ??= []).push(this.#newBlock());
    }
    this.#holds[at + H_PEER] = slot;
    this.#holds[at + H_FILE] = file.slot;
    this.#holds[at + H_POS] = k;
    this.#holds[at + H_NEXT] = this.#peerFirst[slot]!;
    this.#peerFirst[slot] = holding + 1;
    const e = this.#entryAt(file, k);
    const pool = this.#pool;
    pool[e + E_HOLD] = holding * 2 + complete;
    pool[e + E_HOST] = hostId;
    pool[e + E_PORTS] = this.#portsOf(slot);
    pool[e + E_SEEN] = this.#units(this.#peerSeen[slot]!);
    if (complete) {
      file.seeders++;
      this.#seedHoldings++;
    }
    const held = ++this.#peerHoldings[slot]!;
    this.#holdings++;
    let index = this.#peerIndex.get(slot);
    if (!index && held > INDEXED_HOLDINGS) {
      index = new Map();
      for (
        let h = this.#peerFirst[slot]! - 1;
        h !== NONE;
        h = this.#holds[h * HOLD_FIELDS + H_NEXT]! - 1
      ) {
        index.set(this.#holds[h * HOLD_FIELDS + H_FILE]!, h);
      }
      this.#peerIndex.set(slot, index);
    } else index?.set(file.slot, holding);
  }

  #removePeer(slot: number): void {
    const holds = this.#holds;
    const record = slot * PEER_FIELDS;
    const hostId = (this.#peers[record + P_HOST]! | 0) - 1;
    this.#work += this.#peerHoldings[slot]!;
    this.#hostHoldings[hostId]! -= this.#peerHoldings[slot]!;
    for (let h = this.#peerFirst[slot]! - 1; h !== NONE;) {
      const at = h * HOLD_FIELDS;
      const next = holds[at + H_NEXT]! - 1;
      const file = this.#fileSlots[holds[at + H_FILE]!]!;
      const pool = this.#pool;
      const k = holds[at + H_POS]!;
      const e = this.#entryAt(file, k);
      if ((pool[e + E_HOLD]! & 1) === 1) {
        file.seeders--;
        this.#seedHoldings--;
      }
      // Swap-remove: the last entry takes this one's place.
      const last = --file.count;
      if (k !== last) {
        const from = this.#entryAt(file, last);
        for (let f = 0; f < ENTRY_FIELDS; f++) pool[e + f] = pool[from + f]!;
        holds[(pool[e + E_HOLD]! >>> 1) * HOLD_FIELDS + H_POS] = k;
      }
      if (last === 0) {
        this.#freeBlocks.push(file.block0);
        file.block0 = NONE;
      } else if ((last & (BLOCK_ENTRIES - 1)) === 0) {
        this.#freeBlocks.push(file.more!.pop()!);
        if (file.more!.length === 0) file.more = null;
      }
      this.#holdings--;
      this.#freeHoldings.push(h);
      if (last === 0) this.#removeFile(file);
      else this.#unvote(file, hostId);
      h = next;
    }
    this.#peerIndex.delete(slot);
    this.#tableDelete(this.#peerTable, slot + 1, this.#peerHome);
    if (this.#hostFamily[hostId] === 6) this.#ipv6Peers--;
    if (--this.#hostPeers[hostId]! === 0) {
      this.#hostIds.delete(this.#hostNames[hostId]!);
      this.#hostNames[hostId] = "";
      this.#freeHosts.push(hostId);
    }
    this.#peers[record + P_HOST] = 0;
    this.#peerFirst[slot] = 0;
    this.#peerHoldings[slot] = 0;
    this.#peerCount--;
    this.#freePeers.push(slot);
  }

  #removeFile(file: FileEntry): void {
    // First, while its id is still there to compare by.
    this.#sorted.delete(file);
    this.#tableDelete(this.#fileTable, file.slot + 1, this.#fileHome);
    this.#fileSlots[file.slot] = undefined;
    this.#freeFiles.push(file.slot);
    this.#fileCount--;
    for (const claim of file.claims) this.#nameDelete(claim.name, file);
    this.#filesVersion++;
  }
}
