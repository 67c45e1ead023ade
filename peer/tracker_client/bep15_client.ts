/**
 * A client of BitTorrent's UDP tracker protocol (BEP 15), so a Shoal peer
 * finds peers on, and lists itself at, trackers such as opentracker: connect
 * (the connection id is kept a minute), then announce the file id's first
 * 20 bytes. Peers it returns are left unflagged: a BitTorrent tracker lists
 * Shoal peers too, and the leecher falls back to BitTorrent for the others.
 *
 * @module
 */
import {
  BEP15_INFOHASH_BYTES,
  type Bep15Event,
  type Bep15Reply,
  type Bep15Request,
  encodeBep15Request,
  ipToBytes,
  type ListedPeer,
  MAX_DATAGRAM_BYTES,
  parseBep15Reply,
  type RequestQuery,
} from "@shoal/protocol";
import { isFromTracker, trackerLabel } from "./address.ts";
import type { RequestResult } from "./client.ts";
import { TrackerError } from "./errors.ts";
import type { TrackerCallOptions } from "./exchange.ts";
import { resolveTrackerHost } from "./resolve.ts";
import { TRACKER_RETRIES, TRACKER_TIMEOUT_MS, tryTimeouts } from "./retry.ts";
import { type DatagramTransport, openUdpTransport } from "./transport.ts";

/** BEP 15: a connection id may be used for one minute after it was received. */
export const BEP15_CONNECTION_ID_MAX_AGE_MS = 60_000;

/** Options for {@linkcode Bep15TrackerClient.open}. */
export interface Bep15ClientOptions {
  host: string;
  port: number;
  /** Wait for the first try; each retry doubles it. @default {TRACKER_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Retries after the first try. @default {TRACKER_RETRIES} */
  retries?: number;
}

/** What one announce says about this peer. */
export interface Bep15AnnounceParams {
  /** The 32-byte file id (its first 20 bytes are the infohash). */
  fileId: Uint8Array;
  /** Our TCP port (0 when we do not serve). */
  port: number;
  /** Bytes we still need: 0 for a seeder. */
  left: bigint;
  event: Bep15Event;
  /** Peers wanted; -1 for the tracker's default. */
  numWant: number;
}

/** An announce reply. */
export interface Bep15AnnounceResult {
  intervalSeconds: number;
  peers: ListedPeer[];
}

/**
 * A BEP 15 client for one tracker. Calls may run concurrently: each has its
 * own transaction id, and one receive loop hands replies to their callers.
 *
 * @example
 * ```ts
 * import { Bep15TrackerClient } from "./bep15_client.ts";
 * // const client = await Bep15TrackerClient.open({ host: "127.0.0.1", port: 6969 });
 * // const { peers } = await client.announce({ fileId, port: 0, left: 1n, event: "started", numWant: 50 });
 * // await client.close();
 * ```
 */
export class Bep15TrackerClient {
  /** Our 20-byte BitTorrent peer id: "-SH0001-" and 12 random bytes. */
  readonly peerId: Uint8Array = bep15PeerId();
  readonly #transport: DatagramTransport;
  readonly #target: Deno.NetAddr;
  readonly #targetBytes: Uint8Array;
  readonly #label: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #family: 4 | 6;
  readonly #pending = new Map<number, (reply: Bep15Reply | Error) => void>();
  readonly #loop: Promise<void>;
  #connection: { id: bigint; at: number } | null = null;
  #closed = false;
  /** The TCP port announced when a lookup does not say (set once we serve). */
  listenPort = 0;

  private constructor(
    transport: DatagramTransport,
    ip: string,
    options: Bep15ClientOptions,
  ) {
    this.#transport = transport;
    this.#target = { transport: "udp", hostname: ip, port: options.port };
    this.#targetBytes = ipToBytes(ip)!;
    this.#family = this.#targetBytes.byteLength === 4 ? 4 : 6;
    this.#label = trackerLabel(options.host, options.port);
    this.#timeoutMs = options.timeoutMs ?? TRACKER_TIMEOUT_MS;
    this.#retries = options.retries ?? TRACKER_RETRIES;
    this.#loop = this.#receive();
  }

  /**
   * Resolves the tracker's host and binds a UDP socket.
   *
   * @param options the tracker, timeouts and retries
   * @returns an open client
   * @throws {TrackerError} "resolve" when the host has no address
   */
  static async open(options: Bep15ClientOptions): Promise<Bep15TrackerClient> {
    const ip = await resolveTrackerHost(options.host);
    return new Bep15TrackerClient(openUdpTransport(ip), ip, options);
  }

  /** The tracker as "host:port". */
  get address(): string {
    return this.#label;
  }

