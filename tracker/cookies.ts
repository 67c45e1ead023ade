/**
 * Stateless anti-spoofing cookies, the idea of BEP 15's connection id
 * without a table: a cookie is an HMAC of the sender's address and a time
 * window, so only a host that receives datagrams at that address can echo it
 * back. See docs/PROTOCOL.md, "Tracker: cookies".
 *
 * @module
 */
import { createHmac, randomBytes } from "node:crypto";

/** Default length of one cookie window. A cookie is valid for two windows. */
export const COOKIE_WINDOW_MS = 60_000;

/** Bytes of secret key drawn when none is given. */
const SECRET_BYTES = 32;

/** Where a datagram came from, as the socket reports it. */
export interface DatagramSource {
  /** Source IP address text ("127.0.0.1", "::1"). */
  hostname: string;
  /** Source UDP port. */
  port: number;
}

/** Options for {@linkcode CookieJar}. */
export interface CookieJarOptions {
  /**
   * Length of a window in milliseconds. A cookie made in one window is
   * accepted in that window and the next one.
   *
   * @default {60_000}
   */
  windowMs?: number;
  /**
   * HMAC key. Tests pass a fixed one; a tracker draws a random key per start,
   * so a restart invalidates every cookie.
   *
   * @default {32 random bytes}
   */
  secret?: Uint8Array;
}

/**
 * Issues and checks cookies: HMAC-SHA256(secret, ip, port, window) cut to
 * 8 bytes. Holds no per-client state, so a flood of CONNECTs costs no memory.
 *
 * @example
 * ```ts
 * import { CookieJar } from "./cookies.ts";
 * const jar = new CookieJar({ windowMs: 60_000 });
 * const source = { hostname: "127.0.0.1", port: 40000 };
 * const cookie = jar.issue(source, Date.now());
 * jar.verify(cookie, source, Date.now()); // true
 * ```
 */
export class CookieJar {
  readonly #secret: Uint8Array;
  readonly #windowMs: number;

  /** @param options window length and secret */
  constructor(options: CookieJarOptions = {}) {
    const windowMs = options.windowMs ?? COOKIE_WINDOW_MS;
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new RangeError(
        `Cannot create cookie jar: window of ${windowMs} ms, expected more than 0`,
      );
    }
    this.#windowMs = windowMs;
    this.#secret = options.secret ?? new Uint8Array(randomBytes(SECRET_BYTES));
  }

  /** Length of one window in milliseconds. */
  get windowMs(): number {
    return this.#windowMs;
  }

  /**
   * Makes the cookie for a source in the window that contains `nowMs`.
   *
   * @param source the datagram's source address
   * @param nowMs the current time
   * @returns an unsigned 64-bit cookie
   */
  issue(source: DatagramSource, nowMs: number): bigint {
    return this.#cookieFor(source, Math.floor(nowMs / this.#windowMs));
  }

  /**
   * Checks a cookie against the current and the previous window.
   *
   * @param cookie the value the datagram carried
   * @param source the datagram's source address
   * @param nowMs the current time
   * @returns true when the cookie was issued to this source recently
   */
  verify(cookie: bigint, source: DatagramSource, nowMs: number): boolean {
    const window = Math.floor(nowMs / this.#windowMs);
    return cookie === this.#cookieFor(source, window) ||
      cookie === this.#cookieFor(source, window - 1);
  }

  #cookieFor(source: DatagramSource, window: number): bigint {
    const digest = createHmac("sha256", this.#secret)
      .update(`${source.hostname}|${source.port}|${window}`)
      .digest();
    return digest.readBigUInt64BE(0);
  }
}
