/**
 * A fetch worker: owns TCP connections to some peers of one download, sends
 * GETs the main thread asks for, checks every chunk against the manifest's
 * piece layer (the BEP 52 Merkle root over its 16 KiB blocks) and writes good
 * chunks at their offset in the `.part` file. This is the one time a
 * download's bytes are hashed: the piece layer was checked against the
 * file's pieces root, so a file of good chunks is the file the id names.
 * Chunk bytes never cross back to the main thread; only small events do.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  bytesEqual,
  chunkDigest,
  chunkHash,
  chunkLength,
  createMessage,
  ErrorCode,
  type ListedPeer,
  type Manifest,
  type Message,
  parseManifest,
  ProtocolError,
} from "@shoal/protocol";
import {
  type CloseCode,
  type FetchWorkerCommand,
  type FetchWorkerEvent,
  isFetchWorkerCommand,
  type PexPeerAddress,
} from "@shoal/protocol/worker_messages";
import {
  isLoopbackRemote,
  pexCandidates,
  PexInbox,
} from "../discovery/pex_policy.ts";
import { PexSender } from "../discovery/pex_sender.ts";
import { peerKey } from "../download/peer_book.ts";
import { FrameReader } from "../wire/frame_reader.ts";
import { handshakeFrame, HandshakeReply } from "../wire/handshake.ts";
import { GcSchedule } from "../gc_schedule.ts";
import { verifyChunks } from "./verify_chunks.ts";
import { openPartFile, writeChunkSync } from "../storage/part_file.ts";
import { fallbackProtocol, FirstBytes } from "../download/protocol_fallback.ts";
import { makeBtPeerId } from "../bt/peer_id.ts";
import { BtLink } from "./bt_link.ts";
import {
  CONNECT_TIMEOUT_MS,
  errorText,
  HANDSHAKE_TIMEOUT_MS,
  READ_TIMEOUT_MS,
  withTimeout,
} from "./link_limits.ts";

/** Cancelled GETs remembered per connection, so their late answers are tolerated. */
const MAX_CANCELLED_TXIDS = 1_024;
/**
 * Checked chunks are reported to the main thread this many at a time, or
 * sooner when few GETs are left in flight or after OK_FLUSH_MS. Why: every
 * message costs the main thread a MessageEvent and its promises; one per
 * chunk was most of its garbage (sampling heap profiler), and the main
 * thread refills a pipeline only once half of it has drained anyway.
 */
const OK_BATCH = 4;
/** Report at once when this few GETs remain unanswered, so the pipe never runs dry. */
const OK_FLUSH_PENDING = 2;
const OK_FLUSH_MS = 2;

interface Download {
  partPath: string;
  manifest: Manifest;
  fileId: Uint8Array;
  peerId: Uint8Array;
  listenPort: number;
  /** Offer PEX on our connections. */
  pex: boolean;
  /** The peers this peer is connected to for the file (PEX tells them). */
  pexPeers: PexPeerAddress[];
  file: Deno.FsFile;
  writes: Promise<void>;
  /** Bytes written since the last flush to disk was started. */
  unflushedBytes: number;
  /** The background flush under way, if any (one at a time). */
  flushing: Promise<void> | null;
}

/**
 * A background fdatasync starts after each this many bytes a worker writes,
 * so the flush before the file is moved into place is short (flushing 1 GiB
 * at the end took 0.3 s on the critical path).
 */
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * One connection's wire state. The download's scheduler
 * (peer/download/scheduler.ts) owns what is asked of this connection and
 * when (its in-flight chunks, the pipeline depth, the stall rule); the link
 * keeps only what the wire needs: the transaction ids that match each reply
 * to its GET, and its own byte-level timers.
 */
interface Link {
  connId: number;
  /** Where the peer listens (to ask it again in BitTorrent). */
  host: string;
  port: number;
  conn: Deno.TcpConn | null;
  /** The handshake is done. */
  ready: boolean;
  /** What the peer sent before the handshake was done (protocol_fallback.ts). */
  seen: FirstBytes;
  /**
   * txid -> chunk index of GETs not yet answered, to match replies (and to
   * batch reports and time the read out); which chunks are in flight is the
   * scheduler's to decide.
   */
  pending: Map<number, number>;
  /** txids of GETs we cancelled: their late answers are not the peer's fault. */
  cancelled: Set<number>;
  nextTxid: number;
  lastByteMs: number;
  closed: boolean;
  /** Frames go out one after another, never interleaved. */
  sending: Promise<void>;
  /** HAVEs received and not yet passed on: one event per batch, not per chunk. */
  haves: number[];
  /** Chunks checked and written, not yet reported. */
  oks: number[];
  okTimer: ReturnType<typeof setTimeout> | undefined;
  /** PEX we send the peer (when both sides offered it). */
  pexSender: PexSender | null;
  /** PEX the peer sent us, counted. */
  pexInbox: PexInbox;
}

