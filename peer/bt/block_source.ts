/**
 * What BitTorrent connections read from shared files: 16 KiB blocks, the
 * block hashes of a piece, the Merkle tree above the piece layer and the
 * info dictionary, with the same guarantee as Shoal's own serving path
 * (serve_connection.ts): no byte leaves unless it is the byte the manifest
 * promises. While a file's ctime vouches for its bytes (or it is our own
 * download in progress, checked as it was written), a block is read as it
 * is; otherwise its whole piece is read and hashed first, and kept in a
 * small cache shared by all connections so the piece's other blocks are
 * not read and hashed again. A mismatch marks the file stale.
 *
 * @module
 */
import {
  blockHashesOf,
  type BtBlockRange,
  chunkLength,
  chunkMatches,
  FileMerkleTree,
  findDictValueSpan,
} from "@shoal/protocol";
import type { Library, SharedFile } from "../library/library.ts";
import { GcSchedule } from "../gc_schedule.ts";
import { stillMatches } from "../wire/still_matches.ts";
import { readChunkSync } from "../storage/part_file.ts";

/** What {@linkcode BtBlockSource.examine} finds: changed, unchanged, or to hash. */
export type Examined = boolean | "unchanged";

/** Default bytes of checked pieces kept for the blocks that follow. */
export const PIECE_CACHE_BYTES = 16 * 1024 * 1024;

/** Pieces hashed on read leave hash objects only a full collection frees. */
const hashedOnRead = new GcSchedule();

/**
 * Reads blocks and hashes of shared files for BitTorrent peers.
 *
 * @example
 * ```ts
 * // const source = new BtBlockSource(library);
 * // if (!source.read(file, handle, { index, begin, length }, into)) dropConnection();
 * ```
 */
export class BtBlockSource {
  readonly #library: Library;
  readonly #maxCacheBytes: number;
  /** Checked pieces, oldest first, by "hex id:index". */
  readonly #pieces = new Map<string, Uint8Array>();
  #cacheBytes = 0;
  readonly #trees = new WeakMap<SharedFile, FileMerkleTree>();
  readonly #infos = new WeakMap<SharedFile, Uint8Array>();

  /**
   * @param library the files shared (to mark one stale, or have it hashed again)
   * @param maxCacheBytes bytes of checked pieces kept @default {PIECE_CACHE_BYTES}
   */
  constructor(library: Library, maxCacheBytes = PIECE_CACHE_BYTES) {
    this.#library = library;
    this.#maxCacheBytes = maxCacheBytes;
  }

  /**
   * Reads a block into `into` (`range.length` bytes), zeros past the end of
   * the file: libtorrent asks for a file's last block in full.
   *
   * @param file the shared file
   * @param handle the file, open for reading
   * @param range a block of a piece this peer has, inside the piece padded
   *   to whole blocks (peer/bt/request_check.ts)
   * @param into where the block goes
   * @param examined what {@linkcode BtBlockSource.examine} said of `handle`
   *   a moment ago, for blocks sent together (examined now if not given)
   * @returns false when the file no longer matches its manifest (it is then
   *   marked stale and no longer served)
   */
  read(
    file: SharedFile,
    handle: Deno.FsFile,
    range: BtBlockRange,
    into: Uint8Array,
    examined: Examined = this.examine(file, handle),
  ): boolean {
    const matches = this.#check(file, range.index, examined);
    if (matches === false) return false;
    const manifest = file.manifest;
    const pieceLength = chunkLength(manifest, range.index);
    const real = Math.max(
      0,
      Math.min(range.length, pieceLength - range.begin),
    );
    if (matches === "unchanged") {
      const at = range.index * manifest.chunkSize + range.begin;
      if (!readChunkSync(handle, at, into.subarray(0, real))) {
        this.#library.markStale(file.id);
        return false;
      }
    } else {
      const piece = this.#checkedPiece(file, handle, range.index);
      if (!piece) return false;
      into.set(piece.subarray(range.begin, range.begin + real));
    }
    into.fill(0, real, range.length);
    return true;
  }

