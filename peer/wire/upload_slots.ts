/**
 * Upload slots for the peer server: which connections may download from
 * us, re-decided every round by the pure {@linkcode chooseUnchoked}, and an
 * optional upload rate limit shared by every connection.
 *
 * @module
 */
import { chooseUnchoked, DEFAULT_UPLOAD_SLOTS } from "../swarm/choker.ts";
import { TokenBucket } from "../swarm/token_bucket.ts";

/** How often the choker runs. */
export const CHOKE_ROUND_MS = 10_000;

/** One connection as the slots see it. */
export interface SlotHolder {
  /** The remote peer's key ("host:port" of its server), for tit for tat. */
  key: string;
  /** False after NOT_INTERESTED. */
  interested: boolean;
  /** Bytes sent to it this round. */
  sentBytes: number;
  /** Whether it may download now. */
  unchoked: boolean;
  /** Tells the connection to send CHOKE or UNCHOKE. */
  setChoked(choked: boolean): void;
}

/** Options for {@linkcode UploadSlots}. */
export interface UploadSlotsOptions {
  /** Regular plus optimistic slots. @default {5} */
  slots?: number;
  /** Upload limit in bytes per second; none when absent. */
  maxUploadBytesPerSecond?: number;
  /** Bytes the remote peer (by key) sent us since the last call; resets its count. */
  takeReceived?: (key: string) => number;
}

/**
 * Hands out upload slots to connections and paces uploads.
 *
 * @example
 * ```ts
 * // const slots = new UploadSlots({ slots: 5 }); const id = slots.join(holder); ... slots.leave(id);
 * ```
 */
export class UploadSlots {
  readonly #holders = new Map<number, SlotHolder>();
  readonly #slots: number;
  readonly #bucket: TokenBucket | null;
  readonly #takeReceived: (key: string) => number;
  #nextId = 1;
  #round = 0;
  #optimistic: number | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  /** @param options slots, rate limit, and what peers gave us */
  constructor(options: UploadSlotsOptions = {}) {
    this.#slots = options.slots ?? DEFAULT_UPLOAD_SLOTS;
    const rate = options.maxUploadBytesPerSecond;
    this.#bucket = rate
      ? new TokenBucket(rate, { burst: Math.max(rate / 4, 1024 * 1024) })
      : null;
    this.#takeReceived = options.takeReceived ?? (() => 0);
  }

  /** Adds a connection; it is unchoked at once while a slot is free. */
  join(holder: SlotHolder): number {
    const id = this.#nextId++;
    this.#holders.set(id, holder);
    const busy = [...this.#holders.values()].filter((h) => h.unchoked).length;
    holder.unchoked = holder.interested && busy < this.#slots;
    holder.setChoked(!holder.unchoked);
    this.#timer ??= setInterval(() => this.#rechoke(), CHOKE_ROUND_MS);
    return id;
  }

  /**
   * Re-checks a connection after INTERESTED or NOT_INTERESTED: a peer that
   * wants nothing gives its slot up at once, and one that wants something
   * takes a free slot at once.
   */
  interestChanged(id: number): void {
    const holder = this.#holders.get(id);
    if (!holder) return;
    if (!holder.interested && holder.unchoked) {
      holder.unchoked = false;
      holder.setChoked(true);
      this.#handOn();
    } else if (holder.interested && !holder.unchoked) {
      const busy = [...this.#holders.values()].filter((h) => h.unchoked).length;
      if (busy < this.#slots) {
        holder.unchoked = true;
        holder.setChoked(false);
      }
    }
  }

  #handOn(): void {
    const waiting = [...this.#holders.values()].find((h) =>
      !h.unchoked && h.interested
    );
    if (waiting) {
      waiting.unchoked = true;
      waiting.setChoked(false);
    }
  }

  /** Removes a connection and gives its slot to someone waiting. */
  leave(id: number): void {
    const holder = this.#holders.get(id);
    this.#holders.delete(id);
    if (this.#holders.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    if (holder?.unchoked) this.#handOn();
  }

  /** Waits until `bytes` may be sent under the upload limit. */
  async pace(bytes: number): Promise<void> {
    await this.#bucket?.take(bytes);
  }

  /** Stops the round timer. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #rechoke(): void {
    const entries = [...this.#holders.entries()];
    const received = new Map<string, number>();
    for (const [, holder] of entries) {
      if (!received.has(holder.key)) {
        received.set(holder.key, this.#takeReceived(holder.key));
      }
    }
    const decision = chooseUnchoked(
      entries.map(([id, holder]) => ({
        id,
        interested: holder.interested,
        receivedBytes: received.get(holder.key) ?? 0,
        sentBytes: holder.sentBytes,
      })),
      {
        slots: this.#slots,
        round: this.#round++,
        optimistic: this.#optimistic,
      },
    );
    this.#optimistic = decision.optimistic;
    for (const [id, holder] of entries) {
      holder.sentBytes = 0;
      const unchoked = decision.unchoked.has(id);
      if (unchoked !== holder.unchoked) {
        holder.unchoked = unchoked;
        holder.setChoked(!unchoked);
      }
    }
  }
}
