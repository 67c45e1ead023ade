/**
 * One incoming peer connection: the handshake names a file; then GETs are
 * answered with CHUNK_DATA read from disk into one reused buffer, in order,
 * one at a time. A peer that breaks the protocol loses its connection.
 *
 * Every chunk read from disk is checked against its SHA-256 in the manifest
 * before it is sent (about 0.3 ms per 512 KiB): a file overwritten in place
 * keeps its size, and on some file systems its modification time too, so
 * only the hash proves the bytes are still the ones the manifest promises.
 * A mismatch marks the file stale: it is no longer served or announced.
 *
 * @module
 */
import {
  chunkLength,
  chunkMatches,
  createChunkDataPrefix,
  createHeader,
  createMessage,
  ErrorCode,
  FrameDecoderStream,
  HEADER_BYTES,
  MAX_BITFIELD_BYTES,
  type Message,
  ProtocolError,
  toHex,
} from "@shoal/protocol";
import type { Library, SharedFile } from "../library/library.ts";
import type { SlotHolder, UploadSlots } from "./upload_slots.ts";
import { GcSchedule } from "../gc_schedule.ts";
import { SendBuffers } from "./send_buffers.ts";
import { isConnectionError } from "./conn_errors.ts";
import { IdleDeadline } from "./idle_deadline.ts";
import { writeAll } from "./write_all.ts";
import { stillMatches } from "./still_matches.ts";
import { OpenParts } from "../library/open_parts.ts";
import { handshakeTimeoutMs, idleTimeoutMs } from "./timeouts.ts";
import {
  type PeerDialect,
  SHOAL_CLIENT,
} from "@shoal/protocol/worker_messages";
import type { ConnectedPeers } from "../discovery/connected_peers.ts";
import {
  isLoopbackRemote,
  listedPeer,
  pexCandidates,
  PexInbox,
} from "../discovery/pex_policy.ts";
import { PexSender } from "../discovery/pex_sender.ts";

export { HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS } from "./timeouts.ts";

/** How long HAVEs for one connection wait to leave together. */
const HAVE_BATCH_MS = 20;
/** Chunks hashed on read leave hash objects only a full collection frees. */
const hashedOnRead = new GcSchedule();
/** Most GETs a peer may have queued on one connection. */
export const MAX_QUEUED_GETS = 64;
/** A peer's program and protocol, as a peer list shows them. */
export interface PeerClient {
  /** Its program, safe to show. */
  client: string;
  /** The protocol it speaks. */
  dialect: PeerDialect;
}

/** What every peer that speaks Shoal's own protocol is. */
const SHOAL_PEER: PeerClient = { client: SHOAL_CLIENT, dialect: "shoal" };

/** Options for {@linkcode serveConnection}. */
export interface ServeConnectionOptions {
  /** The files we share. */
  library: Library;
  /**
   * Close a connection with no whole frame for this long (a slow sender
   * trickling one frame never resets it).
   * @default {120_000, or SHOAL_IDLE_TIMEOUT_MS}
   */
  idleTimeoutMs?: number;
  /**
   * Close a connection that sends no handshake for this long.
   * @default {10_000, or SHOAL_HANDSHAKE_TIMEOUT_MS}
   */
  handshakeTimeoutMs?: number;
  /**
   * Called with the bytes of each chunk sent, the file's id (hex), the peer's key
   * ("host:port" of its server), the peer id it gave in its handshake (hex)
   * and the program it runs, for the page.
   */
  onUpload?: (
    bytes: number,
    fileIdHex: string,
    peerKey: string,
    peerId: string,
    client: PeerClient,
  ) => void;
  /** Called when a peer is dropped for breaking the protocol. */
  onMisbehaviour?: (reason: string) => void;
  /** Upload slots and pacing shared by the server's connections; all unchoked when absent. */
  slots?: UploadSlots;
  /** Frame buffers shared by the server's connections; one of its own when absent. */
  sendBuffers?: SendBuffers;
  /** Bytes already read from `conn` (to tell the protocols apart): decoded first. */
  firstBytes?: Uint8Array;
  /** Peer exchange: the peers connected per file; PEX is off when absent. */
  pex?: ConnectedPeers;
}

interface QueuedGet {
  txid: number;
  index: number;
}

