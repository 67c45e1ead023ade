/**
 * Picking peers for a PEER_LIST: live holders of a file in random order,
 * leaving out the requester, the requester's address family first, as
 * many as fit one datagram. The pick lands in a buffer reused by every
 * call, ready for protocol's `writePeerList`.
 *
 * @module
 */
import {
  MAX_DATAGRAM_BYTES,
  MAX_PEERS_PER_LIST,
  PeerListPeers,
} from "@shoal/protocol";
import {
  BLOCK_ENTRIES,
  BLOCK_INTS,
  BLOCK_SHIFT,
  E_HOLD,
  E_HOST,
  E_PORTS,
  E_SEEN,
  ENTRY_FIELDS,
  type HolderEntries,
  type HolderList,
} from "./holders.ts";
import type { HostTable } from "./host_intern.ts";

/** Files with at most this many holders are shuffled in a dense scratch array. */
const DENSE_PICK = 4096;

/** Picked peers, with the host id of each (for their address text). */
export class PickedPeers extends PeerListPeers {
  /** Host id of peer `i`. */
  readonly hosts: Int32Array;

  /** @param capacity most peers */
  constructor(capacity: number) {
    super(capacity);
    this.hosts = new Int32Array(capacity);
  }
}

/**
 * How a reply lays peers out: the bytes an IPv4 and an IPv6 peer take, and
 * whether peers of the other family may follow those of the requester's.
 */
export interface PeerFormat {
  /** Bytes of an IPv4 peer. */
  readonly v4Bytes: number;
  /** Bytes of an IPv6 peer. */
  readonly v6Bytes: number;
  /** True when the reply may carry both families. */
  readonly mixed: boolean;
}

/** Shoal's PEER_LIST: 8 or 20 bytes a peer, both families. */
export const SHOAL_PEERS: PeerFormat = { v4Bytes: 8, v6Bytes: 20, mixed: true };
/** A BEP 15 announce reply: 6 or 18 bytes a peer, the transport's family only. */
export const BEP15_PEERS: PeerFormat = {
  v4Bytes: 6,
  v6Bytes: 18,
  mixed: false,
};

/** What a pick needs to know about the requester. */
export interface Requester {
  /** Its host id, or NONE when it holds nothing (or its UDP port is unknown). */
  hostId: number;
  /** Its UDP port, 0 for unknown. */
  udpPort: number;
  /** True when it reached the tracker over IPv6. */
  ipv6: boolean;
}

/** Picks holders of a file; owns its scratch arrays. */
export class PeerPicker {
  readonly #entries: HolderEntries;
  readonly #hosts: HostTable;
  readonly #random: () => number;
  readonly #seenMs: (holdField: number) => number;
  readonly #isBitTorrent: (holdField: number) => boolean;
  /** The last pick: what {@linkcode PeerPicker.pick} returns. */
  readonly #picked = new PickedPeers(MAX_PEERS_PER_LIST);
  /** Entry offsets chosen. */
  readonly #chosen = new Int32Array(MAX_PEERS_PER_LIST);
  readonly #otherFamily = new Int32Array(MAX_PEERS_PER_LIST);
  readonly #dense = new Int32Array(DENSE_PICK);

  /**
   * @param entries the holder entries
   * @param hosts the host table, for families and addresses
   * @param random numbers in [0, 1)
   * @param seenMs the exact last-seen time of the peer of a holding field
   * @param isBitTorrent whether the peer of a holding field is a BitTorrent client
   */
  constructor(
    entries: HolderEntries,
    hosts: HostTable,
    random: () => number,
    seenMs: (holdField: number) => number,
    isBitTorrent: (holdField: number) => boolean = () => false,
  ) {
    this.#entries = entries;
    this.#hosts = hosts;
    this.#random = random;
    this.#seenMs = seenMs;
    this.#isBitTorrent = isBitTorrent;
  }

