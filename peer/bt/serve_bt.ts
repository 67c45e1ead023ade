/**
 * One incoming BitTorrent connection, served as a seeder (or a partial seed
 * of a download in progress). The handshake must name a file this peer
 * shares by its truncated v2 infohash. Then: our handshake (BEP 10 and BEP
 * 6 bits), the extension handshake (BEP 9 `ut_metadata`, `metadata_size`),
 * have all / have none / bitfield, and HAVEs as a download in progress gains
 * pieces. INTERESTED puts the peer in line for the server's upload slots
 * (the same slots, choker and rate limit as Shoal peers): UNCHOKE when one
 * is given, CHOKE when it is taken back; only requests keep a slot. Requests for 16 KiB blocks are queued (at
 * most {@linkcode BT_REQUEST_QUEUE}) and answered in order from disk,
 * checked as Shoal's own serving path checks them (block_source.ts);
 * metadata pieces and BEP 52 hashes are answered too. A peer that breaks
 * the protocol loses its connection and is reported as misbehaving: a bad
 * frame, a block nobody asked for, bytes outside the file, a flood of
 * requests while choked, too many unknown messages.
 *
 * @module
 */
import {
  answerHashRequest,
  BT_BLOCK_BYTES,
  BT_PIECE_PREFIX_BYTES,
  type BtBlockRange,
  btClientName,
  type BtFrame,
  BtFrameDecoder,
  type BtHashRequest,
  type BtMessage,
  bytesEqual,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  decodePexMessage,
  encodeBtHandshake,
  encodeBtMessage,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  hashRequestPiece,
  hashRequestProblem,
  metadataPieceCount,
  ProtocolError,
  toHex,
  UNKNOWN_BT_CLIENT,
  UT_METADATA,
  UT_PEX,
  writeBtPiecePrefix,
} from "@shoal/protocol";
import type { SharedFile } from "../library/library.ts";
import type {
  PeerClient,
  ServeConnectionOptions,
} from "../wire/serve_connection.ts";
import type { SlotHolder } from "../wire/upload_slots.ts";
import { SendBuffers } from "../wire/send_buffers.ts";
import { isConnectionError } from "../wire/conn_errors.ts";
import { writeAll } from "../wire/write_all.ts";
import { IdleDeadline } from "../wire/idle_deadline.ts";
import { handshakeTimeoutMs, idleTimeoutMs } from "../wire/timeouts.ts";
import { SHOAL_VERSION } from "../../version.ts";
import type { BtBlockSource, Examined } from "./block_source.ts";
import type { TokenBucket } from "../swarm/token_bucket.ts";
import { findByInfoHash } from "./find_shared.ts";
import {
  blockRequestProblem,
  folderBlockRequestProblem,
  sameBlock,
} from "./request_check.ts";
import {
  type FolderPart,
  openPart,
  partOfPiece,
} from "../library/shared_folder.ts";
import {
  isLoopbackRemote,
  pexCandidates,
  PexInbox,
} from "../discovery/pex_policy.ts";
import { PexSender } from "../discovery/pex_sender.ts";
import { btPexPayload, btPexPeer } from "./pex_peers.ts";

/** Requests a peer may have queued; sent as `reqq` in our extension handshake. */
export const BT_REQUEST_QUEUE = 512;
/**
 * Requests a choked peer may send before it is dropped: those in flight
 * when it was choked (at most a queue's worth) and a few more.
 */
export const MAX_CHOKED_REQUESTS = BT_REQUEST_QUEUE + 32;
/** Messages of unknown types (or unknown extensions) a peer may send. */
export const MAX_UNKNOWN_MESSAGES = 64;
/** The id our extension handshake gives `ut_metadata`. */
export const OUR_UT_METADATA_ID = 1;
/** The id our extension handshake gives `ut_pex` (BEP 11), when PEX is on. */
export const OUR_UT_PEX_ID = 2;
/** A keep-alive goes out after this long without sending anything. */
export const BT_KEEPALIVE_MS = 60_000;
/** Most blocks one write carries (256 KiB). */
export const BT_BATCH_BLOCKS = 16;
/** Files of a folder one connection keeps open at most. */
const OPEN_PARTS = 8;
/** How long HAVEs for one connection wait to leave together. */
const HAVE_BATCH_MS = 20;