/**
 * Serves one connection until it closes, breaks the protocol or idles out.
 * Never throws for anything the peer does.
 *
 * @param conn an accepted TCP connection (closed on return)
 * @param options the library and limits
 */
export async function serveConnection(
  conn: Deno.Conn,
  options: ServeConnectionOptions,
): Promise<void> {
  const idleMs = idleTimeoutMs(options.idleTimeoutMs);
  let file: SharedFile | null = null;
  let handle: Deno.FsFile | null = null;
  /** A folder's files, open for this peer (open_parts.ts). */
  const parts = new OpenParts(options.library);
  let remotePeerId = "";
  const sendBuffers = options.sendBuffers ?? new SendBuffers(1);
  const queue: QueuedGet[] = [];
  let serving: Promise<void> | null = null;
  let closed = false;

  const close = () => {
    if (closed) return;
    closed = true;
    idle.clear();
    try {
      conn.close();
    } catch {
      // Already closed by the peer.
    }
  };
  const idle = new IdleDeadline(
    handshakeTimeoutMs(options.handshakeTimeoutMs),
    close,
  );

  // Frames go out one after another: a HAVE or CHOKE never lands inside a chunk.
  let sending: Promise<void> = Promise.resolve();
  const send = (bytes: Uint8Array): Promise<void> => {
    sending = sending.then(() => writeAll(conn, bytes));
    return sending;
  };
  let holder: SlotHolder | null = null;
  let slotId = 0;
  let stopHaves: (() => void) | null = null;
  /** PEX: forgets this peer in the connected list; stops our messages to it. */
  let unlist: (() => void) | null = null;
  let pexSender: PexSender | null = null;
  const pexInbox = new PexInbox();
  const haves: number[] = [];
  let haveTimer: ReturnType<typeof setTimeout> | undefined;
  const busy = (txid: number) =>
    send(
      createMessage({
        kind: "error",
        txid,
        code: ErrorCode.BUSY,
        text: "choked",
      }),
    );

  const notAvailable = (txid: number) =>
    send(
      createMessage({
        kind: "error",
        txid,
        code: ErrorCode.NOT_AVAILABLE,
        text: "chunk not available",
      }),
    );

  const serveQueue = async () => {
    while (queue.length > 0 && !closed) {
      const { txid, index } = queue.shift()!;
      // A folder's piece is read from the file holding it, as a piece of
      // that file (open_parts.ts); a file's from the file itself.
      const target = file!.folder
        ? parts.target(file!, index)
        : { part: file!, handle: handle!, local: index };
      if (!target) {
        await notAvailable(txid);
        continue;
      }
      const current: SharedFile = target.part;
      const at = target.local;
      let matches: boolean | "unchanged";
      try {
        matches = stillMatches(current, target.handle);
      } catch (error) {
        if (isConnectionError(error)) throw error;
        // The file cannot even be examined (removed, a disk error).
        matches = false;
      }
      if (current.stale || !current.have.has(at) || !matches) {
        if (
          !current.stale && current.mtimeMs !== null && current.have.has(at)
        ) options.library.markStale(current.id);
        await notAvailable(txid);
        continue;
      }
      // Hashing every chunk on read costs as much as the transfer: have the
      // whole file checked once, so its ctime vouches for it again.
      if (matches === true) void options.library.recheck(current);
      const length = chunkLength(current.manifest, at);
      await options.slots?.pace(length);
      if (holder && !holder.unchoked) {
        await busy(txid);
        continue;
      }
      const prefixBytes = HEADER_BYTES + 4;
      // Taken for this frame only, and given back once it is written.
      const buffer = sendBuffers.take(
        prefixBytes + current.manifest.chunkSize,
      );
      try {
        buffer.set(createChunkDataPrefix(txid, index, length));
        const body = buffer.subarray(prefixBytes, prefixBytes + length);
        // Sync calls: a seek never touches the disk, and a seeded file is
        // usually in the page cache, where a 512 KiB read costs less than the
        // hop to a runtime thread and back (1 GiB from 3 seeders: 1.83 s ->
        // 1.71 s). A cold read blocks this loop for one disk read, no longer.
        target.handle.seekSync(
          at * current.manifest.chunkSize,
          Deno.SeekMode.Start,
        );
        let filled = 0;
        try {
          while (filled < length) {
            const n = target.handle.readSync(body.subarray(filled));
            if (n === null) break;
            filled += n;
          }
        } catch (error) {
          if (isConnectionError(error)) throw error;
          filled = -1; // A read error: treat it like a changed file.
        }
        // Short (the file shrank) or different bytes (overwritten in place):
        // the file no longer matches its manifest, so stop serving it.
        // Hash on read unless nothing can have changed the bytes: our own
        // download in progress was checked chunk by chunk as we wrote it, and
        // a file whose ctime is the one its bytes were checked at is untouched.
        const hashed = filled === length && matches !== "unchanged";
        if (hashed) hashedOnRead.add(length);
        if (
          filled < length ||
          (hashed &&
            !chunkMatches(current.manifest, at, body))
        ) {
          options.library.markStale(current.id);
          await notAvailable(txid);
          continue;
        }
        await send(buffer.subarray(0, prefixBytes + length));
      } finally {
        sendBuffers.give(buffer);
      }
      if (holder) holder.sentBytes += length;
      if (slotId) options.slots?.served(slotId);
      options.onUpload?.(
        length,
        current.idHex,
        holder?.key ?? "",
        remotePeerId,
        SHOAL_PEER,
      );
    }
  };

  const onMessage = async (message: Message): Promise<string | null> => {
    idle.extend(idleMs);
    if (file === null) {
      if (message.kind !== "handshake") {
        return `sent ${message.kind} before the handshake`;
      }
      const shared = options.library.get(message.fileId);
      if (!shared) {
        await send(
          createMessage({
            kind: "error",
            txid: message.txid,
            code: ErrorCode.UNKNOWN_FILE,
            text: "file not shared here",
          }),
        );
        return "";
      }
      try {
        // A folder's files are opened as their pieces are asked for.
        handle = shared.folder
          ? null
          : await Deno.open(shared.path, { read: true });
      } catch {
        // Gone or unreadable since it was shared: a local problem, not the
        // peer's, and never a reason to crash the whole server.
        options.library.markStale(shared.id);
        await send(
          createMessage({
            kind: "error",
            txid: message.txid,
            code: ErrorCode.UNKNOWN_FILE,
            text: "file not available",
          }),
        );
        return "";
      }
      file = shared;
      remotePeerId = toHex(message.peerId);
      await send(
        createMessage({
          kind: "ack",
          txid: message.txid,
          intervalSeconds: 0,
          // We understand PEX: the peer may send it.
          ...(options.pex ? { pex: true } : {}),
        }),
      );
      await send(
        createMessage({
          kind: "bitfield",
          txid: 0,
          bits: shared.have.toBytes(),
        }),
      );
      const remote = conn.remoteAddr as Deno.NetAddr;
      const host = remote.hostname.startsWith("::ffff:")
        ? remote.hostname.slice(7)
        : remote.hostname;
      holder = {
        key: host.includes(":")
          ? `[${host}]:${message.port}`
          : `${host}:${message.port}`,
        interested: true,
        sentBytes: 0,
        unchoked: options.slots === undefined,
        pending: () => queue.length + (serving ? 1 : 0),
        setChoked(choked: boolean) {
          void send(
            createMessage({ kind: choked ? "choke" : "unchoke", txid: 0 }),
          ).catch(() => {});
          if (!choked) return;
          // A choke drops the queue: each waiting GET gets BUSY and is asked again later.
          for (const get of queue.splice(0)) {
            void busy(get.txid).catch(() => {});
          }
        },
      };
      if (options.slots) slotId = options.slots.join(holder);
      startPex(shared, host, message.port, message.pex === true);
      // A download in progress tells this peer about each chunk it gains.
      stopHaves = options.library.onHave((idHex, index) => {
        if (idHex !== shared.idHex || closed) return;
        // HAVEs leave in batches (one write per 20 ms), not one write per chunk.
        if (haves.push(index) > 1) return;
        haveTimer = setTimeout(() => {
          haveTimer = undefined;
          if (closed) return;
          const frames = haves.splice(0).map((i) =>
            createMessage({ kind: "have", txid: 0, index: i })
          );
          const batch = new Uint8Array(frames.length * frames[0]!.byteLength);
          frames.forEach((frame, i) => batch.set(frame, i * frame.byteLength));
          void send(batch).catch(() => {});
        }, HAVE_BATCH_MS);
      });
      return null;
    }
    switch (message.kind) {
      case "get_manifest": {
        // Header, then the shared bytes as they are: no copy per request
        // (8 MiB for a 128 GiB file). Queued together, so nothing lands
        // between them.
        const bytes = file.manifestBytes;
        void send(
          createHeader("manifest", {
            txid: message.txid,
            bodyLength: bytes.byteLength,
          }),
        );
        await send(bytes);
        return null;
      }
      case "get":
        if (message.index >= file.manifest.chunkCount) {
          return `asked for chunk ${message.index}, which does not exist`;
        }
        if (queue.length >= MAX_QUEUED_GETS) {
          return `queued more than ${MAX_QUEUED_GETS} GETs`;
        }
        // A slot goes to a peer that asks: this GET takes a free one, or
        // is answered BUSY and the peer waits in line for UNCHOKE.
        if (slotId && !options.slots!.request(slotId)) {
          await busy(message.txid);
          return null;
        }
        queue.push({ txid: message.txid, index: message.index });
        serving ??= serveQueue().catch((error) => {
          // A peer that hangs up mid-chunk costs its connection, never the process.
          if (!isConnectionError(error)) throw error;
          close();
        }).finally(() => (serving = null));
        return null;
      case "cancel": {
        const at = queue.findIndex((get) => get.index === message.index);
        if (at >= 0) queue.splice(at, 1);
        return null;
      }
      case "not_interested":
      case "interested":
        if (holder) {
          holder.interested = message.kind === "interested";
          if (slotId) options.slots?.interestChanged(slotId);
        }
        return null;
      case "have":
      case "bitfield":
      case "choke":
      case "unchoke":
        return null;
      case "pex":
        // Sent only to a peer that said (our ACK) it understands PEX.
        if (!options.pex) return "sent PEX, which we did not offer";
        if (!pexInbox.accept(performance.now())) return "sent PEX too often";
        options.pex.learned(
          file.idHex,
          pexCandidates(
            message.added,
            isLoopbackRemote((conn.remoteAddr as Deno.NetAddr).hostname),
          ),
        );
        return null;
      default:
        return `sent an unexpected ${message.kind}`;
    }
  };

  /**
   * Lists this peer as connected (when it listens), and tells it about the
   * others every minute (when it understands PEX).
   */
  const startPex = (
    shared: SharedFile,
    host: string,
    port: number,
    understands: boolean,
  ) => {
    const pex = options.pex;
    if (!pex) return;
    if (port > 0) unlist = pex.add(shared.idHex, { host, port });
    if (!understands) return;
    pexSender = new PexSender({
      selfKey: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
      peers: () => pex.list(shared.idHex),
      send: ({ added, dropped }) => {
        if (closed) return;
        void send(
          createMessage({
            kind: "pex",
            txid: 0,
            added: added.map(listedPeer),
            dropped: dropped.map(listedPeer),
          }),
        ).catch(() => {});
      },
    });
    pexSender.start();
  };

  try {
    const frames = withFirstBytes(conn.readable, options.firstBytes)
      .pipeThrough(
        new FrameDecoderStream({ maxBodyBytes: MAX_BITFIELD_BYTES }),
      );
    for await (const message of frames) {
      const problem = await onMessage(message);
      if (problem !== null) {
        if (problem) options.onMisbehaviour?.(problem);
        break;
      }
    }
    await serving;
  } catch (error) {
    if (error instanceof ProtocolError) {
      options.onMisbehaviour?.(`bad frame: ${error.message}`);
    } else if (!isConnectionError(error)) {
      throw error;
    }
  } finally {
    (stopHaves as (() => void) | null)?.();
    (unlist as (() => void) | null)?.();
    (pexSender as PexSender | null)?.stop();
    clearTimeout(haveTimer);
    if (slotId) options.slots?.leave(slotId);
    close();
    // Both are assigned inside closures, which narrowing cannot see.
    await (serving as Promise<void> | null)?.catch(() => {});
    (handle as Deno.FsFile | null)?.close();
    parts.close();
  }
}

/** `readable`, after `first` when there is one. */
function withFirstBytes(
  readable: ReadableStream<Uint8Array>,
  first: Uint8Array | undefined,
): ReadableStream<Uint8Array> {
  if (!first || first.byteLength === 0) return readable;
  return ReadableStream.from((async function* () {
    yield first;
    yield* readable;
  })());
}
