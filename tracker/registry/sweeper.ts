/**
 * Expiry: a cursor over the peer slots that removes peers silent longer
 * than the TTL, a few slots per call, so one pass over a large registry is
 * spread over many calls instead of one pause.
 *
 * @module
 */
import type { PeerTable } from "./peer_table.ts";

/** Walks the peer slots, wrapping around, removing expired peers. */
export class Sweeper {
  readonly #peers: PeerTable;
  readonly #remove: (slot: number) => void;
  #cursor = 0;

  /**
   * @param peers the peer table
   * @param remove removes the peer in a slot, with its holdings
   */
  constructor(peers: PeerTable, remove: (slot: number) => void) {
    this.#peers = peers;
    this.#remove = remove;
  }

  /** Starts the next pass at slot 0. */
  restart(): void {
    this.#cursor = 0;
  }

  /**
   * Looks at the next `maxSlots` slots (at most every slot once).
   *
   * @param oldestMs peers last seen before this are removed
   * @param maxSlots how many slots to look at
   * @returns how many peers were removed
   */
  sweep(oldestMs: number, maxSlots: number): number {
    const peers = this.#peers;
    const high = peers.high;
    const count = Math.min(maxSlots, high);
    let removed = 0;
    let cursor = this.#cursor;
    for (let i = 0; i < count; i++) {
      if (cursor >= high) cursor = 0;
      if (peers.used(cursor) && peers.seen[cursor]! < oldestMs) {
        this.#remove(cursor);
        removed++;
      }
      cursor++;
    }
    this.#cursor = cursor;
    return removed;
  }
}
