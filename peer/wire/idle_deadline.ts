/**
 * A served connection's idle timeout (both protocols) that costs one timer
 * per timeout, not one per message: a BitTorrent peer sends a request for
 * every 16 KiB block, and clearing and setting a timer for each showed up
 * in a seeder's profile.
 *
 * @module
 */

/**
 * Calls `onIdle` once the deadline passes; {@linkcode IdleDeadline.extend}
 * only moves a number, and the timer, when it fires early, sleeps again
 * until the deadline.
 *
 * @example
 * ```ts
 * import { IdleDeadline } from "./idle_deadline.ts";
 * const idle = new IdleDeadline(10_000, () => console.log("idle"));
 * idle.extend(120_000); // a whole message came
 * idle.clear();
 * ```
 */
export class IdleDeadline {
  readonly #onIdle: () => void;
  readonly #now: () => number;
  #deadlineMs: number;
  /** When the armed timer fires, or null once cleared or fired for good. */
  #firesAtMs: number | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param firstMs time allowed from now (a handshake's)
   * @param onIdle called once, when the deadline has passed
   * @param now the clock (ms)
   */
  constructor(
    firstMs: number,
    onIdle: () => void,
    now: () => number = () => performance.now(),
  ) {
    this.#onIdle = onIdle;
    this.#now = now;
    this.#deadlineMs = now() + firstMs;
    this.#arm(firstMs);
  }

  /** Sets the deadline `ms` from now (later or sooner than before). */
  extend(ms: number): void {
    if (this.#firesAtMs === null) return;
    this.#deadlineMs = this.#now() + ms;
    // Only a sooner deadline needs the timer moved.
    if (this.#deadlineMs < this.#firesAtMs) {
      clearTimeout(this.#timer);
      this.#arm(ms);
    }
  }

  /** Stops the timer; `onIdle` is not called. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firesAtMs = null;
  }

  #arm(ms: number): void {
    this.#firesAtMs = this.#now() + ms;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, ms));
  }

  #fire(): void {
    const left = this.#deadlineMs - this.#now();
    if (left > 0) {
      this.#arm(left);
      return;
    }
    this.#timer = undefined;
    this.#firesAtMs = null;
    this.#onIdle();
  }
}
