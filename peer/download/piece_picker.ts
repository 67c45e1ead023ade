/**
 * Which chunk to ask a peer for next. Pure policy: no sockets, no clock;
 * randomness is injected.
 *
 * - Rarest first among the peers we are connected to, random among equals,
 *   so chunks that few peers hold spread before those peers leave.
 * - Chunks that every connected peer holds carry no rarity information:
 *   among those the lowest index wins, so a download from seeders runs in
 *   order and the whole-file hash can follow the contiguous prefix.
 * - The first few chunks are random, so a new peer soon has something to trade.
 * - Endgame: once every missing chunk is requested, the idle peers double up
 *   on requests still out (the first answer wins, the rest are cancelled), so
 *   a slow peer cannot hold the last chunks hostage; one chunk at a time per
 *   peer, as a cancel often comes too late to stop the send.
 *
 * @module
 */
import type { Bitfield } from "@shoal/protocol";

/** Most peers one chunk is requested from at once in the endgame. */
export const ENDGAME_MAX_REQUESTERS = 2;
/**
 * Most chunks a peer is asked for in the endgame while someone else is asked
 * for them too. More would fill an idle peer's whole pipeline with other
 * peers' chunks: a small file from two seeders, whose second connection came
 * up once the first had every chunk asked of it, crossed the wire twice.
 */
export const ENDGAME_DOUBLED_PER_PEER = 1;
/** Chunks picked at random before rarest-first takes over. */
export const RANDOM_FIRST_CHUNKS = 4;
/** Most candidate chunks examined per pick (bounds the cost on huge files). */
export const SCAN_WINDOW = 8_192;

/** Options for {@linkcode PiecePicker}. */
export interface PiecePickerOptions {
  /** Random number in [0, 1). @default {Math.random} */
  random?: () => number;
  /**
   * Whether two requesters are connections to the same peer (a peer may
   * have two, one per fetch worker). The endgame never doubles a chunk onto
   * the same peer: its one upload would send it twice for nothing.
   * @default {no two are}
   */
  samePeer?: (a: number, b: number) => boolean;
}

/**
 * Tracks what we have, what our peers have and what is requested, and picks
 * chunks for peers.
 *
 * @example
 * ```ts
 * import { Bitfield } from "@shoal/protocol";
 * import { PiecePicker } from "./piece_picker.ts";
 * const picker = new PiecePicker(new Bitfield(4));
 * picker.addPeer(Bitfield.full(4));
 * picker.next(Bitfield.full(4), 1); // a chunk index
 * ```
 */
export class PiecePicker {
  readonly #have: Bitfield;
  readonly #random: () => number;
  readonly #samePeer: (a: number, b: number) => boolean;
  /** How many connected peers hold each chunk. */
  readonly #availability: Uint16Array;
  #peers = 0;
  /**
   * Chunks fewer peers hold than are connected. While there are none, every
   * chunk is as rare as any other, so the first wanted one is the pick and
   * the scan stops there (a folder of 10,000 one-piece files scanned 8,192
   * chunks per pick).
   */
  #belowAll = 0;
  /** chunk index -> ids of the peers it is requested from */
  readonly #requests = new Map<number, Set<number>>();
  /** Every index below this is either held or requested. */
  #cursor = 0;

  /**
   * @param have the chunks already held (shared, updated through {@linkcode markHave})
   * @param options randomness
   */
  constructor(have: Bitfield, options: PiecePickerOptions = {}) {
    this.#samePeer = options.samePeer ?? (() => false);
    this.#have = have;
    this.#random = options.random ?? Math.random;
    this.#availability = new Uint16Array(have.size);
  }

  /** Chunks held. */
  get have(): Bitfield {
    return this.#have;
  }

  /** True once every chunk is held. */
  get complete(): boolean {
    return this.#have.complete;
  }

  /** How many connected peers hold chunk `index`. */
  availability(index: number): number {
    return this.#availability[index] ?? 0;
  }

  /** Peers a chunk is requested from. */
  requesters(index: number): ReadonlySet<number> {
    return this.#requests.get(index) ?? new Set();
  }

  /** Counts a newly connected peer's chunks. */
  addPeer(peerHas: Bitfield): void {
    this.#peers++;
    for (let i = 0; i < peerHas.size; i++) {
      if (peerHas.has(i)) this.#availability[i]!++;
    }
    this.#countBelowAll();
  }

