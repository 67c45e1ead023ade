/**
 * A seeded folder in the library: one entry (its id is the folder's v2
 * infohash) whose files are served as "parts", each a shared file of its
 * own (its path, piece layer, times), so the BitTorrent serving path reads
 * and checks a folder's blocks exactly as it does a single file's. In
 * BEP 52 each file starts on a piece boundary: the folder's piece `i` is
 * piece `i - firstChunk` of the file that holds it.
 *
 * @module
 */
import {
  Bitfield,
  encodeManifest,
  type FolderManifest,
  type Manifest,
  toHex,
} from "@shoal/protocol";
import type { SharedFile } from "./library.ts";
import type { BuiltFolderFile } from "./build_folder.ts";

/** What a library entry for a folder holds beyond a file's fields. */
export interface SharedFolder {
  /** The checked folder manifest. */
  manifest: FolderManifest;
  /** One part per file of at least one piece, in piece order. */
  parts: FolderPart[];
  /** One line per entry left out when it was listed (links, hidden entries). */
  skipped: string[];
  /**
   * A part by its `pieces root` in hex, for BEP 52 hash requests (identical
   * files share a root, and any of them answers for it).
   */
  byRoot: Map<string, FolderPart>;
}

/** One file of a seeded folder, served as a shared file of its own. */
export interface FolderPart extends SharedFile {
  /** The folder entry it belongs to (whose `stale` it shares). */
  partOf: SharedFile;
  /** The folder's index of its first piece. */
  firstChunk: number;
  /** The inode and device hashed: a file opened to serve must be this one. */
  ino: number | null;
  /** See `ino`. */
  dev: number;
}

/** A change time this much older than the hashing vouches for the bytes. */
const CTIME_SLACK_MS = 2_000;

/**
 * The library entry of a folder, with its parts.
 *
 * @param id the folder's v2 infohash
 * @param idHex the same, hex
 * @param manifest the parsed folder manifest
 * @param manifestBytes its bytes
 * @param path the folder
 * @param disk each file's path and times, in the manifest's order
 * @param hashStartMs when the hashing began
 * @returns the entry to add to the library
 */
export function sharedFolderOf(
  id: Uint8Array,
  idHex: string,
  manifest: FolderManifest,
  manifestBytes: Uint8Array,
  path: string,
  disk: readonly BuiltFolderFile[],
  hashStartMs: number,
): SharedFile {
  // What the tracker, the web page and the CLI show: the whole folder.
  const summary: Manifest = {
    name: manifest.name,
    size: manifest.size,
    chunkSize: manifest.chunkSize,
    chunkCount: manifest.chunkCount,
    piecesRoot: null,
    chunkHashes: new Uint8Array(),
  };
  const parts: FolderPart[] = [];
  const entry: SharedFile = {
    id,
    idHex,
    manifest: summary,
    manifestBytes,
    path,
    have: Bitfield.full(manifest.chunkCount),
    mtimeMs: null,
    ctimeMs: null,
    stale: false,
    folder: { manifest, parts, skipped: [], byRoot: new Map() },
  };
  manifest.files.forEach((file, i) => {
    if (file.chunkCount === 0) return;
    const fileManifest: Manifest = {
      name: file.path.at(-1)!,
      size: file.length,
      chunkSize: manifest.chunkSize,
      chunkCount: file.chunkCount,
      piecesRoot: file.piecesRoot,
      chunkHashes: file.chunkHashes,
    };
    const { absolute, mtimeMs, ctimeMs, ino, dev } = disk[i]!;
    let manifestBytes: Uint8Array | undefined;
    parts.push({
      id,
      // Its own key in the piece cache and the background checks.
      idHex: `${idHex}/${i}`,
      manifest: fileManifest,
      // As a single file's: the background check compares with it. Made
      // when first asked for: 10,000 files took half a second.
      get manifestBytes() {
        return manifestBytes ??= encodeManifest(fileManifest);
      },
      path: absolute,
      have: Bitfield.full(file.chunkCount),
      mtimeMs,
      ctimeMs: ctimeMs !== null && ctimeMs <= hashStartMs - CTIME_SLACK_MS
        ? ctimeMs
        : null,
      // A changed file stops the whole folder: its id names every byte.
      get stale() {
        return entry.stale;
      },
      set stale(value: boolean) {
        if (value) entry.stale = true;
      },
      partOf: entry,
      firstChunk: file.firstChunk,
      ino,
      dev,
    });
    entry.folder!.byRoot.set(toHex(file.piecesRoot!), parts.at(-1)!);
  });
  return entry;
}

/**
 * The file holding a folder's piece, and the piece's index in that file.
 *
 * @param folder the folder's parts
 * @param index a piece index of the folder (below its piece count)
 * @returns the part and local index, or null when out of range
 * @example
 * ```ts
 * import { partOfPiece } from "./shared_folder.ts";
 * // const found = partOfPiece(entry.folder!, 7);
 * ```
 */
export function partOfPiece(
  folder: SharedFolder,
  index: number,
): { part: FolderPart; local: number } | null {
  const parts = folder.parts;
  let low = 0;
  let high = parts.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const part = parts[mid]!;
    if (index < part.firstChunk) high = mid - 1;
    else if (index >= part.firstChunk + part.manifest.chunkCount) low = mid + 1;
    else return { part, local: index - part.firstChunk };
  }
  return null;
}

/**
 * Opens a folder's file to serve it, never following a link out of the
 * folder: the file opened must be the very one hashed (same inode and
 * device), or the folder is no longer served.
 *
 * @param part the file
 * @returns the open file, or null when it is gone or was swapped
 */
export function openPart(part: FolderPart): Deno.FsFile | null {
  let handle: Deno.FsFile;
  try {
    handle = Deno.openSync(part.path, { read: true });
  } catch {
    return null;
  }
  try {
    const info = handle.statSync();
    if (info.isFile && info.ino === part.ino && info.dev === part.dev) {
      return handle;
    }
  } catch {
    // Unreadable: as if swapped.
  }
  handle.close();
  return null;
}