let download: Download | null = null;
const links = new Map<number, Link>();
/** Connections in the BitTorrent peer wire (bt_link.ts), by the same ids. */
const btLinks = new Map<number, BtLink>();
/** Our BitTorrent peer id, one per worker (Shoal's own id is 16 bytes, BitTorrent's 20). */
const btPeerId = makeBtPeerId();
/** Each chunk's hash object is freed only by a full collection (gc_schedule.ts). */
const gcSchedule = new GcSchedule();
let watchdog: ReturnType<typeof setInterval> | undefined;
/** Reused by every re-check of chunks on disk (resume). */
let verifyBuffer: Uint8Array | null = null;
/** Every command but init waits for the file to be open. */
let initialized: Promise<void> = Promise.resolve();

function post(event: FetchWorkerEvent): void {
  self.postMessage(event);
}

self.onmessage = (event: MessageEvent<unknown>) => {
  const command = event.data;
  if (!isFetchWorkerCommand(command)) {
    throw new TypeError("Fetch worker got a malformed command");
  }
  const run = command.type === "init"
    ? (initialized = handle(command))
    : initialized.then(() => handle(command));
  run.catch((error) => {
    // A bug, not a peer's fault: surface it to the main thread's onerror.
    queueMicrotask(() => {
      throw error;
    });
  });
};

async function handle(command: FetchWorkerCommand): Promise<void> {
  switch (command.type) {
    case "init": {
      const file = await openPartFile(command.partPath, "write");
      download = {
        partPath: command.partPath,
        // A view of the download's one shared copy (download.ts).
        // The download parsed and checked these very bytes already.
        manifest: parseManifest(command.manifestBytes, {
          viewHashes: true,
          layerChecked: true,
        }),
        fileId: command.fileId,
        peerId: command.peerId,
        listenPort: command.listenPort,
        pex: command.pex,
        pexPeers: [],
        file,
        writes: Promise.resolve(),
        unflushedBytes: 0,
        flushing: null,
      };
      watchdog = setInterval(checkTimeouts, 1_000);
      return;
    }
    case "pex_peers":
      if (download) download.pexPeers = command.peers;
      return;
    case "connect":
      if (command.protocol === "bittorrent") {
        await connectBt(command.connId, command.host, command.port);
      } else {
        await connect(command.connId, command.host, command.port);
      }
      return;
    case "get":
      if (btLinks.has(command.connId)) {
        btLinks.get(command.connId)!.get(command.indices);
        return;
      }
      await sendGets(command.connId, command.indices);
      return;
    case "cancel": {
      btLinks.get(command.connId)?.cancel(command.index);
      const link = links.get(command.connId);
      if (!link?.conn) return;
      for (const [txid, index] of link.pending) {
        if (index !== command.index) continue;
        link.pending.delete(txid);
        link.cancelled.add(txid);
        // Bounded: the oldest cancellations are long answered or never will be.
        if (link.cancelled.size > MAX_CANCELLED_TXIDS) {
          link.cancelled.delete(link.cancelled.values().next().value!);
        }
      }
      await send(link, { kind: "cancel", txid: 0, index: command.index });
      return;
    }
    case "interest": {
      btLinks.get(command.connId)?.interest(command.interested);
      const link = links.get(command.connId);
      if (link) {
        await send(link, {
          kind: command.interested ? "interested" : "not_interested",
          txid: 0,
        });
      }
      return;
    }
    case "disconnect":
      btLinks.get(command.connId)?.close(command.reason, "local");
      closeLink(command.connId, command.reason, "local");
      return;
    case "shutdown":
      await shutdown();
      return;
    case "verify":
      post(await verify(command));
      return;
  }
}

/** Re-checks this worker's share of a resumed download's chunks. */
async function verify(
  command: Extract<FetchWorkerCommand, { type: "verify" }>,
): Promise<FetchWorkerEvent> {
  const { requestId, indices } = command;
  let file: Deno.FsFile;
  try {
    file = await openPartFile(command.partPath, "read");
  } catch {
    // Gone or unreadable: nothing on disk can be trusted.
    return { type: "verified", requestId, good: [], bad: indices };
  }
  try {
    const manifest = parseManifest(command.manifestBytes, {
      viewHashes: true,
      layerChecked: true,
    });
    verifyBuffer ??= new Uint8Array(manifest.chunkSize);
    return {
      type: "verified",
      requestId,
      ...verifyChunks(file, manifest, indices, verifyBuffer, gcSchedule),
    };
  } finally {
    file.close();
  }
}

