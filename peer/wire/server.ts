/**
 * The peer's TCP server: accepts connections (up to a cap) and serves each
 * in the protocol its first bytes name: Shoal's (serve_connection.ts)
 * or BitTorrent's (peer/bt/serve_bt.ts).
 *
 * @module
 */
import type { Library } from "../library/library.ts";
import type { ConnectedPeers } from "../discovery/connected_peers.ts";
import { serveAnyProtocol } from "./accept_connection.ts";
import type { BtContext } from "../bt/serve_bt.ts";
import { mseBudget } from "../bt/accept_mse.ts";
import { makeBtPeerId } from "../bt/peer_id.ts";
import { BtBlockSource } from "../bt/block_source.ts";
import { UploadSlots } from "./upload_slots.ts";
import { SendBuffers } from "./send_buffers.ts";
import { DEFAULT_UPLOAD_SLOTS } from "../swarm/choker.ts";
import {
  AddressLimit,
  MAX_CONNECTIONS_PER_ADDRESS,
} from "../swarm/address_limit.ts";
import { createMessage, ErrorCode } from "@shoal/protocol";
import { RateMeter } from "../download/rate_meter.ts";
import type { BanList } from "../swarm/ban_list.ts";
import type { PeerClient } from "./serve_connection.ts";
import {
  type PeerDialect,
  SHOAL_CLIENT,
} from "@shoal/protocol/worker_messages";

export { MAX_CONNECTIONS_PER_ADDRESS };

/** Upload rates per peer are over this much of the recent past. */
const UPLOAD_RATE_WINDOW_MS = 3_000;
/** Upload rate meters kept at most (one per peer and file being served). */
const MAX_RATE_METERS = 1_024;

/** Default most connections a server takes at once. */
export const MAX_CONNECTIONS = 128;

/** Peers counted in {@linkcode PeerServer.uploadedPeers} at most. */
const MAX_COUNTED_PEERS = 100_000;

/**
 * Binds TCP for `hostname`. For "::" it binds IPv6, then tries 0.0.0.0 on
 * the same port: taken already where the IPv6 socket is dual stack (one
 * listener serves both families), free where IPv6 sockets are IPv6-only
 * (a second listener serves IPv4). Without IPv6 it binds 0.0.0.0 alone.
 */
function listenAll(hostname: string, port: number): Deno.TcpListener[] {
  const listen = (host: string, at: number) =>
    Deno.listen({ hostname: host, port: at, transport: "tcp" });
  if (hostname !== "::") return [listen(hostname, port)];
  let v6: Deno.TcpListener;
  try {
    v6 = listen("::", port);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw error;
    return [listen("0.0.0.0", port)];
  }
  try {
    return [v6, listen("0.0.0.0", v6.addr.port)];
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return [v6];
    v6.close();
    throw error;
  }
}

/** A peer this server sent some of a file to lately. */
export interface UploadPeer {
  /** Its key: "host:port" of its server. */
  address: string;
  /** Bytes per second sent to it lately. */
  bytesPerSecond: number;
  /** Its program, safe to show. */
  client: string;
  /** The protocol it speaks. */
  dialect: PeerDialect;
}

/** Options for {@linkcode PeerServer.listen}. */
export interface PeerServerOptions {
  /** The files we share. */
  library: Library;
  /**
   * Address to bind; "::" serves IPv6 and IPv4 (one dual-stack socket, two
   * where IPv6 sockets are IPv6-only, IPv4 alone without IPv6).
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /** Port to bind; 0 picks a free one. @default {0} */
  port?: number;
  /** Most connections at once; more are refused (ERROR BUSY) at once. @default {128} */
  maxConnections?: number;
  /**
   * Most connections one address (an IPv6 /64) may hold at once; more are
   * refused (ERROR BUSY) at once. @default {8}
   */
  maxConnectionsPerAddress?: number;
  /** Close a connection with no frame for this long. @default {120_000} */
  idleTimeoutMs?: number;
  /** Called when a peer is dropped for breaking the protocol. */
  onMisbehaviour?: (reason: string, remote: string) => void;
  /** Upload slots (regular plus one optimistic). @default {5} */
  uploadSlots?: number;
  /** Upload limit in bytes per second; none when absent. */
  maxUploadBytesPerSecond?: number;
  /** Bytes a peer (by "host:port" key) sent us since the last call, for tit for tat. */
  takeReceived?: (key: string) => number;
  /** Peer exchange: the peers connected per file; PEX is off when absent. */
  pex?: ConnectedPeers;
  /** Addresses whose new connections are closed at once (peer/swarm/ban_list.ts). */
  bans?: BanList;
}

