/**
 * What `TrackerClient.open` takes, with its defaults, and the
 * check of its ranges.
 *
 * @module
 */
import type { DnsLookup } from "./resolve.ts";
import type { Clock } from "./retry.ts";
import type { OpenTransport } from "./transport.ts";

/** Options for `TrackerClient.open`. */
export interface TrackerClientOptions {
  /** Tracker host: an IP address, "localhost" or a DNS name. */
  host: string;
  /** Tracker UDP port. */
  port: number;
  /**
   * Wait for the first try in milliseconds; each retry waits twice as long.
   *
   * @default {250}
   */
  timeoutMs?: number;
  /**
   * Retries after the first try (4 gives 5 tries: 250+500+1000+2000+4000 ms).
   *
   * @default {4}
   */
  retries?: number;
  /**
   * Renew the cookie when it is older than this.
   *
   * @default {50_000}
   */
  cookieMaxAgeMs?: number;
  /**
   * Clock in milliseconds, for the cookie's age.
   *
   * @default {clock.now}
   */
  now?: () => number;
  /**
   * Time and timers for waits and the cookie's age (tests pass a fake).
   *
   * @default {SYSTEM_CLOCK}
   */
  clock?: Clock;
  /**
   * DNS lookup for a host name (tests pass a fake).
   *
   * @default {Deno.resolveDns}
   */
  resolveDns?: DnsLookup;
  /**
   * Opens the datagram transport to the tracker's IP (tests pass a fake).
   *
   * @default {openUdpTransport}, a UDP socket on an ephemeral port
   */
  openTransport?: OpenTransport;
}

/**
 * Refuses options out of range before anything is opened.
 *
 * @param options the client's options
 * @throws {RangeError} when the port, timeout or retries are out of range
 */
export function checkOptions(options: TrackerClientOptions): void {
  if (
    !Number.isInteger(options.port) || options.port < 1 ||
    options.port > 65_535
  ) {
    throw new RangeError(
      `Cannot open tracker client: port ${options.port}, expected 1 to 65535`,
    );
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
    throw new RangeError(
      `Cannot open tracker client: timeout of ${options.timeoutMs} ms, expected more than 0`,
    );
  }
  if (
    options.retries !== undefined &&
    !(Number.isInteger(options.retries) && options.retries >= 0)
  ) {
    throw new RangeError(
      `Cannot open tracker client: ${options.retries} retries, expected a whole number of at least 0`,
    );
  }
}
