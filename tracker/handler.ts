/**
 * The tracker's request handler: bytes, source address and time in, reply
 * bytes (or nothing) out. No socket in scope, so tests drive it with fake
 * sources and a fake clock. Speaks Shoal's messages and, on the same port,
 * BEP 15 for BitTorrent clients, told apart by a datagram's first byte.
 * See docs/PROTOCOL.md, "Tracker" and "BitTorrent clients (BEP 15)".
 *
 * @module
 */
import {
  ANNOUNCE_PEER_ID_AT,
  announcePort,
  BEP15_EVENTS,
  BEP15_INFOHASH_AT,
  BEP15_INFOHASH_BYTES,
  BEP15_PEER_ID_AT,
  BEP15_PEER_ID_BYTES,
  bep15ConnectionHigh,
  bep15ConnectionLow,
  bep15EventCode,
  bep15NumWant,
  bep15Port,
  type Bep15RequestKind,
  bep15ScrapeCount,
  bep15Seeding,
  bep15Txid,
  checkBep15Request,
  cookieHigh,
  cookieLow,
  createMessage,
  datagramDialect,
  datagramTxid,
  DEFAULT_WANTED_PEERS,
  ErrorCode,
  fastRequestKind,
  FILE_ID_BYTES,
  type FileAnnouncement,
  MAX_DATAGRAM_BYTES,
  MAX_PEERS_PER_LIST,
  type Message,
  type MessageOf,
  parseMessage,
  PEER_ID_BYTES,
  type PeerListFields,
  PeerListPeers,
  ProtocolError,
  registeredFiles,
  REQUEST_FILE_ID_AT,
  requestWanted,
  writeAck,
  writeBep15Announce,
  writeBep15Connect,
  writeBep15Error,
  writeBep15ScrapeEntry,
  writeBep15ScrapeHeader,
  writePeerList,
  writeReplyCopy,
} from "@shoal/protocol";
import { CookieJar, type DatagramSource } from "./cookies.ts";
import {
  type BitTorrentAnnounce,
  type FileRecord,
  type PeerIdentity,
  type SwarmCounts,
  SwarmRegistry,
} from "./registry/mod.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate_limit.ts";

export type { DatagramSource } from "./cookies.ts";

/** Text of a BAD_COOKIE error: short, so the reply is smaller than any request. */
const BAD_COOKIE_TEXT = "cookie";
/**
 * Text of a BEP 15 error for a wrong or expired connection id: 29 bytes in
 * all, smaller than the smallest announce (98) or scrape (36).
 */
const BAD_CONNECTION_ID_TEXT = "Connection id expired";

/**
 * Steps of registry work (files scanned, holdings visited) that cost one
 * rate-limit token more, on top of the token every datagram costs: about
 * what handling one small datagram costs. A LIST query over 100,000 files
 * costs 400 tokens, a whole burst, so one address can make the tracker
 * scan the table at most about twice a second.
 */
export const WORK_STEPS_PER_TOKEN = 250;

/** Most files an id prefix query returns: more than one CANDIDATES holds. */
const ID_PREFIX_MATCHES = 32;

/** A pass of the sweep is spread over this many steps. */
const SWEEP_STEPS = 16;
/** Each sweep step looks at this many peer slots at least. */
const MIN_SWEEP_SLOTS = 4096;

/** No peers, for an announce reply about a file no longer tracked. */
const NO_PEERS = new PeerListPeers(0);

/** An ERROR reply with txid 0, to copy with the command's txid. */
function errorTemplate(code: ErrorCode, text: string): Uint8Array {
  return createMessage({ kind: "error", txid: 0, code, text });
}

const BAD_COOKIE_REPLY = errorTemplate(ErrorCode.BAD_COOKIE, BAD_COOKIE_TEXT);
const BUSY_REPLY = errorTemplate(ErrorCode.BUSY, "Tracker is full: try later");
const UNKNOWN_PEER_REPLY = errorTemplate(
  ErrorCode.UNKNOWN_PEER,
  "Unknown peer: register again",
);
const UNKNOWN_FILE_REPLY = errorTemplate(
  ErrorCode.UNKNOWN_FILE,
  "No such file",
);

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

/** The BEP 15 requests the tracker counts. */
export const BITTORRENT_REQUEST_TYPES = [
  "connect",
  "announce",
  "scrape",
] as const satisfies readonly Bep15RequestKind[];