/** What every BitTorrent connection of one server shares. */
export interface BtContext {
  /** This peer's BitTorrent peer id (20 bytes). */
  peerId: Uint8Array;
  /** Blocks, hashes and metadata of the shared files. */
  blocks: BtBlockSource;
  /** The TCP port we listen on (sent as `p`), or 0. */
  port: number;
  /** The budget of MSE handshakes answered (accept_mse.ts); none answered when absent. */
  mse?: TokenBucket;
}

/** Options for {@linkcode serveBitTorrent}. */
export interface ServeBtOptions extends ServeConnectionOptions {
  /** The server's BitTorrent context. */
  context: BtContext;
}

/** A reason to drop the peer (reported), or "" to close quietly. */
type Problem = string;

/**
 * Serves one BitTorrent connection until it closes, breaks the protocol or
 * idles out. Never throws for anything the peer does; closes `conn` on
 * return.
 *
 * @param conn an accepted TCP connection
 * @param firstBytes what was read to tell the protocol (decoded first)
 * @param options the library, slots, limits and context
 */
export async function serveBitTorrent(
  conn: Deno.Conn,
  firstBytes: Uint8Array,
  options: ServeBtOptions,
): Promise<void> {
  const session = new BtSession(conn, options);
  await session.run(firstBytes);
}

class BtSession {
  readonly #conn: Deno.Conn;
  readonly #options: ServeBtOptions;
  readonly #context: BtContext;
  readonly #decoder = new BtFrameDecoder();
  readonly #sendBuffers: SendBuffers;
  readonly #idleMs: number;
  readonly #idle: IdleDeadline;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #sending: Promise<void> = Promise.resolve();
  #lastSentMs = performance.now();

  #file: SharedFile | null = null;
  #handle: Deno.FsFile | null = null;
  /** A folder's files open for this peer, least recently used first. */
  readonly #parts = new Map<FolderPart, Deno.FsFile>();
  #remotePeerId = "";
  /** The peer's program, from its peer id, then its extension handshake. */
  #client: PeerClient = { client: UNKNOWN_BT_CLIENT, dialect: "bittorrent" };
  #peerIdBytes: Uint8Array | null = null;
  #fast = false;
  /** The peer's id for ut_metadata (0: it has none). */
  #theirMetadataId = 0;
  /** What the peer believes: it was sent UNCHOKE and no CHOKE since. */
  #peerUnchoked = false;
  #holder: SlotHolder | null = null;
  #slotId = 0;
  readonly #queue: BtBlockRange[] = [];
  #serving: Promise<void> | null = null;
  #chokedRequests = 0;
  #unknownMessages = 0;
  #metadataRequests = 0;
  #hashRequests = 0;
  #stopHaves: (() => void) | null = null;
  readonly #haves: number[] = [];
  #haveTimer: ReturnType<typeof setTimeout> | undefined;
  /** The peer's id for ut_pex (0: it has none). */
  #theirPexId = 0;
  readonly #pexInbox = new PexInbox();
  #pexSender: PexSender | null = null;
  /** Forgets this peer in the connected list (PEX). */
  #unlist: (() => void) | null = null;

