/**
 * A fetch worker's connection to a BitTorrent peer: the same job as a Shoal
 * link in fetch_worker.ts, in the BitTorrent peer wire (BEP 3, 6, 10, 52).
 * It shakes hands with the file's truncated v2 infohash, turns the peer's
 * bitfield, have all, have none and haves into the scheduler's events,
 * turns each chunk the scheduler asks for into requests of its 16 KiB
 * blocks (bt_blocks.ts), checks each whole piece against the piece layer
 * and writes it as a Shoal chunk is written. The scheduler never learns
 * which protocol a connection speaks.
 *
 * The peer is dropped (and banned, code "misbehaved") for any frame the
 * decoder refuses (oversized, wrong size, a bitfield of the wrong length),
 * a handshake for another file, a block or reject nobody asked for, or a
 * piece that fails its hash.
 *
 * @module
 */
import {
  BT_INFOHASH_BYTES,
  btClientName,
  type BtFrame,
  BtFrameDecoder,
  type BtMessage,
  bytesEqual,
  concatBytes,
  decodeExtendedHandshake,
  decodePexMessage,
  encodeBtHandshake,
  encodeBtMessage,
  encodeBtRanges,
  encodeExtendedHandshake,
  ProtocolError,
  UT_PEX,
} from "@shoal/protocol";
import type { CloseCode } from "@shoal/protocol/worker_messages";
import {
  isLoopbackRemote,
  pexCandidates,
  PexInbox,
} from "../discovery/pex_policy.ts";
import { PexSender } from "../discovery/pex_sender.ts";
import { peerKey } from "../download/peer_book.ts";
import { btPexPayload, btPexPeer } from "../bt/pex_peers.ts";
import { BtBlocks } from "./bt_blocks.ts";
import type { LinkHost, PeerLink } from "./peer_link.ts";
import {
  BLOCK_STALL_MS,
  errorText,
  HANDSHAKE_TIMEOUT_MS,
  OK_BATCH,
  OK_FLUSH_MS,
  OK_FLUSH_PENDING,
  openConnection,
  READ_TIMEOUT_MS,
} from "./link_limits.ts";
import { writeAll } from "../wire/write_all.ts";
import type { Pieces } from "./pieces.ts";

/** A keep-alive goes out after this long with nothing sent (peers drop idle links after 2 min). */
export const KEEPALIVE_MS = 60_000;
/** Socket reads go into a buffer this large. */
const READ_BYTES = 256 * 1024;
/** The client name told in the extension handshake. */
const CLIENT = "Shoal";
/** The id our extension handshake gives `ut_pex` (BEP 11), when PEX is on. */
export const BT_LINK_UT_PEX_ID = 1;

/** What a BitTorrent link needs from its fetch worker. */
export interface BtLinkHost extends LinkHost {
  /** Our 20-byte BitTorrent peer id. */
  peerId: Uint8Array;
  /** The TCP port we serve on (told as `p`), or 0. */
  listenPort: number;
}

/**
 * One BitTorrent connection of a fetch worker.
 *
 * @example
 * ```ts
 * // const link = new BtLink(connId, host);
 * // await link.run("127.0.0.1", 6881); // until it closes
 * ```
 */
