/**
 * A manifest from a BitTorrent peer, for a download that has only the file
 * id (a magnet link): the info dictionary in BEP 9 `ut_metadata` pieces,
 * trusted only once its SHA-256 is the file id, then the piece layer in
 * BEP 52 hash requests, each answer proven against the `pieces root` of
 * that checked dictionary. Both are put together into manifest bytes
 * (`manifestBytesOf`), which the download checks once more as it checks any
 * manifest. A peer whose dictionary does not hash to the id, or whose
 * hashes do not prove, lied.
 *
 * Pure: the connection (peer/wire/bt_fetch_manifest.ts) feeds it messages.
 *
 * @module
 */
import {
  BT_METADATA_PIECE_BYTES,
  type BtHashRequest,
  bytesEqual,
  decodeBencode,
  dictGet,
  folderProblem,
  HASH_BYTES,
  manifestBytesOf,
  MAX_BT_METADATA_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_FILE_BYTES,
  metadataPieceCount,
  MIN_CHUNK_BYTES,
  pieceLayerRequests,
  ProtocolError,
  sha256,
  verifyHashes,
} from "@shoal/protocol";

/** What the info dictionary says of the file's tree. */
export interface InfoShape {
  /** File size in bytes. */
  size: number;
  /** Piece length. */
  chunkSize: number;
  /** Pieces. */
  chunkCount: number;
  /** The `pieces root` (null for an empty file). */
  piecesRoot: Uint8Array | null;
}

/** What a metadata piece meant. */
export type MetadataStep =
  /** Stored; pieces are still missing. */
  | { kind: "more" }
  /** The whole info dictionary, and it hashes to the file id. */
  | { kind: "done"; info: Uint8Array }
  /** The peer broke the rules or lied: drop and ban it. */
  | { kind: "lied"; reason: string };

/**
 * The info dictionary, piece by piece (BEP 9): the size the peer announced
 * in its extension handshake, 16 KiB pieces, and the file id to check the
 * whole against.
 *
 * @example
 * ```ts
 * import { MetadataAssembly } from "./bt_metadata.ts";
 * // const meta = new MetadataAssembly(fileId, handshake.metadataSize);
 * // for (const piece of meta.pieces()) send a request for it
 * // meta.add(message) -> { kind: "done", info } once every piece is in
 * ```
 */
export class MetadataAssembly {
  readonly #fileId: Uint8Array;
  readonly #bytes: Uint8Array;
  readonly #got: boolean[];
  #missing: number;

  /**
   * @param fileId the 32-byte id (v2 infohash) the dictionary must hash to
   * @param size the info dictionary's size, as the peer announced it
   * @throws {RangeError} for a size from 1 to MAX_BT_METADATA_BYTES it cannot have
   */
  constructor(fileId: Uint8Array, size: number) {
    if (
      !Number.isSafeInteger(size) || size < 1 || size > MAX_BT_METADATA_BYTES
    ) {
      throw new RangeError(
        `Cannot fetch metadata: ${size} bytes is not from 1 to ${MAX_BT_METADATA_BYTES}`,
      );
    }
    this.#fileId = fileId;
    this.#bytes = new Uint8Array(size);
    this.#got = new Array(metadataPieceCount(size)).fill(false);
    this.#missing = this.#got.length;
  }

