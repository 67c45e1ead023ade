/**
 * Whether a folder seeded before can be shared again without hashing it:
 * as for a single file, when every file listed now is the one hashed then
 * (same path, inode, device, size and modification time) and no file came
 * or went, the saved manifest still describes it. A change time that is
 * still the one trusted then vouches for the bytes again; otherwise each
 * piece is hashed as it is served.
 *
 * @module
 */
import {
  fileIdOf,
  type FolderManifest,
  parseFolderManifest,
  ProtocolError,
} from "@shoal/protocol";
import type { ScannedFolder } from "./folder_scan.ts";
import type { BuiltFolderFile } from "./build_folder.ts";

/** What a peer saved of a folder it seeded. */
export interface SavedFolder {
  /** Its manifest bytes. */
  manifestBytes: Uint8Array;
  /** Its files as hashed, with the change times trusted (else null). */
  files: BuiltFolderFile[];
}

/**
 * The saved manifest and files, when the folder is unchanged.
 *
 * @param folder the folder as listed now
 * @param saved what was saved when it was seeded before
 * @returns the manifest, its id and files (with the change times that still
 *   vouch), or null when anything changed
 */
export function reuseFolder(
  folder: ScannedFolder,
  saved: SavedFolder,
): {
  manifest: FolderManifest;
  id: Uint8Array;
  files: BuiltFolderFile[];
} | null {
  if (saved.files.length !== folder.files.length) return null;
  let manifest: FolderManifest;
  try {
    manifest = parseFolderManifest(saved.manifestBytes);
  } catch (error) {
    if (error instanceof ProtocolError) return null;
    throw error;
  }
  if (
    manifest.name !== folder.name ||
    manifest.files.length !== folder.files.length
  ) return null;
  const files: BuiltFolderFile[] = [];
  for (const [i, now] of folder.files.entries()) {
    const before = saved.files[i]!;
    const described = manifest.files[i]!;
    if (
      now.absolute !== before.absolute || now.ino !== before.ino ||
      now.dev !== before.dev || now.size !== described.length ||
      described.path.length !== now.path.length ||
      described.path.some((name, j) => name !== now.path[j])
    ) return null;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(now.absolute);
    } catch {
      return null;
    }
    if (
      !info.isFile || info.size !== now.size ||
      (info.mtime?.getTime() ?? 0) !== before.mtimeMs
    ) return null;
    const ctimeMs = info.ctime?.getTime() ?? null;
    files.push({
      ...before,
      ctimeMs: ctimeMs !== null && ctimeMs === before.ctimeMs ? ctimeMs : null,
    });
  }
  return { manifest, id: fileIdOf(saved.manifestBytes), files };
}
