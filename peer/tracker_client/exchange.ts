/**
 * Requests and their replies over one datagram transport: a fresh
 * transaction id per request, one receive loop that hands each reply to its
 * caller, and retries until a reply comes. Knows nothing of cookies or of
 * what the messages mean: a {@linkcode Dialect} writes and reads them (the
 * Shoal tracker protocol here, BEP 15 in bep15_client.ts).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  createMessage,
  ipToBytes,
  MAX_DATAGRAM_BYTES,
  type Message,
  type MessageKind,
  parseMessage,
  ProtocolError,
} from "@shoal/protocol";
import { isFromTracker } from "./address.ts";
import { TrackerError } from "./errors.ts";
import { type Clock, tryTimeouts, unreachable } from "./retry.ts";
import type { DatagramTransport } from "./transport.ts";

const logger = getLogger(["shoal", "peer", "tracker"]);

/** Per-call overrides. */
export interface TrackerCallOptions {
  /** Aborting it ends the call at once with a TrackerError "aborted". */
  signal?: AbortSignal;
  /** Wait for the first try, instead of the client's. */
  timeoutMs?: number;
  /** Retries, instead of the client's. */
  retries?: number;
}

/**
 * How one tracker protocol writes its requests and reads its replies.
 *
 * @typeParam Request what a call sends
 * @typeParam Reply what a call gets back; its `txid` matches it to the call
 */
export interface Dialect<Request, Reply extends { txid: number }> {
  /** Writes a request. */
  encode(request: Request): Uint8Array;
  /**
   * The reply a datagram from the tracker holds, or null when it holds none
   * (a request, say); throws a ProtocolError when it is malformed.
   */
  decodeReply(bytes: Uint8Array): Reply | null;
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

/** The Shoal tracker protocol. */
export const SHOAL_DIALECT: Dialect<Message, Message> = {
  encode: createMessage,
  decodeReply: (bytes) => {
    const message = parseMessage(bytes);
    return REPLY_KINDS.has(message.kind) ? message : null;
  },
};

/** Options for {@linkcode Exchange}. */
export interface ExchangeOptions<Request, Reply extends { txid: number }> {
  /** How requests and replies are written. */
  dialect: Dialect<Request, Reply>;
  /** The tracker's IP address. */
  ip: string;
  /** The tracker's UDP port. */
  port: number;
  /** The tracker as "host:port", for messages. */
  label: string;
  /** Wait for the first try when a call does not say. */
  timeoutMs: number;
  /** Retries when a call does not say. */
  retries: number;
  /** The timers waits run on. */
  clock: Clock;
}

/**
 * One transport to one tracker. Requests may run concurrently: each has its
 * own transaction id. Datagrams from elsewhere, malformed ones, requests and
 * replies to no pending id are dropped.
 */
export class Exchange<
  Request = Message,
  Reply extends { txid: number } = Message,
> {
  readonly #dialect: Dialect<Request, Reply>;
  readonly #transport: DatagramTransport;
  readonly #target: Deno.NetAddr;
  readonly #targetBytes: Uint8Array;
  readonly #label: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #clock: Clock;
  readonly #pending = new Map<number, (result: Reply | Error) => void>();
  readonly #loop: Promise<void>;
  #closed = false;

  /**
   * Starts receiving at once.
   *
   * @param transport the socket, owned from now on
   * @param options the tracker and the retry defaults
   */
  constructor(
    transport: DatagramTransport,
    options: ExchangeOptions<Request, Reply>,
  ) {
    this.#dialect = options.dialect;
    this.#transport = transport;
    this.#target = {
      transport: "udp",
      hostname: options.ip,
      port: options.port,
    };
    this.#targetBytes = ipToBytes(options.ip)!;
    this.#label = options.label;
    this.#timeoutMs = options.timeoutMs;
    this.#retries = options.retries;
    this.#clock = options.clock;
    this.#loop = this.#receiveLoop();
  }

  /** The local address requests leave from. */
  get localAddr(): Deno.Addr {
    return this.#transport.addr;
  }

  /**
   * Sends one request, again after each wait without a reply, each wait
   * twice the last.
   *
   * @param what the call, for messages ("register", ...)
   * @param options signal and retry overrides
   * @param make builds the request for a transaction id
   * @returns the first reply with that id
   * @throws {TrackerError} "unreachable" when no try is answered, "closed"
   *   or "aborted"
   */
  async transact(
    what: string,
    options: TrackerCallOptions,
    make: (txid: number) => Request,
  ): Promise<Reply> {
    this.#throwIfUnusable(what, options.signal);
    const txid = this.#newTxid();
    const bytes = this.#dialect.encode(make(txid));
    const waits = tryTimeouts(
      options.timeoutMs ?? this.#timeoutMs,
      options.retries ?? this.#retries,
    );
    for (const timeoutMs of waits) {
      // Aborted or closed while the last try waited or was sent.
      this.#throwIfUnusable(what, options.signal);
      try {
        await this.#transport.send(bytes, this.#target);
      } catch (error) {
        this.#throwIfUnusable(what, options.signal);
        // A lost send is a lost datagram: wait and retry like one.
        logger.debug("Cannot send to tracker {tracker}: {error}", {
          tracker: this.#label,
          error,
        });
      }
      // A signal that fired during the send fires no event for the wait.
      this.#throwIfUnusable(what, options.signal);
      const reply = await this.#wait(txid, timeoutMs, options.signal, what);
      if (reply) return reply;
    }
    throw unreachable(this.#label, waits.length);
  }

  /**
   * Closes the transport. Requests in progress fail with TrackerError
   * "closed". Resolves when the receive loop has ended.
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
      this.#transport.close();
    }
    await this.#loop;
  }

  /** Waits for the reply to `txid`; null on timeout. */
  #wait(
    txid: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<Reply | null> {
    return new Promise((resolve, reject) => {
      const finish = (result: Reply | Error | null) => {
        this.#clock.clearTimeout(timer);
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
      const timer = this.#clock.setTimeout(() => finish(null), timeoutMs);
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

  async #receiveLoop(): Promise<void> {
    const buffer = new Uint8Array(MAX_DATAGRAM_BYTES + 1);
    while (!this.#closed) {
      let bytes: Uint8Array;
      let from: Deno.Addr;
      try {
        [bytes, from] = await this.#transport.receive(buffer);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        // An ICMP error from an earlier send can surface here; keep going.
        logger.debug("Cannot receive from tracker {tracker}: {error}", {
          tracker: this.#label,
          error,
        });
        continue;
      }
      if (!isFromTracker(from, this.#target.port, this.#targetBytes)) continue;
      let reply: Reply | null;
      try {
        reply = this.#dialect.decodeReply(bytes);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        logger.debug("Dropped a malformed datagram from {tracker}: {error}", {
          tracker: this.#label,
          error,
        });
        continue;
      }
      if (reply) this.#pending.get(reply.txid)?.(reply);
    }
  }
}
