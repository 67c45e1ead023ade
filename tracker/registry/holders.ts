/**
 * The holders of each file, as entries in one pool of fixed-size blocks.
 * An entry keeps what a PEER_LIST needs (holding and completeness, host,
 * ports, last seen) together, so picking peers reads one run of memory
 * per file, not a peer record per holder.
 *
 * @module
 */
import { grow, NONE } from "./tables.ts";

/**
 * Fields of a holder entry: holding id * 2 + complete, host id, TCP port |
 * UDP port << 16, and the peer's last-seen time in units of
 * {@linkcode SEEN_UNIT_MS} since the pool's epoch (the exact time is in the
 * peer table, read only near the expiry edge).
 */
export const ENTRY_FIELDS = 4;
/** Holding id * 2 + 1 when complete. */
export const E_HOLD = 0;
/** Host id. */
export const E_HOST = 1;
/** TCP port | UDP port << 16. */
export const E_PORTS = 2;
/** Last seen, in SEEN_UNIT_MS units. */
export const E_SEEN = 3;
/** Entries per block: 2 ** BLOCK_SHIFT. */
export const BLOCK_SHIFT = 4;
/** Entries per block. */
export const BLOCK_ENTRIES = 1 << BLOCK_SHIFT;
/** Int32s per block. */
export const BLOCK_INTS = BLOCK_ENTRIES * ENTRY_FIELDS;
/** The unit of an entry's last-seen time. */
export const SEEN_UNIT_MS = 1024;

/** Where a file's entries are: its first block, the others, and how many. */
export interface HolderList {
  /** The pool block of entries 0..BLOCK_ENTRIES-1, NONE before the first. */
  block0: number;
  /** Blocks of the entries after those, for a file with many holders. */
  more: number[] | null;
  /** Entries in use (swap-removed, so always 0..count-1). */
  count: number;
}

/** The pool of holder entries. */
export class HolderEntries {
  /** Every entry, ENTRY_FIELDS int32s each. */
  pool: Int32Array;
  #capacity: number;
  #high = 0;
  readonly #free: number[] = [];
  /** Last-seen units are counted from here (set at the first use). */
  #epochUnits = NaN;

  /** @param blocks blocks allocated up front */
  constructor(blocks: number) {
    this.#capacity = blocks;
    this.pool = new Int32Array(blocks * BLOCK_INTS);
  }

  /** The pool offset of entry `k` of a list. */
  entryAt(list: HolderList, k: number): number {
    const block = k < BLOCK_ENTRIES
      ? list.block0
      : list.more![(k >>> BLOCK_SHIFT) - 1]!;
    return block * BLOCK_INTS + (k & (BLOCK_ENTRIES - 1)) * ENTRY_FIELDS;
  }

  /** Adds an entry at the end of a list; returns its index. */
  append(list: HolderList): number {
    const k = list.count++;
    if (k === 0) list.block0 = this.#newBlock();
    else if ((k & (BLOCK_ENTRIES - 1)) === 0) {
      (list.more ??= []).push(this.#newBlock());
    }
    return k;
  }

  /**
   * Removes entry `k`: the last entry takes its place.
   *
   * @returns the holding id of the entry moved to `k`, or NONE
   */
  removeAt(list: HolderList, k: number): number {
    const pool = this.pool;
    const last = --list.count;
    let moved = NONE;
    if (k !== last) {
      const e = this.entryAt(list, k);
      const from = this.entryAt(list, last);
      for (let f = 0; f < ENTRY_FIELDS; f++) pool[e + f] = pool[from + f]!;
      moved = pool[e + E_HOLD]! >>> 1;
    }
    if (last === 0) {
      this.#free.push(list.block0);
      list.block0 = NONE;
    } else if ((last & (BLOCK_ENTRIES - 1)) === 0) {
      this.#free.push(list.more!.pop()!);
      if (list.more!.length === 0) list.more = null;
    }
    return moved;
  }

  /** A time in SEEN_UNIT_MS units since the epoch, an int32. */
  units(ms: number): number {
    if (Number.isNaN(this.#epochUnits)) {
      this.#epochUnits = Math.floor(ms / SEEN_UNIT_MS);
    }
    const units = Math.floor(ms / SEEN_UNIT_MS) - this.#epochUnits;
    return Math.max(-0x7fff_ffff, Math.min(0x7fff_ffff, units));
  }

  #newBlock(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#high === this.#capacity) {
      this.#capacity *= 2;
      this.pool = grow(this.pool, this.#capacity * BLOCK_INTS);
    }
    return this.#high++;
  }
}
