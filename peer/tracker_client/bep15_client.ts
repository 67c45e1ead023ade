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
  parseBep15Reply,
  type RequestQuery,
} from "@shoal/protocol";
import { trackerLabel } from "./address.ts";
import type { RequestResult } from "./client.ts";
import { CookieJar } from "./cookies.ts";
import { TrackerError } from "./errors.ts";
import { type Dialect, Exchange, type TrackerCallOptions } from "./exchange.ts";
import { resolveTrackerHost } from "./resolve.ts";
import { SYSTEM_CLOCK, TRACKER_RETRIES, TRACKER_TIMEOUT_MS } from "./retry.ts";
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

/** BEP 15 requests and replies, peers read as the tracker's family lists them. */
function bep15Dialect(family: 4 | 6): Dialect<Bep15Request, Bep15Reply> {
  return {
    encode: encodeBep15Request,
    decodeReply: (bytes) => parseBep15Reply(bytes, family),
  };
}

/**
 * A BEP 15 client for one tracker. Calls may run concurrently: each has its
 * own transaction id, and one receive loop (the {@linkcode Exchange} the
 * Shoal client uses too) hands replies to their callers.
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
  readonly #exchange: Exchange<Bep15Request, Bep15Reply>;
  readonly #label: string;
  /** The connection id, kept like the Shoal tracker's cookie. */
  readonly #connection = new CookieJar(
    BEP15_CONNECTION_ID_MAX_AGE_MS,
    Date.now,
  );
  /** The TCP port announced when a lookup does not say (set once we serve). */
  listenPort = 0;

  private constructor(
    transport: DatagramTransport,
    ip: string,
    options: Bep15ClientOptions,
  ) {
    this.#label = trackerLabel(options.host, options.port);
    this.#exchange = new Exchange(transport, {
      dialect: bep15Dialect(ipToBytes(ip)!.byteLength === 4 ? 4 : 6),
      ip,
      port: options.port,
      label: this.#label,
      timeoutMs: options.timeoutMs ?? TRACKER_TIMEOUT_MS,
      retries: options.retries ?? TRACKER_RETRIES,
      clock: SYSTEM_CLOCK,
    });
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
  connect(options: TrackerCallOptions = {}): Promise<bigint> {
    return this.#connection.get(async () => {
      const reply = await this.#exchange.transact(
        "connect",
        options,
        (txid) => ({ action: "connect", txid }),
      );
      if (reply.action !== "connect") throw this.#unexpected("connect", reply);
      return reply.connectionId;
    });
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
      reply = await this.#exchange.transact("announce", options, (txid) => ({
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
      this.#connection.refused(connectionId);
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
  close(): Promise<void> {
    return this.#exchange.close();
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

/** A BitTorrent peer id in the Azureus style ("-SH0001-" then 12 random bytes). */
export function bep15PeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode("-SH0001-"));
  crypto.getRandomValues(id.subarray(8));
  return id;
}
