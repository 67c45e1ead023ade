/**
 * The connection cookie: kept while young, renewed when old, and renewed
 * then retried when the tracker answers BAD_COOKIE (it restarted, or this
 * peer's address changed).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { ErrorCode, type Message } from "@shoal/protocol";
import { TrackerError } from "./errors.ts";

const logger = getLogger(["shoal", "peer", "tracker"]);

/** A cookie older than this is renewed before use (the tracker accepts 60 to 120 s). */
export const COOKIE_MAX_AGE_MS = 50_000;
/** BAD_COOKIE answers accepted in a row before giving up. */
export const MAX_COOKIE_RENEWALS = 2;

/**
 * The last cookie and when it was asked for.
 *
 * @example
 * ```ts
 * import { CookieJar } from "./cookies.ts";
 * const jar = new CookieJar(50_000, Date.now);
 * await jar.get(() => Promise.resolve(7n)); // 7n, asked for
 * await jar.get(() => Promise.resolve(8n)); // 7n, kept
 * ```
 */
export class CookieJar {
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #cookie: { value: bigint; atMs: number } | null = null;

  /**
   * @param maxAgeMs renew a cookie older than this
   * @param now the clock in milliseconds
   */
  constructor(maxAgeMs: number, now: () => number) {
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  /**
   * The kept cookie while it is young, else a new one from `connect`.
   * Concurrent calls may each connect; cookies are stateless, so that only
   * costs a datagram.
   *
   * @param connect asks the tracker for a cookie
   * @returns the cookie to send
   */
  async get(connect: () => Promise<bigint>): Promise<bigint> {
    const now = this.#now();
    if (this.#cookie && now - this.#cookie.atMs < this.#maxAgeMs) {
      return this.#cookie.value;
    }
    const value = await connect();
    // Aged from the request, so it is never older than the jar thinks.
    this.#cookie = { value, atMs: now };
    return value;
  }

  /**
   * Forgets `value` when the tracker refused it, unless a newer one is kept.
   *
   * @param value the refused cookie
   */
  refused(value: bigint): void {
    if (this.#cookie?.value === value) this.#cookie = null;
  }
}

/** Options for {@linkcode withCookie}. */
export interface WithCookieOptions {
  /** The call, for messages ("register", ...). */
  what: string;
  /** The tracker as "host:port", for messages. */
  tracker: string;
  /** Asks the tracker for a cookie. */
  connect: () => Promise<bigint>;
  /** Sends the command with a cookie and returns the reply. */
  send: (cookie: bigint) => Promise<Message>;
}

/**
 * Sends a command with the jar's cookie; on BAD_COOKIE forgets it, gets a
 * new one and sends again, up to {@linkcode MAX_COOKIE_RENEWALS} times.
 *
 * @param jar the cookie cache
 * @param options the call and how to connect and send
 * @returns the first reply that is not BAD_COOKIE
 * @throws {TrackerError} "rejected" when the tracker keeps refusing
 */
export async function withCookie(
  jar: CookieJar,
  options: WithCookieOptions,
): Promise<Message> {
  for (let renewals = 0;; renewals++) {
    const cookie = await jar.get(options.connect);
    const reply = await options.send(cookie);
    if (reply.kind !== "error" || reply.code !== ErrorCode.BAD_COOKIE) {
      return reply;
    }
    jar.refused(cookie);
    if (renewals >= MAX_COOKIE_RENEWALS) {
      throw new TrackerError(
        "rejected",
        `Cannot ${options.what} at tracker ${options.tracker}: cookie refused ${
          renewals + 1
        } times; is the network changing this peer's address?`,
        { errorCode: reply.code },
      );
    }
    logger.debug("Tracker {tracker} refused the cookie; renewing it", {
      tracker: options.tracker,
    });
  }
}
