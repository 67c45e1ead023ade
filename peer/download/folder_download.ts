/**
 * What a download does differently for a folder: reading its manifest as a
 * file's or a folder's, the summary shown for it, and each file's progress.
 * The transfer itself is the same: a folder is a file set whose chunks are
 * numbered as BEP 52 numbers them (protocol/folder_chunks.ts).
 *
 * @module
 */
import {
  type Bitfield,
  type FolderManifest,
  isFolderManifest,
  type Manifest,
  parseFolderManifest,
  parseManifest,
} from "@shoal/protocol";

/** One file of a folder download, as progress shows it. */
export interface FileProgress {
  /** Its path below the folder, `/`-separated. */
  path: string;
  /** Its size in bytes. */
  size: number;
  /** Its chunks. */
  chunkCount: number;
  /** Its chunks checked and written. */
  chunksDone: number;
  /** Whether it is fetched (`--only`). */
  chosen: boolean;
}

/**
 * Reads checked manifest bytes as one file's or a folder's.
 *
 * @param bytes manifest bytes (a view is kept of the piece layers)
 * @returns the manifest (for a folder, its summary) and the folder, if one
 * @throws {ProtocolError} when they are neither
 */
export function readAnyManifest(
  bytes: Uint8Array,
): { manifest: Manifest; folder: FolderManifest | null } {
  if (!isFolderManifest(bytes)) {
    return {
      manifest: parseManifest(bytes, { viewHashes: true }),
      folder: null,
    };
  }
  const folder = parseFolderManifest(bytes);
  return { manifest: folderSummary(folder), folder };
}

/**
 * A folder as a download shows it: its name, total size and pieces.
 *
 * @param folder the folder manifest
 * @returns a manifest-shaped summary (no piece layer)
 */
export function folderSummary(folder: FolderManifest): Manifest {
  return {
    name: folder.name,
    size: folder.size,
    chunkSize: folder.chunkSize,
    chunkCount: folder.chunkCount,
    piecesRoot: null,
    chunkHashes: new Uint8Array(),
  };
}

/**
 * Each file's progress.
 *
 * @param folder the folder manifest
 * @param chosen which files are fetched
 * @param have the chunks checked (unchosen files' count as had)
 * @returns one entry per file, in the folder's order
 */
export function filesProgress(
  folder: FolderManifest,
  chosen: readonly boolean[],
  have: Bitfield | null,
): FileProgress[] {
  return folder.files.map((file, i) => {
    let done = 0;
    if (have && chosen[i]) {
      for (let k = 0; k < file.chunkCount; k++) {
        if (have.has(file.firstChunk + k)) done++;
      }
    }
    return {
      path: file.path.join("/"),
      size: file.length,
      chunkCount: file.chunkCount,
      chunksDone: done,
      chosen: chosen[i] ?? true,
    };
  });
}
