/**
 * The tracker's request handler: bytes, source address and time in, reply
 * bytes (or nothing) out. No socket in scope, so tests drive it with fake
 * sources and a fake clock. See docs/PROTOCOL.md, "Tracker".
 *
 * @module
 */
import {
  createMessage,
  DEFAULT_WANTED_PEERS,
  ErrorCode,
  MAX_PEERS_PER_LIST,
  type Message,
  type MessageOf,
  parseMessage,
  ProtocolError,
} from "@shoal/protocol";
import { CookieJar, type DatagramSource } from "./cookies.ts";
import { type PeerIdentity, SwarmRegistry } from "./registry.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate_limit.ts";

export type { DatagramSource } from "./cookies.ts";

/** Text of a BAD_COOKIE error: short, so the reply is smaller than any request. */
const BAD_COOKIE_TEXT = "cookie";

/** Options for {@linkcode TrackerHandler}. */
export interface TrackerHandlerOptions {
  /**
   * The swarm registry (its peer TTL sets the ACK interval).
   *
   * @default {a new SwarmRegistry with a 60 s TTL}
   */
  registry?: SwarmRegistry;
  /**
   * The cookie jar.
   *
   * @default {a new CookieJar with a random secret and 60 s windows}
   */
  cookies?: CookieJar;
  /**
   * Per-IP rate limit, or false for none. Datagrams over the limit are
   * dropped without an answer.
   *
   * @default {{ ratePerSecond: 200, burst: 400 }}
   */
  rateLimit?: RateLimiterOptions | false;
  /**
   * How often the handler sweeps expired peers, in milliseconds of the
   * injected clock.
   *
   * @default {peer TTL / 4, at most 5_000}
   */
  sweepIntervalMs?: number;
}

/** Counters a handler keeps, for logs and tests. */
export interface HandlerStats {
  /** Datagrams handled. */
  received: number;
  /** Datagrams that did not decode (dropped). */
  malformed: number;
  /** Datagrams of a kind the tracker does not serve (dropped). */
  ignored: number;
  /** Datagrams dropped by the rate limit. */
  rateLimited: number;
  /** Commands answered with BAD_COOKIE. */
  badCookie: number;
  /** Replies produced. */
  replies: number;
}

/** The request types the tracker counts; anything else decodes as "other". */
export const REQUEST_TYPES = [
  "connect",
  "register",
  "keepalive",
  "request",
  "get_count",
  "become_seeder",
  "leave",
  "list",
  "other",
] as const;

/** One of {@linkcode REQUEST_TYPES}. */
export type RequestType = typeof REQUEST_TYPES[number];

/**
 * Why a datagram got no useful answer: it did not decode, it came over the
 * rate limit, it is not a tracker request, or its cookie was wrong (refused
 * with BAD_COOKIE, or dropped when that reply would be larger).
 */
export const DROP_REASONS = [
  "malformed",
  "rate_limited",
  "ignored",
  "bad_cookie",
] as const;

/** One of {@linkcode DROP_REASONS}. */
export type DropReason = typeof DROP_REASONS[number];

/** Counters by type, for the statistics endpoints. */
export interface HandlerCounters {
  /** Datagrams that decoded, by message kind. */
  requests: Record<RequestType, number>;
  /** Datagrams dropped or refused, by reason. */
  drops: Record<DropReason, number>;
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

function requestType(kind: string): RequestType {
  return (REQUEST_TYPES as readonly string[]).includes(kind)
    ? kind as RequestType
    : "other";
}

/** The tracker commands a cookie must accompany. */
type CookieCommand = MessageOf<
  | "register"
  | "keepalive"
  | "request"
  | "get_count"
  | "become_seeder"
  | "leave"
  | "list"
>;

/**
 * IPv4-mapped IPv6 sources (a dual-stack socket) become plain IPv4, so one
 * host has one key however it reaches the tracker.
 */
function normalizeHost(hostname: string): string {
  const lower = hostname.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  return hostname;
}

/**
 * Maps one datagram to one reply. Malformed datagrams are dropped and
 * counted; anything other than a {@linkcode ProtocolError} is a bug and is
 * thrown.
 *
 * @example
 * ```ts
 * import { createMessage, parseMessage } from "@shoal/protocol";
 * import { TrackerHandler } from "./handler.ts";
 * const handler = new TrackerHandler();
 * const source = { hostname: "127.0.0.1", port: 40000 };
 * const reply = handler.handle(createMessage({ kind: "connect", txid: 1 }), source, Date.now());
 * parseMessage(reply!).kind; // "cookie"
 * ```
 */
export class TrackerHandler {
  readonly #registry: SwarmRegistry;
  readonly #cookies: CookieJar;
  readonly #limiter: RateLimiter | null;
  readonly #sweepIntervalMs: number;
  readonly #intervalSeconds: number;
  #lastSweepMs = -Infinity;
  readonly #stats: HandlerStats = {
    received: 0,
    malformed: 0,
    ignored: 0,
    rateLimited: 0,
    badCookie: 0,
    replies: 0,
  };
  readonly #requests = zeroes(REQUEST_TYPES);
  readonly #drops = zeroes(DROP_REASONS);

