/**
 * The peer side of the tracker protocol: one UDP socket, a cookie from
 * CONNECT, transaction ids, timeouts and retries with exponential backoff.
 * See docs/PROTOCOL.md, "Tracker".
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  bytesEqual,
  COOKIE_BYTES,
  createMessage,
  ErrorCode,
  type FileAnnouncement,
  fileAnnouncementBytes,
  type FileQuery,
  type FileSummary,
  HEADER_BYTES,
  ipToBytes,
  type ListedPeer,
  MAX_DATAGRAM_BYTES,
  type Message,
  type MessageKind,
  parseMessage,
  PEER_ID_BYTES,
  ProtocolError,
} from "@shoal/protocol";

const logger = getLogger(["shoal", "peer", "tracker"]);

/** Default wait for the first try; each retry doubles it. */
export const TRACKER_TIMEOUT_MS = 250;
/** Default number of retries after the first try. */
export const TRACKER_RETRIES = 4;
/** A cookie older than this is renewed before use (the tracker accepts 60 to 120 s). */
export const COOKIE_MAX_AGE_MS = 50_000;

/** Bytes of a REGISTER before its file entries: header, cookie, peer id, port, count. */
const REGISTER_BASE_BYTES = HEADER_BYTES + COOKIE_BYTES + PEER_ID_BYTES + 2 + 1;
/** REGISTER's file count is one byte. */
const MAX_FILES_PER_REGISTER = 255;
/** BAD_COOKIE answers accepted in a row before giving up. */
const MAX_COOKIE_RENEWALS = 2;

/** Why a tracker call failed. */
export type TrackerErrorCode =
  | "unreachable"
  | "rejected"
  | "bad_reply"
  | "closed"
  | "aborted"
  | "resolve";

/**
 * A tracker call that failed: no answer, an ERROR the caller cannot act on,
 * a reply of the wrong kind, or a closed client. The message is one line
 * that says what to do.
 *
 * @example
 * ```ts
 * import { TrackerError } from "./tracker_client.ts";
 * const error = new TrackerError("closed", "Cannot keep alive: client is closed");
 * error.code; // "closed"
 * ```
 */
export class TrackerError extends Error {
  /** Why the call failed. */
  readonly code: TrackerErrorCode;
  /** The tracker's {@linkcode ErrorCode} when it answered ERROR. */
  readonly errorCode: number | undefined;

  /**
   * @param code why the call failed
   * @param message one line for the user
   * @param options the tracker's error code and the cause
   */
  constructor(
    code: TrackerErrorCode,
    message: string,
    options: { errorCode?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "TrackerError";
    this.code = code;
    this.errorCode = options.errorCode;
  }
}

/** Options for {@linkcode TrackerClient.open}. */
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
   * @default {Date.now}
   */
  now?: () => number;
}

/** Per-call overrides. */
export interface TrackerCallOptions {
  /** Aborting it ends the call at once with a TrackerError "aborted". */
  signal?: AbortSignal;
  /** Wait for the first try, instead of the client's. */
  timeoutMs?: number;
  /** Retries, instead of the client's. */
  retries?: number;
}

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

type Waiter = (result: Message | Error) => void;

/** Splits files into groups that each fit one REGISTER datagram. */
function registerBatches(
  files: readonly FileAnnouncement[],
): FileAnnouncement[][] {
  const batches: FileAnnouncement[][] = [];
  let batch: FileAnnouncement[] = [];
  let bytes = REGISTER_BASE_BYTES;
  for (const file of files) {
    const size = fileAnnouncementBytes(file);
    if (
      batch.length === MAX_FILES_PER_REGISTER ||
      bytes + size > MAX_DATAGRAM_BYTES
    ) {
      batches.push(batch);
      batch = [];
      bytes = REGISTER_BASE_BYTES;
    }
    batch.push(file);
    bytes += size;
  }
  batches.push(batch);
  return batches;
}

async function resolveHost(host: string): Promise<string> {
  const bare = host.startsWith("[") && host.endsWith("]")
    ? host.slice(1, -1)
    : host;
  if (ipToBytes(bare)) return bare;
  if (bare === "localhost") return "127.0.0.1";
  let cause: unknown;
  for (const type of ["A", "AAAA"] as const) {
    try {
      const [first] = await Deno.resolveDns(bare, type);
      if (first) return first;
    } catch (error) {
      cause = error;
    }
  }
  throw new TrackerError(
    "resolve",
    `Cannot resolve tracker host "${host}": no address found; check the name`,
    { cause },
  );
}

