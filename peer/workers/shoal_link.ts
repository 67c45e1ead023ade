/**
 * A fetch worker's connection to a peer in Shoal's own protocol: the same
 * job as bt_link.ts in BitTorrent's. It shakes hands (peer/wire/
 * handshake.ts), sends the GETs the scheduler asks for in one write per
 * refill, checks each CHUNK_DATA against the piece layer and hands good
 * chunks to the worker to write, and turns HAVE, CHOKE and UNCHOKE into the
 * scheduler's events.
 *
 * Its wire state is its own: the transaction id of each GET not yet
 * answered (to match each reply to its GET), cancelled GETs (whose late
 * answers are not the peer's fault), and its byte timers. Which chunks are
 * in flight, and how many, is the scheduler's to decide.
 *
 * A peer that answers the handshake with silence or with BitTorrent bytes
 * is asked again in BitTorrent on the same connection id
 * (protocol_fallback.ts): the scheduler sees one connection that took a
 * little longer.
 *
 * @module
 */
import {
  concatBytes,
  createMessage,
  ErrorCode,
  type Message,
  ProtocolError,
} from "@shoal/protocol";
import type { CloseCode } from "@shoal/protocol/worker_messages";
import {
  isLoopbackRemote,
  listedPeer,
  pexCandidates,
  PexInbox,
} from "../discovery/pex_policy.ts";
import { PexSender } from "../discovery/pex_sender.ts";
import { peerKey } from "../download/peer_book.ts";
import { FrameReader } from "../wire/frame_reader.ts";
import { handshakeFrame, HandshakeReply } from "../wire/handshake.ts";
import { fallbackProtocol, FirstBytes } from "../download/protocol_fallback.ts";
import type { LinkHost, PeerLink } from "./peer_link.ts";
import {
  errorText,
  HANDSHAKE_TIMEOUT_MS,
  OK_BATCH,
  OK_FLUSH_MS,
  OK_FLUSH_PENDING,
  openConnection,
  READ_TIMEOUT_MS,
} from "./link_limits.ts";
import { writeAll } from "../wire/write_all.ts";

/** Cancelled GETs remembered per connection, so their late answers are tolerated. */
const MAX_CANCELLED_TXIDS = 1_024;

/** What a Shoal link needs from its fetch worker. */
export interface ShoalLinkHost extends LinkHost {
  /** Our 16-byte Shoal peer id. */
  peerId: Uint8Array;
  /** The port we serve on, told in the handshake (0: none). */
  listenPort: number;
  /**
   * The peer answered in BitTorrent (or not at all): ask it again in
   * BitTorrent under the same connection id.
   */
  speaksBitTorrent(connId: number, hostname: string, port: number): void;
}

/**
 * One Shoal connection of a fetch worker.
 *
 * @example
 * ```ts
 * // const link = new ShoalLink(connId, host);
 * // await link.run("127.0.0.1", 7000); // until it closes
 * ```
 */
export class ShoalLink implements PeerLink {
  /** The scheduler's id for this connection. */
  readonly connId: number;
  readonly #host: ShoalLinkHost;
  #hostname = "";
  #port = 0;
  #conn: Deno.TcpConn | null = null;
  /** The handshake is done. */
  #ready = false;
  #closed = false;
  /** What the peer sent before the handshake was done (protocol_fallback.ts). */
  readonly #seen = new FirstBytes();
  /** txid -> chunk index of GETs not yet answered. */
  readonly #pending = new Map<number, number>();
  /** txids of GETs we cancelled: their late answers are not the peer's fault. */
  readonly #cancelled = new Set<number>();
  #nextTxid = 1;
  #lastByteMs = Date.now();
  /** Frames go out one after another, never interleaved. */
  #sending: Promise<void> = Promise.resolve();
  /** HAVEs received and not yet passed on: one event per batch, not per chunk. */
  #haves: number[] = [];
  /** Chunks checked and written, not yet reported. */
  #oks: number[] = [];
  #okTimer: ReturnType<typeof setTimeout> | undefined;
  /** PEX we send the peer (when both sides offered it). */
  #pexSender: PexSender | null = null;
  /** PEX the peer sent us, counted. */
  readonly #pexInbox = new PexInbox();

