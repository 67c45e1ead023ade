/**
 * Fake BitTorrent seeders for attack tests: raw `Deno.listen` servers on
 * loopback that speak the BitTorrent peer wire (BEP 3, 6, 9, 10, 52) with
 * Shoal's own codecs, honestly or not, and count what they were asked. Like
 * a BitTorrent client, one closes a connection that does not start with a
 * BitTorrent handshake without sending a byte.
 *
 * @module
 */
import { join } from "node:path";
import {
  answerHashRequest,
  BT_BLOCK_BYTES,
  BT_METADATA_PIECE_BYTES,
  BtFrameDecoder,
  type BtMessage,
  chunkLength,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  encodeBtHandshake,
  encodeBtMessage,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  encodeTorrent,
  FileMerkleTree,
  findDictValueSpan,
  type Manifest,
  metadataPieceCount,
} from "@shoal/protocol";
import * as core from "./fake_listener.ts";
import { Rand, randomBtFrame } from "./bt_fuzz.ts";
import { type BuiltFile, listedWith } from "./fake_seeder.ts";

/** What a fake BitTorrent seeder does. */
export type FakeBtBehaviour =
  /** Serves the metadata, the piece layer and the blocks as asked. */
  | "honest"
  /** Serves blocks of a piece with one byte changed: the piece fails its hash. */
  | "bad_piece"
  /** Answers each request with a true block that this connection never asked for. */
  | "unasked"
  /** Answers a request with a piece message longer than any block may be. */
  | "oversized"
  /** Answers the handshake with another file's infohash. */
  | "other_infohash"
  /** Serves an info dictionary with one byte changed (it does not hash to the id). */
  | "lying_metadata"
  /** Serves the true info dictionary, then piece hashes with one byte changed. */
  | "lying_hashes"
  /** Shakes hands, says have none, then answers nothing (keeps the connection open). */
  | "empty"
  /** Shakes hands, says have all, never unchokes, answers nothing. */
  | "choking"
  /** Shakes hands, says have all and unchokes, then never sends a block. */
  | "no_blocks"
  /** Shakes hands, then answers each message with random hostile frames (bt_fuzz.ts). */
  | "fuzz"
  /**
   * Serves `stopAfterBlocks` blocks honestly, then never another, while
   * chattering (a keep-alive and a HAVE every second), as a peer whose
   * file was cut short might.
   */
  | "stops";

/** Behaviours that say nothing after their greeting. */
const SILENT: ReadonlySet<FakeBtBehaviour> = new Set([
  "empty",
  "choking",
  "no_blocks",
]);

/** Options for {@linkcode startFakeBtSeeder}. */
export interface FakeBtSeederOptions {
  /** How it behaves. */
  behaviour: FakeBtBehaviour;
  /** The file's bytes. */
  data: Uint8Array;
  /** Its manifest. */
  manifest: Manifest;
  /** The manifest's bytes (its info dictionary is served over BEP 9). */
  manifestBytes: Uint8Array;
  /** The file id (v2 infohash). */
  id: Uint8Array;
  /** Waits this long before answering a BitTorrent handshake. @default {0} */
  handshakeDelayMs?: number;
  /** The loopback address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** The seed of the "fuzz" behaviour's generator. @default {1} */
  seed?: number;
  /** Blocks the "stops" behaviour serves before it stops. @default {8} */
  stopAfterBlocks?: number;
}

/** A running fake BitTorrent seeder (port, connections and close() from {@linkcode core.FakeListener}). */
export interface FakeBtSeeder extends core.FakeListener {
  /** Connections that did not start with a BitTorrent handshake (closed at once). */
  otherProtocol: number;
  /** BitTorrent handshakes received. */
  btHandshakes: number;
  /** Block requests received. */
  requests: number;
  /** Blocks sent. */
  blocksSent: number;
  /** BEP 9 metadata requests received. */
  metadataRequests: number;
  /** BEP 52 hash requests received. */
  hashRequests: number;
}

