/**
 * What `--get WHAT --files` prints: the files of a file or folder, path
 * and size, so a user can see what `--only` would pick before fetching any
 * (with `--only`, just the files it picks). Pure.
 *
 * @module
 */
import { type FolderManifest, type Manifest, toHex } from "@shoal/protocol";
import { pickOnly } from "./download/only_files.ts";
import { formatBytes, plural } from "./progress.ts";

/** The files listed, as `--json` prints them. */
export interface FilesListing {
  /** The file's or folder's name. */
  name: string;
  /** Its id in hex (the v2 infohash). */
  fileId: string;
  /** Whether it is a folder. */
  folder: boolean;
  /** Files in the folder (1 for a single file). */
  total: number;
  /** The files listed: every one, or those `--only` picks. */
  files: { path: string; size: number }[];
  /** Bytes of the files listed. */
  size: number;
}

/**
 * Lists a manifest's files, those `only` picks when it is not empty.
 *
 * @param manifest the file's manifest (a folder's summary for a folder)
 * @param folder the folder, or null for a single file
 * @param fileId the id
 * @param only the `--only` globs
 * @returns the listing, or the one line that says why `only` cannot apply
 * @example
 * ```ts
 * // filesListing(manifest, folder, id, ["*.flac"]).files
 * ```
 */
export function filesListing(
  manifest: Manifest,
  folder: FolderManifest | null,
  fileId: Uint8Array,
  only: readonly string[],
): FilesListing | { problem: string } {
  const picked = pickOnly(folder, only, manifest.name);
  if ("problem" in picked) return picked;
  const all = folder
    ? folder.files.map((file) => ({
      path: file.path.join("/"),
      size: file.length,
    }))
    : [{ path: manifest.name, size: manifest.size }];
  const files = all.filter((_, i) => picked.chosen?.[i] ?? true);
  return {
    name: manifest.name,
    fileId: toHex(fileId),
    folder: folder !== null,
    total: all.length,
    files,
    size: files.reduce((sum, file) => sum + file.size, 0),
  };
}

/**
 * The listing for people: a line naming the file or folder, then a line
 * per file, its size right-aligned before its path.
 *
 * @param listing from {@linkcode filesListing}
 * @returns the lines, joined
 * @example
 * ```ts
 * import { filesText } from "./files_listing.ts";
 * filesText({
 *   name: "a.iso", fileId: "ab", folder: false, total: 1,
 *   files: [{ path: "a.iso", size: 1000 }], size: 1000,
 * });
 * // "a.iso: a single file, 1.0 KB\n  1.0 KB  a.iso"
 * ```
 */
export function filesText(listing: FilesListing): string {
  const what = !listing.folder
    ? "a single file"
    : listing.files.length === listing.total
    ? `folder of ${plural(listing.total, "file")}`
    : `${listing.files.length} of its ${
      plural(listing.total, "file")
    } picked by --only`;
  const sizes = listing.files.map((file) => formatBytes(file.size));
  const width = Math.max(0, ...sizes.map((size) => size.length));
  return [
    `${listing.name}: ${what}, ${formatBytes(listing.size)}`,
    ...listing.files.map((file, i) =>
      `  ${sizes[i]!.padStart(width)}  ${file.path}`
    ),
  ].join("\n");
}