  /** The metadata pieces to ask for. */
  pieces(): number[] {
    return [...this.#got.keys()];
  }

  /**
   * One `ut_metadata` data message.
   *
   * @param piece its piece number
   * @param totalSize the size it says the dictionary has
   * @param data the piece (its size already checked against total_size)
   * @returns what it meant
   */
  add(piece: number, totalSize: number, data: Uint8Array): MetadataStep {
    if (totalSize !== this.#bytes.byteLength) {
      return {
        kind: "lied",
        reason:
          `sent metadata of ${totalSize} bytes after announcing ${this.#bytes.byteLength}`,
      };
    }
    if (piece >= this.#got.length || this.#got[piece]) {
      return {
        kind: "lied",
        reason: `sent metadata piece ${piece}, which was not asked for`,
      };
    }
    this.#bytes.set(data, piece * BT_METADATA_PIECE_BYTES);
    this.#got[piece] = true;
    if (--this.#missing > 0) return { kind: "more" };
    if (!bytesEqual(sha256(this.#bytes), this.#fileId)) {
      return {
        kind: "lied",
        reason: "its info dictionary does not hash to the file id",
      };
    }
    return { kind: "done", info: this.#bytes };
  }
}

function invalid(what: string): never {
  throw new ProtocolError("bad_manifest", `Cannot read manifest: ${what}`);
}

function int(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "bigint" || value < BigInt(min) || value > BigInt(max)) {
    invalid(`${what} is not an integer from ${min} to ${max}`);
  }
  return Number(value);
}

/**
 * The file's tree, from a checked info dictionary of one file (BEP 52): what
 * the piece layer requests need. The full checks (a safe name, the meta
 * version) run on the finished manifest.
 *
 * @param info the bencoded info dictionary
 * @returns size, piece length, piece count and pieces root
 * @throws {ProtocolError} when it is not the dictionary of one v2 file Shoal can fetch
 */
export function infoShape(info: Uint8Array): InfoShape {
  const dict = decodeBencode(info);
  if (!(dict instanceof Map)) invalid("the info is not a dictionary");
  const chunkSize = int(
    dictGet(dict, "piece length"),
    "piece length",
    MIN_CHUNK_BYTES,
    MAX_CHUNK_BYTES,
  );
  if ((chunkSize & (chunkSize - 1)) !== 0) {
    invalid(`piece length ${chunkSize} is not a power of two`);
  }
  const tree = dictGet(dict, "file tree");
  // A folder is named as one (or its bad path is), not as a damaged file.
  const folder = folderProblem(tree, dictGet(dict, "name"));
  if (folder) throw folder;
  if (!(tree instanceof Map) || tree.size !== 1) {
    invalid("the torrent does not hold exactly one file");
  }
  const node = [...tree.values()][0];
  const file = node instanceof Map ? node.get("") : undefined;
  if (!(file instanceof Map) || node instanceof Map && node.size !== 1) {
    invalid("the torrent holds a folder");
  }
  const size = int(dictGet(file, "length"), "length", 0, MAX_FILE_BYTES);
  const chunkCount = Math.ceil(size / chunkSize);
  if (chunkCount > MAX_CHUNK_COUNT) {
    invalid(`${chunkCount} pieces, at most ${MAX_CHUNK_COUNT}`);
  }
  if (size === 0) return { size, chunkSize, chunkCount, piecesRoot: null };
  const root = dictGet(file, "pieces root");
  if (!(root instanceof Uint8Array) || root.byteLength !== HASH_BYTES) {
    invalid("no 32-byte pieces root");
  }
  return { size, chunkSize, chunkCount, piecesRoot: root.slice() };
}

/** What a `hashes` message meant. */
export type LayerStep =
  | { kind: "more" }
  /** The whole piece layer, proven. */
  | { kind: "done"; layer: Uint8Array }
  | { kind: "lied"; reason: string };

/**
 * The piece layer, from BEP 52 hash requests proven against the pieces root.
 *
 * @example
 * ```ts
 * import { infoShape, PieceLayerAssembly } from "./bt_metadata.ts";
 * // const layer = new PieceLayerAssembly(infoShape(info));
 * // for (const request of layer.requests) send it
 * // layer.add(hashesMessage) -> { kind: "done", layer } once all are proven
 * ```
 */
export class PieceLayerAssembly {
  /** The hash requests that fetch the whole layer (none for one piece). */
  readonly requests: readonly BtHashRequest[];
  readonly #shape: InfoShape;
  readonly #layer: Uint8Array;
  readonly #pending: Set<number>;

  /** @param shape the file's tree, from a checked info dictionary */
  constructor(shape: InfoShape) {
    this.#shape = shape;
    this.requests = shape.piecesRoot && shape.chunkCount > 1
      ? pieceLayerRequests(
        { fileBytes: shape.size, pieceBytes: shape.chunkSize },
        shape.piecesRoot,
      )
      : [];
    this.#layer = new Uint8Array(shape.chunkCount * HASH_BYTES);
    this.#pending = new Set(this.requests.keys());
  }

  /** True when every request is answered (at once for a file of one piece). */
  get complete(): boolean {
    return this.#pending.size === 0;
  }

  /**
   * One `hashes` message.
   *
   * @param message its request fields and hashes
   * @returns what it meant
   */
  add(message: BtHashRequest & { hashes: Uint8Array }): LayerStep {
    const at = this.requests.findIndex((request, i) =>
      this.#pending.has(i) && request.baseLayer === message.baseLayer &&
      request.index === message.index && request.length === message.length &&
      request.proofLayers === message.proofLayers
    );
    const root = this.#shape.piecesRoot;
    if (at < 0 || !root || !bytesEqual(message.piecesRoot, root)) {
      return { kind: "lied", reason: "sent hashes that were not asked for" };
    }
    const shape = {
      fileBytes: this.#shape.size,
      pieceBytes: this.#shape.chunkSize,
    };
    if (!verifyHashes(message, shape, root)) {
      return {
        kind: "lied",
        reason: "sent piece hashes that do not prove against the pieces root",
      };
    }
    // Past the last piece the range holds padding hashes: keep the real ones.
    const real = Math.min(
      message.length,
      this.#shape.chunkCount - message.index,
    );
    this.#layer.set(
      message.hashes.subarray(0, real * HASH_BYTES),
      message.index * HASH_BYTES,
    );
    this.#pending.delete(at);
    return this.complete
      ? { kind: "done", layer: this.#layer }
      : { kind: "more" };
  }
}

/**
 * Manifest bytes from a checked info dictionary and its proven piece layer.
 *
 * @param info the info dictionary (its SHA-256 is the file id)
 * @param shape its tree
 * @param layer the piece layer (ignored for a file of one piece)
 * @returns `d4:info<info>12:piece layersd...ee`
 */
export function btManifestBytes(
  info: Uint8Array,
  shape: InfoShape,
  layer: Uint8Array,
): Uint8Array {
  return manifestBytesOf(info, {
    name: "",
    size: shape.size,
    chunkSize: shape.chunkSize,
    chunkCount: shape.chunkCount,
    piecesRoot: shape.piecesRoot,
    chunkHashes: shape.chunkCount > 1 ? layer : shape.piecesRoot ?? layer,
  });
}