/**
 * A listening peer server.
 *
 * @example
 * ```ts
 * // const server = PeerServer.listen({ library, port: 0 });
 * // console.log(server.port); await server.close();
 * ```
 */
export class PeerServer {
  readonly #listeners: Deno.TcpListener[];
  readonly #connections = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #options: PeerServerOptions;
  readonly #accepting: Promise<void>;
  readonly #slots: UploadSlots;
  readonly #perAddress: AddressLimit;
  /**
   * Only the connections sending right now hold a frame buffer: about one
   * per upload slot, whatever the number of connections.
   */
  readonly #sendBuffers: SendBuffers;
  #uploadedBytes = 0;
  /** Recent bytes sent, by "hex file id peer key" (at most MAX_RATE_METERS). */
  readonly #uploadRates = new Map<string, RateMeter>();
  /** The program of each peer in #uploadRates, by the same key. */
  readonly #uploadClients = new Map<string, PeerClient>();
  /** Peer ids sent at least one chunk (bounded: a count for people). */
  readonly #uploadedTo = new Set<string>();
  #closed = false;
  /** What BitTorrent connections share: peer id, block reads, our port. */
  readonly #bt: BtContext;

  private constructor(
    listeners: Deno.TcpListener[],
    options: PeerServerOptions,
  ) {
    this.#listeners = listeners;
    this.#options = options;
    this.#bt = {
      peerId: makeBtPeerId(),
      blocks: new BtBlockSource(options.library),
      port: listeners[0]!.addr.port,
      mse: mseBudget(),
    };
    this.#slots = new UploadSlots({
      ...(options.uploadSlots !== undefined
        ? { slots: options.uploadSlots }
        : {}),
      ...(options.maxUploadBytesPerSecond !== undefined
        ? { maxUploadBytesPerSecond: options.maxUploadBytesPerSecond }
        : {}),
      ...(options.takeReceived ? { takeReceived: options.takeReceived } : {}),
    });
    this.#perAddress = new AddressLimit(
      options.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS,
    );
    this.#sendBuffers = new SendBuffers(
      (options.uploadSlots ?? DEFAULT_UPLOAD_SLOTS) + 2,
    );
    this.#accepting = Promise.all(
      listeners.map((listener) => this.#acceptLoop(listener)),
    ).then(() => {});
  }

  /** Binds and starts accepting. */
  static listen(options: PeerServerOptions): PeerServer {
    return new PeerServer(
      listenAll(options.hostname ?? "0.0.0.0", options.port ?? 0),
      options,
    );
  }

  /** The bound port. */
  get port(): number {
    return this.#listeners[0]!.addr.port;
  }

  /** Bytes of chunk data sent so far. */
  get uploadedBytes(): number {
    return this.#uploadedBytes;
  }

  /**
   * Recent upload rates of one file, by peer key ("host:port" of the
   * peer's server); meters that went quiet are dropped.
   *
   * @param fileIdHex the file
   * @returns bytes per second, by peer
   */
  uploadRates(fileIdHex: string): Map<string, number> {
    const rates = new Map<string, number>();
    for (const peer of this.uploadPeers(fileIdHex)) {
      rates.set(peer.address, peer.bytesPerSecond);
    }
    return rates;
  }

  /**
   * The peers sent some of one file lately, with their programs and rates.
   *
   * @param fileIdHex the file
   * @returns one entry per peer key ("host:port" of its server)
   */
  uploadPeers(fileIdHex: string): UploadPeer[] {
    const now = performance.now();
    const peers: UploadPeer[] = [];
    for (const [key, meter] of this.#uploadRates) {
      const bytes = meter.bytes(now);
      if (bytes === 0) {
        this.#forgetRate(key);
        continue;
      }
      const space = key.indexOf(" ");
      if (key.slice(0, space) !== fileIdHex) continue;
      const client = this.#uploadClients.get(key);
      peers.push({
        address: key.slice(space + 1),
        bytesPerSecond: (bytes * 1000) / UPLOAD_RATE_WINDOW_MS,
        client: client?.client ?? SHOAL_CLIENT,
        dialect: client?.dialect ?? "shoal",
      });
    }
    return peers;
  }

  #forgetRate(key: string): void {
    this.#uploadRates.delete(key);
    this.#uploadClients.delete(key);
  }

  /**
   * Changes the upload limit and the number of upload slots while running.
   *
   * @param limits bytes per second (null: no limit) and slots
   */
  setLimits(
    limits: { maxUploadBytesPerSecond?: number | null; slots?: number },
  ): void {
    this.#slots.setLimits(limits);
  }

  /** The upload limit (null: none) and the slots now. */
  get limits(): { maxUploadBytesPerSecond: number | null; slots: number } {
    return this.#slots.limits;
  }

  /** Peers (by the id in their handshake) sent at least one chunk so far. */
  get uploadedPeers(): number {
    return this.#uploadedTo.size;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    const maxConnections = this.#options.maxConnections ?? MAX_CONNECTIONS;
    try {
      for await (const conn of listener) {
        const remote = conn.remoteAddr as Deno.NetAddr;
        // A peer that sent bad data: not a byte read or sent, either protocol.
        if (this.#options.bans?.refusesIncoming(remote.hostname)) {
          try {
            conn.close();
          } catch {
            // Closed already.
          }
          continue;
        }
        if (this.#connections.size >= maxConnections) {
          refuse(conn, "too many connections; try again later");
          continue;
        }
        // One address may not fill the table (nor the upload slots' line).
        if (!this.#perAddress.tryAdd(remote.hostname)) {
          refuse(
            conn,
            `too many connections from your address (at most ${this.#perAddress.max}); close some and try again`,
          );
          continue;
        }
        // Answers go out as they are written: with Nagle's algorithm a
        // block written after another waits for the peer's delayed ACK.
        conn.setNoDelay(true);
        this.#connections.add(conn);
        const task = serveAnyProtocol(conn, {
          bt: this.#bt,
          library: this.#options.library,
          slots: this.#slots,
          ...(this.#options.pex ? { pex: this.#options.pex } : {}),
          sendBuffers: this.#sendBuffers,
          ...(this.#options.idleTimeoutMs !== undefined
            ? { idleTimeoutMs: this.#options.idleTimeoutMs }
            : {}),
          onUpload: (bytes, fileIdHex, peerKey, peerId, client) => {
            this.#uploadedBytes += bytes;
            if (this.#uploadedTo.size < MAX_COUNTED_PEERS) {
              this.#uploadedTo.add(peerId);
            }
            const key = `${fileIdHex} ${peerKey}`;
            let meter = this.#uploadRates.get(key);
            if (!meter && this.#uploadRates.size >= MAX_RATE_METERS) {
              // Nobody reads the rates (no web page): drop the quiet ones.
              const now = performance.now();
              for (const [old, quiet] of this.#uploadRates) {
                if (quiet.bytes(now) === 0) this.#forgetRate(old);
              }
              if (this.#uploadRates.size >= MAX_RATE_METERS) return;
            }
            if (!meter) {
              meter = new RateMeter(UPLOAD_RATE_WINDOW_MS, { maxSamples: 256 });
              this.#uploadRates.set(key, meter);
            }
            meter.add(performance.now(), bytes);
            this.#uploadClients.set(key, client);
          },
          onMisbehaviour: (reason) =>
            this.#options.onMisbehaviour?.(
              reason,
              `${remote.hostname}:${remote.port}`,
            ),
        }).finally(() => {
          this.#perAddress.remove(remote.hostname);
          this.#connections.delete(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  /** Stops accepting, closes every connection and waits for them to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#slots.close();
    for (const listener of this.#listeners) listener.close();
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }
}

/**
 * Answers a connection we will not serve with ERROR BUSY (so the other side
 * can say why), then closes it; never waits on the peer.
 */
function refuse(conn: Deno.Conn, text: string): void {
  const closeQuietly = () => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  conn.write(
    createMessage({ kind: "error", txid: 0, code: ErrorCode.BUSY, text }),
  ).then(closeQuietly, closeQuietly);
}
