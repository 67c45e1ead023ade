/**
 * A fake network around a TrackerHandler: fake sources, a fake clock, and
 * typed send/receive, with no sockets.
 *
 * @module
 */
import {
  createMessage,
  type FileAnnouncement,
  type Message,
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