  /** @param options registry, cookies, rate limit and sweep interval */
  constructor(options: TrackerHandlerOptions = {}) {
    this.#registry = options.registry ?? new SwarmRegistry();
    this.#cookies = options.cookies ?? new CookieJar();
    this.#limiter = options.rateLimit === false
      ? null
      : new RateLimiter(options.rateLimit);
    const ttlMs = this.#registry.peerTtlMs;
    this.#sweepIntervalMs = options.sweepIntervalMs ??
      Math.min(5_000, ttlMs / 4);
    // Two keepalives may be lost before a peer expires.
    this.#intervalSeconds = Math.max(1, Math.floor(ttlMs / 3 / 1000));
  }

  /** The registry this handler serves. */
  get registry(): SwarmRegistry {
    return this.#registry;
  }

  /** The keepalive interval every ACK carries, in seconds. */
  get intervalSeconds(): number {
    return this.#intervalSeconds;
  }

  /** A snapshot of the counters. */
  get stats(): HandlerStats {
    return { ...this.#stats };
  }

  /** A snapshot of the counters by request type and by drop reason. */
  get counters(): HandlerCounters {
    return { requests: { ...this.#requests }, drops: { ...this.#drops } };
  }

  /**
   * Handles one datagram.
   *
   * @param bytes the datagram, untrusted
   * @param source where it came from, as the socket reports it
   * @param nowMs the current time
   * @returns the reply to send back to `source`, or null for none
   */
  handle(
    bytes: Uint8Array,
    source: DatagramSource,
    nowMs: number,
  ): Uint8Array | null {
    this.#stats.received++;
    const host = normalizeHost(source.hostname);
    if (this.#limiter && !this.#limiter.allow(host, nowMs)) {
      this.#stats.rateLimited++;
      this.#drops.rate_limited++;
      return null;
    }
    let message: Message;
    try {
      message = parseMessage(bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#stats.malformed++;
      this.#drops.malformed++;
      return null;
    }
    this.#requests[requestType(message.kind)]++;
    if (nowMs - this.#lastSweepMs >= this.#sweepIntervalMs) {
      this.#lastSweepMs = nowMs;
      this.#registry.sweep(nowMs);
    }
    const reply = this.#answer(message, { hostname: host, port: source.port }, {
      requestBytes: bytes.byteLength,
      nowMs,
    });
    if (reply) this.#stats.replies++;
    return reply;
  }

  #answer(
    message: Message,
    source: DatagramSource,
    context: { requestBytes: number; nowMs: number },
  ): Uint8Array | null {
    const { nowMs } = context;
    switch (message.kind) {
      case "connect":
        // CONNECT is padded so that COOKIE is never larger than it.
        return createMessage({
          kind: "cookie",
          txid: message.txid,
          cookie: this.#cookies.issue(source, nowMs),
        });
      case "register":
      case "keepalive":
      case "request":
      case "get_count":
      case "become_seeder":
      case "leave":
      case "list":
        if (!this.#cookies.verify(message.cookie, source, nowMs)) {
          this.#stats.badCookie++;
          this.#drops.bad_cookie++;
          const reply = this.#error(
            message.txid,
            ErrorCode.BAD_COOKIE,
            BAD_COOKIE_TEXT,
          );
          // An unproven address never gets more bytes than it sent.
          return reply.byteLength <= context.requestBytes ? reply : null;
        }
        return this.#command(message, source, nowMs);
      default:
        this.#stats.ignored++;
        this.#drops.ignored++;
        return null;
    }
  }

