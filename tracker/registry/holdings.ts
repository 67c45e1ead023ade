/**
 * Holdings: one record per (peer, file) pair, chained per peer, with a Map
 * from file to holding for a peer with many files.
 *
 * @module
 */
import { grow, NONE } from "./tables.ts";

/** Fields of a holding: peer slot, file slot, entry index in the file's list, next holding of the peer + 1. */
const HOLD_FIELDS = 4;
const H_PEER = 0;
const H_FILE = 1;
const H_POS = 2;
const H_NEXT = 3;
/** Above this many files a peer gets a Map from file to holding. */
const INDEXED_HOLDINGS = 16;

/** (peer, file) pairs by holding id. */
export class Holdings {
  #holds: Int32Array;
  #capacity: number;
  #high = 0;
  readonly #free: number[] = [];
  /** Peers with many files: file slot -> holding id. */
  readonly #index = new Map<number, Map<number, number>>();
  /** Holdings in use. */
  count = 0;
  /** Holdings of complete files. */
  seeders = 0;

  /** @param capacity holdings allocated up front */
  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#holds = new Int32Array(capacity * HOLD_FIELDS);
  }

  /** The peer slot of holding `h`. */
  peerOf(h: number): number {
    return this.#holds[h * HOLD_FIELDS + H_PEER]!;
  }

  /** The file slot of holding `h`. */
  fileOf(h: number): number {
    return this.#holds[h * HOLD_FIELDS + H_FILE]!;
  }

  /** The index of holding `h` in its file's holder list. */
  posOf(h: number): number {
    return this.#holds[h * HOLD_FIELDS + H_POS]!;
  }

  /** Moves holding `h` to index `k` of its file's list. */
  setPos(h: number, k: number): void {
    this.#holds[h * HOLD_FIELDS + H_POS] = k;
  }

  /** The next holding of the same peer, or NONE. */
  nextOf(h: number): number {
    return this.#holds[h * HOLD_FIELDS + H_NEXT]! - 1;
  }

  /**
   * Adds a holding at the head of its peer's chain.
   *
   * @param first the peer's first holding + 1 (0 for none)
   * @returns the holding id
   */
  add(peer: number, file: number, pos: number, first: number): number {
    let h = this.#free.pop();
    if (h === undefined) {
      if (this.#high === this.#capacity) {
        this.#capacity *= 2;
        this.#holds = grow(this.#holds, this.#capacity * HOLD_FIELDS);
      }
      h = this.#high++;
    }
    const at = h * HOLD_FIELDS;
    this.#holds[at + H_PEER] = peer;
    this.#holds[at + H_FILE] = file;
    this.#holds[at + H_POS] = pos;
    this.#holds[at + H_NEXT] = first;
    this.count++;
    return h;
  }

  /**
   * Takes holding `h` out of its peer's chain and file index, for a peer
   * that gives up one file and keeps the others; free it with
   * {@linkcode Holdings.release} after. Walks the chain up to `h`.
   *
   * @param first the peer's first holding + 1
   * @returns the peer's first holding + 1 after the change
   */
  unlink(peer: number, first: number, h: number): number {
    this.#index.get(peer)?.delete(this.fileOf(h));
    const after = this.#holds[h * HOLD_FIELDS + H_NEXT]!;
    if (first - 1 === h) return after;
    for (let g = first - 1; g !== NONE; g = this.nextOf(g)) {
      if (this.nextOf(g) === h) {
        this.#holds[g * HOLD_FIELDS + H_NEXT] = after;
        break;
      }
    }
    return first;
  }

  /** Frees a holding (its peer's chain is dropped whole, or it was unlinked). */
  release(h: number): void {
    this.count--;
    this.#free.push(h);
  }

  /**
   * The holding of a peer for a file, or NONE.
   *
   * @param first the peer's first holding + 1
   */
  find(peer: number, first: number, file: number): number {
    const index = this.#index.get(peer);
    if (index) return index.get(file) ?? NONE;
    for (let h = first - 1; h !== NONE; h = this.nextOf(h)) {
      if (this.fileOf(h) === file) return h;
    }
    return NONE;
  }

  /**
   * Records a new holding `h` of a peer that now holds `held` files: past
   * INDEXED_HOLDINGS its files get a Map.
   */
  indexAdded(peer: number, h: number, held: number): void {
    let index = this.#index.get(peer);
    if (!index && held > INDEXED_HOLDINGS) {
      index = new Map();
      for (let g = h; g !== NONE; g = this.nextOf(g)) {
        index.set(this.fileOf(g), g);
      }
      this.#index.set(peer, index);
    } else index?.set(this.fileOf(h), h);
  }

  /** Forgets the index of a peer that left. */
  dropIndex(peer: number): void {
    this.#index.delete(peer);
  }
}