export class BtLink implements PeerLink {
  /** The scheduler's id for this connection. */
  readonly connId: number;
  readonly #host: BtLinkHost;
  readonly #pieces: Pieces;
  #conn: Deno.TcpConn | null = null;
  #closed = false;
  readonly #decoder: BtFrameDecoder;
  readonly #blocks: BtBlocks;
  /** Before the handshake, then before the bitfield, then ready. */
  #state: "handshake" | "bitfield" | "ready" = "handshake";
  /** The peer chokes us until it says otherwise. */
  #choked = true;
  /** BEP 6: the peer sends reject, have all, have none. */
  #fast = false;
  #lastByteMs = Date.now();
  /** The last block received, or when requests went out with none out before. */
  #lastBlockMs = Date.now();
  #lastSentMs = Date.now();
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Frames go out one after another, never interleaved. */
  #sending: Promise<void> = Promise.resolve();
  /** HAVEs read and not passed on yet: one event per read. */
  #haves: number[] = [];
  /** Whole pieces read and not checked yet. */
  #whole: { index: number; bytes: Uint8Array; buffer: Uint8Array }[] = [];
  /** Why the peer broke the rules, found while decoding. */
  #problem: string | null = null;
  #remoteHost = "";
  #remotePort = 0;
  readonly #pexInbox = new PexInbox();
  #pexSender: PexSender | null = null;
  /** Chunks written and not reported yet (one event per few, as Shoal links). */
  #oks: number[] = [];
  #okTimer: ReturnType<typeof setTimeout> | undefined;
  /** The peer's id from its handshake, for its program's name. */
  #peerId: Uint8Array | null = null;
  /** The `v` of its extension handshake. */
  #version: string | null = null;

