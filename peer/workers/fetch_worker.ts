/**
 * A fetch worker: holds some connections of one download, each a
 * {@linkcode PeerLink} (Shoal's protocol in shoal_link.ts, BitTorrent's in
 * bt_link.ts) that owns its wire state; the worker routes the main thread's
 * commands to them by connection id, writes the chunks they checked against
 * the manifest's piece layer (the BEP 52 Merkle root over its 16 KiB blocks)
 * at their offset in the `.part` file, and re-checks chunks on disk for a
 * resume. This is the one time a
 * download's bytes are hashed: the piece layer was checked against the
 * file's pieces root, so a file of good chunks is the file the id names.
 * Chunk bytes never cross back to the main thread; only small events do.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  type FetchWorkerCommand,
  type FetchWorkerEvent,
  isFetchWorkerCommand,
  type PexPeerAddress,
} from "@shoal/protocol/worker_messages";
import { GcSchedule } from "../gc_schedule.ts";
import { verifyChunks } from "./verify_chunks.ts";
import { writeChunkSync } from "../storage/part_file.ts";
import { type ChunkFiles, openChunkFiles } from "../storage/chunk_files.ts";
import { type Pieces, piecesOf } from "./pieces.ts";
import { makeBtPeerId } from "../bt/peer_id.ts";
import { BtLink } from "./bt_link.ts";
import { ShoalLink } from "./shoal_link.ts";
import type { PeerLink } from "./peer_link.ts";
import { errorText } from "./link_limits.ts";

interface Download {
  partPath: string;
  /** The file's or folder's chunks, checked against its piece layers. */
  pieces: Pieces;
  fileId: Uint8Array;
  peerId: Uint8Array;
  listenPort: number;
  /** Offer PEX on our connections. */
  pex: boolean;
  /** The peers this peer is connected to for the file (PEX tells them). */
  pexPeers: PexPeerAddress[];
  /** The part file, or a folder's part files (chunk_files.ts). */
  files: ChunkFiles;
  writes: Promise<void>;
  /** Bytes written since the last flush to disk was started. */
  unflushedBytes: number;
  /** The background flush under way, if any (one at a time). */
  flushing: Promise<void> | null;
}

/**
 * A background fdatasync starts after each this many bytes a worker writes,
 * so the flush before the file is moved into place is short (flushing 1 GiB
 * at the end took 0.3 s on the critical path; with 64 MiB here, 256 MiB
 * from 3 seeders ended in 30-73 ms, with 16 MiB in 28-49 ms).
 */
const FLUSH_EVERY_BYTES = 16 * 1024 * 1024;

let download: Download | null = null;
/** Every connection, Shoal (shoal_link.ts) or BitTorrent (bt_link.ts), by the scheduler's ids. */
const links = new Map<number, PeerLink>();
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
      // A view of the download's one shared copy (download.ts).
      // The download parsed and checked these very bytes already.
      const pieces = piecesOf(command.manifestBytes);
      const files = await openChunkFiles(
        command.partPath,
        pieces.chunkSize,
        pieces.folder,
        "write",
      );
      download = {
        partPath: command.partPath,
        pieces,
        fileId: command.fileId,
        peerId: command.peerId,
        listenPort: command.listenPort,
        pex: command.pex,
        pexPeers: [],
        files,
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
      await open(command.connId, command.protocol, command.host, command.port);
      return;
    case "get":
      await links.get(command.connId)?.get(command.indices);
      return;
    case "cancel":
      await links.get(command.connId)?.cancel(command.index);
      return;
    case "interest":
      await links.get(command.connId)?.interest(command.interested);
      return;
    case "disconnect":
      links.get(command.connId)?.close(command.reason, "local");
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
  const pieces = piecesOf(command.manifestBytes);
  let files: ChunkFiles;
  try {
    files = await openChunkFiles(
      command.partPath,
      pieces.chunkSize,
      pieces.folder,
      "read",
    );
  } catch {
    // Gone or unreadable: nothing on disk can be trusted.
    return { type: "verified", requestId, good: [], bad: indices };
  }
  try {
    verifyBuffer ??= new Uint8Array(pieces.chunkSize);
    return {
      type: "verified",
      requestId,
      ...verifyChunks(files, pieces, indices, verifyBuffer, gcSchedule),
    };
  } finally {
    files.close();
  }
}

/**
 * Opens a connection under the scheduler's id, in the protocol it names.
 *
 * @param connId the scheduler's id for it
 * @param protocol "bittorrent", or Shoal's own
 * @param host the peer's address
 * @param port its TCP port
 */
async function open(
  connId: number,
  protocol: string | undefined,
  host: string,
  port: number,
): Promise<void> {
  const d = download!;
  const common = {
    pieces: d.pieces,
    fileId: d.fileId,
    post,
    write: (index: number, bytes: Uint8Array, id: number) =>
      writeChunk(d, index, bytes, id),
    closed: (id: number) => links.delete(id),
    pex: d.pex,
    pexPeers: () => d.pexPeers,
  };
  const link: PeerLink = protocol === "bittorrent"
    ? new BtLink(connId, {
      ...common,
      peerId: btPeerId,
      listenPort: d.listenPort,
    })
    : new ShoalLink(connId, {
      ...common,
      peerId: d.peerId,
      listenPort: d.listenPort,
      speaksBitTorrent: (id, hostname, peerPort) =>
        void open(id, "bittorrent", hostname, peerPort),
    });
  links.set(connId, link);
  await link.run(host, port);
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
      const { file, offset } = d.files.locate(index);
      writeChunkSync(file, offset, data);
      const link = links.get(connId);
      if (link) link.written(index);
      // Closed meanwhile: its reports went out with the close; this one alone.
      else post({ type: "chunks_ok", connId, indices: [index] });
      gcSchedule.add(data.byteLength);
      d.unflushedBytes += data.byteLength;
      if (d.unflushedBytes >= FLUSH_EVERY_BYTES && !d.flushing) {
        d.unflushedBytes = 0;
        // A disk that fails to flush is what --verify is for.
        d.flushing = d.files.sync().catch(() => {}).finally(() => {
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

function checkTimeouts(): void {
  const now = Date.now();
  for (const link of [...links.values()]) link.checkTimeouts(now);
}

async function shutdown(): Promise<void> {
  for (const link of [...links.values()]) {
    link.close("download finished", "local");
  }
  clearInterval(watchdog);
  if (download) {
    await download.writes;
    await download.flushing;
    // On disk before the file takes its name: a crash after the rename
    // must not leave a file that looks whole and is not.
    await download.files.sync().catch(() => {});
    download.files.close();
    download = null;
  }
  post({ type: "shut_down" });
}
