/**
 * A token bucket per source IP, in a map of bounded size. Clock injected.
 * A datagram costs one token; work beyond that is charged on top
 * ({@linkcode RateLimiter.charge}), so the limit bounds what an address
 * costs, not how many datagrams it sends.
 *
 * @module
 */

/** Options for {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Datagrams per second one IP may send on average.
   *
   * @default {200}
   */
  ratePerSecond?: number;
  /**
   * Datagrams one IP may send in a burst.
   *
   * @default {400}
   */
  burst?: number;
  /**
   * Most IPs tracked at once. When full, buckets that have refilled are
   * dropped; if none has, the oldest entries go.
   *
   * @default {10_000}
   */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Decides whether a datagram from an IP is processed or dropped.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limit.ts";
 * const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1 });
 * limiter.allow("127.0.0.1", 0); // true
 * limiter.allow("127.0.0.1", 0); // false
 * ```
 */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #buckets = new Map<string, Bucket>();

  /** @param options rate, burst and map size */
  constructor(options: RateLimiterOptions = {}) {
    const rate = options.ratePerSecond ?? 200;
    const burst = options.burst ?? 400;
    if (!(rate > 0) || !(burst >= 1)) {
      throw new RangeError(
        `Cannot create rate limiter: rate ${rate}/s and burst ${burst}, expected rate above 0 and burst of at least 1`,
      );
    }
    this.#ratePerMs = rate / 1000;
    this.#burst = burst;
    this.#maxSources = options.maxSources ?? 10_000;
  }

  /**
   * Takes one token from the IP's bucket.
   *
   * @param ip the source IP
   * @param nowMs the current time
   * @returns true when the datagram may be processed
   */
  allow(ip: string, nowMs: number): boolean {
    const bucket = this.#refill(ip, nowMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /**
   * Takes `tokens` more from the IP's bucket, for a request that cost more
   * than one datagram's work. The bucket may go below zero, down to minus
   * the burst: the IP's next datagrams are dropped until it refills.
   *
   * @param ip the source IP
   * @param tokens how many tokens the extra work is worth
   * @param nowMs the current time
   */
  charge(ip: string, tokens: number, nowMs: number): void {
    if (!(tokens > 0)) return;
    const bucket = this.#refill(ip, nowMs);
    bucket.tokens = Math.max(-this.#burst, bucket.tokens - tokens);
  }

  /** The IP's bucket, refilled up to now (a new full one if it had none). */
  #refill(ip: string, nowMs: number): Bucket {
    let bucket = this.#buckets.get(ip);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxSources) this.#evict(nowMs);
      bucket = { tokens: this.#burst, updatedMs: nowMs };
      this.#buckets.set(ip, bucket);
      return bucket;
    }
    const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
    bucket.tokens = Math.min(
      this.#burst,
      bucket.tokens + elapsedMs * this.#ratePerMs,
    );
    bucket.updatedMs = nowMs;
    return bucket;
  }

  #evict(nowMs: number): void {
    const fullAfterMs = this.#burst / this.#ratePerMs;
    for (const [ip, bucket] of this.#buckets) {
      if (nowMs - bucket.updatedMs >= fullAfterMs) this.#buckets.delete(ip);
    }
    // Still full: drop the oldest quarter (Map keeps insertion order).
    let excess = this.#buckets.size - Math.floor(this.#maxSources * 0.75);
    for (const ip of this.#buckets.keys()) {
      if (excess-- <= 0) break;
      this.#buckets.delete(ip);
    }
  }
}