  constructor(conn: Deno.Conn, options: ServeBtOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#context = options.context;
    this.#sendBuffers = options.sendBuffers ?? new SendBuffers(1);
    this.#idleMs = idleTimeoutMs(options.idleTimeoutMs);
    this.#idle = new IdleDeadline(
      handshakeTimeoutMs(options.handshakeTimeoutMs),
      () => this.#close(),
    );
  }

  async run(firstBytes: Uint8Array): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      let chunk: Uint8Array | null = firstBytes;
      while (chunk && !this.#closed) {
        const frames: BtFrame[] = [];
        this.#decoder.push(chunk, (frame) => frames.push(frame));
        for (const frame of frames) {
          const problem = await this.#onFrame(frame);
          if (problem !== null) {
            if (problem) this.#options.onMisbehaviour?.(problem);
            return;
          }
          if (this.#closed) return;
        }
        const n = await this.#conn.read(buffer);
        chunk = n === null ? null : buffer.subarray(0, n);
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#options.onMisbehaviour?.(
          `bad BitTorrent message: ${error.message}`,
        );
      } else if (!isConnectionError(error)) throw error;
    } finally {
      await this.#finish();
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#idle.clear();
    try {
      this.#conn.close();
    } catch {
      // Closed already by the peer.
    }
  }

  async #finish(): Promise<void> {
    this.#stopHaves?.();
    this.#unlist?.();
    this.#pexSender?.stop();
    clearTimeout(this.#haveTimer);
    clearInterval(this.#keepalive);
    if (this.#slotId) this.#options.slots?.leave(this.#slotId);
    this.#queue.length = 0;
    this.#close();
    await this.#serving?.catch(() => {});
    await this.#sending.catch(() => {});
    this.#handle?.close();
    for (const handle of this.#parts.values()) handle.close();
    this.#parts.clear();
  }

  /** Queues bytes after everything queued before: no message lands inside another. */
  #send(bytes: Uint8Array): Promise<void> {
    this.#lastSentMs = performance.now();
    this.#sending = this.#sending.then(() => writeAll(this.#conn, bytes));
    return this.#sending;
  }

  /** Sends a message in the background; a failed write ends the connection through the read loop. */
  #post(message: BtMessage): void {
    this.#send(encodeBtMessage(message)).catch(() => this.#close());
  }

  async #onFrame(frame: BtFrame): Promise<Problem | null> {
    this.#idle.extend(this.#idleMs);
    if (frame.kind === "handshake") {
      return await this.#onHandshake(frame.infoHash, frame.peerId, frame);
    }
    const file = this.#file!;
    switch (frame.kind) {
      case "keepalive":
      case "choke":
      case "unchoke":
      case "port":
      case "suggest":
      case "allowed_fast":
      case "bitfield":
      case "have_all":
      case "have_none":
        // The peer's own state: a seeder downloads nothing from it.
        return null;
      case "have":
        return frame.index < file.manifest.chunkCount
          ? null
          : `sent HAVE for piece ${frame.index} of a file of ${file.manifest.chunkCount}`;
      case "interested": {
        // A place in line, not a request: only requests keep a slot.
        const slots = this.#options.slots;
        this.#holder!.interested = true;
        const granted = slots ? slots.want(this.#slotId) : true;
        if (granted !== this.#peerUnchoked) this.#tell(!granted);
        return null;
      }
      case "not_interested":
        this.#holder!.interested = false;
        if (this.#slotId) this.#options.slots?.interestChanged(this.#slotId);
        return null;
      case "request":
        return this.#onRequest(frame);
      case "cancel": {
        const at = this.#queue.findIndex((queued) => sameBlock(queued, frame));
        if (at >= 0) {
          this.#queue.splice(at, 1);
          // BEP 6: a cancelled request is still answered, with a reject.
          if (this.#fast) this.#post({ ...frame, kind: "reject" });
        }
        return null;
      }
      case "piece":
        return `sent a block of piece ${frame.index} nobody asked for`;
      case "reject":
        return "rejected a request nobody made";
      case "hashes":
      case "hash_reject":
        return "sent hashes nobody asked for";
      case "extended":
        return this.#onExtended(frame.id, frame.payload);
      case "hash_request":
        return this.#onHashRequest(frame);
      case "unknown":
        return this.#unknown(`message type ${frame.id}`);
    }
  }

  #unknown(what: string): Problem | null {
    return ++this.#unknownMessages > MAX_UNKNOWN_MESSAGES
      ? `sent more than ${MAX_UNKNOWN_MESSAGES} messages of unknown types (last: ${what})`
      : null;
  }

  async #onHandshake(
    infoHash: Uint8Array,
    peerId: Uint8Array,
    flags: { extended: boolean; fast: boolean },
  ): Promise<Problem | null> {
    const shared = findByInfoHash(this.#options.library, infoHash);
    if (!shared) {
      return "sent a BitTorrent handshake for a file not shared here";
    }
    // An empty file has no pieces, and BitTorrent clients refuse it.
    if (shared.manifest.chunkCount === 0) return "";
    try {
      // A folder's files are opened as they are asked for.
      if (!shared.folder) {
        this.#handle = await Deno.open(shared.path, { read: true });
      }
    } catch {
      // Gone or unreadable since it was shared: our problem, not the peer's.
      this.#options.library.markStale(shared.id);
      return "";
    }
    const file = shared;
    this.#file = file;
    this.#fast = flags.fast;
    this.#remotePeerId = toHex(peerId);
    this.#peerIdBytes = peerId;
    this.#client = {
      client: btClientName(peerId, null),
      dialect: "bittorrent",
    };
    this.#decoder.expectPieces(file.manifest.chunkCount);
    return this.#greet(infoHash, flags.extended);
  }

  #greet(infoHash: Uint8Array, extended: boolean): Problem | null {
    const file = this.#file!;
    void this.#send(encodeBtHandshake({
      infoHash,
      peerId: this.#context.peerId,
      extended: true,
      fast: true,
    })).catch(() => this.#close());
    if (extended) {
      this.#post({
        kind: "extended",
        id: 0,
        payload: encodeExtendedHandshake({
          extensions: new Map([
            [UT_METADATA, OUR_UT_METADATA_ID],
            ...(this.#options.pex ? [[UT_PEX, OUR_UT_PEX_ID] as const] : []),
          ]),
          client: `Shoal ${SHOAL_VERSION}`,
          port: this.#context.port || null,
          requestQueue: BT_REQUEST_QUEUE,
          metadataSize: this.#context.blocks.info(file).byteLength,
        }),
      });
    }
    const have = file.have;
    if (this.#fast && have.complete) this.#post({ kind: "have_all" });
    else if (this.#fast && have.count === 0) this.#post({ kind: "have_none" });
    else if (have.count > 0) {
      this.#post({ kind: "bitfield", bits: have.toBytes() });
    }
    this.#join();
    this.#keepalive = setInterval(() => {
      if (performance.now() - this.#lastSentMs >= BT_KEEPALIVE_MS) {
        this.#post({ kind: "keepalive" });
      }
    }, BT_KEEPALIVE_MS / 2);
    // A download in progress tells this peer about each piece it gains.
    this.#stopHaves = this.#options.library.onHave((idHex, index) => {
      if (idHex !== file.idHex || this.#closed) return;
      if (this.#haves.push(index) > 1) return;
      this.#haveTimer = setTimeout(() => {
        this.#haveTimer = undefined;
        if (this.#closed) return;
        for (const i of this.#haves.splice(0)) {
          this.#post({ kind: "have", index: i });
        }
      }, HAVE_BATCH_MS);
    });
    return null;
  }

  /** Joins the server's upload slots. */
  #join(): void {
    const remote = this.#conn.remoteAddr as Deno.NetAddr;
    const host = remote.hostname.startsWith("::ffff:")
      ? remote.hostname.slice(7)
      : remote.hostname;
    const key = host.includes(":")
      ? `[${host}]:${remote.port}`
      : `${host}:${remote.port}`;
    const slots = this.#options.slots;
    this.#holder = {
      key,
      interested: false,
      sentBytes: 0,
      unchoked: slots === undefined,
      saysInterest: true,
      pending: () => this.#queue.length + (this.#serving ? 1 : 0),
      setChoked: (choked: boolean) => {
        if (choked === !this.#peerUnchoked) return;
        this.#tell(choked);
      },
    };
    if (slots) this.#slotId = slots.join(this.#holder);
  }

  /** Sends CHOKE (rejecting what is queued, BEP 6) or UNCHOKE. */
  #tell(choked: boolean): void {
    this.#peerUnchoked = !choked;
    this.#post({ kind: choked ? "choke" : "unchoke" });
    if (!choked) return;
    this.#chokedRequests = 0;
    for (const range of this.#queue.splice(0)) {
      if (this.#fast) this.#post({ ...range, kind: "reject" });
    }
  }

  /**
   * Tells the upload slots of a request (which keeps a slot, or takes a
   * free one): UNCHOKE when one is given and the peer does not know yet;
   * CHOKE when none is and the peer believes it has one. A peer without one
   * waits in line and is told UNCHOKE when its turn comes.
   */
  #ask(): boolean {
    const slots = this.#options.slots;
    const granted = slots ? slots.request(this.#slotId) : true;
    if (granted !== this.#peerUnchoked) this.#tell(!granted);
    return granted;
  }

  #onRequest(range: BtBlockRange): Problem | null {
    const file = this.#file!;
    const problem = file.folder
      ? folderBlockRequestProblem(file.folder.manifest, range)
      : blockRequestProblem(file.manifest, range);
    if (problem) return problem;
    if (!this.#peerUnchoked || !file.have.has(range.index)) {
      // Requests in flight when CHOKE left are forgiven; a flood is not.
      if (++this.#chokedRequests > MAX_CHOKED_REQUESTS) {
        return `sent more than ${MAX_CHOKED_REQUESTS} requests while choked or for pieces not announced`;
      }
      if (this.#fast) this.#post({ ...range, kind: "reject" });
      return null;
    }
    // Every request counts as a Shoal GET does: it keeps the slot in use
    // (or asks again for one taken since UNCHOKE).
    if (!this.#ask()) {
      if (this.#fast) this.#post({ ...range, kind: "reject" });
      return null;
    }
    if (this.#queue.length >= BT_REQUEST_QUEUE) {
      return `queued more than ${BT_REQUEST_QUEUE} requests`;
    }
    this.#queue.push({
      index: range.index,
      begin: range.begin,
      length: range.length,
    });
    this.#serving ??= this.#serveQueue().catch((error) => {
      // A peer that hangs up mid-block costs its connection, never the process.
      if (!isConnectionError(error)) throw error;
      this.#close();
    }).finally(() => (this.#serving = null));
    return null;
  }

  /**
   * Answers queued requests in order. Blocks queued together leave in one
   * write (up to {@linkcode BT_BATCH_BLOCKS}): one write per 16 KiB block
   * costs more than the copy.
   */
  async #serveQueue(): Promise<void> {
    const file = this.#file!;
    const slots = this.#options.slots;
    const frameBytes = BT_PIECE_PREFIX_BYTES + BT_BLOCK_BYTES;
    while (this.#queue.length > 0 && !this.#closed) {
      const buffer = this.#sendBuffers.take(BT_BATCH_BLOCKS * frameBytes);
      const sent: number[] = [];
      // One fstat per file per batch, not per 16 KiB block.
      const examined = new Map<Deno.FsFile, Examined>();
      let used = 0;
      try {
        while (this.#queue.length > 0 && sent.length < BT_BATCH_BLOCKS) {
          const range = this.#queue.shift()!;
          await slots?.pace(range.length);
          if (this.#closed) return;
          if (!this.#peerUnchoked) {
            // Choked while this one waited for the rate limit.
            if (this.#fast) this.#post({ ...range, kind: "reject" });
            continue;
          }
          const frame = buffer.subarray(used, used + frameBytes);
          writeBtPiecePrefix(frame, range);
          const block = frame.subarray(
            BT_PIECE_PREFIX_BYTES,
            BT_PIECE_PREFIX_BYTES + range.length,
          );
          const target = this.#target(range.index);
          if (target && !examined.has(target.handle)) {
            examined.set(
              target.handle,
              this.#context.blocks.examine(target.file, target.handle),
            );
          }
          if (
            !target ||
            !this.#context.blocks.read(
              target.file,
              target.handle,
              { ...range, index: target.index },
              block,
              examined.get(target.handle),
            )
          ) {
            // The file changed on disk (now stale): nothing more is served from it.
            this.#close();
            return;
          }
          used += BT_PIECE_PREFIX_BYTES + range.length;
          sent.push(range.length);
        }
        if (used > 0) await this.#send(buffer.subarray(0, used));
      } finally {
        this.#sendBuffers.give(buffer);
      }
      for (const length of sent) {
        this.#holder!.sentBytes += length;
        if (this.#slotId) slots?.served(this.#slotId);
        this.#options.onUpload?.(
          length,
          file.idHex,
          this.#holder!.key,
          this.#remotePeerId,
          this.#client,
        );
      }
    }
  }

  /**
   * Where piece `index` is read from: the file itself, or for a folder the
   * file holding the piece and the piece's index in it. Null when the file
   * cannot be opened or was swapped (the folder is then no longer served).
   */
  #target(
    index: number,
  ): { file: SharedFile; handle: Deno.FsFile; index: number } | null {
    const file = this.#file!;
    if (!file.folder) return { file, handle: this.#handle!, index };
    const found = partOfPiece(file.folder, index);
    if (!found) return null;
    const handle = this.#partHandle(found.part);
    return handle && { file: found.part, handle, index: found.local };
  }

  /** A folder's file, open: kept for the blocks that follow, a few at a time. */
  #partHandle(part: FolderPart): Deno.FsFile | null {
    let handle = this.#parts.get(part);
    if (handle) {
      this.#parts.delete(part);
      this.#parts.set(part, handle);
      return handle;
    }
    handle = openPart(part) ?? undefined;
    if (!handle) {
      // Gone, or swapped for another file (a link): never read.
      this.#options.library.markStale(part.id);
      return null;
    }
    this.#parts.set(part, handle);
    for (const [old, oldHandle] of this.#parts) {
      if (this.#parts.size <= OPEN_PARTS) break;
      oldHandle.close();
      this.#parts.delete(old);
    }
    return handle;
  }

  #onExtended(id: number, payload: Uint8Array): Problem | null {
    const file = this.#file!;
    if (id === 0) {
      const handshake = decodeExtendedHandshake(payload);
      this.#theirMetadataId = handshake.extensions.get(UT_METADATA) ?? 0;
      this.#client = {
        client: btClientName(this.#peerIdBytes, handshake.client),
        dialect: "bittorrent",
      };
      if (handshake.port) {
        // Tit for tat counts what a peer sent by the port it listens on.
        const key = this.#holder!.key;
        this.#holder!.key = `${
          key.slice(0, key.lastIndexOf(":"))
        }:${handshake.port}`;
      }
      this.#startPex(handshake.port, handshake.extensions.get(UT_PEX) ?? 0);
      return null;
    }
    if (id === OUR_UT_PEX_ID && this.#options.pex) {
      const message = decodePexMessage(payload);
      if (!this.#pexInbox.accept(performance.now())) {
        return "sent ut_pex too often";
      }
      this.#options.pex.learned(
        file.idHex,
        pexCandidates(
          message.added.map((peer) => btPexPeer(peer)),
          isLoopbackRemote(this.#remoteHost()),
        ),
      );
      return null;
    }
    if (id !== OUR_UT_METADATA_ID) return this.#unknown(`extension ${id}`);
    const message = decodeMetadataMessage(payload);
    if (message.kind !== "metadata_request") return null;
    const info = this.#context.blocks.info(file);
    const pieces = metadataPieceCount(info.byteLength);
    if (++this.#metadataRequests > 4 * pieces + 16) {
      return "asked for the metadata over and over";
    }
    if (this.#theirMetadataId === 0) return null;
    const at = message.piece * 16 * 1024;
    this.#post({
      kind: "extended",
      id: this.#theirMetadataId,
      payload: encodeMetadataMessage(
        message.piece < pieces
          ? {
            kind: "metadata_data",
            piece: message.piece,
            totalSize: info.byteLength,
            data: info.subarray(at, at + 16 * 1024),
          }
          : { kind: "metadata_reject", piece: message.piece },
      ),
    });
    return null;
  }

  #remoteHost(): string {
    const host = (this.#conn.remoteAddr as Deno.NetAddr).hostname;
    return host.startsWith("::ffff:") ? host.slice(7) : host;
  }

  /**
   * Lists this peer as connected once it said where it listens (`p`: an
   * incoming connection's port is not the one it listens on), and tells it
   * about the others every minute when it speaks ut_pex. Once per
   * connection: a second extension handshake changes nothing here.
   */
  #startPex(port: number | null, theirPexId: number): void {
    const pex = this.#options.pex;
    if (!pex || this.#unlist || this.#pexSender) return;
    const file = this.#file!;
    const host = this.#remoteHost();
    if (port) {
      this.#unlist = pex.add(file.idHex, { host, port, bittorrent: true });
    }
    this.#theirPexId = theirPexId;
    if (theirPexId === 0) return;
    this.#pexSender = new PexSender({
      selfKey: this.#holder!.key,
      peers: () => pex.list(file.idHex),
      send: (message) => {
        if (this.#closed) return;
        this.#post({
          kind: "extended",
          id: this.#theirPexId,
          payload: btPexPayload(message),
        });
      },
    });
    this.#pexSender.start();
  }

  #onHashRequest(request: BtHashRequest): Problem | null {
    const shared = this.#file!;
    // A folder's hashes are asked for by each file's pieces root.
    const file = shared.folder?.byRoot.get(toHex(request.piecesRoot)) ??
      shared;
    const manifest = file.manifest;
    // A peer asks for each 512 pieces' hashes, and a piece's block hashes
    // when a piece failed: more than that is a flood.
    if (++this.#hashRequests > 64 + 2 * shared.manifest.chunkCount) {
      return "sent too many hash requests";
    }
    const reject = () => this.#post({ ...request, kind: "hash_reject" });
    const shape = { fileBytes: manifest.size, pieceBytes: manifest.chunkSize };
    if (
      !manifest.piecesRoot ||
      !bytesEqual(request.piecesRoot, manifest.piecesRoot) ||
      hashRequestProblem(request, shape) !== null
    ) {
      reject();
      return null;
    }
    const piece = hashRequestPiece(request, shape);
    let leaves: Uint8Array | undefined;
    if (piece !== null) {
      const handle = file === shared
        ? this.#handle
        : this.#partHandle(file as FolderPart);
      const read = handle &&
        this.#context.blocks.pieceLeaves(file, handle, piece);
      if (!read) {
        reject();
        return null;
      }
      leaves = read;
    }
    const hashes = answerHashRequest(
      request,
      this.#context.blocks.tree(file),
      leaves,
    );
    if (!hashes) {
      // The piece's blocks no longer hash to its piece hash.
      if (piece !== null && file.have.has(piece)) {
        this.#context.blocks.mismatch(file);
      }
      reject();
      return null;
    }
    this.#post({ ...request, kind: "hashes", hashes });
    return null;
  }
}
