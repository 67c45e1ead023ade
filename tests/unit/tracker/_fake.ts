/**
 * A fake network around a TrackerHandler: fake sources, a fake clock, and
 * typed send/receive, with no sockets.
 *
 * @module
 */
import {
  type Bep15Event,
  type Bep15Reply,
  type Bep15Request,
  createMessage,
  encodeBep15Request,
  type FileAnnouncement,
  type Message,
  parseBep15Reply,
  parseMessage,
  type RequestQuery,
} from "@shoal/protocol";
import { CookieJar, type DatagramSource } from "../../../tracker/cookies.ts";
import {
  TrackerHandler,
  type TrackerHandlerOptions,
} from "../../../tracker/handler.ts";
import {
  type RegistryOptions,
  SwarmRegistry,
} from "../../../tracker/registry/mod.ts";

/** A message without its txid (the fake fills it in). */
export type Outgoing = Message extends infer M
  ? M extends Message ? Omit<M, "txid"> : never
  : never;

/** The handler, a clock and helpers to talk to it. */
export class FakeTracker {
  /** The current time in ms; tests move it. */
  nowMs = 1_700_000_000_000;
  readonly handler: TrackerHandler;
  readonly registry: SwarmRegistry;
  #txid = 1;

  constructor(
    options: {
      registry?: RegistryOptions;
      handler?: Omit<TrackerHandlerOptions, "registry">;
    } = {},
  ) {
    this.registry = new SwarmRegistry({
      peerTtlMs: 60_000,
      ...options.registry,
    });
    this.handler = new TrackerHandler({
      cookies: new CookieJar({ secret: new Uint8Array(32).fill(7) }),
      rateLimit: false,
      ...options.handler,
      registry: this.registry,
    });
  }

  /** Sends raw bytes; returns the raw reply. */
  raw(bytes: Uint8Array, source: DatagramSource): Uint8Array | null {
    return this.handler.handle(bytes, source, this.nowMs);
  }

  /** Sends a message; returns the decoded reply and the byte sizes. */
  exchange(
    message: Outgoing,
    source: DatagramSource,
  ): { reply: Message | null; requestBytes: number; replyBytes: number } {
    const txid = this.#txid++;
    const bytes = createMessage({ ...message, txid } as Message);
    const reply = this.raw(bytes, source);
    if (reply === null) {
      return { reply: null, requestBytes: bytes.byteLength, replyBytes: 0 };
    }
    const decoded = parseMessage(reply);
    if (decoded.txid !== txid) throw new Error("reply has the wrong txid");
    return {
      reply: decoded,
      requestBytes: bytes.byteLength,
      replyBytes: reply.byteLength,
    };
  }

  /** Sends a message and returns the decoded reply. */
  send(message: Outgoing, source: DatagramSource): Message | null {
    return this.exchange(message, source).reply;
  }

  /** Sends a BEP 15 request; returns the decoded reply and the byte sizes. */
  bep15(
    request: Bep15Request,
    source: DatagramSource,
  ): { reply: Bep15Reply | null; requestBytes: number; replyBytes: number } {
    const bytes = encodeBep15Request(request);
    const reply = this.raw(bytes, source);
    if (reply === null) {
      return { reply: null, requestBytes: bytes.byteLength, replyBytes: 0 };
    }
    const decoded = parseBep15Reply(
      reply,
      source.hostname.includes(":") ? 6 : 4,
    );
    if (decoded.txid !== request.txid) {
      throw new Error("reply has the wrong txid");
    }
    return {
      reply: decoded,
      requestBytes: bytes.byteLength,
      replyBytes: reply.byteLength,
    };
  }

  /** A BitTorrent client at a source with a fresh connection id. */
  client(hostname: string, udpPort = 6881, tcpPort = 6881): FakeClient {
    return new FakeClient(this, { hostname, port: udpPort }, tcpPort);
  }

  /** A fresh transaction id. */
  txid(): number {
    return this.#txid++;
  }

  /** Gets a cookie for a source with CONNECT. */
  cookie(source: DatagramSource): bigint {
    const reply = this.send({ kind: "connect" }, source);
    if (reply?.kind !== "cookie") throw new Error("no cookie");
    return reply.cookie;
  }

  /** A peer at a source with a fresh cookie. */
  peer(hostname: string, udpPort = 40_000, tcpPort = 7_000): FakePeer {
    return new FakePeer(this, { hostname, port: udpPort }, tcpPort);
  }
}

/** A peer talking to a {@linkcode FakeTracker}. */
export class FakePeer {
  readonly peerId = crypto.getRandomValues(new Uint8Array(16));
  cookie: bigint;

