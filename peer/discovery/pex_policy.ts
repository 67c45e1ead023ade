/**
 * Peer exchange (BEP 11 `ut_pex`, and Shoal's PEX, DATA 8): pure rules.
 * Which addresses a peer told us about may become candidates, how often a
 * connection may send PEX and how often we send it, and what each message
 * we send carries (a diff against what that connection was told before).
 *
 * Everything a PEX message says comes from a stranger: its peers only join
 * the download's peer book (bounded, peer_book.ts), where they are tried,
 * timed out and forgotten like a tracker's.
 *
 * @module
 */
import {
  bytesToIp,
  ipToBytes,
  type ListedPeer,
  MAX_PEX_PEERS,
} from "@shoal/protocol";
import { peerKey } from "../download/peer_book.ts";

/** Between two PEX messages we send on one connection (BEP 11: at most once a minute). */
export const PEX_INTERVAL_MS = 60_000;
/** The first PEX message on a connection waits this long after the handshake. */
export const PEX_FIRST_DELAY_MS = 1_000;
/**
 * PEX messages one connection may send in {@linkcode PEX_INTERVAL_MS}; one
 * more drops it (libtorrent drops a peer at its sixth in a minute).
 */
export const MAX_PEX_PER_INTERVAL = 5;

/** A peer as PEX carries it. */
export interface PexAddress {
  /** IPv4 dotted quad or IPv6 text. */
  host: string;
  /** TCP port it listens on. */
  port: number;
  /** It speaks BitTorrent, not Shoal (it was met in BitTorrent). */
  bittorrent?: boolean;
  /** It holds the whole file. */
  complete?: boolean;
}

/**
 * A peer as a Shoal PEX message (DATA 8) lists it: `complete` always set,
 * `bittorrent` only when true.
 *
 * @param peer a connected peer
 * @returns its entry in the message
 * @example
 * ```ts
 * import { listedPeer } from "./pex_policy.ts";
 * listedPeer({ host: "10.0.0.1", port: 7000 }); // { host: "10.0.0.1", port: 7000, complete: false }
 * ```
 */
export function listedPeer(peer: PexAddress): ListedPeer {
  return {
    host: peer.host,
    port: peer.port,
    complete: peer.complete === true,
    ...(peer.bittorrent ? { bittorrent: true } : {}),
  };
}

/**
 * Why an address a peer sent in PEX must not become a candidate; null when
 * it may. Refused: port 0, an address that is no host's (0.0.0.0/8,
 * multicast, 240.0.0.0/4, broadcast, ::, ff00::/8), an IPv6 link-local
 * address (it needs a zone no peer can name), and loopback (127.0.0.0/8,
 * ::1) unless the sender itself is on loopback: a stranger must not point
 * us at our own services, while a peer on this machine could reach them
 * anyway (libtorrent has the same rule for local addresses). An
 * IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
 *
 * @param address the advertised host and port
 * @param senderOnLoopback the PEX message came over a loopback connection
 * @returns the reason, or null
 * @example
 * ```ts
 * import { pexAddressProblem } from "./pex_policy.ts";
 * pexAddressProblem({ host: "224.0.0.1", port: 1 }, false); // "not a host address"
 * pexAddressProblem({ host: "127.0.0.1", port: 7000 }, false); // "loopback"
 * pexAddressProblem({ host: "127.0.0.1", port: 7000 }, true); // null
 * ```
 */
export function pexAddressProblem(
  address: { host: string; port: number },
  senderOnLoopback: boolean,
): string | null {
  const { port } = address;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return "bad port";
  let ip = ipToBytes(address.host);
  if (!ip) return "not an IP address";
  if (ip.byteLength === 16 && isV4Mapped(ip)) ip = ip.subarray(12);
  let loopback: boolean;
  if (ip.byteLength === 4) {
    const a = ip[0]!;
    if (a === 0 || a >= 224) return "not a host address";
    loopback = a === 127;
  } else {
    if (ip.every((byte) => byte === 0)) return "not a host address";
    if (ip[0] === 0xff) return "not a host address";
    if (ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80) return "link-local";
    loopback = ip.subarray(0, 15).every((byte) => byte === 0) && ip[15] === 1;
  }
  if (loopback && !senderOnLoopback) return "loopback";
  return null;
}

function isV4Mapped(ip: Uint8Array): boolean {
  return ip.subarray(0, 10).every((byte) => byte === 0) &&
    ip[10] === 0xff && ip[11] === 0xff;
}