  /**
   * @param connId the scheduler's id for this connection
   * @param host the fetch worker's file, writer and event channel
   */
  constructor(connId: number, host: ShoalLinkHost) {
    this.connId = connId;
    this.#host = host;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Connects, shakes hands and serves the connection until it closes.
   *
   * @param hostname the peer's address
   * @param port its TCP port
   */
  async run(hostname: string, port: number): Promise<void> {
    this.#hostname = hostname;
    this.#port = port;
    const conn = await openConnection(this, hostname, port);
    if (!conn) return;
    this.#conn = conn;
    await this.#sendBytes(handshakeFrame(this.#host));
    const handshakeTimer = setTimeout(
      () => this.close("no answer to the handshake", "timeout"),
      HANDSHAKE_TIMEOUT_MS,
    );
    try {
      await this.#readLoop(conn, () => clearTimeout(handshakeTimer));
    } finally {
      clearTimeout(handshakeTimer);
    }
  }

  /** Sends a batch of GETs in one write: one syscall per pipeline refill. */
  async get(indices: readonly number[]): Promise<void> {
    if (!this.#conn || this.#closed || indices.length === 0) return;
    if (this.#pending.size === 0) this.#lastByteMs = Date.now();
    const frames = indices.map((index) => {
      const txid = this.#nextTxid++;
      this.#pending.set(txid, index);
      return createMessage({ kind: "get", txid, index });
    });
    await this.#sendBytes(concatBytes(frames));
  }

  /** The scheduler takes chunk `index` back (another peer sent it). */
  async cancel(index: number): Promise<void> {
    if (!this.#conn || this.#closed) return;
    for (const [txid, asked] of this.#pending) {
      if (asked !== index) continue;
      this.#pending.delete(txid);
      this.#cancelled.add(txid);
      // Bounded: the oldest cancellations are long answered or never will be.
      if (this.#cancelled.size > MAX_CANCELLED_TXIDS) {
        this.#cancelled.delete(this.#cancelled.values().next().value!);
      }
    }
    await this.#send({ kind: "cancel", txid: 0, index });
  }

  /** Tells the peer whether it has anything we want. */
  async interest(interested: boolean): Promise<void> {
    await this.#send({
      kind: interested ? "interested" : "not_interested",
      txid: 0,
    });
  }

  /** A chunk this link brought is on disk: reported in small batches. */
  written(index: number): void {
    this.#oks.push(index);
    if (
      this.#oks.length >= OK_BATCH || this.#pending.size <= OK_FLUSH_PENDING
    ) {
      this.#flushOks();
    } else {
      this.#okTimer ??= setTimeout(() => this.#flushOks(), OK_FLUSH_MS);
    }
  }

  /** Drops a link that has GETs out and has sent nothing for too long. */
  checkTimeouts(nowMs: number): void {
    if (
      this.#conn && this.#pending.size > 0 &&
      nowMs - this.#lastByteMs > READ_TIMEOUT_MS
    ) {
      this.close(`no data for ${READ_TIMEOUT_MS / 1000} s`, "timeout");
    }
  }

  /**
   * Closes the connection and tells the main thread why, or, for a peer
   * that seems to speak only BitTorrent, hands it over to be asked again.
   *
   * @param reason one line
   * @param code what the download does about it
   */
  close(reason: string, code: CloseCode): void {
    if (this.#closed) return;
    if (this.#askInBitTorrent(code)) return;
    // Chunks already on disk are reported before the close, so none is fetched again.
    this.#flushOks();
    this.#closed = true;
    this.#pexSender?.stop();
    this.#closeConn();
    this.#host.closed(this.connId);
    this.#host.post({ type: "closed", connId: this.connId, reason, code });
  }

  #closeConn(): void {
    try {
      this.#conn?.close();
    } catch {
      // Already closed by the peer: nothing left to release.
    }
  }

  /**
   * A Shoal handshake that got silence or a BitTorrent handshake back: the
   * peer is asked again in BitTorrent, and the main thread notes it as a
   * BitTorrent peer.
   */
  #askInBitTorrent(code: CloseCode): boolean {
    if (
      this.#ready || this.#conn === null ||
      (code !== "timeout" && code !== "gone" && code !== "misbehaved") ||
      fallbackProtocol({
          tried: "shoal",
          bytesReceived: this.#seen.count,
          prefix: this.#seen.prefix,
        }) !== "bittorrent"
    ) return false;
    this.#closed = true;
    this.#closeConn();
    this.#host.closed(this.connId);
    this.#host.post({
      type: "speaks_bittorrent",
      connId: this.connId,
      host: this.#hostname,
      port: this.#port,
    });
    this.#host.speaksBitTorrent(this.connId, this.#hostname, this.#port);
    return true;
  }