  /**
   * Gets a connection id (reusing one younger than a minute).
   *
   * @param options signal and timeout overrides
   * @throws {TrackerError} when the tracker does not answer BEP 15
   */
  async connect(options: TrackerCallOptions = {}): Promise<bigint> {
    const held = this.#connection;
    if (held && Date.now() - held.at < BEP15_CONNECTION_ID_MAX_AGE_MS) {
      return held.id;
    }
    const reply = await this.#transact("connect", options, (txid) => ({
      action: "connect",
      txid,
    }));
    if (reply.action !== "connect") throw this.#unexpected("connect", reply);
    this.#connection = { id: reply.connectionId, at: Date.now() };
    return reply.connectionId;
  }

  /**
   * Announces this peer for a file and returns the peers the tracker lists.
   * A refused announce is tried once more with a fresh connection id.
   *
   * @param params file, port, left, event, numwant
   * @param options signal and timeout overrides
   * @returns the interval and the peers
   * @throws {TrackerError} when the tracker does not answer or refuses
   */
  async announce(
    params: Bep15AnnounceParams,
    options: TrackerCallOptions = {},
  ): Promise<Bep15AnnounceResult> {
    let reply: Bep15Reply | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      const connectionId = await this.connect(options);
      reply = await this.#transact("announce", options, (txid) => ({
        action: "announce",
        connectionId,
        txid,
        infohash: params.fileId.subarray(0, BEP15_INFOHASH_BYTES),
        peerId: this.peerId,
        downloaded: 0n,
        left: params.left,
        uploaded: 0n,
        event: params.event,
        ip: 0,
        key: 0,
        numWant: params.numWant,
        port: params.port,
        options: new Uint8Array(0),
      }));
      if (reply.action === "announce") {
        return {
          intervalSeconds: reply.intervalSeconds,
          peers: reply.peers.map((peer) => ({ ...peer, complete: false })),
        };
      }
      // An expired or unknown connection id: connect again, once.
      this.#connection = null;
    }
    throw this.#unexpected("announce", reply!);
  }

  /**
   * Asks who holds a file, as a {@linkcode TrackerSource}: by id only (BEP 15
   * knows infohashes, not names).
   *
   * @param query `{ id }`
   * @param wanted most peers wanted, 0 for the tracker's default
   * @param options signal and timeout overrides
   * @returns the peers (name and size unknown: the caller has the manifest)
   * @throws {TrackerError} "rejected" for a query by name or id prefix
   */
  async request(
    query: RequestQuery,
    wanted = 0,
    options: TrackerCallOptions = {},
  ): Promise<RequestResult> {
    if (!("id" in query)) {
      throw new TrackerError(
        "rejected",
        `Cannot look up a file by name at BitTorrent tracker ${this.#label}: give the file's id, magnet link or .torrent`,
      );
    }
    const { peers } = await this.announce({
      fileId: query.id,
      port: this.listenPort,
      left: 1n,
      event: "none",
      numWant: wanted > 0 ? wanted : -1,
    }, options);
    return {
      kind: "peers",
      fileId: query.id,
      name: "",
      size: 0,
      chunkCount: 0,
      peers,
    };
  }

  /** Closes the socket; calls in progress fail with TrackerError "closed". */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
    for (const waiter of this.#pending.values()) {
      waiter(
        new TrackerError(
          "closed",
          `Cannot finish the call: the client of ${this.#label} is closed`,
        ),
      );
    }
    this.#pending.clear();
    await this.#loop;
  }

  /** Sends a request and waits for its reply, retrying with doubling waits. */
  async #transact(
    what: string,
    options: TrackerCallOptions,
    make: (txid: number) => Bep15Request,
  ): Promise<Bep15Reply> {
    if (this.#closed) {
      throw new TrackerError(
        "closed",
        `Cannot ${what} at tracker ${this.#label}: client is closed`,
      );
    }
    let txid = 0;
    do {
      txid = crypto.getRandomValues(new Uint32Array(1))[0]!;
    } while (this.#pending.has(txid));
    const bytes = encodeBep15Request(make(txid));
    const waits = tryTimeouts(
      options.timeoutMs ?? this.#timeoutMs,
      options.retries ?? this.#retries,
    );
    const signal = options.signal;
    try {
      for (const waitMs of waits) {
        if (signal?.aborted) throw aborted(what, this.#label);
        const reply = new Promise<Bep15Reply | Error | null>((resolve) => {
          // Every outcome drops the listener: the announcer's signal lives
          // as long as the peer, and a try that times out must not leave
          // one behind on it.
          const finish = (got: Bep15Reply | Error | null) => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            resolve(got);
          };
          const timer = setTimeout(() => finish(null), waitMs);
          const onAbort = () => finish(aborted(what, this.#label));
          signal?.addEventListener("abort", onAbort, { once: true });
          this.#pending.set(txid, finish);
        });
        await this.#transport.send(bytes, this.#target).catch(() => 0);
        const got = await reply;
        if (got instanceof Error) throw got;
        if (got !== null) return got;
      }
    } finally {
      this.#pending.delete(txid);
    }
    throw new TrackerError(
      "unreachable",
      `Cannot ${what} at BitTorrent tracker ${this.#label}: no answer after ${waits.length} tries; is it running?`,
    );
  }

  async #receive(): Promise<void> {
    const buffer = new Uint8Array(MAX_DATAGRAM_BYTES);
    while (!this.#closed) {
      let datagram: Uint8Array;
      let from: Deno.Addr;
      try {
        [datagram, from] = await this.#transport.receive(buffer);
      } catch {
        return;
      }
      if (!isFromTracker(from, this.#target.port, this.#targetBytes)) continue;
      let reply: Bep15Reply;
      try {
        reply = parseBep15Reply(datagram, this.#family);
      } catch {
        continue; // Hostile or garbled: dropped, the retry covers it.
      }
      this.#pending.get(reply.txid)?.(reply);
    }
  }

  #unexpected(what: string, reply: Bep15Reply): TrackerError {
    if (reply.action === "error") {
      return new TrackerError(
        "rejected",
        `Cannot ${what} at BitTorrent tracker ${this.#label}: tracker answered "${
          reply.message.slice(0, 200)
        }"`,
      );
    }
    return new TrackerError(
      "bad_reply",
      `Cannot ${what} at BitTorrent tracker ${this.#label}: tracker answered ${reply.action}`,
    );
  }
}

function aborted(what: string, label: string): TrackerError {
  return new TrackerError(
    "aborted",
    `Cannot ${what} at tracker ${label}: cancelled`,
  );
}

/** A BitTorrent peer id in the Azureus style ("-SH0001-" then 12 random bytes). */
export function bep15PeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode("-SH0001-"));
  crypto.getRandomValues(id.subarray(8));
  return id;
}