  /**
   * @param connId the scheduler's id for this connection
   * @param host the fetch worker's file, writer and event channel
   */
  constructor(connId: number, host: BtLinkHost) {
    this.connId = connId;
    this.#host = host;
    this.#pieces = host.pieces;
    this.#decoder = new BtFrameDecoder({ views: true });
    this.#blocks = new BtBlocks({
      shape: {
        size: host.pieces.chunkCount * host.pieces.chunkSize,
        chunkSize: host.pieces.chunkSize,
        chunkCount: host.pieces.chunkCount,
        lengthOf: (index) => host.pieces.lengthOf(index),
      },
    });
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
    this.#remoteHost = hostname;
    this.#remotePort = port;
    const conn = await openConnection(this, hostname, port);
    if (!conn) return;
    this.#conn = conn;
    this.#handshakeTimer = setTimeout(
      () => this.close("no answer to the BitTorrent handshake", "timeout"),
      HANDSHAKE_TIMEOUT_MS,
    );
    this.#sendBytes(encodeBtHandshake({
      infoHash: this.#host.fileId.subarray(0, BT_INFOHASH_BYTES),
      peerId: this.#host.peerId,
      extended: true,
      fast: true,
      v2: true,
    }));
    await this.#readLoop(conn);
  }

  /** The scheduler asks for these chunks. */
  get(indices: readonly number[]): void {
    if (this.#closed) return;
    if (this.#choked) {
      // A choked peer serves nothing: the chunks go back to the pool.
      for (const index of indices) {
        this.#host.post({ type: "chunk_busy", connId: this.connId, index });
      }
      return;
    }
    this.#blocks.queue(indices);
    this.#pump();
  }

  /** The scheduler takes chunk `index` back (another peer sent it). */
  cancel(index: number): void {
    if (this.#closed) return;
    const ranges = this.#blocks.cancel(index);
    if (ranges.length > 0) this.#sendBytes(encodeBtRanges("cancel", ranges));
    this.#pump();
  }

  /** Tells the peer whether it has anything we want. */
  interest(interested: boolean): void {
    if (this.#closed || this.#state === "handshake") return;
    this.#send({ kind: interested ? "interested" : "not_interested" });
  }

  /**
   * Chunk `index` is on disk: reported to the main thread with a few
   * others, at once when few pieces are left in flight.
   */
  written(index: number): void {
    if (this.#closed) {
      // Its reports went out with the close; this one alone.
      this.#host.post({
        type: "chunks_ok",
        connId: this.connId,
        indices: [index],
      });
      return;
    }
    this.#oks.push(index);
    if (
      this.#oks.length >= OK_BATCH || this.#blocks.pieces <= OK_FLUSH_PENDING
    ) {
      this.#flushOks();
    } else {
      this.#okTimer ??= setTimeout(() => this.#flushOks(), OK_FLUSH_MS);
    }
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

  /** Drops a link that is silent with requests out, and keeps an idle one alive. */
  checkTimeouts(nowMs: number): void {
    if (this.#closed || this.#state !== "ready") return;
    if (
      this.#blocks.outstanding > 0 && nowMs - this.#lastByteMs > READ_TIMEOUT_MS
    ) {
      this.close(`no data for ${READ_TIMEOUT_MS / 1000} s`, "timeout");
      return;
    }
    // Chatter (keep-alives, HAVEs) is not data: only blocks keep a link
    // with requests out.
    if (
      this.#blocks.outstanding > 0 && nowMs - this.#lastBlockMs > BLOCK_STALL_MS
    ) {
      this.close(`no block for ${BLOCK_STALL_MS / 1000} s`, "timeout");
      return;
    }
    if (nowMs - this.#lastSentMs > KEEPALIVE_MS) {
      this.#send({ kind: "keepalive" });
    }
  }

  /**
   * Closes the connection and tells the main thread why.
   *
   * @param reason one line
   * @param code what the download does about it
   */
  close(reason: string, code: CloseCode): void {
    if (this.#closed) return;
    // Chunks already on disk are reported before the close, so none is fetched again.
    this.#flushOks();
    this.#closed = true;
    clearTimeout(this.#handshakeTimer);
    this.#pexSender?.stop();
    for (const piece of this.#whole) this.#blocks.release(piece.buffer);
    this.#whole = [];
    try {
      this.#conn?.close();
    } catch {
      // Already closed by the peer.
    }
    this.#host.closed(this.connId);
    this.#host.post({ type: "closed", connId: this.connId, reason, code });
  }

  async #readLoop(conn: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(READ_BYTES);
    const onFrame = (frame: BtFrame) => {
      if (this.#problem === null && !this.#closed) this.#onFrame(frame);
    };
    try {
      while (!this.#closed) {
        const n = await conn.read(buffer);
        if (n === null) {
          this.close("the peer closed the connection", "gone");
          return;
        }
        this.#lastByteMs = Date.now();
        this.#decoder.push(buffer.subarray(0, n), onFrame);
        if (this.#problem !== null) {
          this.close(this.#problem, "misbehaved");
          return;
        }
        this.#flushHaves();
        this.#checkWhole();
        this.#pump();
      }
    } catch (error) {
      if (this.#closed) return;
      const misbehaved = error instanceof ProtocolError;
      this.close(
        misbehaved
          ? `bad BitTorrent frame: ${error.message}`
          : `connection failed: ${errorText(error)}`,
        misbehaved ? "misbehaved" : "gone",
      );
    }
  }

  /** One frame, decoded in place (its bytes are valid only now). */
  #onFrame(frame: BtFrame): void {
    if (frame.kind === "handshake") return this.#onHandshake(frame);
    if (this.#state === "bitfield") {
      if (frame.kind === "bitfield") return this.#ready(frame.bits);
      if (frame.kind === "have_all" || frame.kind === "have_none") {
        if (!this.#fast) {
          return this.#misbehave(
            `sent ${frame.kind} without the fast extension`,
          );
        }
        return this.#ready(this.#allBits(frame.kind === "have_all"));
      }
      if (frame.kind !== "extended" && frame.kind !== "keepalive") {
        // BEP 3: a peer with no pieces may send no bitfield at all.
        this.#ready(this.#allBits(false));
      }
    }
    this.#onMessage(frame);
  }

  #onHandshake(frame: Extract<BtFrame, { kind: "handshake" }>): void {
    const ours = this.#host.fileId.subarray(0, BT_INFOHASH_BYTES);
    if (!bytesEqual(frame.infoHash, ours)) {
      return this.#misbehave("answered with a handshake for another file");
    }
    this.#fast = frame.fast;
    this.#peerId = frame.peerId;
    this.#state = "bitfield";
    this.#decoder.expectPieces(this.#pieces.chunkCount);
    const out: BtMessage[] = [];
    if (frame.extended) {
      out.push({
        kind: "extended",
        id: 0,
        payload: encodeExtendedHandshake({
          extensions: new Map(
            this.#host.pex ? [[UT_PEX, BT_LINK_UT_PEX_ID]] : [],
          ),
          client: CLIENT,
          // Where we listen, so the peer can tell others about us (ut_pex).
          port: this.#host.listenPort > 0 ? this.#host.listenPort : null,
          requestQueue: null,
          metadataSize: null,
        }),
      });
    }
    // We fetch on this connection; our chunks are served on our own port.
    if (this.#fast) out.push({ kind: "have_none" });
    if (out.length > 0) this.#sendAll(out);
  }

  /** The peer's pieces are known: the scheduler may ask for chunks. */
  #ready(bits: Uint8Array): void {
    this.#state = "ready";
    clearTimeout(this.#handshakeTimer);
    this.#host.post({
      type: "connected",
      connId: this.connId,
      bitfield: bits.slice(),
      client: btClientName(this.#peerId, this.#version),
      dialect: "bittorrent",
    });
    // It chokes us until it unchokes: nothing is asked of it before.
    this.#host.post({ type: "choke", connId: this.connId, choked: true });
  }

  #allBits(set: boolean): Uint8Array {
    const count = this.#pieces.chunkCount;
    const bits = new Uint8Array(Math.ceil(count / 8));
    if (!set) return bits;
    bits.fill(0xff);
    const spare = bits.byteLength * 8 - count;
    if (spare > 0) bits[bits.byteLength - 1] = (0xff << spare) & 0xff;
    return bits;
  }

  #onMessage(message: BtMessage): void {
    switch (message.kind) {
      case "have":
        if (message.index >= this.#pieces.chunkCount) {
          return this.#misbehave(
            `announced piece ${message.index}, which does not exist`,
          );
        }
        this.#haves.push(message.index);
        return;
      case "choke":
        if (this.#choked) return;
        this.#choked = true;
        this.#host.post({ type: "choke", connId: this.connId, choked: true });
        // A peer that chokes drops our requests: ask for the chunks elsewhere.
        for (const index of this.#blocks.dropAll()) {
          this.#host.post({ type: "chunk_busy", connId: this.connId, index });
        }
        return;
      case "unchoke":
        if (!this.#choked) return;
        this.#choked = false;
        this.#host.post({ type: "choke", connId: this.connId, choked: false });
        return;
      case "piece": {
        const result = this.#blocks.receive(
          message.index,
          message.begin,
          message.block,
        );
        if (result.kind === "unasked") return this.#misbehave(result.reason);
        this.#lastBlockMs = Date.now();
        if (result.kind === "piece") this.#whole.push(result);
        return;
      }
      case "reject": {
        if (!this.#fast) {
          return this.#misbehave("sent a reject without the fast extension");
        }
        const result = this.#blocks.reject(message);
        if (result.kind === "unasked") return this.#misbehave(result.reason);
        if (result.kind === "rejected") {
          if (result.cancel.length > 0) {
            this.#sendBytes(encodeBtRanges("cancel", result.cancel));
          }
          // It will not send it: the scheduler asks others for it.
          this.#host.post({
            type: "chunk_refused",
            connId: this.connId,
            index: result.index,
          });
        }
        return;
      }
      case "request":
        // We announced no pieces here; a fast peer is told no.
        if (this.#fast) {
          this.#send({
            kind: "reject",
            index: message.index,
            begin: message.begin,
            length: message.length,
          });
        }
        return;
      case "extended":
        if (message.id === 0) {
          const handshake = decodeExtendedHandshake(message.payload);
          if (handshake.requestQueue !== null) {
            this.#blocks.setMaxRequests(handshake.requestQueue);
          }
          this.#version = handshake.client;
          // Before the bitfield, the name goes with "connected".
          if (this.#state === "ready" && handshake.client !== null) {
            this.#host.post({
              type: "peer_client",
              connId: this.connId,
              client: btClientName(this.#peerId, handshake.client),
            });
          }
          this.#startPex(handshake.extensions.get(UT_PEX) ?? 0);
        } else if (message.id === BT_LINK_UT_PEX_ID && this.#host.pex) {
          this.#onPex(message.payload);
        }
        return;
      case "hash_request":
        // The piece layer is served on our own port, not on links we fetch on.
        this.#send({ ...message, kind: "hash_reject" });
        return;
      default:
        // keepalive, interest, port, suggest, allowed fast, hashes we did
        // not ask for, a late bitfield, unknown ids (bounded by the decoder):
        // nothing to do.
        return;
    }
  }

  /** Tells the peer who else we are connected to, once a minute (when it speaks ut_pex). */
  #startPex(theirId: number): void {
    if (!this.#host.pex || theirId === 0 || this.#pexSender) return;
    this.#pexSender = new PexSender({
      selfKey: peerKey({ host: this.#remoteHost, port: this.#remotePort }),
      peers: () => this.#host.pexPeers(),
      send: (message) => {
        if (this.#closed) return;
        this.#send({
          kind: "extended",
          id: theirId,
          payload: btPexPayload(message),
        });
      },
    });
    this.#pexSender.start();
  }

  /** A ut_pex message: its checked peers become candidates. */
  #onPex(payload: Uint8Array): void {
    const message = decodePexMessage(payload);
    if (!this.#pexInbox.accept(Date.now())) {
      return this.#misbehave("sent ut_pex too often");
    }
    const peers = pexCandidates(
      message.added.map(btPexPeer),
      isLoopbackRemote(this.#remoteHost),
    );
    if (peers.length > 0) {
      this.#host.post({ type: "pex", connId: this.connId, peers });
    }
  }

  #misbehave(reason: string): void {
    this.#problem ??= reason;
  }

  #flushHaves(): void {
    if (this.#haves.length === 0) return;
    this.#host.post({
      type: "peer_have",
      connId: this.connId,
      indices: this.#haves,
    });
    this.#haves = [];
  }

  /** Checks the pieces that became whole, and starts writing them. */
  #checkWhole(): void {
    while (this.#whole.length > 0 && !this.#closed) {
      const { index, bytes, buffer } = this.#whole.shift()!;
      if (!this.#pieces.matches(index, bytes)) {
        this.#blocks.release(buffer);
        this.#host.post({
          type: "chunk_bad",
          connId: this.connId,
          index,
          reason: "hash mismatch",
        });
        this.close(`sent piece ${index} that fails its hash`, "misbehaved");
        return;
      }
      // Not awaited: the worker's writes go one after another (a sync write
      // into the page cache, cheaper than a hop to a runtime thread). The
      // buffer comes back once written; BtBlocks holds at most maxBuffers.
      this.#host.write(index, bytes, this.connId).finally(() => {
        this.#blocks.release(buffer);
        this.#pump();
      });
    }
  }

  /** Sends the block requests there is room for. */
  #pump(): void {
    if (this.#closed || this.#choked || this.#state !== "ready") return;
    const idle = this.#blocks.outstanding === 0;
    const ranges = this.#blocks.nextRequests();
    // One buffer and one write for the lot (32 for each new piece).
    if (ranges.length > 0) {
      if (idle) this.#lastBlockMs = Date.now();
      this.#sendBytes(encodeBtRanges("request", ranges));
    }
  }

  #send(message: BtMessage): void {
    this.#sendBytes(encodeBtMessage(message));
  }

  /** Several messages in one write. */
  #sendAll(messages: BtMessage[]): void {
    this.#sendBytes(concatBytes(messages.map(encodeBtMessage)));
  }

  #sendBytes(bytes: Uint8Array): void {
    this.#lastSentMs = Date.now();
    this.#sending = this.#sending.then(async () => {
      const conn = this.#conn;
      if (!conn || this.#closed) return;
      try {
        await writeAll(conn, bytes);
      } catch (error) {
        this.close(`cannot send: ${errorText(error)}`, "gone");
      }
    });
  }
}
