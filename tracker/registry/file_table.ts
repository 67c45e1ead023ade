/**
 * The file table: files by slot, their 32-byte ids in one slab, and an
 * open-addressing index from the hash of an id's first 20 bytes (the
 * swarm key: what BitTorrent clients announce of a v2 infohash) to slot,
 * doubled at half full. One file per swarm key: a Shoal id and the
 * BitTorrent infohash cut from it find the same file.
 *
 * @module
 */
import { BEP15_INFOHASH_BYTES, FILE_ID_BYTES } from "@shoal/protocol";
import type { FileEntry } from "./claims.ts";
import { grow, NONE, tableDelete, type WorkMeter } from "./tables.ts";

/** The index starts this size and doubles at half full. */
const INITIAL_INDEX = 1024;

/** Bytes of an id that key its swarm: a BitTorrent infohash. */
export const SWARM_KEY_BYTES = BEP15_INFOHASH_BYTES;
/** Hex digits of a swarm key. */
const SWARM_KEY_DIGITS = SWARM_KEY_BYTES * 2;

/** True when two ids (of 20 bytes or more) have the same swarm key. */
export function sameSwarm(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < SWARM_KEY_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Files by slot and by id. */
export class FileTable {
  readonly #seed: number;
  readonly #free: number[] = [];
  #capacity: number;
  /**
   * File ids by slot, FILE_ID_BYTES each: the swarm key, then the rest of
   * the id its shown claim names (zeros while only BitTorrent clients hold it).
   */
  #ids: Uint8Array;
  /** Open addressing hash(swarm key) -> slot + 1, 0 empty; at least 2 x count. */
  #index = new Int32Array(INITIAL_INDEX);
  /** Files by slot (undefined: free). */
  readonly entries: (FileEntry | undefined)[] = [];
  /** Files in the table. */
  count = 0;

  /**
   * @param capacity id slots allocated up front
   * @param seed hash seed
   */
  constructor(capacity: number, seed: number) {
    this.#seed = seed;
    this.#capacity = capacity;
    this.#ids = new Uint8Array(capacity * FILE_ID_BYTES);
  }

  /**
   * The slot of the file whose swarm key is the 20 bytes at `offset` in
   * `bytes` (a 32-byte id or a 20-byte infohash), or NONE.
   */
  find(bytes: Uint8Array, offset: number): number {
    const table = this.#index;
    const mask = table.length - 1;
    const ids = this.#ids;
    for (let i = this.#hash(bytes, offset);; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) return NONE;
      const base = (entry - 1) * FILE_ID_BYTES;
      let k = 0;
      while (k < SWARM_KEY_BYTES && ids[base + k] === bytes[offset + k]) k++;
      if (k === SWARM_KEY_BYTES) return entry - 1;
    }
  }

  /**
   * Adds a file with this id (32 bytes, or a 20-byte swarm key whose rest
   * is unknown), made by `create` for its slot.
   */
  add(id: Uint8Array, create: (slot: number) => FileEntry): FileEntry {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.entries.length;
      if (slot >= this.#capacity) {
        this.#capacity *= 2;
        this.#ids = grow(this.#ids, this.#capacity * FILE_ID_BYTES);
      }
      this.entries.push(undefined);
    }
    if ((this.count + 1) * 2 > this.#index.length) {
      this.#index = new Int32Array(this.#index.length * 2);
      for (const file of this.entries) if (file) this.#insert(file.slot);
    }
    const at = slot * FILE_ID_BYTES;
    this.#ids.set(id.subarray(0, FILE_ID_BYTES), at);
    this.#ids.fill(0, at + id.byteLength, at + FILE_ID_BYTES);
    const file = create(slot);
    this.entries[slot] = file;
    this.#insert(slot);
    this.count++;
    return file;
  }

  /** Removes a file; its id bytes stay until the slot is reused. */
  remove(file: FileEntry): void {
    tableDelete(this.#index, file.slot + 1, this.#home);
    this.entries[file.slot] = undefined;
    this.#free.push(file.slot);
    this.count--;
  }

  /**
   * Sets the bytes after the swarm key of the file in `slot` (the key, and
   * so the index, stay): the rest of the id of the claim shown, or zeros.
   */
  setTail(slot: number, tail: Uint8Array | null): void {
    const at = slot * FILE_ID_BYTES + SWARM_KEY_BYTES;
    if (tail) this.#ids.set(tail, at);
    else this.#ids.fill(0, at, at + FILE_ID_BYTES - SWARM_KEY_BYTES);
  }

  /** Copies the id of the file in `slot` into `out` (32 bytes). */
  copyId(slot: number, out: Uint8Array): void {
    const at = slot * FILE_ID_BYTES;
    out.set(this.#ids.subarray(at, at + FILE_ID_BYTES));
  }

  /** A copy of the id of the file in `slot`. */
  idOf(slot: number): Uint8Array {
    return this.#ids.slice(slot * FILE_ID_BYTES, (slot + 1) * FILE_ID_BYTES);
  }

  /** Orders files by id bytes: the same order as by hex id. */
  compare(a: FileEntry, b: FileEntry): number {
    const ids = this.#ids;
    const x = a.slot * FILE_ID_BYTES;
    const y = b.slot * FILE_ID_BYTES;
    for (let i = 0; i < FILE_ID_BYTES; i++) {
      const d = ids[x + i]! - ids[y + i]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /**
   * Files whose id starts with these hex digits, at most `limit`: a scan of
   * every slot, counted in `work`. A file known only by its swarm key
   * (`truncated`) matches on the key's 40 digits; the rest is unknown.
   */
  byIdPrefix(prefix: string, limit: number, work: WorkMeter): FileEntry[] {
    const digits = prefix.slice(0, FILE_ID_BYTES * 2);
    const nibbles = new Uint8Array(digits.length);
    for (let i = 0; i < digits.length; i++) {
      const value = parseInt(digits[i]!, 16);
      if (Number.isNaN(value)) return [];
      nibbles[i] = value;
    }
    const ids = this.#ids;
    const out: FileEntry[] = [];
    const slots = this.entries;
    work.steps += slots.length;
    for (const file of slots) {
      if (!file) continue;
      const base = file.slot * FILE_ID_BYTES;
      const known = file.truncated
        ? Math.min(nibbles.length, SWARM_KEY_DIGITS)
        : nibbles.length;
      let i = 0;
      while (i < known) {
        const byte = ids[base + (i >> 1)]!;
        if (((i & 1) === 0 ? byte >> 4 : byte & 15) !== nibbles[i]) break;
        i++;
      }
      if (i < known) continue;
      out.push(file);
      if (out.length >= limit) break;
    }
    return out;
  }

  #hash(bytes: Uint8Array, offset: number): number {
    let h = this.#seed;
    for (let i = 0; i < SWARM_KEY_BYTES; i += 4) {
      const word = (bytes[offset + i]! << 24) | (bytes[offset + i + 1]! << 16) |
        (bytes[offset + i + 2]! << 8) | bytes[offset + i + 3]!;
      h = Math.imul(h ^ word, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0x85ebca77);
    return (h ^ (h >>> 16)) & (this.#index.length - 1);
  }

  readonly #home = (entry: number) =>
    this.#hash(this.#ids, (entry - 1) * FILE_ID_BYTES);

  #insert(slot: number): void {
    const table = this.#index;
    const mask = table.length - 1;
    let i = this.#hash(this.#ids, slot * FILE_ID_BYTES);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }
}