/**
 * A UDP client for one tracker. Calls may run concurrently: each has its own
 * transaction id, and one receive loop hands replies to their callers.
 *
 * @example
 * ```ts
 * import { TrackerClient } from "./tracker_client.ts";
 * await using client = await TrackerClient.open({ host: "127.0.0.1", port: 6969 });
 * const peerId = crypto.getRandomValues(new Uint8Array(16));
 * await client.register(peerId, 7000, []);
 * ```
 */
export class TrackerClient {
  readonly #socket: Deno.DatagramConn;
  readonly #target: Deno.NetAddr;
  readonly #targetBytes: Uint8Array;
  readonly #label: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #cookieMaxAgeMs: number;
  readonly #now: () => number;
  readonly #pending = new Map<number, Waiter>();
  readonly #loop: Promise<void>;
  #cookie: { value: bigint; atMs: number } | null = null;
  #closed = false;

  private constructor(
    socket: Deno.DatagramConn,
    ip: string,
    options: TrackerClientOptions,
  ) {
    this.#socket = socket;
    this.#target = { transport: "udp", hostname: ip, port: options.port };
    this.#targetBytes = ipToBytes(ip)!;
    this.#label = `${
      options.host.includes(":") && !options.host.startsWith("[")
        ? `[${options.host}]`
        : options.host
    }:${options.port}`;
    this.#timeoutMs = options.timeoutMs ?? TRACKER_TIMEOUT_MS;
    this.#retries = options.retries ?? TRACKER_RETRIES;
    this.#cookieMaxAgeMs = options.cookieMaxAgeMs ?? COOKIE_MAX_AGE_MS;
    this.#now = options.now ?? Date.now;
    this.#loop = this.#receiveLoop();
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
    const ip = await resolveHost(options.host);
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: ipToBytes(ip)!.byteLength === 4 ? "0.0.0.0" : "::",
      port: 0,
    });
    return new TrackerClient(socket, ip, options);
  }

  /** The tracker as "host:port", for messages. */
  get address(): string {
    return this.#label;
  }

  /** The local UDP address the client sends from. */
  get localAddr(): Deno.NetAddr {
    return this.#socket.addr as Deno.NetAddr;
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
   * Closes the socket. Calls in progress fail with TrackerError "closed".
   * Resolves when the receive loop has ended.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const error = new TrackerError(
        "closed",
        `Cannot talk to tracker ${this.#label}: client is closed`,
      );
      for (const waiter of [...this.#pending.values()]) waiter(error);
      this.#pending.clear();
      this.#socket.close();
    }
    await this.#loop;
  }

