/**
 * The peer side of the tracker protocol: the seven calls a peer makes, each
 * a command sent with a cookie and its reply read. Transport, retries and
 * cookies live beside this file. See docs/PROTOCOL.md, "Tracker".
 *
 * @module
 */
import {
  ErrorCode,
  type FileAnnouncement,
  type FileQuery,
  type FileSummary,
  type ListedPeer,
  type Message,
} from "@shoal/protocol";
import { trackerLabel } from "./address.ts";
import { registerBatches } from "./batching.ts";
import { COOKIE_MAX_AGE_MS, CookieJar, withCookie } from "./cookies.ts";
import { unexpectedReply } from "./errors.ts";
import {
  Exchange,
  SHOAL_DIALECT,
  type TrackerCallOptions,
} from "./exchange.ts";
import { checkOptions, type TrackerClientOptions } from "./options.ts";
import { resolveTrackerHost } from "./resolve.ts";
import { SYSTEM_CLOCK, TRACKER_RETRIES, TRACKER_TIMEOUT_MS } from "./retry.ts";
import { openUdpTransport } from "./transport.ts";

/** What {@linkcode TrackerClient.request} returns. */
export type RequestResult =
  | {
    kind: "peers";
    fileId: Uint8Array;
    name: string;
    size: number;
    chunkCount: number;
    peers: ListedPeer[];
  }
  | { kind: "candidates"; files: FileSummary[] }
  | { kind: "unknown" };

/** What {@linkcode TrackerClient.list} returns. */
export interface ListResult {
  /** Every match on the tracker. */
  total: number;
  /** This page, sorted by name. */
  files: FileSummary[];
}

/**
 * A client for one tracker. Calls may run concurrently: each has its own
 * transaction id, and one receive loop hands replies to their callers.
 *
 * @example
 * ```ts
 * import { TrackerClient } from "./client.ts";
 * await using client = await TrackerClient.open({ host: "127.0.0.1", port: 6969 });
 * const peerId = crypto.getRandomValues(new Uint8Array(16));
 * await client.register(peerId, 7000, []);
 * ```
 */
export class TrackerClient {
  readonly #exchange: Exchange;
  readonly #cookies: CookieJar;
  readonly #label: string;

  private constructor(exchange: Exchange, cookies: CookieJar, label: string) {
    this.#exchange = exchange;
    this.#cookies = cookies;
    this.#label = label;
  }

  /**
   * Resolves the tracker's host and binds a UDP socket of its family on an
   * ephemeral port.
   *
   * @param options tracker address, timeouts and retries
   * @returns an open client; call {@linkcode TrackerClient.close} when done
   * @throws {TrackerError} "resolve" when the host has no address
   * @throws {RangeError} when the port, timeout or retries are out of range
   */
  static async open(options: TrackerClientOptions): Promise<TrackerClient> {
    checkOptions(options);
    const ip = await resolveTrackerHost(options.host, options.resolveDns);
    const transport = (options.openTransport ?? openUdpTransport)(ip);
    const clock = options.clock ?? SYSTEM_CLOCK;
    const label = trackerLabel(options.host, options.port);
    const exchange = new Exchange(transport, {
      dialect: SHOAL_DIALECT,
      ip,
      port: options.port,
      label,
      timeoutMs: options.timeoutMs ?? TRACKER_TIMEOUT_MS,
      retries: options.retries ?? TRACKER_RETRIES,
      clock,
    });
    const cookies = new CookieJar(
      options.cookieMaxAgeMs ?? COOKIE_MAX_AGE_MS,
      options.now ?? (() => clock.now()),
    );
    return new TrackerClient(exchange, cookies, label);
  }

  /** The tracker as "host:port", for messages. */
  get address(): string {
    return this.#label;
  }

  /** The local UDP address the client sends from. */
  get localAddr(): Deno.NetAddr {
    return this.#exchange.localAddr as Deno.NetAddr;
  }

