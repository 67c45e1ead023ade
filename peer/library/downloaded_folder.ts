/**
 * A folder this peer just downloaded, as the library shares it: each
 * file's path, times and inode read from disk (never through a link), so
 * the serving path opens only those very files. Its bytes were checked
 * piece by piece as they were written, so nothing is hashed here.
 *
 * @module
 */
import { join } from "node:path";
import type { FolderManifest } from "@shoal/protocol";
import type { BuiltFolderFile } from "./build_folder.ts";

/**
 * Each file of a downloaded folder as it is on disk now.
 *
 * @param path the folder, in place
 * @param folder its manifest
 * @returns one entry per file, in the manifest's order (change times not
 *   trusted: just renamed into place)
 * @throws {Error} when a file is missing or is not a regular file
 */
export async function downloadedFiles(
  path: string,
  folder: FolderManifest,
): Promise<BuiltFolderFile[]> {
  const files: BuiltFolderFile[] = [];
  for (const file of folder.files) {
    const absolute = join(path, ...file.path);
    const info = await Deno.lstat(absolute);
    if (!info.isFile || info.size !== file.length) {
      throw new Error(`${absolute} is not the file downloaded`);
    }
    files.push({
      absolute,
      mtimeMs: info.mtime?.getTime() ?? 0,
      ctimeMs: null,
      ino: info.ino,
      dev: info.dev,
    });
  }
  return files;
}
