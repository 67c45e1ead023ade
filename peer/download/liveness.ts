/**
 * When a download stops waiting: which connections lose their place, which
 * peers are tried next, and when the whole download gives up. Pure (every
 * time is passed in), so the rules are tested without sockets or clocks.
 *
 * The rules: a connection holds its place only while it helps. A peer with
 * nothing we need gives its place up within a second to a peer not yet
 * tried (one that keeps us choked, within 30 s); one with requests out and no chunk for
 * the stall timeout is dropped at once. The give-up clock counts progress
 * (the manifest, checked chunks), never open sockets, so no peer can keep a
 * download waiting past `--give-up-after` by merely staying connected.
 *
 * @module
 */

/** A peer with nothing we need for this long gives its place to a waiting one. */
export const USELESS_DROP_MS = 1_000;
/** A peer that keeps us choked, with no chunk for this long, gives its place to a waiting one. */
export const CHOKED_DROP_MS = 30_000;

/** One connection as the rules see it. */
export interface LinkView {
  /** The handshake is done (its bitfield is known). */
  ready: boolean;
  /** Chunks it holds that we lack. */
  useful: number;
  /** Since when it has had nothing we need (null: it has something). */
  uselessSinceMs: number | null;
  /** GETs sent to it and not answered. */
  inflight: number;
  /** It said CHOKE. */
  choked: boolean;
  /** Its last checked chunk, or when we last started asking it (connect, first GET). */
  lastChunkMs: number;
}

/** Limits for {@linkcode dropReason}. */
export interface DropLimits {
  /** Requests out and no chunk for this long: dropped. */
  stallMs: number;
  /** Another peer waits for a place (known, not connected, not backing off). */
  othersWaiting: boolean;
}

/**
 * Why a connection should be closed now, or null to keep it. A peer that has
 * nothing for us (or keeps us choked) is kept while no other peer waits: it
 * costs a socket, and its HAVEs make it useful at once when it gets chunks.
 *
 * @param link the connection
 * @param nowMs the time now
 * @param limits stall timeout and whether other peers wait
 * @returns a one-line reason, or null
 * @example
 * ```ts
 * import { dropReason } from "./liveness.ts";
 * const link = { ready: true, useful: 0, uselessSinceMs: 0, inflight: 0, choked: false, lastChunkMs: 0 };
 * dropReason(link, 5_000, { stallMs: 15_000, othersWaiting: true }); // "it has nothing we need"
 * ```
 */
export function dropReason(
  link: LinkView,
  nowMs: number,
  limits: DropLimits,
): string | null {
  if (!link.ready) return null; // The worker's handshake timeout decides.
  if (link.inflight > 0 && nowMs - link.lastChunkMs > limits.stallMs) {
    return `no chunk for ${Math.round(limits.stallMs / 1000)} s`;
  }
  if (!limits.othersWaiting) return null;
  if (
    link.useful === 0 && link.uselessSinceMs !== null &&
    nowMs - link.uselessSinceMs >= USELESS_DROP_MS
  ) return "it has nothing we need";
  if (
    link.useful > 0 && link.choked && link.inflight === 0 &&
    nowMs - link.lastChunkMs >= CHOKED_DROP_MS
  ) return `it kept us choked for ${Math.round(CHOKED_DROP_MS / 1000)} s`;
  return null;
}

/** A known peer as {@linkcode connectOrder} sees it. */
export interface Candidate {
  /** Sent bad data: never again. */
  banned: boolean;
  /** Connections that ended without giving us a chunk, since its last chunk. */
  failures: number;
  /** Not before this time. */
  retryAtMs: number;
  /** When it last gave us something checked (the manifest, a chunk); 0 never. */
  lastGoodMs: number;
  /** Whether its last bitfield held chunks we lack (absent: not seen yet). */
  holdsChunks?: boolean;
}

/** Peers known to hold chunks first, then the unknown, then the empty. */
function holdsRank(peer: Candidate): number {
  return peer.holdsChunks === true ? 0 : peer.holdsChunks === false ? 2 : 1;
}

/**
 * The peers worth a connection now, best first: those whose last bitfield
 * held chunks we lack (the manifest race shakes hands with many at once and
 * sees theirs), then those not seen yet, then the ones with nothing; within
 * each, those that failed least since they last helped, and among them the
 * one that helped last. So a
 * crowd of useless peers is tried once each before any is tried again, and
 * an honest peer among them is reached within a few rounds.
 *
 * @param peers known peers, by key
 * @param nowMs the time now
 * @param skip keys not to return (already connected)
 * @returns keys, best first
 * @example
 * ```ts
 * import { connectOrder } from "./liveness.ts";
 * const peers = new Map([["a", { banned: false, failures: 2, retryAtMs: 0, lastGoodMs: 0 }],
 *   ["b", { banned: false, failures: 0, retryAtMs: 0, lastGoodMs: 0 }]]);
 * connectOrder(peers, 1_000); // ["b", "a"]
 * ```
 */
export function connectOrder(
  peers: ReadonlyMap<string, Candidate>,
  nowMs: number,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  const ready: [string, Candidate][] = [];
  for (const entry of peers) {
    const [key, peer] = entry;
    if (peer.banned || peer.retryAtMs > nowMs || skip.has(key)) continue;
    ready.push(entry);
  }
  // Stable: equal peers keep the tracker's (random) order.
  ready.sort(([, a], [, b]) =>
    holdsRank(a) - holdsRank(b) || a.failures - b.failures ||
    b.lastGoodMs - a.lastGoodMs
  );
  return ready.map(([key]) => key);
}

/**
 * The give-up clock: a download gives up once nothing was gained for
 * `limitMs`, whatever its peers do meanwhile.
 */
export class ProgressClock {
  readonly #limitMs: number;
  #lastMs: number;

  /**
   * @param limitMs patience, in milliseconds
   * @param nowMs the start
   */
  constructor(limitMs: number, nowMs: number) {
    this.#limitMs = limitMs;
    this.#lastMs = nowMs;
  }

  /** The patience, in milliseconds. */
  get limitMs(): number {
    return this.#limitMs;
  }

  /** Something was gained: the patience starts again. */
  progress(nowMs: number): void {
    this.#lastMs = Math.max(this.#lastMs, nowMs);
  }

  /** Milliseconds left before giving up (0 or less: give up). */
  leftMs(nowMs: number): number {
    return this.#lastMs + this.#limitMs - nowMs;
  }

  /** True once nothing was gained for the whole patience. */
  expired(nowMs: number): boolean {
    return this.leftMs(nowMs) <= 0;
  }
}