async function connect(
  connId: number,
  host: string,
  port: number,
): Promise<void> {
  const d = download!;
  const link: Link = {
    connId,
    host,
    port,
    conn: null,
    ready: false,
    seen: new FirstBytes(),
    pending: new Map(),
    cancelled: new Set(),
    nextTxid: 1,
    lastByteMs: Date.now(),
    closed: false,
    sending: Promise.resolve(),
    haves: [],
    oks: [],
    okTimer: undefined,
    pexSender: null,
    pexInbox: new PexInbox(),
  };
  links.set(connId, link);
  let conn: Deno.TcpConn;
  try {
    conn = await withTimeout(
      Deno.connect({ hostname: host, port }),
      CONNECT_TIMEOUT_MS,
      "connect",
    );
  } catch (error) {
    closeLink(connId, `cannot connect: ${errorText(error)}`, "unreachable");
    return;
  }
  if (link.closed) {
    conn.close();
    return;
  }
  link.conn = conn;
  conn.setNoDelay(true);
  await sendBytes(link, handshakeFrame(d));
  const handshakeTimer = setTimeout(
    () => closeLink(connId, "no answer to the handshake", "timeout"),
    HANDSHAKE_TIMEOUT_MS,
  );
  try {
    await readLoop(link, d, () => clearTimeout(handshakeTimer));
  } finally {
    clearTimeout(handshakeTimer);
  }
}

async function readLoop(
  link: Link,
  d: Download,
  onHandshake: () => void,
): Promise<void> {
  const conn = link.conn!;
  const maxBody = Math.max(
    d.manifest.chunkSize + 4,
    Math.ceil(d.manifest.chunkCount / 8),
  );
  // What comes before the handshake is done tells a BitTorrent-only peer.
  const source = {
    read: async (into: Uint8Array) => {
      const n = await conn.read(into);
      if (n !== null && !link.ready) link.seen.add(into.subarray(0, n));
      return n;
    },
  };
  const reader = new FrameReader(source, { maxBodyBytes: maxBody });
  reader.onBytes = () => (link.lastByteMs = Date.now());
  const handshake = new HandshakeReply(d.manifest.chunkCount);
  try {
    for (
      let message = await reader.next();
      message;
      message = await reader.next()
    ) {
      if (link.closed) break;
      if (!handshake.done) {
        const step = handshake.step(message);
        if (step.kind === "more") continue;
        if (step.kind !== "ready") {
          closeLink(link.connId, step.reason, step.kind);
          break;
        }
        onHandshake();
        link.ready = true;
        if (d.pex && handshake.peerPex) startPex(link, d);
        post({
          type: "connected",
          connId: link.connId,
          bitfield: step.bitfield.slice(),
        });
        continue;
      }
      const problem = await onMessage(link, d, message);
      if (problem) {
        closeLink(link.connId, problem, "misbehaved");
        break;
      }
    }
    closeLink(link.connId, "the peer closed the connection", "gone");
  } catch (error) {
    const misbehaved = error instanceof ProtocolError;
    closeLink(
      link.connId,
      misbehaved
        ? `bad frame: ${error.message}`
        : `connection failed: ${errorText(error)}`,
      misbehaved ? "misbehaved" : "gone",
    );
  }
}

