/**
 * Which chunk to ask a peer for next. Pure policy: no sockets, no clock.
 *
 * Lowest missing index first, so the whole-file hash can follow the
 * contiguous prefix while the download runs; chunks already requested are
 * skipped, and once nothing unrequested is left the endgame duplicates the
 * requests still out so a slow peer cannot hold the last chunks hostage.
 *
 * @module
 */
import type { Bitfield } from "@shoal/protocol";

/** Most peers one chunk is requested from at once in the endgame. */
export const ENDGAME_MAX_REQUESTERS = 2;

/**
 * Tracks what we have and what is requested, and picks chunks for peers.
 *
 * @example
 * ```ts
 * import { Bitfield } from "@shoal/protocol";
 * import { PiecePicker } from "./piece_picker.ts";
 * const picker = new PiecePicker(new Bitfield(4));
 * picker.next(Bitfield.full(4), 1); // 0
 * ```
 */
export class PiecePicker {
  readonly #have: Bitfield;
  /** chunk index -> ids of the peers it is requested from */
  readonly #requests = new Map<number, Set<number>>();
  /** Every index below this is either held or requested. */
  #cursor = 0;

  /** @param have the chunks already held (shared, updated through {@linkcode markHave}) */
  constructor(have: Bitfield) {
    this.#have = have;
  }

  /** Chunks held. */
  get have(): Bitfield {
    return this.#have;
  }

  /** True once every chunk is held. */
  get complete(): boolean {
    return this.#have.complete;
  }

  /** Peers a chunk is requested from. */
  requesters(index: number): ReadonlySet<number> {
    return this.#requests.get(index) ?? new Set();
  }

  /**
   * Picks a chunk `peer` holds that we lack and nobody is fetching, lowest
   * index first; in the endgame, one still being fetched from someone else.
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
    for (let i = this.#cursor; i < size; i++) {
      if (!this.#have.has(i) && !this.#requests.has(i) && peerHas.has(i)) {
        return i;
      }
    }
    // Endgame: every missing chunk is requested; double up on the oldest ones.
    for (const [index, peers] of this.#requests) {
      if (
        peers.size < ENDGAME_MAX_REQUESTERS && !peers.has(peer) &&
        peerHas.has(index)
      ) return index;
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

  /** Marks a chunk missing again (it failed a re-check). */
  markMissing(index: number): void {
    this.#have.clear(index);
    if (index < this.#cursor) this.#cursor = index;
  }
}