/**
 * Whether a connection's remote address is loopback (as Deno reports it,
 * an IPv4-mapped ::ffff:127.x included).
 *
 * @param host the remote hostname
 * @returns true on loopback
 * @example
 * ```ts
 * import { isLoopbackRemote } from "./pex_policy.ts";
 * isLoopbackRemote("::ffff:127.0.0.1"); // true
 * ```
 */
export function isLoopbackRemote(host: string): boolean {
  let ip = ipToBytes(host);
  if (!ip) return false;
  if (ip.byteLength === 16 && isV4Mapped(ip)) ip = ip.subarray(12);
  return ip.byteLength === 4 ? ip[0] === 127 : bytesToIp(ip) === "::1";
}

/**
 * The addresses of a PEX message that may become candidates: those with
 * no {@linkcode pexAddressProblem}, once each, at most `max`.
 *
 * @param peers the added peers, as decoded
 * @param senderOnLoopback the message came over a loopback connection
 * @param max most kept @default {MAX_PEX_PEERS}
 * @returns the candidates
 * @example
 * ```ts
 * import { pexCandidates } from "./pex_policy.ts";
 * pexCandidates([{ host: "0.0.0.0", port: 1 }, { host: "10.0.0.1", port: 2 }], false);
 * // [{ host: "10.0.0.1", port: 2 }]
 * ```
 */
export function pexCandidates<T extends { host: string; port: number }>(
  peers: readonly T[],
  senderOnLoopback: boolean,
  max: number = MAX_PEX_PEERS,
): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const peer of peers) {
    if (out.length >= max) break;
    if (pexAddressProblem(peer, senderOnLoopback) !== null) continue;
    const key = peerKey(peer);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(peer);
  }
  return out;
}

/**
 * Counts the PEX messages one connection sends us: more than
 * {@linkcode MAX_PEX_PER_INTERVAL} within {@linkcode PEX_INTERVAL_MS} is a
 * flood (the connection is dropped).
 *
 * @example
 * ```ts
 * import { PexInbox } from "./pex_policy.ts";
 * const inbox = new PexInbox();
 * inbox.accept(0); // true
 * ```
 */
export class PexInbox {
  readonly #times: number[] = [];

  /**
   * Records a PEX message.
   *
   * @param nowMs the time now
   * @returns false when it is one too many: drop the connection
   */
  accept(nowMs: number): boolean {
    while (
      this.#times.length > 0 && nowMs - this.#times[0]! >= PEX_INTERVAL_MS
    ) this.#times.shift();
    this.#times.push(nowMs);
    return this.#times.length <= MAX_PEX_PER_INTERVAL;
  }
}

/**
 * What one connection was told: the next PEX message to send it is the
 * difference between the peers connected now and those, at most
 * {@linkcode MAX_PEX_PEERS} added and as many dropped per message (the
 * rest waits for the next one). Its own address is never sent to it.
 *
 * @example
 * ```ts
 * import { PexOutbox } from "./pex_policy.ts";
 * const outbox = new PexOutbox("127.0.0.1:7000");
 * outbox.next([{ host: "127.0.0.1", port: 7001 }]);
 * // { added: [{ host: "127.0.0.1", port: 7001 }], dropped: [] }
 * ```
 */
export class PexOutbox {
  readonly #self: string;
  readonly #told = new Map<string, PexAddress>();

  /** @param selfKey the receiving peer's key ("host:port"), left out of every message */
  constructor(selfKey: string) {
    this.#self = selfKey;
  }

  /**
   * The next message, and records it as told; null when there is nothing
   * new to say.
   *
   * @param connected the peers connected now for this file
   * @returns the added and dropped peers, or null
   */
  next(
    connected: Iterable<PexAddress>,
  ): { added: PexAddress[]; dropped: PexAddress[] } | null {
    const now = new Map<string, PexAddress>();
    for (const peer of connected) {
      const key = peerKey(peer);
      if (key !== this.#self) now.set(key, peer);
    }
    const added: PexAddress[] = [];
    const dropped: PexAddress[] = [];
    for (const [key, peer] of now) {
      if (added.length >= MAX_PEX_PEERS) break;
      if (this.#told.has(key)) continue;
      added.push(peer);
      this.#told.set(key, peer);
    }
    for (const [key, peer] of this.#told) {
      if (dropped.length >= MAX_PEX_PEERS) break;
      if (now.has(key)) continue;
      dropped.push(peer);
      this.#told.delete(key);
    }
    return added.length + dropped.length > 0 ? { added, dropped } : null;
  }
}
