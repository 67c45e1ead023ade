/**
 * Upload slots for the peer server: which connections may download from
 * us, and an optional upload rate limit shared by every connection.
 *
 * A slot goes only to a connection that asks for a chunk (a GET), never for
 * merely connecting or saying INTERESTED: a free slot is taken by the GET
 * itself; without one the GET is answered BUSY and the asker waits in line
 * (first come, first served) for the next slot to free up. A holder that
 * asks for nothing for {@linkcode SLOT_IDLE_MS} (or, told UNCHOKE, sends no
 * GET for {@linkcode SLOT_GRANT_GRACE_MS}) loses its slot, which goes to the
 * first in line at once. Every {@linkcode CHOKE_ROUND_MS} the pure
 * {@linkcode chooseUnchoked} re-deals the slots among the askers (tit for
 * tat plus one optimistic slot).
 *
 * A peer is told CHOKE only while it is in line (it asked, and will be told
 * UNCHOKE when a slot is its): a downloader that is told CHOKE asks for
 * nothing until UNCHOKE, so telling an idle peer would strand it. An idle
 * Shoal holder's slot is taken silently instead; its next GET asks again.
 * A BitTorrent peer ({@linkcode SlotHolder.saysInterest}) cannot ask before
 * UNCHOKE, so its INTERESTED puts it in line ({@linkcode UploadSlots.want})
 * without counting as a request, and a slot taken from it is always said
 * with CHOKE: while still interested it waits in line again, behind peers
 * that used their slots.
 *
 * @module
 */
import {
  chooseUnchoked,
  DEFAULT_UPLOAD_SLOTS,
  SLOT_GRANT_GRACE_MS,
  SLOT_IDLE_MS,
} from "../swarm/choker.ts";
import { TokenBucket } from "../swarm/token_bucket.ts";

export { SLOT_GRANT_GRACE_MS, SLOT_IDLE_MS };

/** How often the choker re-deals the slots. */
export const CHOKE_ROUND_MS = 10_000;
/** How often idle holders are looked for. */
export const IDLE_CHECK_MS = 1_000;

function uploadBucket(rate: number | null): TokenBucket | null {
  return rate
    ? new TokenBucket(rate, { burst: Math.max(rate / 4, 1024 * 1024) })
    : null;
}

/** One connection as the slots see it. */
export interface SlotHolder {
  /** The remote peer's key ("host:port" of its server), for tit for tat. */
  key: string;
  /** False after NOT_INTERESTED. */
  interested: boolean;
  /** Bytes sent to it this round. */
  sentBytes: number;
  /** Whether it may download now (set by the slots). */
  unchoked: boolean;
  /** GETs it has waiting or being answered now. */
  pending(): number;
  /** Tells the connection to send CHOKE (and answer its queued GETs BUSY) or UNCHOKE. */
  setChoked(choked: boolean): void;
  /**
   * A BitTorrent peer: it asks for a slot with INTERESTED and waits for
   * UNCHOKE, so a slot taken from it is said with CHOKE, and it stays in
   * line while interested.
   */
  saysInterest?: boolean;
}

/** Options for {@linkcode UploadSlots}. */
export interface UploadSlotsOptions {
  /** Regular plus optimistic slots. @default {5} */
  slots?: number;
  /** Upload limit in bytes per second; none when absent. */
  maxUploadBytesPerSecond?: number;
  /** Bytes the remote peer (by key) sent us since the last call; resets its count. */
  takeReceived?: (key: string) => number;
  /** The clock, in ms (tests pass their own). @default {performance.now} */
  now?: () => number;
  /** Run the idle check and the choke rounds on timers (tests call them). @default {true} */
  timers?: boolean;
}

interface Entry {
  holder: SlotHolder;
  /** The peer believes it is choked: it was told CHOKE or BUSY since its last UNCHOKE. */
  toldChoked: boolean;
  /** In line for a slot since then, or null. */
  waitingSinceMs: number | null;
  /** Its last GET, its last chunk sent, or its slot granted. */
  lastActiveMs: number;
  /** It sent a GET since its slot was granted (otherwise a newcomer may take the slot). */
  askedSinceGrant: boolean;
  /** Slots it held and let go idle: it waits behind peers that used theirs. */
  wasted: number;
}

/**
 * Hands out upload slots to connections and paces uploads.
 *
 * @example
 * ```ts
 * // const slots = new UploadSlots({ slots: 5 }); const id = slots.join(holder);
 * // if (!slots.request(id)) answerBusy(); ... slots.served(id); slots.leave(id);
 * ```
 */
