/**
 * Stateless anti-spoofing cookies, the idea of BEP 15's connection id
 * without a table: a cookie is a keyed MAC of the sender's address and a
 * time window, so only a host that receives datagrams at that address can
 * echo it back. See docs/PROTOCOL.md, "Tracker: cookies".
 *
 * A BEP 15 connection id is the same cookie with its top bit set (see
 * {@linkcode CookieJar.issueConnectionId}): one key, the same windows.
 *
 * The MAC is SipHash-2-4 (64-bit output, 128-bit key) in plain JS, keyed per
 * window with HMAC-SHA256(secret, window). The HMAC runs once per window,
 * not per datagram: every command carries a cookie, and `node:crypto`'s HMAC
 * with its Buffer allocations cost a quarter of the tracker's CPU.
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
   * Secret the window keys derive from. Tests pass a fixed one; a tracker
   * draws a random one per start, so a restart invalidates every cookie.
   *
   * @default {32 random bytes}
   */
  secret?: Uint8Array;
}

/** SipHash state v0..v3 as (high, low) 32-bit halves: [v0h, v0l, v1h, ...]. */
const state = new Uint32Array(8);

/** (a += b) on 64-bit halves at state indexes a and b. */
function add(a: number, b: number): void {
  const lo = state[a + 1]! + state[b + 1]!;
  state[a] = state[a]! + state[b]! + (lo > 0xffff_ffff ? 1 : 0);
  state[a + 1] = lo;
}

/** Rotates the 64-bit value at state index i left by n (0 < n < 32). */
function rotl(i: number, n: number): void {
  const hi = state[i]!;
  const lo = state[i + 1]!;
  state[i] = (hi << n) | (lo >>> (32 - n));
  state[i + 1] = (lo << n) | (hi >>> (32 - n));
}

/** Swaps the halves of the 64-bit value at state index i (rotate by 32). */
function swap(i: number): void {
  const hi = state[i]!;
  state[i] = state[i + 1]!;
  state[i + 1] = hi;
}

/** (a ^= b) on 64-bit halves. */
function xor(a: number, b: number): void {
  state[a] = state[a]! ^ state[b]!;
  state[a + 1] = state[a + 1]! ^ state[b + 1]!;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  swap(V0);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  swap(V2);
}

/** Mixes one little-endian 64-bit message word (high, low) in. */
function compress(hi: number, lo: number): void {
  state[V3] = state[V3]! ^ hi;
  state[V3 + 1] = state[V3 + 1]! ^ lo;
  sipRound();
  sipRound();
  state[V0] = state[V0]! ^ hi;
  state[V0 + 1] = state[V0 + 1]! ^ lo;
}

/**
 * SipHash-2-4 of the bytes `hostname` (one byte per character: the socket's
 * address text is ASCII) followed by `port` as two big-endian bytes.
 * Leaves the 64-bit result in state[0] (high) and state[1] (low).
 */
function sipHash(key: Uint32Array, hostname: string, port: number): void {
  // key = [k0 high, k0 low, k1 high, k1 low]
  state[V0] = key[0]! ^ 0x736f6d65;
  state[V0 + 1] = key[1]! ^ 0x70736575;
  state[V1] = key[2]! ^ 0x646f7261;
  state[V1 + 1] = key[3]! ^ 0x6e646f6d;
  state[V2] = key[0]! ^ 0x6c796765;
  state[V2 + 1] = key[1]! ^ 0x6e657261;
  state[V3] = key[2]! ^ 0x74656462;
  state[V3 + 1] = key[3]! ^ 0x79746573;
  const length = hostname.length + 2;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < length; i++) {
    const byte = i < length - 2
      ? hostname.charCodeAt(i) & 0xff
      : i === length - 2
      ? (port >>> 8) & 0xff
      : port & 0xff;
    const at = i & 7;
    if (at < 4) lo |= byte << (at * 8);
    else hi |= byte << ((at - 4) * 8);
    if (at === 7) {
      compress(hi >>> 0, lo >>> 0);
      lo = 0;
      hi = 0;
    }
  }
  hi |= (length & 0xff) << 24;
  compress(hi >>> 0, lo >>> 0);
  state[V2 + 1] = state[V2 + 1]! ^ 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  state[0] = state[V0]! ^ state[V1]! ^ state[V2]! ^ state[V3]!;
  state[1] = state[V0 + 1]! ^ state[V1 + 1]! ^ state[V2 + 1]! ^
    state[V3 + 1]!;
}