  async #readLoop(conn: Deno.TcpConn, onHandshake: () => void): Promise<void> {
    const manifest = this.#host.pieces;
    const maxBody = Math.max(
      manifest.chunkSize + 4,
      Math.ceil(manifest.chunkCount / 8),
    );
    // What comes before the handshake is done tells a BitTorrent-only peer.
    const source = {
      read: async (into: Uint8Array) => {
        const n = await conn.read(into);
        if (n !== null && !this.#ready) this.#seen.add(into.subarray(0, n));
        return n;
      },
    };
    const reader = new FrameReader(source, { maxBodyBytes: maxBody });
    reader.onBytes = () => (this.#lastByteMs = Date.now());
    const handshake = new HandshakeReply(manifest.chunkCount);
    try {
      for (
        let message = await reader.next();
        message;
        message = await reader.next()
      ) {
        if (this.#closed) break;
        if (!handshake.done) {
          const step = handshake.step(message);
          if (step.kind === "more") continue;
          if (step.kind !== "ready") {
            this.close(step.reason, step.kind);
            break;
          }
          onHandshake();
          this.#ready = true;
          if (this.#host.pex && handshake.peerPex) this.#startPex();
          this.#host.post({
            type: "connected",
            connId: this.connId,
            bitfield: step.bitfield.slice(),
          });
          continue;
        }
        const problem = await this.#onMessage(message);
        if (problem) {
          this.close(problem, "misbehaved");
          break;
        }
      }
      this.close("the peer closed the connection", "gone");
    } catch (error) {
      const misbehaved = error instanceof ProtocolError;
      this.close(
        misbehaved
          ? `bad frame: ${error.message}`
          : `connection failed: ${errorText(error)}`,
        misbehaved ? "misbehaved" : "gone",
      );
    }
  }

  /** Handles one message after the handshake; returns a reason to drop the peer, or null. */
  async #onMessage(message: Message): Promise<string | null> {
    const pieces = this.#host.pieces;
    switch (message.kind) {
      case "chunk_data": {
        const index = this.#pending.get(message.txid);
        if (index === undefined) {
          // An answer to a GET we cancelled is fine; anything else was never asked for.
          if (this.#cancelled.delete(message.txid)) return null;
          return `sent chunk ${message.index}, which was never asked for`;
        }
        this.#pending.delete(message.txid);
        if (index !== message.index) {
          return `answered GET ${index} with chunk ${message.index}`;
        }
        if (message.data.byteLength !== pieces.lengthOf(index)) {
          this.#chunkBad(index, "wrong length");
          return `sent chunk ${index} with the wrong length`;
        }
        if (!pieces.matches(index, message.data)) {
          this.#chunkBad(index, "hash mismatch");
          return `sent chunk ${index} that fails its hash`;
        }
        await this.#host.write(index, message.data, this.connId);
        return null;
      }
      case "error": {
        const index = this.#pending.get(message.txid);
        if (index === undefined) {
          this.#cancelled.delete(message.txid);
          return null;
        }
        this.#pending.delete(message.txid);
        if (message.code === ErrorCode.NOT_AVAILABLE) {
          this.#host.post({
            type: "chunk_refused",
            connId: this.connId,
            index,
          });
          return null;
        }
        if (message.code === ErrorCode.BUSY) {
          this.#host.post({ type: "chunk_busy", connId: this.connId, index });
          return null;
        }
        return `refused chunk ${index}: ${message.text}`;
      }
      case "have":
        if (message.index >= pieces.chunkCount) {
          return `announced chunk ${message.index}, which does not exist`;
        }
        if (this.#haves.push(message.index) === 1) {
          // Every HAVE already read from the socket goes to the main thread together.
          setTimeout(() => this.#flushHaves(), 0);
        }
        return null;
      case "choke":
      case "unchoke":
        this.#host.post({
          type: "choke",
          connId: this.connId,
          choked: message.kind === "choke",
        });
        return null;
      case "bitfield":
      case "interested":
      case "not_interested":
        return null;
      case "pex": {
        // Sent only to a connection whose HANDSHAKE offered PEX.
        if (!this.#host.pex) return "sent PEX, which we did not offer";
        if (!this.#pexInbox.accept(Date.now())) return "sent PEX too often";
        const peers = pexCandidates(
          message.added,
          isLoopbackRemote(this.#hostname),
        );
        if (peers.length > 0) {
          this.#host.post({ type: "pex", connId: this.connId, peers });
        }
        return null;
      }
      default:
        return `sent an unexpected ${message.kind}`;
    }
  }

  #chunkBad(index: number, reason: "wrong length" | "hash mismatch"): void {
    this.#host.post({ type: "chunk_bad", connId: this.connId, index, reason });
  }

  #flushHaves(): void {
    if (this.#closed || this.#haves.length === 0) return;
    this.#host.post({
      type: "peer_have",
      connId: this.connId,
      indices: this.#haves.splice(0),
    });
  }

  #flushOks(): void {
    clearTimeout(this.#okTimer);
    this.#okTimer = undefined;
    if (this.#oks.length === 0) return;
    this.#host.post({
      type: "chunks_ok",
      connId: this.connId,
      indices: this.#oks,
    });
    this.#oks = [];
  }

  /** Tells the peer, once a minute, who else we are connected to. */
  #startPex(): void {
    this.#pexSender = new PexSender({
      selfKey: peerKey({ host: this.#hostname, port: this.#port }),
      peers: () => this.#host.pexPeers(),
      send: ({ added, dropped }) => {
        void this.#send({
          kind: "pex",
          txid: 0,
          added: added.map(listedPeer),
          dropped: dropped.map(listedPeer),
        });
      },
    });
    this.#pexSender.start();
  }

  #send(message: Message): Promise<void> {
    return this.#sendBytes(createMessage(message));
  }

  #sendBytes(bytes: Uint8Array): Promise<void> {
    this.#sending = this.#sending.then(async () => {
      if (!this.#conn || this.#closed) return;
      try {
        await writeAll(this.#conn, bytes);
      } catch (error) {
        this.close(`cannot send: ${errorText(error)}`, "gone");
      }
    });
    return this.#sending;
  }
}