/** One of {@linkcode BITTORRENT_REQUEST_TYPES}. */
export type BitTorrentRequestType = typeof BITTORRENT_REQUEST_TYPES[number];

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
  /** Shoal datagrams that decoded, by message kind. */
  requests: Record<RequestType, number>;
  /** BEP 15 datagrams that decoded, by request kind. */
  bittorrent: Record<BitTorrentRequestType, number>;
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
  // IPv4 text has no colon: the common case costs one scan, no copy.
  if (hostname.indexOf(":") < 0) return hostname;
  const lower = hostname.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  return hostname;
}

/**
 * Maps one datagram to one reply. Malformed datagrams are dropped and
 * counted; anything other than a {@linkcode ProtocolError} is a bug and is
 * thrown.
 *
 * REQUEST by id and KEEPALIVE, nearly all of a busy tracker's traffic, are
 * decoded in place and answered from one reply buffer, with no allocation
 * beyond views of the datagram's ids.
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
  readonly #sweepStepMs: number;
  readonly #intervalSeconds: number;
  readonly #bittorrentIntervalSeconds: number;
  #lastSweepMs = -Infinity;
  /** Where hot replies are written; {@linkcode TrackerHandler.respond} returns views of it. */
  readonly #out = new Uint8Array(MAX_DATAGRAM_BYTES);
  /** The PEER_LIST being written, reused by every reply. */
  readonly #list: PeerListFields = {
    txid: 0,
    fileId: new Uint8Array(FILE_ID_BYTES),
    size: 0,
    chunkCount: 0,
    name: "",
    peers: new PeerListPeers(0),
  };
  readonly #stats: HandlerStats = {
    received: 0,
    malformed: 0,
    ignored: 0,
    rateLimited: 0,
    badCookie: 0,
    replies: 0,
  };
  readonly #requests = zeroes(REQUEST_TYPES);
  readonly #bittorrentRequests = zeroes(BITTORRENT_REQUEST_TYPES);
  readonly #drops = zeroes(DROP_REASONS);
  /** The announce handed to the registry, reused by every BEP 15 announce. */
  readonly #announce: BitTorrentAnnounce = {
    host: "",
    port: 0,
    peerId: new Uint8Array(BEP15_PEER_ID_BYTES),
    udpPort: 0,
    infohash: new Uint8Array(BEP15_INFOHASH_BYTES),
    complete: false,
    event: "none",
  };
  /** Reused by every scrape entry. */
  readonly #counts: SwarmCounts = { seeders: 0, leechers: 0, completed: 0 };

  /** @param options registry, cookies, rate limit and sweep interval */
  constructor(options: TrackerHandlerOptions = {}) {
    this.#registry = options.registry ?? new SwarmRegistry();
    this.#cookies = options.cookies ?? new CookieJar();
    this.#limiter = options.rateLimit === false
      ? null
      : new RateLimiter(options.rateLimit);
    const ttlMs = this.#registry.peerTtlMs;
    const sweepIntervalMs = options.sweepIntervalMs ??
      Math.min(5_000, ttlMs / 4);
    // One pass over every peer per interval, in steps, so no single
    // datagram waits for a sweep of the whole registry.
    this.#sweepStepMs = sweepIntervalMs / SWEEP_STEPS;
    // Two keepalives may be lost before a peer expires.
    this.#intervalSeconds = Math.max(1, Math.floor(ttlMs / 3 / 1000));
    // BitTorrent clients are told two thirds of their TTL, as opentracker
    // (30 minutes of 45).
    this.#bittorrentIntervalSeconds = Math.max(
      1,
      Math.floor(this.#registry.bittorrentTtlMs * 2 / 3 / 1000),
    );
  }

  /** The registry this handler serves. */
  get registry(): SwarmRegistry {
    return this.#registry;
  }

  /** The keepalive interval every ACK carries, in seconds. */
  get intervalSeconds(): number {
    return this.#intervalSeconds;
  }

  /** The announce interval every BEP 15 announce reply carries, in seconds. */
  get bittorrentIntervalSeconds(): number {
    return this.#bittorrentIntervalSeconds;
  }

  /** A snapshot of the counters. */
  get stats(): HandlerStats {
    return { ...this.#stats };
  }

  /** A snapshot of the counters by request type and by drop reason. */
  get counters(): HandlerCounters {
    return {
      requests: { ...this.#requests },
      bittorrent: { ...this.#bittorrentRequests },
      drops: { ...this.#drops },
    };
  }

  /**
   * Handles one datagram.
   *
   * @param bytes the datagram, untrusted
   * @param source where it came from, as the socket reports it
   * @param nowMs the current time
   * @returns the reply to send back to `source` (a buffer of its own), or
   *   null for none
   */
  handle(
    bytes: Uint8Array,
    source: DatagramSource,
    nowMs: number,
  ): Uint8Array | null {
    const reply = this.respond(bytes, source, nowMs);
    return reply === null ? null : reply.slice();
  }

  /**
   * {@linkcode TrackerHandler.handle} without the copy: the reply may be a
   * view of a buffer the next call overwrites, so send it (or copy it)
   * before handling another datagram.
   *
   * @param bytes the datagram, untrusted
   * @param source where it came from, as the socket reports it
   * @param nowMs the current time
   * @returns the reply to send back to `source`, or null for none
   */
  respond(
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
    const work = this.#registry.work;
    const reply = this.#dispatch(bytes, host, source.port, nowMs);
    // Requests that cost more than a datagram pay for it from the same
    // bucket: the limit counts work, not datagrams.
    const extra = (this.#registry.work - work) / WORK_STEPS_PER_TOKEN;
    if (this.#limiter && extra >= 1) this.#limiter.charge(host, extra, nowMs);
    return reply;
  }

  #dispatch(
    bytes: Uint8Array,
    host: string,
    port: number,
    nowMs: number,
  ): Uint8Array | null {
    const length = bytes.byteLength;
    if (datagramDialect(bytes) === "bep15") {
      return this.#bittorrent(bytes, host, port, nowMs);
    }
    // The hot requests are read in place (protocol/tracker_fast.ts); the
    // rest, and a REGISTER the in-place reader refuses, go to parseMessage.
    switch (fastRequestKind(bytes)) {
      case "request":
        this.#requests.request++;
        return this.#replied(this.#fastRequest(bytes, host, port, nowMs));
      case "keepalive":
        this.#requests.keepalive++;
        return this.#replied(this.#fastKeepalive(bytes, host, port, nowMs));
      case "register": {
        const files = registeredFiles(bytes);
        if (files === null) break;
        this.#requests.register++;
        return this.#replied(
          this.#fastRegister(bytes, files, host, port, nowMs),
        );
      }
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
    this.#maybeSweep(nowMs);
    return this.#replied(
      this.#answer(message, { hostname: host, port }, {
        requestBytes: length,
        nowMs,
      }),
    );
  }

  /**
   * A BEP 15 datagram: connect answered with a connection id (16 bytes for
   * 16), announce and scrape only with a valid one, read in place.
   */
  #bittorrent(
    bytes: Uint8Array,
    host: string,
    udpPort: number,
    nowMs: number,
  ): Uint8Array | null {
    let kind: Bep15RequestKind;
    try {
      kind = checkBep15Request(bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#stats.malformed++;
      this.#drops.malformed++;
      return null;
    }
    this.#bittorrentRequests[kind]++;
    this.#maybeSweep(nowMs);
    const txid = bep15Txid(bytes);
    const out = this.#out;
    if (kind === "connect") {
      const id = this.#cookies.issueConnectionId(
        { hostname: host, port: udpPort },
        nowMs,
      );
      return this.#replied(out.subarray(0, writeBep15Connect(out, txid, id)));
    }
    const valid = this.#cookies.verifyConnectionId(
      bep15ConnectionHigh(bytes),
      bep15ConnectionLow(bytes),
      host,
      udpPort,
      nowMs,
    );
    if (!valid) {
      this.#stats.badCookie++;
      this.#drops.bad_cookie++;
      const length = writeBep15Error(out, txid, BAD_CONNECTION_ID_TEXT);
      // An unproven address never gets more bytes than it sent.
      return length > bytes.byteLength
        ? null
        : this.#replied(out.subarray(0, length));
    }
    return this.#replied(
      kind === "scrape"
        ? this.#scrape(bytes, txid)
        : this.#bittorrentAnnounce(bytes, txid, host, udpPort, nowMs),
    );
  }

  #bittorrentAnnounce(
    bytes: Uint8Array,
    txid: number,
    host: string,
    udpPort: number,
    nowMs: number,
  ): Uint8Array {
    const out = this.#out;
    const port = bep15Port(bytes);
    if (port === 0) {
      return out.subarray(
        0,
        writeBep15Error(out, txid, "Cannot announce: TCP port 0"),
      );
    }
    const infohash = bytes.subarray(
      BEP15_INFOHASH_AT,
      BEP15_INFOHASH_AT + BEP15_INFOHASH_BYTES,
    );
    const announce = this.#announce;
    announce.host = host;
    announce.port = port;
    announce.peerId = bytes.subarray(
      BEP15_PEER_ID_AT,
      BEP15_PEER_ID_AT + BEP15_PEER_ID_BYTES,
    );
    announce.udpPort = udpPort;
    announce.infohash = infohash;
    announce.complete = bep15Seeding(bytes);
    announce.event = BEP15_EVENTS[bep15EventCode(bytes)]!;
    if (this.#registry.announce(announce, nowMs) === "busy") {
      return out.subarray(
        0,
        writeBep15Error(out, txid, "Tracker is full: try later"),
      );
    }
    const family = host.includes(":") ? 6 : 4;
    const file = this.#registry.fileByInfohash(infohash);
    if (!file) {
      // Stopped, and it was the file's last holder.
      return out.subarray(
        0,
        writeBep15Announce(out, {
          txid,
          intervalSeconds: this.#bittorrentIntervalSeconds,
          leechers: 0,
          seeders: 0,
          peers: NO_PEERS,
          family,
        }),
      );
    }
    const numWant = bep15NumWant(bytes);
    const wanted = announce.event === "stopped"
      ? 0
      : numWant < 0
      ? DEFAULT_WANTED_PEERS
      : Math.min(numWant, MAX_PEERS_PER_LIST);
    const pick = this.#registry.pick(file, {
      wanted,
      requesterHost: host,
      requesterUdpPort: udpPort,
      nowMs,
      format: "bep15",
    });
    return out.subarray(
      0,
      writeBep15Announce(out, {
        txid,
        intervalSeconds: this.#bittorrentIntervalSeconds,
        leechers: file.holderCount - file.seeders,
        seeders: file.seeders,
        peers: pick.peers,
        family,
      }),
    );
  }

  /** A scrape reply: 12 bytes per infohash for the request's 20. */
  #scrape(bytes: Uint8Array, txid: number): Uint8Array {
    const out = this.#out;
    const counts = this.#counts;
    let at = writeBep15ScrapeHeader(out, txid);
    const count = bep15ScrapeCount(bytes);
    for (let i = 0; i < count; i++) {
      const from = 16 + i * BEP15_INFOHASH_BYTES;
      const infohash = bytes.subarray(from, from + BEP15_INFOHASH_BYTES);
      if (!this.#registry.swarmCounts(infohash, counts)) {
        counts.seeders = 0;
        counts.leechers = 0;
        counts.completed = 0;
      }
      at = writeBep15ScrapeEntry(out, at, counts);
    }
    return out.subarray(0, at);
  }

  #replied(reply: Uint8Array | null): Uint8Array | null {
    if (reply) this.#stats.replies++;
    return reply;
  }

  #maybeSweep(nowMs: number): void {
    if (nowMs - this.#lastSweepMs < this.#sweepStepMs) return;
    this.#lastSweepMs = nowMs;
    const slots = this.#registry.peerSlots;
    this.#registry.sweepSome(
      nowMs,
      Math.max(MIN_SWEEP_SLOTS, Math.ceil(slots / SWEEP_STEPS)),
    );
  }

  /** Checks the cookie of a request read in place. */
  #cookieOk(
    bytes: Uint8Array,
    host: string,
    port: number,
    nowMs: number,
  ): boolean {
    return this.#cookies.verifyHalves(
      cookieHigh(bytes),
      cookieLow(bytes),
      host,
      port,
      nowMs,
    );
  }

  /** The BAD_COOKIE reply, or null when it would be larger than the request. */
  #badCookie(txid: number, requestBytes: number): Uint8Array | null {
    this.#stats.badCookie++;
    this.#drops.bad_cookie++;
    // An unproven address never gets more bytes than it sent.
    if (BAD_COOKIE_REPLY.byteLength > requestBytes) return null;
    return this.#template(BAD_COOKIE_REPLY, txid);
  }

  #fastRequest(
    bytes: Uint8Array,
    host: string,
    udpPort: number,
    nowMs: number,
  ): Uint8Array | null {
    const txid = datagramTxid(bytes);
    this.#maybeSweep(nowMs);
    if (!this.#cookieOk(bytes, host, udpPort, nowMs)) {
      return this.#badCookie(txid, bytes.byteLength);
    }
    const fileId = bytes.subarray(
      REQUEST_FILE_ID_AT,
      REQUEST_FILE_ID_AT + FILE_ID_BYTES,
    );
    const file = this.#registry.fileById(fileId);
    if (!file) return this.#template(UNKNOWN_FILE_REPLY, txid);
    return this.#peerList(
      txid,
      file,
      fileId,
      requestWanted(bytes),
      host,
      udpPort,
      nowMs,
    );
  }

  #fastRegister(
    bytes: Uint8Array,
    files: FileAnnouncement[],
    host: string,
    udpPort: number,
    nowMs: number,
  ): Uint8Array | null {
    const txid = datagramTxid(bytes);
    this.#maybeSweep(nowMs);
    if (!this.#cookieOk(bytes, host, udpPort, nowMs)) {
      return this.#badCookie(txid, bytes.byteLength);
    }
    const port = announcePort(bytes);
    if (port === 0) {
      return this.#error(
        txid,
        ErrorCode.BAD_REQUEST,
        "Cannot register: TCP port 0",
      );
    }
    const result = this.#registry.register(
      {
        host,
        port,
        peerId: bytes.subarray(
          ANNOUNCE_PEER_ID_AT,
          ANNOUNCE_PEER_ID_AT + PEER_ID_BYTES,
        ),
        udpPort,
      },
      files,
      nowMs,
    );
    return result === "ok" ? this.#ack(txid) : this.#busy(txid);
  }

  #fastKeepalive(
    bytes: Uint8Array,
    host: string,
    udpPort: number,
    nowMs: number,
  ): Uint8Array | null {
    const txid = datagramTxid(bytes);
    this.#maybeSweep(nowMs);
    if (!this.#cookieOk(bytes, host, udpPort, nowMs)) {
      return this.#badCookie(txid, bytes.byteLength);
    }
    const result = this.#registry.keepalive(
      {
        host,
        port: announcePort(bytes),
        peerId: bytes.subarray(
          ANNOUNCE_PEER_ID_AT,
          ANNOUNCE_PEER_ID_AT + PEER_ID_BYTES,
        ),
        udpPort,
      },
      nowMs,
    );
    return result === "ok" ? this.#ack(txid) : this.#unknownPeer(txid);
  }

  /**
   * Picks peers from the registry and writes them as a PEER_LIST, under
   * `fileId` (the id asked for) or, when null, the id of the claim listed.
   */
  #peerList(
    txid: number,
    file: FileRecord,
    fileId: Uint8Array | null,
    wantedField: number,
    host: string,
    udpPort: number,
    nowMs: number,
    name?: string,
  ): Uint8Array {
    const wanted = Math.min(
      wantedField === 0 ? DEFAULT_WANTED_PEERS : wantedField,
      MAX_PEERS_PER_LIST,
    );
    const pick = this.#registry.pick(file, {
      wanted,
      requesterHost: host,
      requesterUdpPort: udpPort,
      nowMs,
      name,
    });
    const list = this.#list;
    list.txid = txid;
    list.fileId = fileId ?? pick.id;
    list.size = pick.size;
    list.chunkCount = pick.chunkCount;
    list.name = pick.name;
    list.peers = pick.peers;
    return this.#out.subarray(0, writePeerList(this.#out, list));
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
          return this.#badCookie(message.txid, context.requestBytes);
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
        // A file only BitTorrent clients hold: its chunk count is unknown.
        if (!file || file.truncated) return this.#unknownFile(txid);
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
    } else if ("idPrefix" in query) {
      const found = this.#registry.filesByIdPrefix(
        query.idPrefix,
        ID_PREFIX_MATCHES,
      );
      if (found.length > 1) {
        return createMessage({
          kind: "candidates",
          txid,
          files: this.#registry.candidates(found),
        });
      }
      file = found[0];
    } else {
      const named = this.#registry.filesByName(query.name);
      if (named.size > 1) {
        return createMessage({
          kind: "candidates",
          txid,
          files: this.#registry.candidates(named, query.name),
        });
      }
      for (const only of named) file = only;
    }
    if (!file) return this.#unknownFile(txid);
    return this.#peerList(
      txid,
      file,
      "id" in query ? query.id : null,
      message.wanted,
      source.hostname,
      source.port,
      nowMs,
      "name" in query ? query.name : undefined,
    );
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

  /** Copies a reply template into the reply buffer with this txid. */
  #template(template: Uint8Array, txid: number): Uint8Array {
    return this.#out.subarray(0, writeReplyCopy(this.#out, template, txid));
  }

  #ack(txid: number): Uint8Array {
    return this.#out.subarray(
      0,
      writeAck(this.#out, txid, this.#intervalSeconds),
    );
  }

  #error(txid: number, code: ErrorCode, text: string): Uint8Array {
    return createMessage({ kind: "error", txid, code, text });
  }

  #busy(txid: number): Uint8Array {
    return this.#template(BUSY_REPLY, txid);
  }

  #unknownPeer(txid: number): Uint8Array {
    return this.#template(UNKNOWN_PEER_REPLY, txid);
  }

  #unknownFile(txid: number): Uint8Array {
    return this.#template(UNKNOWN_FILE_REPLY, txid);
  }
}
