/**
 * The web page's gate: which requests may reach the peer's page and API.
 *
 * A page elsewhere must never drive the peer (seed a path, read a file), so
 * every request must:
 * - name this server in its Host header (127.0.0.1, localhost or [::1] with
 *   our port), which defeats DNS rebinding;
 * - carry no Origin, or exactly the page's own origin;
 * - not come from another site's page (Sec-Fetch-Site), except a top-level
 *   navigation to the page itself;
 * - carry the token (kept in the state folder, see token_file.ts): in the `X-Shoal-Token` header, in the cookie
 *   set when the page loads with `?token=`, or (for the page only) in `?token=`.
 *   Requests that change state (any method but GET and HEAD) need the header:
 *   a page elsewhere cannot send it without a CORS preflight we never grant.
 *
 * Token comparisons take the same time whatever the guess.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The header the page's script sends the token in. */
export const TOKEN_HEADER = "x-shoal-token";

/**
 * The cookie outlives the browser session (30 days, renewed at each page
 * load), so a bookmark of the page keeps working; the token it carries is
 * kept in the state folder across restarts.
 */
export const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

/** Host names that reach this server on loopback. */
const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];

/**
 * Makes a fresh random token: 32 bytes, base64url.
 *
 * @returns the token
 * @example
 * ```ts
 * import { newToken } from "./guard.ts";
 * newToken().length; // 43
 * ```
 */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Compares a guess with the token in time that does not depend on where
 * they differ (both are hashed first, so lengths do not leak either).
 *
 * @param guess what the request carried
 * @param token the real token
 * @returns whether they are equal
 * @example
 * ```ts
 * import { tokensEqual } from "./guard.ts";
 * tokensEqual("abc", "abc"); // true
 * ```
 */
export function tokensEqual(guess: string, token: string): boolean {
  const a = createHash("sha256").update(guess).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b) && guess.length === token.length;
}

/** Options for {@linkcode RequestGuard}. */
export interface GuardOptions {
  /** The token. */
  token: string;
  /** The port the page is served on. */
  port: number;
  /**
   * More host names to accept besides the loopback ones (the bound address
   * when it is not loopback).
   *
   * @default {[]}
   */
  extraHosts?: string[];
}

/** What {@linkcode RequestGuard.check} decides. */
export type GuardVerdict =
  | {
    ok: true;
    /** The request carried the token in `?token=` (the page sets the cookie then). */
    viaQuery: boolean;
  }
  | {
    ok: false;
    /** Why, one line for the log and the 403 body. */
    reason: string;
  };

/**
 * Checks requests against the Host, Origin, Sec-Fetch-Site and token rules.
 *
 * @example
 * ```ts
 * import { RequestGuard } from "./guard.ts";
 * const guard = new RequestGuard({ token: "t", port: 8080 });
 * const verdict = guard.check(
 *   new Request("http://127.0.0.1:8080/api/state", { headers: { "x-shoal-token": "t" } }),
 * );
 * verdict.ok; // true
 * ```
 */
export class RequestGuard {
  readonly #token: string;
  readonly #hosts: ReadonlySet<string>;
  /** The cookie's name; it carries the port, as cookies are shared across ports. */
  readonly cookieName: string;

  /** @param options token, port and extra host names */
  constructor(options: GuardOptions) {
    this.#token = options.token;
    this.#hosts = new Set(
      [...LOOPBACK_HOSTS, ...(options.extraHosts ?? [])].map((host) =>
        `${host}:${options.port}`.toLowerCase()
      ),
    );
    this.cookieName = `shoal_token_${options.port}`;
  }

  /**
   * The Set-Cookie value that lets the page's later requests (styles,
   * script, event stream, file links) through.
   *
   * @returns a Set-Cookie header value
   */
  cookie(): string {
    return `${this.cookieName}=${this.#token}; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict`;
  }

  /**
   * Decides whether a request may proceed.
   *
   * @param request the incoming request
   * @returns ok (and how the token came) or the reason to refuse
   */
  check(request: Request): GuardVerdict {
    const host = (request.headers.get("host") ?? "").toLowerCase();
    if (!this.#hosts.has(host)) {
      return { ok: false, reason: `Host "${host}" is not this peer's page` };
    }
    const origin = request.headers.get("origin");
    if (origin !== null && origin.toLowerCase() !== `http://${host}`) {
      return { ok: false, reason: `Origin "${origin}" is not this page` };
    }
    const url = new URL(request.url);
    const site = request.headers.get("sec-fetch-site");
    const navigation = request.method === "GET" && url.pathname === "/" &&
      request.headers.get("sec-fetch-mode") === "navigate";
    if ((site === "cross-site" || site === "same-site") && !navigation) {
      return { ok: false, reason: `request from another site (${site})` };
    }
    const header = request.headers.get(TOKEN_HEADER);
    if (header !== null) {
      return tokensEqual(header, this.#token)
        ? { ok: true, viaQuery: false }
        : { ok: false, reason: "wrong token" };
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return {
        ok: false,
        reason: `no ${TOKEN_HEADER} header on ${request.method}`,
      };
    }
    const query = url.pathname === "/" ? url.searchParams.get("token") : null;
    if (query !== null) {
      return tokensEqual(query, this.#token)
        ? { ok: true, viaQuery: true }
        : { ok: false, reason: "wrong token" };
    }
    const cookie = readCookie(request.headers.get("cookie"), this.cookieName);
    if (cookie !== null && tokensEqual(cookie, this.#token)) {
      return { ok: true, viaQuery: false };
    }
    return { ok: false, reason: "no token" };
  }
}

function readCookie(header: string | null, name: string): string | null {
  if (header === null) return null;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) {
      return part.slice(index + 1).trim();
    }
  }
  return null;
}
