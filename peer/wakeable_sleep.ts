/**
 * The wait between an announcer's rounds: it ends when its time is up, or
 * earlier when there is news (a file added or completed) or on stop.
 *
 * @module
 */

/**
 * One sleep at a time that {@linkcode WakeableSleep.wake} ends early; once
 * stopped, every sleep ends at once.
 *
 * @example
 * ```ts
 * import { WakeableSleep } from "./wakeable_sleep.ts";
 * const nap = new WakeableSleep();
 * const slept = nap.sleep(60_000);
 * nap.wake();
 * await slept; // at once
 * ```
 */
export class WakeableSleep {
  #wake: (() => void) | null = null;
  #stopped = false;

  /**
   * Waits `ms`, or less when woken or stopped.
   *
   * @param ms the longest wait in milliseconds
   * @returns resolves when the wait ends
   */
  sleep(ms: number): Promise<void> {
    // stop() may have come while a reply was on its way: its wake-up found
    // no sleep to end, so this one must not start.
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.();
  }

  /** Ends the current sleep and makes every later one end at once. */
  stop(): void {
    this.#stopped = true;
    this.wake();
  }
}
