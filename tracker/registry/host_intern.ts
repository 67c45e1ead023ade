/**
 * Source IPs, interned: each address with peers gets a small id, its text
 * once, its bytes (for PEER_LIST) and its counts of peers and holdings (for
 * the per-address quotas). Ids are reused once an address has no peer.
 *
 * @module
 */
import { ipToBytes } from "@shoal/protocol";
import { grow, NONE } from "./tables.ts";

/** Source IPs by id, struct of arrays. */
export class HostTable {
  readonly #ids = new Map<string, number>();
  readonly #free: number[] = [];
  #capacity: number;
  /** Address text by host id ("" when free). */
  readonly names: string[] = [];
  /** Peers behind each host. */
  peers: Int32Array;
  /** 4 or 6. */
  family: Uint8Array;
  /** 16 bytes per host; IPv4 in the first 4. */
  addr: Uint8Array;
  /** (peer, file) pairs of every peer of the host. */
  holdings: Int32Array;

  /** @param capacity hosts allocated up front */
  constructor(capacity: number) {
    this.#capacity = capacity;
    this.peers = new Int32Array(capacity);
    this.family = new Uint8Array(capacity);
    this.addr = new Uint8Array(capacity * 16);
    this.holdings = new Int32Array(capacity);
  }

  /** The id of an address with peers, or NONE. */
  idOf(host: string): number {
    return this.#ids.get(host) ?? NONE;
  }

  /** The id of `host`, added when new; NONE when it is not an IP address. */
  intern(host: string): number {
    const known = this.#ids.get(host);
    if (known !== undefined) return known;
    const ip = ipToBytes(host);
    if (!ip) return NONE;
    let hostId = this.#free.pop();
    if (hostId === undefined) {
      hostId = this.names.length;
      if (hostId >= this.#capacity) {
        const capacity = this.#capacity * 2;
        this.peers = grow(this.peers, capacity);
        this.family = grow(this.family, capacity);
        this.addr = grow(this.addr, capacity * 16);
        this.holdings = grow(this.holdings, capacity);
        this.#capacity = capacity;
      }
      this.names.push(host);
    } else {
      this.names[hostId] = host;
    }
    this.#ids.set(host, hostId);
    this.peers[hostId] = 0;
    this.holdings[hostId] = 0;
    this.family[hostId] = ip.byteLength === 4 ? 4 : 6;
    this.addr.fill(0, hostId * 16, hostId * 16 + 16);
    this.addr.set(ip, hostId * 16);
    return hostId;
  }

  /** Frees the id of a host whose last peer left. */
  release(hostId: number): void {
    this.#ids.delete(this.names[hostId]!);
    this.names[hostId] = "";
    this.#free.push(hostId);
  }
}
