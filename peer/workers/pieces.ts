/**
 * What a fetch worker checks chunks against: a file's manifest or a
 * folder's, behind one small interface, so the links (shoal_link.ts,
 * bt_link.ts) and the re-check of a resume treat a folder as a file set
 * whose chunks are numbered as BEP 52 numbers them.
 *
 * @module
 */
import {
  chunkLength,
  chunkMatches,
  folderChunkLength,
  folderChunkMatches,
  type FolderManifest,
  isFolderManifest,
  type Manifest,
  parseFolderManifest,
  parseManifest,
} from "@shoal/protocol";

/** A download's chunks: how many, how long, and how each is checked. */
export interface Pieces {
  /** Chunks in the file or folder. */
  readonly chunkCount: number;
  /** The piece length (a chunk is at most this long). */
  readonly chunkSize: number;
  /** Bytes in chunk `index` (a file's last chunk may be short). */
  lengthOf(index: number): number;
  /** Whether `bytes` are chunk `index`: its length and piece hash. */
  matches(index: number, bytes: Uint8Array): boolean;
  /** The folder, when these are a folder's pieces. */
  readonly folder: FolderManifest | null;
}

/**
 * The pieces of one file.
 *
 * @param manifest the file's manifest
 * @returns its pieces
 */
export function filePieces(manifest: Manifest): Pieces {
  return {
    chunkCount: manifest.chunkCount,
    chunkSize: manifest.chunkSize,
    lengthOf: (index) => chunkLength(manifest, index),
    matches: (index, bytes) => chunkMatches(manifest, index, bytes),
    folder: null,
  };
}

/**
 * The pieces of a folder, each checked against its own file's piece layer.
 *
 * @param folder the folder manifest
 * @returns its pieces
 */
export function folderPieces(folder: FolderManifest): Pieces {
  return {
    chunkCount: folder.chunkCount,
    chunkSize: folder.chunkSize,
    lengthOf: (index) => folderChunkLength(folder, index),
    matches: (index, bytes) => folderChunkMatches(folder, index, bytes),
    folder,
  };
}

/**
 * The pieces of a download's manifest bytes, which this process checked
 * already (the download's shared copy): a file's or a folder's.
 *
 * @param bytes the manifest
 * @returns its pieces
 * @throws {ProtocolError} when the bytes are neither
 * @example
 * ```ts
 * import { piecesOf } from "./pieces.ts";
 * // const pieces = piecesOf(command.manifestBytes);
 * ```
 */
export function piecesOf(bytes: Uint8Array): Pieces {
  // The same shared bytes again (each re-check batch of a resume sends
  // them): read once per worker.
  if (
    last && last.buffer === bytes.buffer &&
    last.byteOffset === bytes.byteOffset &&
    last.byteLength === bytes.byteLength
  ) return last.pieces;
  const pieces = isFolderManifest(bytes)
    ? folderPieces(parseFolderManifest(bytes, { layerChecked: true }))
    : filePieces(
      parseManifest(bytes, { viewHashes: true, layerChecked: true }),
    );
  last = {
    buffer: bytes.buffer,
    byteOffset: bytes.byteOffset,
    byteLength: bytes.byteLength,
    pieces,
  };
  return pieces;
}

/** The bytes piecesOf read last, and what it read. */
let last: {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
  pieces: Pieces;
} | null = null;
