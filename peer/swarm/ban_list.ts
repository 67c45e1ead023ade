/**
 * The peers this process banned for sending bad data (a piece that failed
 * its hash, a block nobody asked for, metadata that lies), and for how
 * long. Pure policy (the clock is passed in): downloads add to it, and
 *
 * - the peer's server refuses new incoming connections from a banned
 *   address (the IPv4 address, or the IPv6 /64, as address_limit.ts counts
 *   them): a peer connects in from any port, so only its address names it;
 * - downloads, this one and the next, do not connect out to the banned
 *   peer's "host:port" again. Only that server, not its whole address:
 *   peers behind one NAT (or on one loopback) are other people.
 *
 * A ban ends after {@linkcode BAN_MS}: addresses change hands. The list
 * holds at most {@linkcode MAX_BANS} of each kind, the oldest dropped first,
 * so a flood of liars costs bounded memory.
 *
 * @module
 */
import { addressKey } from "./address_limit.ts";

/** How long a ban lasts: an hour, as BitTorrent clients commonly ban. */
export const BAN_MS = 60 * 60_000;

/** Most addresses (and most servers) banned at once. */
export const MAX_BANS = 4_096;

/** Options for {@linkcode BanList}. */
export interface BanListOptions {
  /** How long a ban lasts. @default {BAN_MS} */
  banMs?: number;
  /** Most bans of each kind kept. @default {MAX_BANS} */
  maxBans?: number;
  /** The clock, in milliseconds. @default {performance.now} */
  now?: () => number;
}

/**
 * Banned addresses (incoming) and servers (outgoing), each until a time.
 *
 * @example
 * ```ts
 * import { BanList } from "./ban_list.ts";
 * const bans = new BanList();
 * bans.ban("10.0.0.9", 6881);
 * bans.refusesIncoming("10.0.0.9"); // true
 * bans.refusesOutgoing("10.0.0.9", 6882); // false: another server there
 * ```
 */
export class BanList {
  readonly #banMs: number;
  readonly #maxBans: number;
  readonly #now: () => number;
  /** Until when, by address key. */
  readonly #addresses = new Map<string, number>();
  /** Until when, by "host:port". */
  readonly #servers = new Map<string, number>();

  /** @param options how long, how many, and the clock */
  constructor(options: BanListOptions = {}) {
    this.#banMs = options.banMs ?? BAN_MS;
    this.#maxBans = Math.max(1, options.maxBans ?? MAX_BANS);
    this.#now = options.now ?? (() => performance.now());
  }

  /** Addresses banned now (expired ones may still count until looked up). */
  get size(): number {
    return this.#addresses.size;
  }

  /**
   * Bans the peer whose server is `host`:`port`, and its address.
   *
   * @param host its address
   * @param port its server's port
   */
  ban(host: string, port: number): void {
    const until = this.#now() + this.#banMs;
    put(this.#addresses, addressKey(host), until, this.#maxBans);
    put(this.#servers, serverKey(host, port), until, this.#maxBans);
  }

  /** Whether a connection from `host` is refused now. */
  refusesIncoming(host: string): boolean {
    return this.#active(this.#addresses, addressKey(host));
  }

  /** Whether connecting to `host`:`port` is refused now. */
  refusesOutgoing(host: string, port: number): boolean {
    return this.#active(this.#servers, serverKey(host, port));
  }

  #active(map: Map<string, number>, key: string): boolean {
    const until = map.get(key);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    map.delete(key);
    return false;
  }
}

function serverKey(host: string, port: number): string {
  return `${host.replace(/^\[|\]$/g, "").toLowerCase()} ${port}`;
}

/** Sets `key` last in insertion order, dropping the oldest past `max`. */
function put(
  map: Map<string, number>,
  key: string,
  until: number,
  max: number,
): void {
  map.delete(key);
  map.set(key, until);
  while (map.size > max) map.delete(map.keys().next().value!);
}
