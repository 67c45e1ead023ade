/**
 * What a download does differently for a folder: each file's progress (its
 * manifest is read by protocol's `readAnyManifest`).
 * The transfer itself is the same: a folder is a file set whose chunks are
 * numbered as BEP 52 numbers them (protocol/folder_chunks.ts).
 *
 * @module
 */
import type { Bitfield, FolderManifest } from "@shoal/protocol";

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