  constructor(
    readonly tracker: FakeTracker,
    readonly source: DatagramSource,
    readonly port: number,
  ) {
    this.cookie = tracker.cookie(source);
  }

  send(message: Outgoing): Message | null {
    return this.tracker.send(message, this.source);
  }

  register(files: FileAnnouncement[]): Message | null {
    return this.send({
      kind: "register",
      cookie: this.cookie,
      peerId: this.peerId,
      port: this.port,
      files,
    });
  }

  keepalive(): Message | null {
    return this.send({
      kind: "keepalive",
      cookie: this.cookie,
      peerId: this.peerId,
      port: this.port,
    });
  }

  leave(): Message | null {
    return this.send({
      kind: "leave",
      cookie: this.cookie,
      peerId: this.peerId,
      port: this.port,
    });
  }

  becomeSeeder(file: FileAnnouncement): Message | null {
    return this.send({
      kind: "become_seeder",
      cookie: this.cookie,
      peerId: this.peerId,
      port: this.port,
      file,
    });
  }

  request(
    query: RequestQuery,
    wanted = 0,
  ): Message | null {
    return this.send({ kind: "request", cookie: this.cookie, wanted, query });
  }

  getCount(fileId: Uint8Array): Message | null {
    return this.send({ kind: "get_count", cookie: this.cookie, fileId });
  }

  list(query: string, offset = 0): Message | null {
    return this.send({ kind: "list", cookie: this.cookie, query, offset });
  }
}

/** What a {@linkcode FakeClient} announce says. */
export interface AnnounceOptions {
  /** Bytes left: 0 for a seeder. @default {1000} */
  left?: bigint;
  /** @default {"started"} */
  event?: Bep15Event;
  /** @default {-1} */
  numWant?: number;
  /** The TCP port, when not the client's. */
  port?: number;
}

/** A BitTorrent client talking BEP 15 to a {@linkcode FakeTracker}. */
export class FakeClient {
  readonly peerId = crypto.getRandomValues(new Uint8Array(20));
  connectionId: bigint;

  constructor(
    readonly tracker: FakeTracker,
    readonly source: DatagramSource,
    readonly port: number,
  ) {
    this.connectionId = this.connect();
  }

  /** Sends connect; returns the connection id. */
  connect(): bigint {
    const { reply } = this.tracker.bep15(
      { action: "connect", txid: this.tracker.txid() },
      this.source,
    );
    if (reply?.action !== "connect") throw new Error("no connection id");
    return reply.connectionId;
  }

  /** Announces an infohash (20 bytes; a 32-byte id is cut). */
  announce(infohash: Uint8Array, options: AnnounceOptions = {}) {
    return this.tracker.bep15({
      action: "announce",
      connectionId: this.connectionId,
      txid: this.tracker.txid(),
      infohash: infohash.subarray(0, 20),
      peerId: this.peerId,
      downloaded: 0n,
      left: options.left ?? 1000n,
      uploaded: 0n,
      event: options.event ?? "started",
      ip: 0,
      key: 1,
      numWant: options.numWant ?? -1,
      port: options.port ?? this.port,
      options: new Uint8Array(0),
    }, this.source);
  }

  /** Scrapes infohashes (20 bytes each; longer ids are cut). */
  scrape(infohashes: Uint8Array[]) {
    return this.tracker.bep15({
      action: "scrape",
      connectionId: this.connectionId,
      txid: this.tracker.txid(),
      infohashes: infohashes.map((hash) => hash.subarray(0, 20)),
    }, this.source);
  }
}

/** A file entry with a random id. */
export function file(
  name: string,
  options: { complete?: boolean; size?: number; chunkCount?: number } = {},
): FileAnnouncement {
  return {
    id: crypto.getRandomValues(new Uint8Array(32)),
    name,
    size: options.size ?? 1_000,
    chunkCount: options.chunkCount ?? 1,
    complete: options.complete ?? true,
  };
}

/** A registering peer as the registry sees it, its UDP port 40000. */
export function who(host: string, port = 7000) {
  return {
    host,
    port,
    peerId: new Uint8Array(16).fill(port & 255),
    udpPort: 40_000,
  };
}

/** A registering peer whose datagrams come from `host|udpPort`. */
export function whoFrom(host: string, port = 7000, udpPort = 40_000) {
  return {
    host,
    port,
    peerId: new Uint8Array(16).fill(port & 255),
    udpSource: `${host}|${udpPort}`,
  };
}