  /** Same as {@linkcode TrackerClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals ----------------------------------------------------------

  /** Sends a command with a fresh cookie; renews the cookie on BAD_COOKIE. */
  async #call(
    what: string,
    options: TrackerCallOptions,
    make: (txid: number, cookie: bigint) => Message,
  ): Promise<Message> {
    for (let renewals = 0;; renewals++) {
      const cookie = await this.#getCookie(what, options);
      const reply = await this.#transact(
        what,
        options,
        (txid) => make(txid, cookie),
      );
      if (reply.kind !== "error" || reply.code !== ErrorCode.BAD_COOKIE) {
        return reply;
      }
      if (this.#cookie?.value === cookie) this.#cookie = null;
      if (renewals >= MAX_COOKIE_RENEWALS) {
        throw new TrackerError(
          "rejected",
          `Cannot ${what} at tracker ${this.#label}: cookie refused ${
            renewals + 1
          } times; is the network changing this peer's address?`,
          { errorCode: reply.code },
        );
      }
      logger.debug("Tracker {tracker} refused the cookie; renewing it", {
        tracker: this.#label,
      });
    }
  }

  async #getCookie(what: string, options: TrackerCallOptions): Promise<bigint> {
    const now = this.#now();
    if (this.#cookie && now - this.#cookie.atMs < this.#cookieMaxAgeMs) {
      return this.#cookie.value;
    }
    // Concurrent calls may each CONNECT; cookies are stateless, so that only
    // costs a datagram.
    const reply = await this.#transact(
      what,
      options,
      (txid) => ({ kind: "connect", txid }),
    );
    if (reply.kind !== "cookie") throw this.#unexpected(what, reply);
    this.#cookie = { value: reply.cookie, atMs: now };
    return reply.cookie;
  }

  /** One request, retried with exponential backoff until a reply comes. */
  async #transact(
    what: string,
    options: TrackerCallOptions,
    make: (txid: number) => Message,
  ): Promise<Message> {
    this.#throwIfUnusable(what, options.signal);
    const txid = this.#newTxid();
    const bytes = createMessage(make(txid));
    const tries = (options.retries ?? this.#retries) + 1;
    let timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    for (let attempt = 0; attempt < tries; attempt++) {
      try {
        await this.#socket.send(bytes, this.#target);
      } catch (error) {
        this.#throwIfUnusable(what, options.signal);
        // A lost send is a lost datagram: wait and retry like one.
        logger.debug("Cannot send to tracker {tracker}: {error}", {
          tracker: this.#label,
          error,
        });
      }
      const reply = await this.#wait(txid, timeoutMs, options.signal, what);
      if (reply) return reply;
      timeoutMs *= 2;
    }
    throw new TrackerError(
      "unreachable",
      `Cannot reach tracker ${this.#label}: no answer after ${tries} ${
        tries === 1 ? "try" : "tries"
      }; is it running?`,
    );
  }

  /** Waits for the reply to `txid`; null on timeout. */
  #wait(
    txid: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<Message | null> {
    return new Promise((resolve, reject) => {
      const finish = (result: Message | Error | null) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(txid);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onAbort = () =>
        finish(
          new TrackerError(
            "aborted",
            `Cannot ${what} at tracker ${this.#label}: the call was aborted`,
            { cause: signal?.reason },
          ),
        );
      const timer = setTimeout(() => finish(null), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(txid, finish);
    });
  }

  #throwIfUnusable(what: string, signal: AbortSignal | undefined): void {
    if (this.#closed) {
      throw new TrackerError(
        "closed",
        `Cannot ${what} at tracker ${this.#label}: client is closed`,
      );
    }
    if (signal?.aborted) {
      throw new TrackerError(
        "aborted",
        `Cannot ${what} at tracker ${this.#label}: the call was aborted`,
        { cause: signal.reason },
      );
    }
  }

  #newTxid(): number {
    const word = new Uint32Array(1);
    do crypto.getRandomValues(word); while (this.#pending.has(word[0]!));
    return word[0]!;
  }

  #unexpected(what: string, reply: Message): TrackerError {
    if (reply.kind === "error") {
      const name = Object.entries(ErrorCode).find(([, code]) =>
        code === reply.code
      )?.[0] ?? `code ${reply.code}`;
      return new TrackerError(
        "rejected",
        `Cannot ${what} at tracker ${this.#label}: tracker answered ${name} "${reply.text}"`,
        { errorCode: reply.code },
      );
    }
    return new TrackerError(
      "bad_reply",
      `Cannot ${what} at tracker ${this.#label}: tracker answered ${reply.kind}; is it a Shoal tracker of the same version?`,
    );
  }

  #fromTracker(from: Deno.Addr): boolean {
    if (from.transport !== "udp" || from.port !== this.#target.port) {
      return false;
    }
    let host = from.hostname;
    // A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d.
    if (host.toLowerCase().startsWith("::ffff:") && host.includes(".")) {
      host = host.slice(7);
    }
    const bytes = ipToBytes(host);
    return bytes !== null && bytesEqual(bytes, this.#targetBytes);
  }

  async #receiveLoop(): Promise<void> {
    const buffer = new Uint8Array(MAX_DATAGRAM_BYTES + 1);
    while (!this.#closed) {
      let bytes: Uint8Array;
      let from: Deno.Addr;
      try {
        [bytes, from] = await this.#socket.receive(buffer);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        // An ICMP error from an earlier send can surface here; keep going.
        logger.debug("Cannot receive from tracker {tracker}: {error}", {
          tracker: this.#label,
          error,
        });
        continue;
      }
      if (!this.#fromTracker(from)) continue;
      let message: Message;
      try {
        message = parseMessage(bytes);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        logger.debug("Dropped a malformed datagram from {tracker}: {error}", {
          tracker: this.#label,
          error,
        });
        continue;
      }
      if (!isReply(message.kind)) continue;
      this.#pending.get(message.txid)?.(message);
    }
  }
}

const REPLY_KINDS: ReadonlySet<MessageKind> = new Set<MessageKind>([
  "ack",
  "error",
  "peer_list",
  "chunk_count",
  "cookie",
  "candidates",
  "file_list",
]);

function isReply(kind: MessageKind): boolean {
  return REPLY_KINDS.has(kind);
}
