/**
 * Bytes per second over a sliding time window, for the download's progress
 * line and for sizing each peer's pipeline.
 *
 * Samples live in a ring of typed arrays, so adding one allocates nothing.
 * Why: a sample per chunk kept as an object for a few seconds outlives the
 * young generation's collections and is promoted, and a long download then
 * fills the old generation with thousands of them per second until the next
 * full collection.
 *
 * @module
 */

const INITIAL_SAMPLES = 64;
/** Enough for 16 GB/s of 512 KiB chunks over 2 s; older samples drop first. */
const DEFAULT_MAX_SAMPLES = 65_536;

/**
 * A sliding-window byte counter. Times are milliseconds from any monotonic
 * clock (`performance.now()`), passed in so tests need no real time.
 *
 * @example
 * ```ts
 * const meter = new RateMeter(2_000);
 * meter.add(0, 512 * 1024);
 * meter.add(500, 512 * 1024);
 * meter.bytes(1_000); // 1048576
 * meter.bytes(2_100); // 524288: the first sample left the window
 * ```
 */
export class RateMeter {
  readonly #windowMs: number;
  readonly #maxSamples: number;
  #times = new Float64Array(INITIAL_SAMPLES);
  #sizes = new Float64Array(INITIAL_SAMPLES);
  /** Ring index of the oldest sample. */
  #head = 0;
  #count = 0;
  #sum = 0;

  /**
   * @param windowMs how far back samples count
   * @param options the most samples kept (the ring grows up to it)
   */
  constructor(windowMs: number, options: { maxSamples?: number } = {}) {
    this.#windowMs = windowMs;
    this.#maxSamples = Math.max(
      INITIAL_SAMPLES,
      options.maxSamples ?? DEFAULT_MAX_SAMPLES,
    );
  }

  /** Records `bytes` received at `nowMs`. */
  add(nowMs: number, bytes: number): void {
    this.#expire(nowMs);
    if (this.#count === this.#times.length) {
      if (this.#times.length < this.#maxSamples) this.#grow();
      else this.#dropOldest();
    }
    const at = (this.#head + this.#count) % this.#times.length;
    this.#times[at] = nowMs;
    this.#sizes[at] = bytes;
    this.#count++;
    this.#sum += bytes;
  }

  /** Bytes recorded in the window that ends at `nowMs`. */
  bytes(nowMs: number): number {
    this.#expire(nowMs);
    return this.#sum;
  }

  /** Samples recorded in the window that ends at `nowMs`. */
  samples(nowMs: number): number {
    this.#expire(nowMs);
    return this.#count;
  }

  /** Time of the oldest sample in the window that ends at `nowMs`; NaN if none. */
  oldestMs(nowMs: number): number {
    this.#expire(nowMs);
    return this.#count > 0 ? this.#times[this.#head]! : NaN;
  }

  #expire(nowMs: number): void {
    while (
      this.#count > 0 && nowMs - this.#times[this.#head]! >= this.#windowMs
    ) {
      this.#dropOldest();
    }
    // Float sums drift as samples come and go; an empty window is exactly 0.
    if (this.#count === 0) this.#sum = 0;
  }

  #dropOldest(): void {
    this.#sum -= this.#sizes[this.#head]!;
    this.#head = (this.#head + 1) % this.#times.length;
    this.#count--;
  }

  #grow(): void {
    const size = Math.min(this.#times.length * 2, this.#maxSamples);
    const times = new Float64Array(size);
    const sizes = new Float64Array(size);
    for (let k = 0; k < this.#count; k++) {
      const from = (this.#head + k) % this.#times.length;
      times[k] = this.#times[from]!;
      sizes[k] = this.#sizes[from]!;
    }
    this.#times = times;
    this.#sizes = sizes;
    this.#head = 0;
  }
}
