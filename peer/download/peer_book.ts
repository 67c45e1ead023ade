/**
 * The peers a download knows of: where they are, which are banned, how often
 * each failed since it last helped, and when the tracker was last asked for
 * more. Pure (every time is passed in): the manifest race and the scheduler
 * share one book, so a peer that failed one is tried last by the other.
 *
 * @module
 */
import { type Candidate, connectOrder } from "./liveness.ts";
import type { PeerProtocol } from "./protocol_fallback.ts";
import type { BanList } from "../swarm/ban_list.ts";

/** A peer that failed waits this long times its failures (at most ten) before it is tried again. */
export const PEER_RETRY_MS = 3_000;

/**
 * Most peers a download keeps track of. Trackers answer 50 at a time; the
 * DHT and late trackers add more: past this, a new peer takes the place of
 * one that failed and never helped (tried, timed out and forgotten), or is
 * dropped, so a flood of made-up addresses costs bounded memory.
 */
export const MAX_KNOWN_PEERS = 1_000;

/** One known peer. */
export interface KnownPeer extends Candidate {
  /** Its server's host. */
  host: string;
  /** Its server's TCP port. */
  port: number;
  /**
   * The protocol to open connections in: Shoal until the peer showed it
   * speaks only BitTorrent (protocol_fallback.ts).
   */
  protocol: PeerProtocol;
}

/**
 * A peer's key, "host:port" ("[v6]:port" for IPv6), as the page and the
 * tit-for-tat counters name it.
 *
 * @param peer where it listens
 * @returns its key
 * @example
 * ```ts
 * import { peerKey } from "./peer_book.ts";
 * peerKey({ host: "::1", port: 7000 }); // "[::1]:7000"
 * ```
 */
export function peerKey(peer: { host: string; port: number }): string {
  return peer.host.includes(":")
    ? `[${peer.host}]:${peer.port}`
    : `${peer.host}:${peer.port}`;
}

/**
 * Known peers by key.
 *
 * @example
 * ```ts
 * import { PeerBook } from "./peer_book.ts";
 * const book = new PeerBook();
 * book.add([{ host: "127.0.0.1", port: 7000 }]);
 * book.order(0); // ["127.0.0.1:7000"]
 * ```
 */
export class PeerBook {
  readonly #peers = new Map<string, KnownPeer>();
  readonly #maxPeers: number;
  readonly #bans: BanList | null;
  #lastAskMs = 0;

  /**
   * @param maxPeers most peers kept (see {@linkcode MAX_KNOWN_PEERS})
   * @param bans the process's bans: a peer banned there (by another
   *   download, or an earlier one) starts banned here, and a ban here goes
   *   there, so the peer's server refuses its incoming connections too
   */
  constructor(
    maxPeers: number = MAX_KNOWN_PEERS,
    bans: BanList | null = null,
  ) {
    this.#maxPeers = maxPeers;
    this.#bans = bans;
  }

  /** How many peers are known. */
  get size(): number {
    return this.#peers.size;
  }

  /** When the tracker was last asked for peers. */
  get lastAskMs(): number {
    return this.#lastAskMs;
  }

  /** Records that the tracker is being asked now. */
  asked(nowMs: number): void {
    this.#lastAskMs = nowMs;
  }

  /**
   * Adds peers not known yet (a known peer keeps its record). When the book
   * is full, a new peer replaces the oldest one that failed and never
   * helped, or is dropped when there is none.
   *
   * @param peers where they listen
   * @returns how many were added
   */
  add(
    peers: Iterable<{ host: string; port: number; bittorrent?: boolean }>,
  ): number {
    let added = 0;
    for (const peer of peers) {
      const key = peerKey(peer);
      if (this.#peers.has(key)) continue;
      if (this.#peers.size >= this.#maxPeers && !this.#forgetOne()) continue;
      this.#peers.set(key, {
        host: peer.host,
        port: peer.port,
        banned: this.#bans?.refusesOutgoing(peer.host, peer.port) ?? false,
        failures: 0,
        retryAtMs: 0,
        lastGoodMs: 0,
        // A tracker that saw it announce over BEP 15 says it is a
        // BitTorrent client: no Shoal handshake to wait out first.
        protocol: peer.bittorrent ? "bittorrent" : "shoal",
      });
      added++;
    }
    return added;
  }

  /** Forgets the oldest peer that failed and never helped (banned ones stay banned). */
  #forgetOne(): boolean {
    for (const [key, peer] of this.#peers) {
      if (peer.failures > 0 && peer.lastGoodMs === 0 && !peer.banned) {
        this.#peers.delete(key);
        return true;
      }
    }
    return false;
  }

  /** The peer with this key, if known. */
  get(key: string): KnownPeer | undefined {
    return this.#peers.get(key);
  }

  /** Every known peer, in the order they became known. */
  entries(): IterableIterator<[string, KnownPeer]> {
    return this.#peers.entries();
  }

  /** The peers worth a connection now, best first (liveness.ts `connectOrder`). */
  order(nowMs: number, skip?: ReadonlySet<string>): string[] {
    return connectOrder(this.#peers, nowMs, skip);
  }

  /** A connection or request ended without anything from it: it waits longer each time. */
  failed(key: string, nowMs: number): void {
    const peer = this.#peers.get(key);
    if (!peer) return;
    peer.failures++;
    peer.retryAtMs = nowMs + PEER_RETRY_MS * Math.min(peer.failures, 10);
  }

  /** It gave us something checked (the manifest, a chunk). */
  helped(key: string, nowMs: number): void {
    const peer = this.#peers.get(key);
    if (!peer) return;
    peer.failures = 0;
    peer.lastGoodMs = nowMs;
  }

  /**
   * What its last bitfield said: whether it holds chunks we lack. Peers that
   * do are connected first, peers that do not last.
   */
  sawChunks(key: string, holds: boolean): void {
    const peer = this.#peers.get(key);
    if (peer) peer.holdsChunks = holds;
  }

  /**
   * It answered Shoal's handshake with silence or a BitTorrent handshake:
   * from now on it is asked in BitTorrent, at once (this is not a failure).
   */
  speaksBitTorrent(key: string): void {
    const peer = this.#peers.get(key);
    if (peer) peer.protocol = "bittorrent";
  }

  /** The protocol to open a connection to `key` in (Shoal for a peer not known). */
  protocolOf(key: string): PeerProtocol {
    return this.#peers.get(key)?.protocol ?? "shoal";
  }

  /** It sent bad data: never again in this download, and not for the ban's time in this process. */
  ban(key: string): void {
    const peer = this.#peers.get(key);
    if (!peer) return;
    peer.banned = true;
    this.#bans?.ban(peer.host, peer.port);
  }
}
