/**
 * Whether a shared file's bytes on disk may still be the ones its manifest
 * promises, from its metadata alone: the check both serving paths (Shoal
 * and BitTorrent) make before every chunk or block they read.
 *
 * @module
 */
import type { SharedFile } from "../library/library.ts";

/**
 * False when the file's size or mtime moved; "unchanged" when its ctime is
 * still the one its bytes were checked at (or it is our own download in
 * progress); true when it may match but each chunk must be hashed.
 *
 * @param file the shared file
 * @param handle the file, open for reading
 * @returns whether the bytes can be served, and whether hashing is needed
 */
export function stillMatches(
  file: SharedFile,
  handle: Deno.FsFile,
): boolean | "unchanged" {
  if (file.mtimeMs === null) return "unchanged";
  // fstat(2) reads the in-memory inode: a sync call is cheaper than an
  // async op, and this runs before every chunk served.
  const info = handle.statSync();
  if (
    info.size !== file.manifest.size ||
    (info.mtime?.getTime() ?? 0) !== file.mtimeMs
  ) return false;
  const ctimeMs = info.ctime?.getTime() ?? null;
  return ctimeMs !== null && ctimeMs === file.ctimeMs ? "unchanged" : true;
}
