/**
 * The peer table: one slot per (source IP, TCP port), struct of arrays,
 * with an open-addressing index from (host id, port) to slot. A peer costs
 * a few dozen bytes here, not an object, a Map and an id buffer.
 *
 * @module
 */
import { PEER_ID_BYTES } from "@shoal/protocol";
import { grow, NONE, powerOfTwo, tableDelete } from "./tables.ts";

/** Fields of a peer in `records`: host id + 1 (0 free), TCP port, UDP port (0 unknown), flags. */
const PEER_FIELDS = 4;
const P_HOST = 0;
const P_PORT = 1;
const P_UDP = 2;
const P_FLAGS = 3;
/** Flag: the peer is a BitTorrent client that announced over BEP 15. */
export const PEER_BITTORRENT = 1;

/** Peers by slot. */
export class PeerTable {
  readonly #seed: number;
  readonly #free: number[] = [];
  #capacity: number;
  #records: Int32Array;
  /** Open addressing (host id, port) -> slot + 1, 0 empty; at least 2 x capacity. */
  #index: Int32Array;
  /**
   * When each peer's life is counted from: its last REGISTER, KEEPALIVE or
   * BECOME_SEEDER; for a BitTorrent client, its last announce moved later
   * by the difference of the TTLs (it announces less often).
   */
  seen: Float64Array;
  /** 16-byte peer ids, by slot (a BitTorrent client's last 16 of 20). */
  ids: Uint8Array;
  /** First holding of the peer + 1, 0 for none. */
  first: Int32Array;
  /** Files the peer holds. */
  holdings: Int32Array;
  /** Slots above this were never used. */
  high = 0;
  /** Peers in the table. */
  count = 0;

  /**
   * @param capacity slots allocated up front
   * @param seed hash seed
   */
  constructor(capacity: number, seed: number) {
    this.#seed = seed;
    this.#capacity = capacity;
    this.#records = new Int32Array(capacity * PEER_FIELDS);
    this.seen = new Float64Array(capacity);
    this.ids = new Uint8Array(capacity * PEER_ID_BYTES);
    this.first = new Int32Array(capacity);
    this.holdings = new Int32Array(capacity);
    this.#index = new Int32Array(powerOfTwo(capacity * 2));
  }

  /** True when the slot holds a peer. */
  used(slot: number): boolean {
    return this.#records[slot * PEER_FIELDS + P_HOST] !== 0;
  }

  /** The host id of the peer in `slot`. */
  hostOf(slot: number): number {
    return (this.#records[slot * PEER_FIELDS + P_HOST]! | 0) - 1;
  }

  /** The TCP port of the peer in `slot`. */
  portOf(slot: number): number {
    return this.#records[slot * PEER_FIELDS + P_PORT]! | 0;
  }

  /** TCP port | UDP port << 16, as an int32. */
  portsOf(slot: number): number {
    const at = slot * PEER_FIELDS;
    return ((this.#records[at + P_PORT]! | 0) |
      ((this.#records[at + P_UDP]! | 0) << 16)) | 0;
  }

  /** Sets the UDP port the peer announces from; true when it changed. */
  setUdpPort(slot: number, udpPort: number): boolean {
    const at = slot * PEER_FIELDS + P_UDP;
    if (udpPort === 0 || udpPort === this.#records[at]) return false;
    this.#records[at] = udpPort;
    return true;
  }

  /** True when the peer in `slot` announced over BEP 15. */
  isBitTorrent(slot: number): boolean {
    return (this.#records[slot * PEER_FIELDS + P_FLAGS]! & PEER_BITTORRENT) !==
      0;
  }

  /** True when the peer in `slot` has the 16-byte id at `offset` in `bytes`. */
  idEquals(slot: number, bytes: Uint8Array, offset: number): boolean {
    if (offset < 0 || bytes.byteLength - offset < PEER_ID_BYTES) return false;
    const ids = this.ids;
    const base = slot * PEER_ID_BYTES;
    for (let i = 0; i < PEER_ID_BYTES; i++) {
      if (ids[base + i] !== bytes[offset + i]) return false;
    }
    return true;
  }

  /** The slot of (host id, port), or NONE. */
  find(hostId: number, port: number): number {
    const table = this.#index;
    const mask = table.length - 1;
    const records = this.#records;
    for (let i = this.#hash(hostId, port);; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) return NONE;
      const at = (entry - 1) * PEER_FIELDS;
      if (
        records[at + P_HOST] === hostId + 1 &&
        (records[at + P_PORT]! | 0) === port
      ) {
        return entry - 1;
      }
    }
  }

  /**
   * Adds a peer with no file and never seen; returns its slot.
   *
   * @param flags 0, or {@linkcode PEER_BITTORRENT}
   */
  add(hostId: number, port: number, peerId: Uint8Array, flags = 0): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      if (this.high === this.#capacity) this.#grow();
      slot = this.high++;
    }
    const at = slot * PEER_FIELDS;
    this.seen[slot] = 0;
    this.#records[at + P_HOST] = hostId + 1;
    this.#records[at + P_PORT] = port;
    this.#records[at + P_UDP] = 0;
    this.#records[at + P_FLAGS] = flags;
    this.first[slot] = 0;
    this.ids.set(peerId, slot * PEER_ID_BYTES);
    this.holdings[slot] = 0;
    this.#insert(slot);
    this.count++;
    return slot;
  }

  /** Frees a slot whose holdings are already gone. */
  remove(slot: number): void {
    tableDelete(this.#index, slot + 1, this.#home);
    this.#records[slot * PEER_FIELDS + P_HOST] = 0;
    this.first[slot] = 0;
    this.holdings[slot] = 0;
    this.count--;
    this.#free.push(slot);
  }

  #hash(hostId: number, port: number): number {
    let h = Math.imul(hostId ^ this.#seed, 0x9e3779b1) ^ port;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
    return (h ^ (h >>> 13)) & (this.#index.length - 1);
  }

  #hashOf(slot: number): number {
    return this.#hash(this.hostOf(slot), this.portOf(slot));
  }

  readonly #home = (entry: number) => this.#hashOf(entry - 1);

  #insert(slot: number): void {
    const table = this.#index;
    const mask = table.length - 1;
    let i = this.#hashOf(slot);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }

  /** Doubles the arrays: only when the cap is above MAX_PREALLOCATED. */
  #grow(): void {
    const capacity = this.#capacity * 2;
    this.#records = grow(this.#records, capacity * PEER_FIELDS);
    this.seen = grow(this.seen, capacity);
    this.ids = grow(this.ids, capacity * PEER_ID_BYTES);
    this.first = grow(this.first, capacity);
    this.holdings = grow(this.holdings, capacity);
    this.#capacity = capacity;
    this.#index = new Int32Array(powerOfTwo(capacity * 2));
    for (let slot = 0; slot < this.high; slot++) {
      if (this.used(slot)) this.#insert(slot);
    }
  }
}
