/**
 * How long to wait for a reply and how often to ask again: pure policy, and
 * the clock it runs on, injected so tests drive time without sleeping.
 *
 * @module
 */
import { TrackerError } from "./errors.ts";

/** Default wait for the first try; each retry doubles it. */
export const TRACKER_TIMEOUT_MS = 250;
/** Default number of retries after the first try. */
export const TRACKER_RETRIES = 4;

/** The time and timers the client runs on. */
export interface Clock {
  /** Milliseconds since some fixed point, as {@linkcode Date.now}. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer that has not fired; ignores one that has. */
  clearTimeout(handle: unknown): void;
}

/** The real clock: {@linkcode Date.now} and the global timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  // The handle is what setTimeout returned above.
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/**
 * The wait of each try: the first, then twice the last, once per retry.
 *
 * @param firstMs the wait for the first try
 * @param retries tries after the first
 * @returns one wait per try
 * @example
 * ```ts
 * import { tryTimeouts } from "./retry.ts";
 * tryTimeouts(250, 4); // [250, 500, 1000, 2000, 4000]
 * ```
 */
export function tryTimeouts(firstMs: number, retries: number): number[] {
  const waits: number[] = [];
  let waitMs = firstMs;
  for (let attempt = 0; attempt <= retries; attempt++) {
    waits.push(waitMs);
    waitMs *= 2;
  }
  return waits;
}

/**
 * The error when no try got an answer.
 *
 * @param tracker the tracker as "host:port"
 * @param tries how many datagrams were sent
 * @returns a TrackerError "unreachable"
 */
export function unreachable(tracker: string, tries: number): TrackerError {
  return new TrackerError(
    "unreachable",
    `Cannot reach tracker ${tracker}: no answer after ${tries} ${
      tries === 1 ? "try" : "tries"
    }; is it running?`,
  );
}
