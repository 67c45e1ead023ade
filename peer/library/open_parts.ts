/**
 * The files of a seeded folder that one connection has open: a piece of the
 * folder is read from the file holding it (partOfPiece), opened only while
 * it is the very file hashed (openPart), and a few stay open for the pieces
 * that follow, least recently used closed first.
 *
 * @module
 */
import type { Library, SharedFile } from "./library.ts";
import { type FolderPart, openPart, partOfPiece } from "./shared_folder.ts";

/** Files of a folder one connection keeps open at most. */
const OPEN_PARTS = 8;

/** Where a folder's piece is read from. */
export interface PieceTarget {
  /** The folder's file that holds the piece (a shared file of its own). */
  part: FolderPart;
  /** That file, open for reading. */
  handle: Deno.FsFile;
  /** The piece's index in that file. */
  local: number;
}

/**
 * A connection's open files of one folder.
 *
 * @example
 * ```ts
 * // const parts = new OpenParts(library);
 * // const target = parts.target(folderEntry, 7); // null: not available
 * // parts.close();
 * ```
 */
export class OpenParts {
  readonly #library: Library;
  readonly #open = new Map<FolderPart, Deno.FsFile>();

  /** @param library marks a folder stale when a file is gone or swapped */
  constructor(library: Library) {
    this.#library = library;
  }

  /**
   * The file holding piece `index` of a folder, open.
   *
   * @param folder the folder's library entry
   * @param index a piece of the folder
   * @returns the target, or null when there is no such piece or its file
   *   is gone or swapped (the folder is then marked stale)
   */
  target(folder: SharedFile, index: number): PieceTarget | null {
    if (!folder.folder) return null;
    const found = partOfPiece(folder.folder, index);
    if (!found) return null;
    const handle = this.#handle(found.part);
    return handle && { part: found.part, handle, local: found.local };
  }

  /** Closes every file still open. */
  close(): void {
    for (const handle of this.#open.values()) handle.close();
    this.#open.clear();
  }

  #handle(part: FolderPart): Deno.FsFile | null {
    let handle = this.#open.get(part);
    if (handle) {
      // Most recently used last.
      this.#open.delete(part);
      this.#open.set(part, handle);
      return handle;
    }
    handle = openPart(part) ?? undefined;
    if (!handle) {
      // Gone, or swapped for another file (a link): never read.
      this.#library.markStale(part.id);
      return null;
    }
    this.#open.set(part, handle);
    for (const [old, oldHandle] of this.#open) {
      if (this.#open.size <= OPEN_PARTS) break;
      oldHandle.close();
      this.#open.delete(old);
    }
    return handle;
  }
}
