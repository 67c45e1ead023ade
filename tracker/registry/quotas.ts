/**
 * The registry's caps, and the share of each table one source address may
 * fill, so that filling any table takes many addresses.
 *
 * @module
 */
import { type FileTable, sameSwarm, SWARM_KEY_BYTES } from "./file_table.ts";
import type { Holdings } from "./holdings.ts";
import type { HostTable } from "./host_intern.ts";
import type { PeerTable } from "./peer_table.ts";
import { NONE } from "./tables.ts";

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

/** The tables a {@linkcode Quotas} reads. */
export interface QuotaTables {
  /** Peers. */
  peers: PeerTable;
  /** Source IPs, with their counts. */
  hosts: HostTable;
  /** Files. */
  files: FileTable;
  /** (peer, file) pairs. */
  holdings: Holdings;
}

/** Checks a change against the caps before anything changes. */
export class Quotas {
  readonly #limits: RegistryLimits;
  readonly #tables: QuotaTables;

  /**
   * @param limits the caps
   * @param tables the tables to count in
   */
  constructor(limits: RegistryLimits, tables: QuotaTables) {
    this.#limits = limits;
    this.#tables = tables;
  }

  /** True when a new peer of `host` fits. */
  canAddPeer(host: string): boolean {
    const { peers, hosts } = this.#tables;
    if (peers.count >= this.#limits.maxPeers) return false;
    const hostId = hosts.idOf(host);
    return hostId === NONE || hosts.peers[hostId]! < this.#limits.maxPeersPerIp;
  }

  /**
   * True when the peer in `slot` (NONE: a new one) of `host` may hold
   * `files` too: every cap on files, holdings and shares still holds.
   * Files are told apart by their swarm key (an id's first 20 bytes).
   */
  canAddFiles(
    slot: number,
    host: string,
    files: readonly { readonly id: Uint8Array }[],
  ): boolean {
    const { peers, hosts, holdings } = this.#tables;
    const table = this.#tables.files;
    const limits = this.#limits;
    let newHoldings = 0;
    let newFiles = 0;
    const seen: number[] = [];
    const fresh: Uint8Array[] = [];
    for (const file of files) {
      if (file.id.byteLength < SWARM_KEY_BYTES) return false;
      const fileSlot = table.find(file.id, 0);
      if (fileSlot === NONE) {
        // A new file, unless listed twice in this call.
        if (fresh.some((id) => sameSwarm(id, file.id))) continue;
        fresh.push(file.id);
        newHoldings++;
        newFiles++;
        continue;
      }
      if (seen.includes(fileSlot)) continue;
      seen.push(fileSlot);
      if (
        slot !== NONE &&
        holdings.find(slot, peers.first[slot]!, fileSlot) !== NONE
      ) {
        continue;
      }
      newHoldings++;
      if (table.entries[fileSlot]!.holderCount >= limits.maxPeersPerFile) {
        return false;
      }
    }
    const held = slot === NONE ? 0 : peers.holdings[slot]!;
    const hostId = hosts.idOf(host);
    const hostHeld = hostId === NONE ? 0 : hosts.holdings[hostId]!;
    return held + newHoldings <= limits.maxFilesPerPeer &&
      hostHeld + newHoldings <= limits.maxHoldingsPerIp &&
      holdings.count + newHoldings <= limits.maxHoldings &&
      table.count + newFiles <= limits.maxFiles;
  }
}
