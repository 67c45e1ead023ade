/**
 * A token bucket for byte rates (`--max-upload`, `--max-download`). Pure:
 * the clock is injected.
 *
 * @module
 */

/**
 * Allows `ratePerSecond` bytes per second on average, with bursts up to
 * `burst` bytes.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * const bucket = new TokenBucket(1_000_000, { burst: 2_000_000 });
 * bucket.tryTake(500_000); // true
 * ```
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #lastMs: number;

  /**
   * @param ratePerSecond bytes per second
   * @param options burst size and clock
   */
  constructor(
    ratePerSecond: number,
    options: { burst?: number; now?: () => number } = {},
  ) {
    if (!(ratePerSecond > 0)) {
      throw new RangeError(
        `Cannot limit rate: ${ratePerSecond} is not above 0`,
      );
    }
    this.#rate = ratePerSecond;
    this.#burst = options.burst ?? ratePerSecond;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.#burst;
    this.#lastMs = this.#now();
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#lastMs) * this.#rate) / 1000,
    );
    this.#lastMs = now;
  }

  /** Takes `bytes` if the bucket holds them now. */
  tryTake(bytes: number): boolean {
    this.#refill();
    if (this.#tokens < Math.min(bytes, this.#burst)) return false;
    this.#tokens -= bytes;
    return true;
  }

  /** Milliseconds until `bytes` can be taken. */
  waitMs(bytes: number): number {
    this.#refill();
    const missing = Math.min(bytes, this.#burst) - this.#tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.#rate);
  }

  /** Takes `bytes`, waiting as long as needed. */
  async take(bytes: number): Promise<void> {
    for (let wait = this.waitMs(bytes); wait > 0; wait = this.waitMs(bytes)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.#tokens -= bytes;
  }
}