/**
 * Issues and checks cookies: SipHash-2-4 of (ip, port) under a key made per
 * window as HMAC-SHA256(secret, window). Holds no per-client state, so a
 * flood of CONNECTs costs no memory.
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
  /** Keys of the two most recent windows asked for. */
  #keyWindows = [-Infinity, -Infinity];
  #keys = [new Uint32Array(4), new Uint32Array(4)];

  /** @param options window length and secret */
  constructor(options: CookieJarOptions = {}) {
    const windowMs = options.windowMs ?? COOKIE_WINDOW_MS;
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new RangeError(
        `Cannot create cookie jar: window of ${windowMs} ms, expected more than 0`,
      );
    }
    this.#windowMs = windowMs;
    this.#secret = options.secret?.slice() ??
      new Uint8Array(randomBytes(SECRET_BYTES));
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
    this.#mac(
      source.hostname,
      source.port,
      Math.floor(nowMs / this.#windowMs),
    );
    return (BigInt(state[0]!) << 32n) | BigInt(state[1]!);
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
    if (cookie < 0n || cookie >= 1n << 64n) return false;
    return this.verifyHalves(
      Number(cookie >> 32n),
      Number(cookie & 0xffff_ffffn),
      source.hostname,
      source.port,
      nowMs,
    );
  }

  /**
   * {@linkcode CookieJar.verify} for a cookie read as two unsigned 32-bit
   * halves, as the handler reads it from a datagram (no bigint).
   *
   * @param high the cookie's high 32 bits
   * @param low the cookie's low 32 bits
   * @param hostname the source address text
   * @param port the source UDP port
   * @param nowMs the current time
   * @returns true when the cookie was issued to this source recently
   */
  verifyHalves(
    high: number,
    low: number,
    hostname: string,
    port: number,
    nowMs: number,
  ): boolean {
    return this.#verify(high, low, hostname, port, nowMs, 0);
  }

  /**
   * Makes a BEP 15 connection id for a source: its cookie with the top bit
   * set, so a BitTorrent announce or scrape never starts with the byte
   * 0x53 that starts Shoal's messages ("SH"), and the tracker tells the two
   * apart by their first byte. Valid for the same windows as a cookie.
   *
   * @param source the datagram's source address
   * @param nowMs the current time
   * @returns an unsigned 64-bit connection id, at least 2^63
   */
  issueConnectionId(source: DatagramSource, nowMs: number): bigint {
    return this.issue(source, nowMs) | (1n << 63n);
  }

  /**
   * Checks a BEP 15 connection id read as two 32-bit halves, against the
   * current and the previous window.
   *
   * @param high the connection id's high 32 bits
   * @param low the connection id's low 32 bits
   * @param hostname the source address text
   * @param port the source UDP port
   * @param nowMs the current time
   * @returns true when it was issued to this source recently
   */
  verifyConnectionId(
    high: number,
    low: number,
    hostname: string,
    port: number,
    nowMs: number,
  ): boolean {
    if ((high & 0x8000_0000) === 0) return false;
    return this.#verify(high, low, hostname, port, nowMs, 0x8000_0000);
  }

  /**
   * Whether (high, low) is the MAC of the source in the current or the
   * previous window, with the `topBit` given set (0, or 2^31 for a BEP 15
   * connection id).
   */
  #verify(
    high: number,
    low: number,
    hostname: string,
    port: number,
    nowMs: number,
    topBit: number,
  ): boolean {
    const window = Math.floor(nowMs / this.#windowMs);
    this.#mac(hostname, port, window);
    if (((state[0]! | topBit) >>> 0) === high && state[1] === low) return true;
    this.#mac(hostname, port, window - 1);
    return ((state[0]! | topBit) >>> 0) === high && state[1] === low;
  }

  /** Leaves the MAC of (hostname, port) in `window` in state[0..1]. */
  #mac(hostname: string, port: number, window: number): void {
    sipHash(this.#keyFor(window), hostname, port);
  }

  #keyFor(window: number): Uint32Array {
    if (this.#keyWindows[0] === window) return this.#keys[0]!;
    if (this.#keyWindows[1] === window) return this.#keys[1]!;
    // Replace the older of the two.
    const slot = this.#keyWindows[0]! < this.#keyWindows[1]! ? 0 : 1;
    const digest = createHmac("sha256", this.#secret)
      .update(`shoal cookie window ${window}`)
      .digest();
    const key = this.#keys[slot]!;
    for (let i = 0; i < 4; i++) key[i] = digest.readUInt32BE(i * 4);
    this.#keyWindows[slot] = window;
    return key;
  }
}
