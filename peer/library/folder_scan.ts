/**
 * Lists the files of a folder to share, in BEP 52 order (depth first, each
 * folder's names in byte order), without ever following a symbolic link:
 * a link inside the folder is skipped with a line saying so, so a shared
 * folder can never reach outside itself. Hidden entries (names starting with
 * a dot, such as `.git`) and what is not a regular file are skipped too;
 * any other name Shoal cannot share refuses the folder with one line.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import {
  fileNameProblem,
  fileTreeProblem,
  MAX_TREE_DEPTH,
  MAX_TREE_FILES,
} from "@shoal/protocol";
import { SeedError } from "./seedable.ts";

/** One file found in the folder. */
export interface ScannedFile {
  /** Its path below the folder, one component per name. */
  path: string[];
  /** Its absolute path on disk. */
  absolute: string;
  /** Its size when listed. */
  size: number;
  /** Its inode and device when listed, to tell if it was swapped for a link. */
  ino: number | null;
  /** See `ino`. */
  dev: number;
}

/** A folder ready to hash. */
export interface ScannedFolder {
  /** Its absolute path. */
  absolute: string;
  /** Its name, the torrent's name. */
  name: string;
  /** The files in BEP 52 order (at least one). */
  files: ScannedFile[];
  /** One line per entry left out, relative to the folder ("a/link: ..."). */
  skipped: string[];
}

const UTF8 = new TextEncoder();

/** Byte order of names, as the file tree's dictionary keys sort. */
function byteOrder(a: string, b: string): number {
  const x = UTF8.encode(a);
  const y = UTF8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Lists a folder's files for a multi-file torrent, with sync calls (see
 * folder_hash.ts for why).
 *
 * @param path the folder
 * @param action what the user asked for, for the error text ("make a torrent of")
 * @returns its files in BEP 52 order and the entries skipped
 * @throws {SeedError} with one line when the folder cannot be shared
 * @example
 * ```ts
 * import { scanFolder } from "./folder_scan.ts";
 * // const { files, skipped } = scanFolder("/data/album", "make a torrent of");
 * ```
 */
export function scanFolder(path: string, action: string): ScannedFolder {
  const absolute = resolve(path);
  const name = basename(absolute);
  const cannot = `Cannot ${action} ${absolute}`;
  const problem = fileNameProblem(name);
  if (problem) {
    throw new SeedError(
      `${cannot}: the folder name ${problem}; rename it first`,
    );
  }
  const files: ScannedFile[] = [];
  const skipped: string[] = [];
  // Recursion as deep as the folders, which is bounded below.
  const walk = (dir: string, below: string[]): void => {
    let entries: Deno.DirEntry[];
    try {
      // Sync, as folder_hash.ts reads: an await per entry is most of the
      // time for thousands of small files.
      entries = [...Deno.readDirSync(dir)];
    } catch (error) {
      throw readError(cannot, below.length ? below.join("/") : null, error);
    }
    entries.sort((a, b) => byteOrder(a.name, b.name));
    for (const entry of entries) {
      const here = [...below, entry.name];
      const shown = here.join("/");
      if (entry.isSymlink) {
        skipped.push(`${shown}: a symbolic link (links are never followed)`);
        continue;
      }
      if (entry.name.startsWith(".")) {
        skipped.push(`${shown}: hidden`);
        continue;
      }
      if (!entry.isFile && !entry.isDirectory) {
        skipped.push(`${shown}: not a regular file`);
        continue;
      }
      const nameProblem = fileNameProblem(entry.name);
      if (nameProblem) {
        throw new SeedError(
          `${cannot}: the name "${shown}" ${nameProblem}; rename it first`,
        );
      }
      if (here.length > MAX_TREE_DEPTH) {
        throw new SeedError(
          `${cannot}: "${shown}" is nested deeper than ${MAX_TREE_DEPTH} folders`,
        );
      }
      const full = join(dir, entry.name);
      if (entry.isDirectory) {
        walk(full, here);
        continue;
      }
      let info: Deno.FileInfo;
      try {
        info = Deno.lstatSync(full);
      } catch (error) {
        throw readError(cannot, shown, error);
      }
      if (!info.isFile) {
        skipped.push(`${shown}: not a regular file`);
        continue;
      }
      if (files.length >= MAX_TREE_FILES) {
        throw new SeedError(
          `${cannot}: it holds more than ${MAX_TREE_FILES} files; share its folders one by one`,
        );
      }
      files.push({
        path: here,
        absolute: full,
        size: info.size,
        ino: info.ino,
        dev: info.dev,
      });
    }
  };
  walk(absolute, []);
  if (files.length === 0) {
    throw new SeedError(`${cannot}: it holds no file to share`);
  }
  const treeProblem = fileTreeProblem(
    files.map((file) => ({
      path: file.path,
      length: file.size,
      piecesRoot: file.size > 0 ? new Uint8Array(32) : null,
    })),
  );
  if (treeProblem) {
    throw new SeedError(`${cannot}: ${treeProblem}; rename it first`);
  }
  return { absolute, name, files, skipped };
}

function readError(
  cannot: string,
  shown: string | null,
  error: unknown,
): Error {
  if (error instanceof Deno.errors.NotFound) {
    return new SeedError(
      `${cannot}: ${shown ?? "no such folder"}${
        shown ? " disappeared while it was listed" : ""
      }`,
    );
  }
  if (
    error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable
  ) {
    return new SeedError(
      `${cannot}: permission denied to read ${shown ?? "it"}`,
    );
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return new SeedError(`${cannot}: it is not a folder`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
