/**
 * Hashes a scanned folder into its BEP 52 manifest: each file streamed once
 * through its own ManifestBuilder (one read buffer, never a whole file in
 * memory), the files laid out in pieces in BEP 52 order. A file swapped for
 * a link, or changed, while it is read fails the whole build.
 *
 * It reads with sync calls on the calling thread, as the manifest worker
 * does: `--make-torrent` has nothing else to do meanwhile (and installs no
 * signal handler, so Ctrl+C still stops it), and an async open, stat and
 * read per file cost more than the hashing of a folder of small files.
 * Seeding a folder, which serves peers meanwhile, runs it in a worker
 * (peer/workers/folder_worker.ts).
 *
 * @module
 */
import {
  DEFAULT_CHUNK_BYTES,
  encodeFolderManifest,
  fileIdOf,
  type FolderFile,
  folderLayout,
  type FolderManifest,
  ManifestBuilder,
  MAX_CHUNK_BYTES,
} from "@shoal/protocol";
import type { ScannedFolder } from "./folder_scan.ts";
import { SeedError } from "./seedable.ts";

const READ_BUFFER_BYTES = 1024 * 1024;
/** As the manifest worker reports: a line per 64 MiB, not per file. */
const PROGRESS_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * The piece length to share files of these sizes with: 512 KiB, doubled as
 * often as it takes for all their pieces (each file starts a piece) to fit
 * Shoal's limits; null when even 4 MiB pieces are too many.
 *
 * @param sizes the files' sizes
 * @returns the piece length, or null
 * @example
 * ```ts
 * import { folderChunkSize } from "./folder_hash.ts";
 * folderChunkSize([1, 2, 3]); // 524288
 * ```
 */
export function folderChunkSize(sizes: readonly number[]): number | null {
  for (let size = DEFAULT_CHUNK_BYTES; size <= MAX_CHUNK_BYTES; size *= 2) {
    if (typeof folderLayout(sizes, size) !== "string") return size;
  }
  return null;
}

/** A folder's manifest, as built. */
export interface BuiltFolder {
  /** The checked manifest. */
  manifest: FolderManifest;
  /** Its bytes (a `.torrent` without trackers). */
  manifestBytes: Uint8Array;
  /** The v2 infohash. */
  id: Uint8Array;
  /**
   * Each file's modification and change times once it was hashed, in the
   * manifest's order: what a seeder checks before it serves the file.
   */
  times: { mtimeMs: number; ctimeMs: number | null }[];
}

/**
 * Hashes every file of a scanned folder.
 *
 * @param folder what scanFolder listed
 * @param options `chunkSize` (default: folderChunkSize of the sizes),
 *   `onProgress` with the bytes hashed so far and the total, every 64 MiB
 * @returns the manifest, its bytes and id
 * @throws {SeedError} when a file changed, vanished or became unreadable,
 *   or the folder is too large
 * @example
 * ```ts
 * import { scanFolder } from "./folder_scan.ts";
 * import { hashFolder } from "./folder_hash.ts";
 * // const built = hashFolder(scanFolder(dir, "share"));
 * ```
 */
export function hashFolder(
  folder: ScannedFolder,
  options: {
    chunkSize?: number;
    onProgress?: (bytes: number, total: number) => void;
  } = {},
): BuiltFolder {
  const cannot = `Cannot hash ${folder.absolute}`;
  const sizes = folder.files.map((file) => file.size);
  const chunkSize = options.chunkSize ?? folderChunkSize(sizes);
  const layout = chunkSize === null ? null : folderLayout(sizes, chunkSize);
  if (chunkSize === null || layout === null || typeof layout === "string") {
    throw new SeedError(
      `${cannot}: it holds too many pieces or bytes for one torrent (${
        typeof layout === "string" ? layout : "over the limits"
      }); share its folders one by one`,
    );
  }
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  const builder = new ManifestBuilder(chunkSize);
  const files: FolderFile[] = [];
  const times: BuiltFolder["times"] = [];
  let done = 0;
  let nextProgress = PROGRESS_EVERY_BYTES;
  for (const [i, scanned] of folder.files.entries()) {
    const shown = scanned.path.join("/");
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(scanned.absolute, { read: true });
    } catch {
      throw new SeedError(
        `${cannot}: ${shown} cannot be read any more; try again once the folder is still`,
      );
    }
    using _ = file;
    const before = file.statSync();
    // Opening follows links: the file opened must be the one listed.
    if (
      !before.isFile || before.ino !== scanned.ino ||
      before.dev !== scanned.dev || before.size !== scanned.size
    ) {
      throw new SeedError(
        `${cannot}: ${shown} changed after it was listed; try again once the folder is still`,
      );
    }
    builder.reset(scanned.size);
    let read = 0;
    while (true) {
      const n = file.readSync(buffer);
      if (n === null) break;
      read += n;
      if (read > scanned.size) break;
      builder.update(buffer.subarray(0, n));
      done += n;
      if (done >= nextProgress) {
        options.onProgress?.(done, layout.size);
        nextProgress += PROGRESS_EVERY_BYTES;
      }
    }
    const after = file.statSync();
    if (
      read !== scanned.size ||
      after.mtime?.getTime() !== before.mtime?.getTime()
    ) {
      throw new SeedError(
        `${cannot}: ${shown} changed while it was being hashed; try again once the folder is still`,
      );
    }
    const manifest = builder.finishFile();
    times.push({
      mtimeMs: after.mtime?.getTime() ?? 0,
      ctimeMs: after.ctime?.getTime() ?? null,
    });
    files.push({
      path: scanned.path,
      length: manifest.size,
      piecesRoot: manifest.piecesRoot,
      firstChunk: layout.firstChunks[i]!,
      chunkCount: manifest.chunkCount,
      chunkHashes: manifest.chunkHashes,
    });
  }
  const manifest: FolderManifest = {
    name: folder.name,
    chunkSize,
    files,
    size: layout.size,
    chunkCount: layout.chunkCount,
  };
  const manifestBytes = encodeFolderManifest(manifest);
  return { manifest, manifestBytes, id: fileIdOf(manifestBytes), times };
}