/** Handles one message after the handshake; returns a reason to drop the peer, or null. */
async function onMessage(
  link: Link,
  d: Download,
  message: Message,
): Promise<string | null> {
  switch (message.kind) {
    case "chunk_data": {
      const index = link.pending.get(message.txid);
      if (index === undefined) {
        // An answer to a GET we cancelled is fine; anything else was never asked for.
        if (link.cancelled.delete(message.txid)) return null;
        return `sent chunk ${message.index}, which was never asked for`;
      }
      link.pending.delete(message.txid);
      if (index !== message.index) {
        return `answered GET ${index} with chunk ${message.index}`;
      }
      if (message.data.byteLength !== chunkLength(d.manifest, index)) {
        post({
          type: "chunk_bad",
          connId: link.connId,
          index,
          reason: "wrong length",
        });
        return `sent chunk ${index} with the wrong length`;
      }
      if (
        !bytesEqual(
          chunkDigest(d.manifest, message.data),
          chunkHash(d.manifest, index),
        )
      ) {
        post({
          type: "chunk_bad",
          connId: link.connId,
          index,
          reason: "hash mismatch",
        });
        return `sent chunk ${index} that fails its hash`;
      }
      await writeChunk(d, index, message.data, link.connId);
      return null;
    }
    case "error": {
      const index = link.pending.get(message.txid);
      if (index === undefined) {
        link.cancelled.delete(message.txid);
        return null;
      }
      link.pending.delete(message.txid);
      if (message.code === ErrorCode.NOT_AVAILABLE) {
        post({ type: "chunk_refused", connId: link.connId, index });
        return null;
      }
      if (message.code === ErrorCode.BUSY) {
        post({ type: "chunk_busy", connId: link.connId, index });
        return null;
      }
      return `refused chunk ${index}: ${message.text}`;
    }
    case "have":
      if (message.index >= d.manifest.chunkCount) {
        return `announced chunk ${message.index}, which does not exist`;
      }
      if (link.haves.push(message.index) === 1) {
        // Every HAVE already read from the socket goes to the main thread together.
        setTimeout(() => {
          if (link.closed || link.haves.length === 0) return;
          post({
            type: "peer_have",
            connId: link.connId,
            indices: link.haves.splice(0),
          });
        }, 0);
      }
      return null;
    case "choke":
    case "unchoke":
      post({
        type: "choke",
        connId: link.connId,
        choked: message.kind === "choke",
      });
      return null;
    case "bitfield":
    case "interested":
    case "not_interested":
      return null;
    case "pex": {
      // Sent only to a connection whose HANDSHAKE offered PEX.
      if (!d.pex) return "sent PEX, which we did not offer";
      if (!link.pexInbox.accept(Date.now())) return "sent PEX too often";
      const peers = pexCandidates(message.added, isLoopbackRemote(link.host));
      if (peers.length > 0) post({ type: "pex", connId: link.connId, peers });
      return null;
    }
    default:
      return `sent an unexpected ${message.kind}`;
  }
}

/** Tells the peer, once a minute, who else we are connected to. */
function startPex(link: Link, d: Download): void {
  link.pexSender = new PexSender({
    selfKey: peerKey(link),
    peers: () => d.pexPeers,
    send: ({ added, dropped }) => {
      void send(link, {
        kind: "pex",
        txid: 0,
        added: added.map(listedPeer),
        dropped: dropped.map(listedPeer),
      });
    },
  });
  link.pexSender.start();
}

function listedPeer(peer: PexPeerAddress): ListedPeer {
  return {
    host: peer.host,
    port: peer.port,
    complete: peer.complete === true,
    ...(peer.bittorrent ? { bittorrent: true } : {}),
  };
}

function writeChunk(
  d: Download,
  index: number,
  data: Uint8Array,
  connId: number,
): Promise<void> {
  // One handle per worker: seek and write must not interleave across links.
  d.writes = d.writes.then(() => {
    try {
      writeChunkSync(d.file, index * d.manifest.chunkSize, data);
      reportOk(connId, index);
      gcSchedule.add(data.byteLength);
      d.unflushedBytes += data.byteLength;
      if (d.unflushedBytes >= FLUSH_EVERY_BYTES && !d.flushing) {
        d.unflushedBytes = 0;
        // A disk that fails to flush is what --verify is for.
        d.flushing = d.file.syncData().catch(() => {}).finally(() => {
          d.flushing = null;
        });
      }
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      post({
        type: "write_failed",
        index,
        message: errorText(error),
        code: typeof code === "string" ? code : "",
      });
    }
  });
  return d.writes;
}

/** Sends a batch of GETs in one write: one syscall per pipeline refill. */
async function sendGets(connId: number, indices: number[]): Promise<void> {
  const link = links.get(connId);
  if (!link?.conn || link.closed || indices.length === 0) return;
  if (link.pending.size === 0) link.lastByteMs = Date.now();
  const frames = indices.map((index) => {
    const txid = link.nextTxid++;
    link.pending.set(txid, index);
    return createMessage({ kind: "get", txid, index });
  });
  const batch = new Uint8Array(
    frames.reduce((sum, frame) => sum + frame.byteLength, 0),
  );
  let at = 0;
  for (const frame of frames) {
    batch.set(frame, at);
    at += frame.byteLength;
  }
  await sendBytes(link, batch);
}

function send(link: Link, message: Message): Promise<void> {
  return sendBytes(link, createMessage(message));
}