const OUR_UT_METADATA_ID = 2;

/**
 * Starts a fake BitTorrent seeder on 127.0.0.1 with a free port.
 *
 * @param options behaviour and file
 */
export function startFakeBtSeeder(options: FakeBtSeederOptions): FakeBtSeeder {
  return core.listenFake(
    options.hostname,
    {
      blocksSent: 0,
      otherProtocol: 0,
      btHandshakes: 0,
      requests: 0,
      metadataRequests: 0,
      hashRequests: 0,
    },
    (conn, seeder) => serve(conn, options, seeder),
  );
}

async function serve(
  conn: Deno.Conn,
  options: FakeBtSeederOptions,
  seeder: FakeBtSeeder,
): Promise<void> {
  const { behaviour, manifest, data } = options;
  const span = findDictValueSpan(options.manifestBytes, "info")!;
  const info = options.manifestBytes.slice(span.start, span.end);
  if (behaviour === "lying_metadata") info[info.byteLength - 2]! ^= 1;
  const tree = FileMerkleTree.fromPieceLayer(manifest.chunkHashes, {
    fileBytes: manifest.size,
    pieceBytes: manifest.chunkSize,
  });
  const { write, idle } = core.orderedWriter(conn);
  const send = (...messages: (BtMessage | Uint8Array)[]) =>
    write(
      ...messages.map((m) => m instanceof Uint8Array ? m : encodeBtMessage(m)),
    );
  const block = (index: number, begin: number, length: number) => {
    const at = index * manifest.chunkSize + begin;
    return data.slice(at, at + length);
  };
  let theirMetadataId = 0;
  let chatter: ReturnType<typeof setInterval> | undefined;
  const rand = new Rand((options.seed ?? 1) + seeder.connections);
  /** Blocks asked for on this connection, "index:begin". */
  const asked = new Set<string>();
  const decoder = new BtFrameDecoder();
  const frames: (BtMessage | { kind: "handshake" })[] = [];
  let first = true;
  try {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      if (first) {
        first = false;
        if (buffer[0] !== 19) {
          // A BitTorrent client says nothing to another protocol.
          seeder.otherProtocol++;
          return;
        }
      }
      decoder.push(buffer.subarray(0, n), (frame) => frames.push(frame));
      while (frames.length > 0) {
        const frame = frames.shift()!;
        if (SILENT.has(behaviour) && frame.kind !== "handshake") {
          if (frame.kind === "request") seeder.requests++;
          continue;
        }
        if (behaviour === "fuzz" && frame.kind !== "handshake") {
          if (frame.kind === "request") seeder.requests++;
          const count = 1 + rand.int(4);
          for (let i = 0; i < count; i++) {
            await send(randomBtFrame(rand, manifest.piecesRoot));
          }
          continue;
        }
        switch (frame.kind) {
          case "handshake": {
            seeder.btHandshakes++;
            if (options.handshakeDelayMs) {
              await new Promise((r) => setTimeout(r, options.handshakeDelayMs));
            }
            const infoHash = options.id.slice(0, 20);
            if (behaviour === "other_infohash") infoHash[0]! ^= 0xff;
            await send(
              encodeBtHandshake({
                infoHash,
                peerId: new TextEncoder().encode("-FK0001-fakefakefake"),
                extended: true,
                fast: true,
              }),
              {
                kind: "extended",
                id: 0,
                payload: encodeExtendedHandshake({
                  extensions: new Map([["ut_metadata", OUR_UT_METADATA_ID]]),
                  client: "fake",
                  port: null,
                  requestQueue: 250,
                  metadataSize: info.byteLength,
                }),
              },
              { kind: behaviour === "empty" ? "have_none" : "have_all" },
              ...(behaviour === "empty" || behaviour === "choking"
                ? []
                : [{ kind: "unchoke" } as const]),
            );
            break;
          }
          case "extended": {
            if (frame.id === 0) {
              theirMetadataId =
                decodeExtendedHandshake(frame.payload).extensions.get(
                  "ut_metadata",
                ) ?? 0;
              break;
            }
            if (frame.id !== OUR_UT_METADATA_ID) break;
            const message = decodeMetadataMessage(frame.payload);
            if (message.kind !== "metadata_request") break;
            seeder.metadataRequests++;
            if (message.piece >= metadataPieceCount(info.byteLength)) break;
            const start = message.piece * BT_METADATA_PIECE_BYTES;
            await send({
              kind: "extended",
              id: theirMetadataId,
              payload: encodeMetadataMessage({
                kind: "metadata_data",
                piece: message.piece,
                totalSize: info.byteLength,
                data: info.subarray(start, start + BT_METADATA_PIECE_BYTES),
              }),
            });
            break;
          }
          case "hash_request": {
            seeder.hashRequests++;
            const hashes = answerHashRequest(frame, tree);
            if (!hashes) break;
            if (behaviour === "lying_hashes") hashes[0]! ^= 1;
            await send({ ...frame, kind: "hashes", hashes });
            break;
          }
          case "request": {
            seeder.requests++;
            const { index, begin, length } = frame;
            if (behaviour === "oversized") {
              // A piece message claiming 1 MiB: no block is that large.
              const head = new Uint8Array(13);
              const view = new DataView(head.buffer);
              view.setUint32(0, 9 + 1024 * 1024);
              head[4] = 7;
              view.setUint32(5, index);
              view.setUint32(9, begin);
              await send(head, new Uint8Array(BT_BLOCK_BYTES));
              break;
            }
            if (behaviour === "unasked") {
              // A true block, but of one this connection never asked for.
              asked.add(`${index}:${begin}`);
              const other = unaskedBlock(manifest, asked);
              if (other) {
                await send({
                  kind: "piece",
                  index: other.index,
                  begin: other.begin,
                  block: block(other.index, other.begin, other.length),
                });
              }
              break;
            }
            if (behaviour === "stops") {
              if (seeder.blocksSent >= (options.stopAfterBlocks ?? 8)) break;
              chatter ??= setInterval(() => {
                send({ kind: "keepalive" }, { kind: "have", index: 0 })
                  .catch(() => {});
              }, 1_000);
            }
            const bytes = block(index, begin, length);
            if (behaviour === "bad_piece" && begin === 0) bytes[0]! ^= 0xff;
            seeder.blocksSent++;
            await send({ kind: "piece", index, begin, block: bytes });
            break;
          }
          default:
            break;
        }
      }
    }
    await idle();
  } catch (error) {
    if (!core.isHangUp(error)) throw error;
  } finally {
    clearInterval(chatter);
  }
}