  /**
   * The leaf hashes of a piece this peer has, read from disk, to answer a
   * hash request below the piece layer (the answer checks them against the
   * piece hash).
   *
   * @param file the shared file
   * @param handle the file, open for reading
   * @param index the piece
   * @returns the hashes, or null when the file no longer matches
   */
  pieceLeaves(
    file: SharedFile,
    handle: Deno.FsFile,
    index: number,
  ): Uint8Array | null {
    const matches = this.#check(file, index, this.examine(file, handle));
    if (matches === false) return null;
    const key = `${file.idHex}:${index}`;
    let piece = this.#pieces.get(key);
    if (!piece) {
      piece = new Uint8Array(chunkLength(file.manifest, index));
      if (!readChunkSync(handle, index * file.manifest.chunkSize, piece)) {
        this.#library.markStale(file.id);
        return null;
      }
    }
    return blockHashesOf(piece);
  }

  /**
   * Marks a file whose bytes did not hash to what its manifest says.
   *
   * @param file the shared file
   */
  mismatch(file: SharedFile): void {
    this.#library.markStale(file.id);
  }

  /** The file's Merkle tree above the piece layer, built once per file. */
  tree(file: SharedFile): FileMerkleTree {
    let tree = this.#trees.get(file);
    if (!tree) {
      tree = FileMerkleTree.fromPieceLayer(file.manifest.chunkHashes, {
        fileBytes: file.manifest.size,
        pieceBytes: file.manifest.chunkSize,
      });
      this.#trees.set(file, tree);
    }
    return tree;
  }

  /** The bencoded info dictionary (BEP 9 metadata), a view of the manifest. */
  info(file: SharedFile): Uint8Array {
    let info = this.#infos.get(file);
    if (!info) {
      const span = findDictValueSpan(file.manifestBytes, "info")!;
      info = file.manifestBytes.subarray(span.start, span.end);
      this.#infos.set(file, info);
    }
    return info;
  }

  /**
   * Whether the file on disk may still hold its manifest's bytes, from its
   * metadata (peer/wire/still_matches.ts): one fstat. Blocks sent together
   * share one answer, as the blocks of a Shoal chunk do.
   *
   * @param file the shared file
   * @param handle the file, open for reading
   * @returns false (changed), "unchanged", or true (hash before serving)
   */
  examine(file: SharedFile, handle: Deno.FsFile): Examined {
    try {
      return stillMatches(file, handle);
    } catch {
      // The file cannot even be examined (removed, a disk error).
      return false;
    }
  }

  /**
   * Whether piece `index` may be read: as Shoal's serving path decides, it
   * must be held and the file must still match (false marks it stale);
   * "unchanged" needs no hashing, true does (and has the whole file hashed
   * again in the background, so its ctime vouches for it again).
   */
  #check(
    file: SharedFile,
    index: number,
    matches: Examined,
  ): Examined {
    if (file.stale || !file.have.has(index) || !matches) {
      if (!file.stale && file.mtimeMs !== null && file.have.has(index)) {
        this.#library.markStale(file.id);
      }
      return false;
    }
    if (matches === true) void this.#library.recheck(file);
    return matches;
  }

  /** Piece `index`, read and hashed, from the cache or the disk; null (and stale) on a mismatch. */
  #checkedPiece(
    file: SharedFile,
    handle: Deno.FsFile,
    index: number,
  ): Uint8Array | null {
    const key = `${file.idHex}:${index}`;
    const cached = this.#pieces.get(key);
    if (cached) return cached;
    const piece = new Uint8Array(chunkLength(file.manifest, index));
    const read = readChunkSync(handle, index * file.manifest.chunkSize, piece);
    hashedOnRead.add(piece.byteLength);
    if (!read || !chunkMatches(file.manifest, index, piece)) {
      this.#library.markStale(file.id);
      return null;
    }
    this.#pieces.set(key, piece);
    this.#cacheBytes += piece.byteLength;
    for (const [old, bytes] of this.#pieces) {
      if (this.#cacheBytes <= this.#maxCacheBytes) break;
      this.#pieces.delete(old);
      this.#cacheBytes -= bytes.byteLength;
    }
    return piece;
  }
}