  #command(
    message: CookieCommand,
    source: DatagramSource,
    nowMs: number,
  ): Uint8Array {
    const { txid } = message;
    switch (message.kind) {
      case "register": {
        if (message.port === 0) {
          return this.#error(
            txid,
            ErrorCode.BAD_REQUEST,
            "Cannot register: TCP port 0",
          );
        }
        const result = this.#registry.register(
          this.#identity(message, source),
          message.files,
          nowMs,
        );
        return result === "ok" ? this.#ack(txid) : this.#busy(txid);
      }
      case "keepalive": {
        const result = this.#registry.keepalive(
          this.#identity(message, source),
          nowMs,
        );
        return result === "ok" ? this.#ack(txid) : this.#unknownPeer(txid);
      }
      case "become_seeder": {
        const result = this.#registry.becomeSeeder(
          this.#identity(message, source),
          message.file,
          nowMs,
        );
        if (result === "ok") return this.#ack(txid);
        return result === "busy" ? this.#busy(txid) : this.#unknownPeer(txid);
      }
      case "leave":
        this.#registry.leave(this.#identity(message, source));
        return this.#ack(txid);
      case "request":
        return this.#request(message, source, nowMs);
      case "get_count": {
        const file = this.#registry.fileById(message.fileId);
        if (!file) return this.#unknownFile(txid);
        return createMessage({
          kind: "chunk_count",
          txid,
          fileId: file.id,
          chunkCount: file.chunkCount,
          size: file.size,
        });
      }
      case "list": {
        const page = this.#registry.list(message.query, message.offset);
        return createMessage({ kind: "file_list", txid, ...page });
      }
    }
  }

  #request(
    message: MessageOf<"request">,
    source: DatagramSource,
    nowMs: number,
  ): Uint8Array {
    const { txid, query } = message;
    let file;
    if ("id" in query) {
      file = this.#registry.fileById(query.id);
    } else {
      const named = this.#registry.filesByName(query.name);
      if (named.size > 1) {
        return createMessage({
          kind: "candidates",
          txid,
          files: this.#registry.candidates(named),
        });
      }
      for (const only of named) file = only;
    }
    if (!file) return this.#unknownFile(txid);
    const wanted = Math.min(
      message.wanted === 0 ? DEFAULT_WANTED_PEERS : message.wanted,
      MAX_PEERS_PER_LIST,
    );
    return createMessage({
      kind: "peer_list",
      txid,
      fileId: file.id,
      name: file.name,
      size: file.size,
      chunkCount: file.chunkCount,
      peers: this.#registry.pickPeers(
        file,
        wanted,
        `${source.hostname}|${source.port}`,
        nowMs,
      ),
    });
  }

  #identity(
    message: { peerId: Uint8Array; port: number },
    source: DatagramSource,
  ): PeerIdentity {
    return {
      host: source.hostname,
      port: message.port,
      peerId: message.peerId,
      udpSource: `${source.hostname}|${source.port}`,
    };
  }

  #ack(txid: number): Uint8Array {
    return createMessage({
      kind: "ack",
      txid,
      intervalSeconds: this.#intervalSeconds,
    });
  }

  #error(txid: number, code: ErrorCode, text: string): Uint8Array {
    return createMessage({ kind: "error", txid, code, text });
  }

  #busy(txid: number): Uint8Array {
    return this.#error(txid, ErrorCode.BUSY, "Tracker is full: try later");
  }

  #unknownPeer(txid: number): Uint8Array {
    return this.#error(
      txid,
      ErrorCode.UNKNOWN_PEER,
      "Unknown peer: register again",
    );
  }

  #unknownFile(txid: number): Uint8Array {
    return this.#error(txid, ErrorCode.UNKNOWN_FILE, "No such file");
  }
}