export class UploadSlots {
  readonly #entries = new Map<number, Entry>();
  #slots: number;
  #bucket: TokenBucket | null;
  #rate: number | null;
  readonly #takeReceived: (key: string) => number;
  readonly #now: () => number;
  readonly #timers: boolean;
  #nextId = 1;
  #round = 0;
  #lastRoundMs: number;
  #optimistic: number | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  /** @param options slots, rate limit, what peers gave us, clock */
  constructor(options: UploadSlotsOptions = {}) {
    this.#slots = Math.max(1, options.slots ?? DEFAULT_UPLOAD_SLOTS);
    this.#rate = options.maxUploadBytesPerSecond || null;
    this.#bucket = uploadBucket(this.#rate);
    this.#takeReceived = options.takeReceived ?? (() => 0);
    this.#now = options.now ?? (() => performance.now());
    this.#timers = options.timers ?? true;
    this.#lastRoundMs = this.#now();
  }

  /** The upload limit (null: none) and the number of slots. */
  get limits(): { maxUploadBytesPerSecond: number | null; slots: number } {
    return { maxUploadBytesPerSecond: this.#rate, slots: this.#slots };
  }

  /**
   * Changes the upload limit and the slots while running: more slots go to
   * those in line at once; fewer are taken back at the next choke round.
   *
   * @param limits bytes per second (null: no limit) and slots
   */
  setLimits(
    limits: { maxUploadBytesPerSecond?: number | null; slots?: number },
  ): void {
    if (limits.maxUploadBytesPerSecond !== undefined) {
      this.#rate = limits.maxUploadBytesPerSecond || null;
      this.#bucket = uploadBucket(this.#rate);
    }
    if (limits.slots !== undefined) {
      this.#slots = Math.max(1, Math.floor(limits.slots));
      this.#handOn();
    }
  }

  /** Slots held now. */
  get held(): number {
    let held = 0;
    for (const entry of this.#entries.values()) {
      if (entry.holder.unchoked) held++;
    }
    return held;
  }

  /** Adds a connection, without a slot: it takes one with its first GET. */
  join(holder: SlotHolder): number {
    const id = this.#nextId++;
    holder.unchoked = false;
    this.#entries.set(id, {
      holder,
      toldChoked: false,
      waitingSinceMs: null,
      lastActiveMs: this.#now(),
      askedSinceGrant: false,
      wasted: 0,
    });
    if (this.#timers) {
      this.#timer ??= setInterval(() => this.tick(), IDLE_CHECK_MS);
    }
    return id;
  }

  /**
   * A GET arrived. True when it may be served: the peer holds a slot, or
   * takes a free one (or one granted to a peer that has not asked since).
   * False when it must be answered BUSY: the peer now waits in line.
   */
  request(id: number): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    const now = this.#now();
    entry.lastActiveMs = now;
    entry.holder.interested = true;
    if (
      !entry.holder.unchoked && (this.held < this.#slots || this.#preempt())
    ) {
      this.#grant(entry);
    }
    if (entry.holder.unchoked) {
      entry.askedSinceGrant = true;
      return true;
    }
    entry.waitingSinceMs ??= now;
    entry.toldChoked = true;
    return false;
  }

  /**
   * A BitTorrent peer said INTERESTED: a free slot is granted (it must
   * request within {@linkcode SLOT_GRANT_GRACE_MS}), else it waits in line
   * and is told UNCHOKE when its turn comes. Unlike a request it takes no
   * slot from anyone and keeps no slot alive: saying it again and again
   * holds nothing.
   *
   * @returns whether it holds a slot now
   */
  want(id: number): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    entry.holder.interested = true;
    if (entry.holder.unchoked) return true;
    if (this.held < this.#slots) {
      this.#grant(entry);
      return true;
    }
    entry.waitingSinceMs ??= this.#now();
    entry.toldChoked = true;
    return false;
  }

  /** A chunk was sent: the holder's idle clock starts again. */
  served(id: number): void {
    const entry = this.#entries.get(id);
    if (entry) entry.lastActiveMs = this.#now();
  }

  /**
   * Re-checks a connection after INTERESTED or NOT_INTERESTED: a peer that
   * wants nothing gives its slot up (and leaves the line) at once; one that
   * was told CHOKE and wants something again joins the line, since it will
   * not ask while choked.
   */
  interestChanged(id: number): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const holder = entry.holder;
    if (!holder.interested) {
      entry.waitingSinceMs = null;
      if (holder.unchoked) {
        this.#revoke(entry, holder.pending() > 0);
        this.#handOn();
      }
    } else if (!holder.unchoked && entry.toldChoked) {
      entry.waitingSinceMs ??= this.#now();
      this.#handOn();
    }
  }

  /** Removes a connection and gives its slot to the first in line. */
  leave(id: number): void {
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    if (this.#entries.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    if (entry?.holder.unchoked) this.#handOn();
  }

  /** Waits until `bytes` may be sent under the upload limit. */
  async pace(bytes: number): Promise<void> {
    await this.#bucket?.take(bytes);
  }

  /** Stops the timers. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * Takes the slots of holders idle for {@linkcode SLOT_IDLE_MS} and hands
   * them on; re-deals every slot once per {@linkcode CHOKE_ROUND_MS}. Run
   * every {@linkcode IDLE_CHECK_MS} by the timer.
   */
  tick(): void {
    const now = this.#now();
    const freed = new Set<Entry>();
    for (const entry of this.#entries.values()) {
      if (entry.holder.unchoked && this.#idle(entry, now)) {
        if (!entry.askedSinceGrant) entry.wasted++;
        this.#revoke(entry, false);
        freed.add(entry);
      }
    }
    // Not straight back to the peer that let it go idle.
    if (freed.size > 0) this.#handOn(freed);
    if (now - this.#lastRoundMs >= CHOKE_ROUND_MS) {
      this.#lastRoundMs = now;
      this.#rechoke(now);
    }
  }

  #idle(entry: Entry, now: number): boolean {
    const limit = entry.askedSinceGrant ? SLOT_IDLE_MS : SLOT_GRANT_GRACE_MS;
    return entry.holder.pending() === 0 && now - entry.lastActiveMs >= limit;
  }

  #grant(entry: Entry): void {
    entry.holder.unchoked = true;
    entry.waitingSinceMs = null;
    entry.askedSinceGrant = false;
    entry.lastActiveMs = this.#now();
    if (entry.toldChoked) {
      entry.toldChoked = false;
      entry.holder.setChoked(false);
    }
  }

  /**
   * Takes the slot; says CHOKE when `tell` (GETs are queued) or to a
   * BitTorrent peer, which then waits in line while interested; a Shoal
   * peer's slot is otherwise taken silently.
   */
  #revoke(entry: Entry, tell: boolean): void {
    entry.holder.unchoked = false;
    if (tell || entry.holder.saysInterest) {
      entry.toldChoked = true;
      entry.holder.setChoked(true);
    }
    if (entry.holder.saysInterest && entry.holder.interested) {
      entry.waitingSinceMs ??= this.#now();
    }
  }

  /** Frees a slot granted to a peer that has not asked since: a GET in hand comes first. */
  #preempt(): boolean {
    for (const entry of this.#entries.values()) {
      if (
        entry.holder.unchoked && !entry.askedSinceGrant &&
        entry.holder.pending() === 0
      ) {
        this.#revoke(entry, false);
        return true;
      }
    }
    return false;
  }

  /**
   * Gives free slots to those waiting longest, peers that let a slot go
   * unused after those that did not (a GET now and then buys no priority).
   */
  #handOn(skip?: ReadonlySet<Entry>): void {
    while (this.held < this.#slots) {
      let first: Entry | null = null;
      for (const entry of this.#entries.values()) {
        if (
          !entry.holder.unchoked && entry.holder.interested &&
          !skip?.has(entry) &&
          entry.waitingSinceMs !== null &&
          (first === null || entry.wasted < first.wasted ||
            (entry.wasted === first.wasted &&
              entry.waitingSinceMs < first.waitingSinceMs!))
        ) first = entry;
      }
      if (!first) return;
      this.#grant(first);
    }
  }

  #rechoke(now: number): void {
    const entries = [...this.#entries.entries()];
    const received = new Map<string, number>();
    for (const [, { holder }] of entries) {
      if (!received.has(holder.key)) {
        received.set(holder.key, this.#takeReceived(holder.key));
      }
    }
    const requesting = (entry: Entry) =>
      entry.waitingSinceMs !== null ||
      (entry.holder.unchoked && !this.#idle(entry, now));
    const decision = chooseUnchoked(
      entries.map(([id, entry]) => ({
        id,
        interested: entry.holder.interested,
        requesting: requesting(entry),
        receivedBytes: received.get(entry.holder.key) ?? 0,
        sentBytes: entry.holder.sentBytes,
      })),
      {
        slots: this.#slots,
        round: this.#round++,
        optimistic: this.#optimistic,
      },
    );
    this.#optimistic = decision.optimistic;
    // Chokes first, so the slots held never exceed the count.
    for (const [id, entry] of entries) {
      entry.holder.sentBytes = 0;
      if (!entry.holder.unchoked || decision.unchoked.has(id)) continue;
      if (requesting(entry)) {
        // Still asking: told CHOKE (its queued GETs BUSY), and in line.
        this.#revoke(entry, true);
        entry.waitingSinceMs = now;
      } else {
        this.#revoke(entry, false);
      }
    }
    for (const [id, entry] of entries) {
      if (decision.unchoked.has(id) && !entry.holder.unchoked) {
        this.#grant(entry);
      }
    }
    this.#handOn();
  }
}