function sendBytes(link: Link, bytes: Uint8Array): Promise<void> {
  link.sending = link.sending.then(async () => {
    if (!link.conn || link.closed) return;
    try {
      let written = 0;
      while (written < bytes.byteLength) {
        written += await link.conn.write(bytes.subarray(written));
      }
    } catch (error) {
      closeLink(link.connId, `cannot send: ${errorText(error)}`, "gone");
    }
  });
  return link.sending;
}

function reportOk(connId: number, index: number): void {
  const link = links.get(connId);
  if (!link) {
    // Closed meanwhile: its reports went out with the close; this one alone.
    post({ type: "chunks_ok", connId, indices: [index] });
    return;
  }
  link.oks.push(index);
  if (
    link.oks.length >= OK_BATCH || link.pending.size <= OK_FLUSH_PENDING
  ) {
    flushOks(link);
  } else {
    link.okTimer ??= setTimeout(() => flushOks(link), OK_FLUSH_MS);
  }
}

function flushOks(link: Link): void {
  clearTimeout(link.okTimer);
  link.okTimer = undefined;
  if (link.oks.length === 0) return;
  post({ type: "chunks_ok", connId: link.connId, indices: link.oks });
  link.oks = [];
}

/**
 * Opens a BitTorrent connection (bt_link.ts) under this id.
 *
 * @param connId the scheduler's id for it
 * @param host the peer's address
 * @param port its TCP port
 */
async function connectBt(
  connId: number,
  host: string,
  port: number,
): Promise<void> {
  const d = download!;
  const link = new BtLink(connId, {
    manifest: d.manifest,
    fileId: d.fileId,
    peerId: btPeerId,
    listenPort: d.listenPort,
    pex: d.pex,
    pexPeers: () => d.pexPeers,
    post,
    write: (index, bytes, id) => writeChunk(d, index, bytes, id),
    closed: (id) => btLinks.delete(id),
  });
  btLinks.set(connId, link);
  await link.run(host, port);
}

/**
 * A Shoal handshake that got silence or a BitTorrent handshake back: the
 * peer is asked again in BitTorrent, on the same connection id, and the
 * main thread notes it as a BitTorrent peer (protocol_fallback.ts). The
 * scheduler sees one connection that took a little longer.
 */
function askInBitTorrent(link: Link, code: CloseCode): boolean {
  if (
    link.ready || link.conn === null ||
    (code !== "timeout" && code !== "gone" && code !== "misbehaved") ||
    fallbackProtocol({
        tried: "shoal",
        bytesReceived: link.seen.count,
        prefix: link.seen.prefix,
      }) !== "bittorrent"
  ) return false;
  link.closed = true;
  links.delete(link.connId);
  try {
    link.conn.close();
  } catch {
    // Already closed by the peer.
  }
  post({
    type: "speaks_bittorrent",
    connId: link.connId,
    host: link.host,
    port: link.port,
  });
  void connectBt(link.connId, link.host, link.port);
  return true;
}

function closeLink(connId: number, reason: string, code: CloseCode): void {
  const link = links.get(connId);
  if (!link || link.closed) return;
  if (askInBitTorrent(link, code)) return;
  // Chunks already on disk are reported before the close, so none is fetched again.
  flushOks(link);
  link.closed = true;
  link.pexSender?.stop();
  links.delete(connId);
  try {
    link.conn?.close();
  } catch {
    // Already closed by the peer: nothing left to release.
  }
  post({ type: "closed", connId, reason, code });
}

function checkTimeouts(): void {
  const now = Date.now();
  for (const link of [...btLinks.values()]) link.checkTimeouts(now);
  for (const link of [...links.values()]) {
    if (
      link.conn && link.pending.size > 0 &&
      now - link.lastByteMs > READ_TIMEOUT_MS
    ) {
      closeLink(
        link.connId,
        `no data for ${READ_TIMEOUT_MS / 1000} s`,
        "timeout",
      );
    }
  }
}

async function shutdown(): Promise<void> {
  for (const connId of [...links.keys()]) {
    closeLink(connId, "download finished", "local");
  }
  for (const link of [...btLinks.values()]) {
    link.close("download finished", "local");
  }
  clearInterval(watchdog);
  if (download) {
    await download.writes;
    await download.flushing;
    // On disk before the file takes its name: a crash after the rename
    // must not leave a file that looks whole and is not.
    await download.file.syncData().catch(() => {});
    download.file.close();
    download = null;
  }
  post({ type: "shut_down" });
}