  /**
   * Picks up to `wanted` holders in random order (a partial Fisher-Yates
   * shuffle of their indexes; the list itself stays as it is), skipping
   * the requester and peers last seen before `oldestMs`, the requester's
   * family first (only, unless `format.mixed`), within one datagram whose
   * fixed part is `baseBytes`.
   *
   * @returns the pick, in a buffer the next call overwrites
   */
  pick(
    file: HolderList,
    wanted: number,
    requester: Requester,
    oldestMs: number,
    baseBytes: number,
    format: PeerFormat = SHOAL_PEERS,
  ): PickedPeers {
    const count = this.#choose(
      file,
      Math.min(wanted, MAX_PEERS_PER_LIST),
      requester,
      oldestMs,
      baseBytes,
      format,
    );
    const picked = this.#picked;
    const chosen = this.#chosen;
    const pool = this.#entries.pool;
    const family = this.#hosts.family;
    const addr = this.#hosts.addr;
    for (let i = 0; i < count; i++) {
      const e = chosen[i]!;
      const hostId = pool[e + E_HOST]!;
      const from = hostId * 16;
      const to = i * 16;
      picked.hosts[i] = hostId;
      picked.complete[i] = pool[e + E_HOLD]! & 1;
      picked.bittorrent[i] = this.#isBitTorrent(pool[e + E_HOLD]!) ? 1 : 0;
      picked.ports[i] = pool[e + E_PORTS]! & 0xffff;
      if (family[hostId] === 4) {
        picked.family[i] = 4;
        picked.addresses[to] = addr[from]!;
        picked.addresses[to + 1] = addr[from + 1]!;
        picked.addresses[to + 2] = addr[from + 2]!;
        picked.addresses[to + 3] = addr[from + 3]!;
      } else {
        picked.family[i] = 6;
        for (let k = 0; k < 16; k++) picked.addresses[to + k] = addr[from + k]!;
      }
    }
    picked.count = count;
    return picked;
  }

  /** Fills #chosen with entry offsets; returns how many. */
  #choose(
    file: HolderList,
    wanted: number,
    requester: Requester,
    oldestMs: number,
    baseBytes: number,
    format: PeerFormat,
  ): number {
    const chosen = this.#chosen;
    const v4Bytes = format.v4Bytes;
    const v6Bytes = format.v6Bytes;
    const mixed = format.mixed;
    const otherFamily = this.#otherFamily;
    const entries = this.#entries.pool;
    const block0 = file.block0;
    const more = file.more;
    const family = this.#hosts.family;
    const random = this.#random;
    const length = file.count;
    const requesterHost = requester.hostId;
    const requesterUdpPort = requester.udpPort;
    const requesterIpv6 = requester.ipv6;
    // Indexes 0..length-1, shuffled lazily: in a dense scratch array, or as
    // a map of the few positions swapped for a very large swarm.
    const dense = length <= DENSE_PICK ? this.#dense : null;
    if (dense) { for (let k = 0; k < length; k++) dense[k] = k; }
    const swapped = dense ? null : new Map<number, number>();
    let budget = MAX_DATAGRAM_BYTES - baseBytes;
    const oldestUnits = this.#entries.units(oldestMs);
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
        (seen === oldestUnits && this.#seenMs(entries[e + E_HOLD]!) < oldestMs)
      ) {
        continue;
      }
      const ipv6 = family[hostId] === 6;
      if (ipv6 !== requesterIpv6) {
        if (mixed && others < wanted) otherFamily[others++] = e;
        continue;
      }
      const bytes = ipv6 ? v6Bytes : v4Bytes;
      if (bytes > budget) continue;
      budget -= bytes;
      chosen[out++] = e;
    }
    for (let k = 0; k < others && out < wanted; k++) {
      const e = otherFamily[k]!;
      const bytes = family[entries[e + E_HOST]!] === 6 ? v6Bytes : v4Bytes;
      if (bytes > budget) continue;
      budget -= bytes;
      chosen[out++] = e;
    }
    return out;
  }
}