  /** Counts one more chunk a connected peer announced (HAVE). */
  peerGained(index: number): void {
    if (index >= this.#availability.length) return;
    if (this.#availability[index] === this.#peers - 1) this.#belowAll--;
    this.#availability[index]!++;
  }

  /** Forgets a peer that disconnected (or a chunk it no longer offers). */
  removePeer(peerHas: Bitfield): void {
    this.#peers = Math.max(0, this.#peers - 1);
    for (let i = 0; i < peerHas.size; i++) {
      if (peerHas.has(i) && this.#availability[i]! > 0) {
        this.#availability[i]!--;
      }
    }
    this.#countBelowAll();
  }

  /** Forgets one chunk a peer no longer offers. */
  peerLost(index: number): void {
    if (!(this.#availability[index]! > 0)) return;
    if (this.#availability[index] === this.#peers) this.#belowAll++;
    this.#availability[index]!--;
  }

  #countBelowAll(): void {
    let below = 0;
    for (const count of this.#availability) if (count < this.#peers) below++;
    this.#belowAll = below;
  }

  #wanted(index: number, peerHas: Bitfield): boolean {
    return !this.#have.has(index) && !this.#requests.has(index) &&
      peerHas.has(index);
  }

  /**
   * Picks a chunk `peer` holds that we lack and nobody is fetching, or in
   * the endgame one still being fetched from someone else.
   *
   * @param peerHas the chunks the peer holds
   * @param peer the peer's id
   * @returns a chunk index, or null when this peer has nothing useful
   */
  next(peerHas: Bitfield, peer: number): number | null {
    const size = this.#have.size;
    while (
      this.#cursor < size &&
      (this.#have.has(this.#cursor) || this.#requests.has(this.#cursor))
    ) {
      this.#cursor++;
    }
    const end = Math.min(size, this.#cursor + SCAN_WINDOW);
    if (this.#have.count + this.#requests.size < RANDOM_FIRST_CHUNKS) {
      const choice = this.#randomCandidate(peerHas, end);
      if (choice !== null) return choice;
    }
    let best = -1;
    let bestRarity = Infinity;
    let ties = 0;
    for (let i = this.#cursor; i < end; i++) {
      if (!this.#wanted(i, peerHas)) continue;
      if (this.#belowAll === 0) return i;
      const count = this.#availability[i]!;
      // Held by every peer: no rarity to act on, keep file order.
      const rarity = count >= this.#peers ? Number.MAX_SAFE_INTEGER : count;
      if (rarity < bestRarity) {
        best = i;
        bestRarity = rarity;
        ties = 1;
      } else if (rarity === bestRarity && rarity !== Number.MAX_SAFE_INTEGER) {
        // Reservoir sampling: each of the equally rare chunks is equally likely.
        ties++;
        if (this.#random() * ties < 1) best = i;
      }
      if (bestRarity <= 1 && ties > 16) break;
    }
    if (best >= 0) return best;
    // Endgame only once every missing chunk is requested from someone: before
    // that, a peer with nothing new for us waits (doubling up earlier would
    // fetch chunks twice all through a swarm).
    if (this.#requests.size < this.#have.size - this.#have.count) return null;
    if (this.#doubledBy(peer) >= ENDGAME_DOUBLED_PER_PEER) return null;
    for (const [index, peers] of this.#requests) {
      if (
        peers.size < ENDGAME_MAX_REQUESTERS && !peers.has(peer) &&
        peerHas.has(index) && !this.#fromSamePeer(peers, peer)
      ) return index;
    }
    return null;
  }

  /** Chunks asked of `peer` that are asked of another peer too. */
  #doubledBy(peer: number): number {
    let doubled = 0;
    for (const peers of this.#requests.values()) {
      if (peers.size > 1 && peers.has(peer)) doubled++;
    }
    return doubled;
  }

  #fromSamePeer(requesters: Set<number>, peer: number): boolean {
    for (const other of requesters) {
      if (this.#samePeer(other, peer)) return true;
    }
    return false;
  }

  #randomCandidate(peerHas: Bitfield, end: number): number | null {
    const span = end - this.#cursor;
    if (span <= 0) return null;
    const start = this.#cursor + Math.floor(this.#random() * span);
    for (let k = 0; k < span; k++) {
      const i = this.#cursor + ((start - this.#cursor + k) % span);
      if (this.#wanted(i, peerHas)) return i;
    }
    return null;
  }

  /** Records that `index` was requested from `peer`. */
  requested(index: number, peer: number): void {
    let peers = this.#requests.get(index);
    if (!peers) {
      peers = new Set();
      this.#requests.set(index, peers);
    }
    peers.add(peer);
  }

  /** Forgets a request (answered elsewhere, refused, timed out or peer gone). */
  release(index: number, peer: number): void {
    const peers = this.#requests.get(index);
    if (!peers) return;
    peers.delete(peer);
    if (peers.size === 0) {
      this.#requests.delete(index);
      if (index < this.#cursor) this.#cursor = index;
    }
  }

  /**
   * Records a checked chunk; returns the other peers it was also requested
   * from (their requests can be cancelled).
   */
  markHave(index: number): number[] {
    this.#have.set(index);
    const others = [...(this.#requests.get(index) ?? [])];
    this.#requests.delete(index);
    return others;
  }
}