/** The last block of the file that was not asked for, if any. */
function unaskedBlock(
  manifest: Manifest,
  asked: ReadonlySet<string>,
): { index: number; begin: number; length: number } | null {
  for (let index = manifest.chunkCount - 1; index >= 0; index--) {
    const length = chunkLength(manifest, index);
    for (let begin = 0; begin < length; begin += BT_BLOCK_BYTES) {
      if (!asked.has(`${index}:${begin}`)) {
        return {
          index,
          begin,
          length: Math.min(BT_BLOCK_BYTES, length - begin),
        };
      }
    }
  }
  return null;
}

/**
 * Starts a fake BitTorrent seeder of a built file and lists it on the
 * in-process tracker: `listedBtFake(tracker, data, built, { behaviour })`.
 */
export const listedBtFake = listedWith(startFakeBtSeeder);

/**
 * Writes the .torrent of a built file to `dir`/NAME.torrent, as a user
 * would save one, and returns its path.
 *
 * @param dir the folder to write it in
 * @param built the file, from `manifestOf`
 */
export async function writeTorrent(
  dir: string,
  built: BuiltFile,
): Promise<string> {
  const torrent = join(dir, `${built.manifest.name}.torrent`);
  await Deno.writeFile(torrent, encodeTorrent(built.bytes, []));
  return torrent;
}