  /**
   * Announces files, in as many REGISTER datagrams as they need. Adds to
   * what the tracker already knows of this peer.
   *
   * @param peerId this peer's 16-byte id
   * @param port the TCP port this peer listens on
   * @param files the files it holds
   * @param options signal and timeout overrides
   * @returns the keepalive interval the tracker asks for
   * @throws {TrackerError} when the tracker does not answer or refuses
   */
  async register(
    peerId: Uint8Array,
    port: number,
    files: readonly FileAnnouncement[],
    options: TrackerCallOptions = {},
  ): Promise<{ intervalSeconds: number }> {
    let intervalSeconds = 0;
    for (const batch of registerBatches(files)) {
      const reply = await this.#call("register", options, (txid, cookie) => ({
        kind: "register",
        txid,
        cookie,
        peerId,
        port,
        files: batch,
      }));
      if (reply.kind !== "ack") throw this.#unexpected("register", reply);
      intervalSeconds = reply.intervalSeconds;
    }
    return { intervalSeconds };
  }

  /**
   * Tells the tracker this peer is still here.
   *
   * @param peerId this peer's id
   * @param port its TCP port
   * @param options signal and timeout overrides
   * @returns "ok", or "unknown_peer" when the peer must register again
   * @throws {TrackerError} when the tracker does not answer
   */
  async keepalive(
    peerId: Uint8Array,
    port: number,
    options: TrackerCallOptions = {},
  ): Promise<"ok" | "unknown_peer"> {
    const reply = await this.#call("keep alive", options, (txid, cookie) => ({
      kind: "keepalive",
      txid,
      cookie,
      peerId,
      port,
    }));
    if (reply.kind === "ack") return "ok";
    if (reply.kind === "error" && reply.code === ErrorCode.UNKNOWN_PEER) {
      return "unknown_peer";
    }
    throw this.#unexpected("keep alive", reply);
  }

  /**
   * Asks who holds a file, by id or by exact name.
   *
   * @param query `{ id }` or `{ name }`
   * @param wanted most peers wanted, 0 for the tracker's default (50)
   * @param options signal and timeout overrides
   * @returns the peers, the candidates when a name matches several files,
   *   or `{ kind: "unknown" }`
   * @throws {TrackerError} when the tracker does not answer
   */
  async request(
    query: FileQuery,
    wanted = 0,
    options: TrackerCallOptions = {},
  ): Promise<RequestResult> {
    const reply = await this.#call(
      "request peers",
      options,
      (txid, cookie) => ({
        kind: "request",
        txid,
        cookie,
        wanted: Math.min(Math.max(0, Math.floor(wanted)), 255),
        query,
      }),
    );
    switch (reply.kind) {
      case "peer_list":
        return {
          kind: "peers",
          fileId: reply.fileId,
          name: reply.name,
          size: reply.size,
          chunkCount: reply.chunkCount,
          peers: reply.peers,
        };
      case "candidates":
        return { kind: "candidates", files: reply.files };
      case "error":
        if (reply.code === ErrorCode.UNKNOWN_FILE) return { kind: "unknown" };
    }
    throw this.#unexpected("request peers", reply);
  }

  /**
   * Asks for a file's chunk count and size.
   *
   * @param fileId the 32-byte file id
   * @param options signal and timeout overrides
   * @returns the counts, or null when the tracker does not know the file
   * @throws {TrackerError} when the tracker does not answer
   */
  async getCount(
    fileId: Uint8Array,
    options: TrackerCallOptions = {},
  ): Promise<{ chunkCount: number; size: number } | null> {
    const reply = await this.#call(
      "get chunk count",
      options,
      (txid, cookie) => ({
        kind: "get_count",
        txid,
        cookie,
        fileId,
      }),
    );
    if (reply.kind === "chunk_count") {
      return { chunkCount: reply.chunkCount, size: reply.size };
    }
    if (reply.kind === "error" && reply.code === ErrorCode.UNKNOWN_FILE) {
      return null;
    }
    throw this.#unexpected("get chunk count", reply);
  }

  /**
   * Tells the tracker this peer now holds all of a file.
   *
   * @param peerId this peer's id
   * @param port its TCP port
   * @param file the file (its `complete` flag is ignored: it is sent as true)
   * @param options signal and timeout overrides
   * @returns "ok", or "unknown_peer" when the peer must register again
   * @throws {TrackerError} when the tracker does not answer or refuses
   */
  async becomeSeeder(
    peerId: Uint8Array,
    port: number,
    file: FileAnnouncement,
    options: TrackerCallOptions = {},
  ): Promise<"ok" | "unknown_peer"> {
    const reply = await this.#call(
      "become seeder",
      options,
      (txid, cookie) => ({
        kind: "become_seeder",
        txid,
        cookie,
        peerId,
        port,
        file: { ...file, complete: true },
      }),
    );
    if (reply.kind === "ack") return "ok";
    if (reply.kind === "error" && reply.code === ErrorCode.UNKNOWN_PEER) {
      return "unknown_peer";
    }
    throw this.#unexpected("become seeder", reply);
  }

  /**
   * Tells the tracker to forget this peer now.
   *
   * @param peerId this peer's id
   * @param port its TCP port
   * @param options signal and timeout overrides
   * @throws {TrackerError} when the tracker does not answer
   */
  async leave(
    peerId: Uint8Array,
    port: number,
    options: TrackerCallOptions = {},
  ): Promise<void> {
    const reply = await this.#call("leave", options, (txid, cookie) => ({
      kind: "leave",
      txid,
      cookie,
      peerId,
      port,
    }));
    if (reply.kind !== "ack") throw this.#unexpected("leave", reply);
  }

  /**
   * Lists files whose name contains `query` (case-insensitive), by name.
   *
   * @param query substring, "" for every file
   * @param offset matches to skip, for paging
   * @param options signal and timeout overrides
   * @returns the total number of matches and one page
   * @throws {TrackerError} when the tracker does not answer
   */
  async list(
    query: string,
    offset = 0,
    options: TrackerCallOptions = {},
  ): Promise<ListResult> {
    const reply = await this.#call("list files", options, (txid, cookie) => ({
      kind: "list",
      txid,
      cookie,
      offset,
      query,
    }));
    if (reply.kind !== "file_list") throw this.#unexpected("list files", reply);
    return { total: reply.total, files: reply.files };
  }

  /**
   * Checks that the tracker speaks Shoal's protocol: one CONNECT, its
   * cookie dropped (a BitTorrent tracker leaves it unanswered).
   *
   * @param options signal and timeout overrides
   * @throws {TrackerError} when the tracker does not answer it
   */
  async probe(options: TrackerCallOptions = {}): Promise<void> {
    await this.#connect("connect", options);
  }

  /**
   * Closes the socket. Calls in progress fail with TrackerError "closed".
   * Resolves when the receive loop has ended.
   */
  close(): Promise<void> {
    return this.#exchange.close();
  }

  /** Same as {@linkcode TrackerClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Sends a command with the cookie; renews the cookie on BAD_COOKIE. */
  #call(
    what: string,
    options: TrackerCallOptions,
    make: (txid: number, cookie: bigint) => Message,
  ): Promise<Message> {
    return withCookie(this.#cookies, {
      what,
      tracker: this.#label,
      connect: () => this.#connect(what, options),
      send: (cookie) =>
        this.#exchange.transact(what, options, (txid) => make(txid, cookie)),
    });
  }

  async #connect(what: string, options: TrackerCallOptions): Promise<bigint> {
    const reply = await this.#exchange.transact(
      what,
      options,
      (txid) => ({ kind: "connect", txid }),
    );
    if (reply.kind !== "cookie") throw this.#unexpected(what, reply);
    return reply.cookie;
  }

  #unexpected(what: string, reply: Message) {
    return unexpectedReply(what, this.#label, reply);
  }
}
