/**
 * A BitTorrent client of the UDP tracker protocol (BEP 15) for tests: sends
 * from a chosen loopback address through a {@linkcode UdpProbe}, with
 * bounded retries.
 *
 * @module
 */
import {
  type Bep15Event,
  type Bep15Reply,
  type Bep15Request,
  encodeBep15Request,
  parseBep15Reply,
} from "@shoal/protocol";
import { UdpProbe } from "./attack.ts";

/** What an announce says; defaults: a leecher starting, numwant -1. */
export interface Bep15AnnounceOptions {
  /** @default {1000n} */
  left?: bigint;
  /** @default {"started"} */
  event?: Bep15Event;
  /** @default {-1} */
  numWant?: number;
  /** @default {the client's port} */
  port?: number;
}

/** A request without its txid (the client fills it in). */
export type Bep15Outgoing = Bep15Request extends infer R
  ? R extends Bep15Request ? Omit<R, "txid"> : never
  : never;

/** A BEP 15 client on one loopback address, for tests. */
export class Bep15Client {
  readonly probe: UdpProbe;
  readonly peerId = crypto.getRandomValues(new Uint8Array(20));
  readonly port: number;
  connectionId = 0n;
  #txid = 1;

  /**
   * @param from the loopback address to send from
   * @param tracker the tracker
   * @param port the TCP port to announce
   */
  constructor(
    from: string,
    tracker: { host: string; port: number },
    port = 6881,
  ) {
    this.probe = new UdpProbe(from, tracker);
    this.port = port;
  }

  /**
   * Sends a request and waits for the reply with its txid (up to 5 tries of
   * `waitMs`), or null.
   */
  async ask(
    request: Bep15Outgoing,
    waitMs = 1_000,
  ): Promise<Bep15Reply | null> {
    const txid = this.#txid++;
    const bytes = encodeBep15Request({ ...request, txid } as Bep15Request);
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.probe.send(bytes);
      const deadline = performance.now() + waitMs;
      while (performance.now() < deadline) {
        const got = await this.probe.next(deadline - performance.now());
        if (!got) break;
        const reply = parseBep15Reply(got.bytes);
        if (reply.txid === txid) return reply;
      }
    }
    return null;
  }

  /** Connects; throws without an answer. */
  async connect(): Promise<bigint> {
    const reply = await this.ask({ action: "connect" });
    if (reply?.action !== "connect") {
      throw new Error(`No connection id: ${JSON.stringify(reply)}`);
    }
    this.connectionId = reply.connectionId;
    return reply.connectionId;
  }

  /** Announces an infohash (a 32-byte id is cut to 20 bytes). */
  announce(
    infohash: Uint8Array,
    options: Bep15AnnounceOptions = {},
  ): Promise<Bep15Reply | null> {
    return this.ask({
      action: "announce",
      connectionId: this.connectionId,
      infohash: infohash.subarray(0, 20),
      peerId: this.peerId,
      downloaded: 0n,
      left: options.left ?? 1000n,
      uploaded: 0n,
      event: options.event ?? "started",
      ip: 0,
      key: 7,
      numWant: options.numWant ?? -1,
      port: options.port ?? this.port,
      options: new Uint8Array(0),
    });
  }

  /** Scrapes infohashes (32-byte ids are cut to 20 bytes). */
  scrape(infohashes: Uint8Array[]): Promise<Bep15Reply | null> {
    return this.ask({
      action: "scrape",
      connectionId: this.connectionId,
      infohashes: infohashes.map((hash) => hash.subarray(0, 20)),
    });
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return this.probe.close();
  }

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
