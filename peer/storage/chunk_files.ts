/**
 * Where a download's chunk `index` is on disk: at `index * chunkSize` of
 * its one part file, or for a folder at its offset in the part file of the
 * file holding it (folder_parts.ts). A fetch worker writes through this,
 * and the re-check of a resume reads through it.
 *
 * @module
 */
import { folderFileAt, type FolderManifest } from "@shoal/protocol";
import { openPartFile } from "./part_file.ts";
import { filePartPath } from "./folder_parts.ts";

/** Part files of a folder one worker keeps open at most. */
const OPEN_FILES = 32;

/** A download's part files, open for reading or writing. */
export interface ChunkFiles {
  /**
   * The open part file holding chunk `index`, and the chunk's offset in it.
   *
   * @throws {Error} the system's error when the file cannot be opened
   */
  locate(index: number): { file: Deno.FsFile; offset: number };
  /** Flushes to disk what was written since the last sync, open or closed since. */
  sync(): Promise<void>;
  /** Closes every file. */
  close(): void;
}

/**
 * Opens a download's part files.
 *
 * @param partPath the part file, or a folder's parts folder
 * @param chunkSize the piece length
 * @param folder the folder manifest, or null for a single file
 * @param mode "write" for a fetch worker, "read" for a re-check
 * @returns the files (a folder's are opened as their chunks come)
 */
export async function openChunkFiles(
  partPath: string,
  chunkSize: number,
  folder: FolderManifest | null,
  mode: "read" | "write",
): Promise<ChunkFiles> {
  if (folder) return new FolderChunkFiles(partPath, folder, mode);
  const file = await openPartFile(partPath, mode);
  return {
    locate: (index) => ({ file, offset: index * chunkSize }),
    sync: () => file.syncData(),
    close: () => file.close(),
  };
}

/** A folder's part files, opened as needed, a few at a time. */
class FolderChunkFiles implements ChunkFiles {
  readonly #root: string;
  readonly #folder: FolderManifest;
  readonly #mode: "read" | "write";
  /** By position in the folder, least recently used first. */
  readonly #open = new Map<number, Deno.FsFile>();
  /** Files written to and closed since the last sync (by position). */
  readonly #closedUnsynced = new Set<number>();

  constructor(root: string, folder: FolderManifest, mode: "read" | "write") {
    this.#root = root;
    this.#folder = folder;
    this.#mode = mode;
  }

  locate(index: number): { file: Deno.FsFile; offset: number } {
    const at = folderFileAt(this.#folder, index);
    if (at < 0) throw new RangeError(`No piece ${index} in the folder`);
    const entry = this.#folder.files[at]!;
    const offset = (index - entry.firstChunk) * this.#folder.chunkSize;
    let file = this.#open.get(at);
    if (file) {
      this.#open.delete(at);
      this.#open.set(at, file);
      return { file, offset };
    }
    // Only files this download created (folder_parts.ts): never created here.
    file = Deno.openSync(
      filePartPath(this.#root, entry.path),
      this.#mode === "write" ? { write: true } : { read: true },
    );
    this.#open.set(at, file);
    for (const [old, oldFile] of this.#open) {
      if (this.#open.size <= OPEN_FILES) break;
      oldFile.close();
      this.#open.delete(old);
      // Its writes may still be only in the page cache: the next sync
      // opens it again to flush them (a folder of more files than stay
      // open must not reach its name with some never flushed).
      if (this.#mode === "write") this.#closedUnsynced.add(old);
    }
    return { file, offset };
  }

  async sync(): Promise<void> {
    const closed = [...this.#closedUnsynced].filter((at) =>
      !this.#open.has(at)
    );
    this.#closedUnsynced.clear();
    await Promise.all([
      ...[...this.#open.values()].map((file) =>
        file.syncData().catch(() => {})
      ),
      ...closed.map(async (at) => {
        const path = filePartPath(this.#root, this.#folder.files[at]!.path);
        try {
          using file = await Deno.open(path, { write: true });
          await file.syncData();
        } catch {
          // As for the open ones: a disk that fails to flush is --verify's.
        }
      }),
    ]);
  }

  close(): void {
    for (const file of this.#open.values()) file.close();
    this.#open.clear();
  }
}
