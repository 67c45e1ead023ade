/**
 * Who gets an upload slot. Pure policy, run every round (10 s), among the
 * peers that are asking for chunks (a GET lately, or one answered BUSY):
 * saying INTERESTED is not enough, so a connection that only holds on never
 * takes a slot from one that downloads.
 *
 * - `slots - 1` regular slots go to the requesting peers that gave us the
 *   most in the last round (tit for tat); a peer that gives us nothing (a
 *   leecher of a file we seed whole) is ranked by what we sent it, so the
 *   fastest downloaders finish first and can share sooner.
 * - One optimistic slot rotates every third round to a random choked peer,
 *   so newcomers with nothing to give get a start and we discover better
 *   partners.
 *
 * @module
 */

/** What the choker knows about one connected, interested-or-not peer. */
export interface ChokerPeer {
  /** Stable id of the connection. */
  id: number;
  /** False after NOT_INTERESTED. */
  interested: boolean;
  /**
   * True when it is asking for chunks: it holds a slot and sent a GET within
   * {@linkcode SLOT_IDLE_MS} (or has GETs waiting), or it waits for a slot
   * after a GET was answered BUSY.
   */
  requesting: boolean;
  /** Bytes it sent us in the last round (over any of our downloads). */
  receivedBytes: number;
  /** Bytes we sent it in the last round. */
  sentBytes: number;
}

/** The choker's decision for a round. */
export interface ChokeDecision {
  /** Ids that may download from us. */
  unchoked: Set<number>;
  /** The optimistic pick, if any. */
  optimistic: number | null;
}

/** Default upload slots (regular and optimistic together). */
export const DEFAULT_UPLOAD_SLOTS = 5;
/** Rounds between optimistic rotations. */
export const OPTIMISTIC_EVERY_ROUNDS = 3;
/**
 * A peer that holds a slot and asks for nothing this long loses it (and the
 * slot goes to a peer waiting at once): long enough for a downloader's next
 * GET after a chunk, short enough that idle connections cannot keep slots.
 */
export const SLOT_IDLE_MS = 5_000;
/**
 * A peer told UNCHOKE (after waiting in line) that sends no GET this long
 * loses the slot: a downloader answers an UNCHOKE within a round trip, and
 * the rest of the line should not wait 5 s behind each peer that asked once
 * only to hold a place.
 */
export const SLOT_GRANT_GRACE_MS = 2_000;

/**
 * Decides which peers are unchoked this round.
 *
 * @param peers the connected peers
 * @param options slots, round number, last optimistic pick, randomness
 * @returns the unchoked ids and the optimistic pick
 * @example
 * ```ts
 * import { chooseUnchoked } from "./choker.ts";
 * chooseUnchoked([{ id: 1, interested: true, requesting: true, receivedBytes: 0, sentBytes: 0 }], { round: 0 });
 * ```
 */
export function chooseUnchoked(
  peers: readonly ChokerPeer[],
  options: {
    slots?: number;
    round: number;
    optimistic?: number | null;
    random?: () => number;
  },
): ChokeDecision {
  const slots = Math.max(1, options.slots ?? DEFAULT_UPLOAD_SLOTS);
  const random = options.random ?? Math.random;
  const asking = peers.filter((peer) => peer.interested && peer.requesting);
  const ranked = [...asking].sort((a, b) =>
    b.receivedBytes - a.receivedBytes || b.sentBytes - a.sentBytes ||
    a.id - b.id
  );
  const regular = ranked.slice(0, slots - 1);
  const unchoked = new Set(regular.map((peer) => peer.id));
  const choked = asking.filter((peer) => !unchoked.has(peer.id));
  let optimistic = options.optimistic ?? null;
  const keep = optimistic !== null &&
    choked.some((peer) => peer.id === optimistic) &&
    options.round % OPTIMISTIC_EVERY_ROUNDS !== 0;
  if (!keep) {
    optimistic = choked.length > 0
      ? choked[Math.floor(random() * choked.length)]!.id
      : null;
  }
  if (optimistic !== null) unchoked.add(optimistic);
  return { unchoked, optimistic };
}
