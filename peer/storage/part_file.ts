/**
 * A download's part file and how the finished file takes its place.
 *
 * A part file lives in the peer's state folder under the file's id
 * (`STATE/parts/<id>.part`), never beside the user's files: a download
 * writes only into a file it created itself, two downloads of different
 * files never share one (even with the same name), and its name is short
 * whatever the file is called. When the download is checked, the part file
 * takes a free name in the download folder without replacing anything:
 * `NAME`, else `NAME (2).EXT`, `NAME (3).EXT`, ... as browsers do.
 *
 * Every disk access of a part file goes through here: creating it (or
 * keeping it when resume state vouches for it), opening it in a fetch
 * worker, writing a checked chunk at its offset, reading chunks back for
 * the re-check of a resumed download, and placing the finished file.
 *
 * @module
 */
import { join } from "node:path";
import { MAX_NAME_BYTES, toHex } from "@shoal/protocol";

const encoder = new TextEncoder();
function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** How many names are tried before giving up (`NAME (2)` to `NAME (999)`). */
const MAX_NAME_TRIES = 999;

/**
 * Where the part file of a download lives.
 *
 * @param stateDir the peer's state folder
 * @param fileId the file id
 * @returns `STATE/parts/<hex id>.part`
 * @example
 * ```ts
 * import { partPathFor } from "./part_file.ts";
 * partPathFor("/srv/downloads/.shoal", new Uint8Array(32)); // ".../parts/0000...0000.part"
 * ```
 */
export function partPathFor(stateDir: string, fileId: Uint8Array): string {
  return join(stateDir, "parts", `${toHex(fileId)}.part`);
}

/**
 * Creates a part file that did not exist, of `size` bytes. It never opens a
 * file that is already there: a leftover without resume state (a crash between
 * creating it and saving the state) is removed first, which is safe because
 * the parts folder belongs to Shoal alone.
 *
 * @param path from {@linkcode partPathFor}
 * @param size the file's size
 * @param old what is at `path` now, if the caller has looked already
 * @throws {Deno.errors.AlreadyExists} if something else created it meanwhile
 */
export async function createPartFile(
  path: string,
  size: number,
  old?: Deno.FileInfo | null,
): Promise<void> {
  old ??= await Deno.lstat(path).catch(() => null);
  if (old?.isFile || old?.isSymlink) await Deno.remove(path);
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    await file.truncate(size);
  } finally {
    file.close();
  }
}

/** What {@linkcode preparePartFile} made of the part file. */
export type PreparedPart =
  /** A new, empty part file. */
  | { kind: "new" }
  /** The part file as it was: its chunks are to be re-checked. */
  | { kind: "kept" }
  /**
   * The part file is also the finished file at `path`: a run stopped between
   * linking it into the download folder and removing its part name. It may
   * be read (re-checked), never written: it is the user's file now.
   */
  | { kind: "placed"; path: string };

/**
 * Makes the part file ready for a download: kept as it is when resume state
 * vouches for it and it is still a regular file of the right size, else
 * created anew (and empty) by {@linkcode createPartFile}. A kept part file
 * with another name (a hard link) was placed already: it is reported with
 * the name {@linkcode placeFile} gave it, or, when no name it would have
 * chosen is that file, left to that other name and replaced here.
 *
 * @param path from {@linkcode partPathFor}
 * @param size the file's size
 * @param vouched resume state for this file was found beside it
 * @param place the download folder and the file's name, as for {@linkcode placeFile}
 * @returns what the part file is now
 * @throws {Deno.errors.AlreadyExists} if something else created it meanwhile
 */
export async function preparePartFile(
  path: string,
  size: number,
  vouched: boolean,
  place: { folder: string; name: string },
): Promise<PreparedPart> {
  // The part file is ours only with its resume state beside it; anything
  // else at that path is replaced by a new, exclusively created file.
  const info = await Deno.lstat(path).catch(() => null);
  if (vouched && info?.isFile && info.size === size) {
    if ((info.nlink ?? 1) <= 1) return { kind: "kept" };
    const placed = await findPlaced(info, place.folder, place.name);
    if (placed !== null) return { kind: "placed", path: placed };
    // Linked under a name we did not give it (moved by its owner): that
    // file is not ours to write. Removing our name leaves it whole.
  }
  await createPartFile(path, size, info);
  return { kind: "new" };
}

/**
 * The name {@linkcode placeFile} gave a part file whose part name was not
 * removed: the candidate name that is the same file (device and inode).
 *
 * @param part the part file's lstat
 * @param folder the download folder
 * @param name the file's name from its manifest
 * @returns the placed path, or null when no candidate name is that file
 */
async function findPlaced(
  part: Deno.FileInfo,
  folder: string,
  name: string,
): Promise<string | null> {
  if (part.ino === null) return null;
  for (let n = 1; n <= MAX_NAME_TRIES; n++) {
    const target = join(folder, numberedName(name, n));
    const info = await Deno.lstat(target).catch(() => null);
    if (info?.isFile && info.ino === part.ino && info.dev === part.dev) {
      return target;
    }
  }
  return null;
}

/**
 * Opens an existing part file, to write checked chunks or to read them back.
 *
 * @param path from {@linkcode partPathFor}
 * @param mode "write" for a fetch worker, "read" for a re-check
 * @returns the open file
 */
export function openPartFile(
  path: string,
  mode: "read" | "write",
): Promise<Deno.FsFile> {
  return Deno.open(path, mode === "write" ? { write: true } : { read: true });
}

/**
 * Writes a checked chunk at its offset, whole. Sync calls: a write into the
 * page cache takes about 0.1 ms, less than handing it to a runtime thread
 * and back (and it keeps the bytes in this core's cache); the fetch worker
 * has nothing else to do meanwhile.
 *
 * @param file the part file, open for writing (one writer per handle: seek and write must not interleave)
 * @param offset the chunk's offset
 * @param data the chunk
 * @throws {Error} the system's error (its `code`, e.g. "ENOSPC", says why)
 */
export function writeChunkSync(
  file: Deno.FsFile,
  offset: number,
  data: Uint8Array,
): void {
  file.seekSync(offset, Deno.SeekMode.Start);
  let written = 0;
  while (written < data.byteLength) {
    written += file.writeSync(data.subarray(written));
  }
}

/**
 * Fills `into` from `offset`; false when the file ends first or a read
 * fails. Sync calls, as {@linkcode writeChunkSync}: the bytes usually come
 * from the page cache, where a hop to a runtime thread costs more than the read.
 *
 * @param file the part file, open for reading
 * @param offset where to start
 * @param into the bytes to fill
 * @returns whether `into` was filled
 */
export function readChunkSync(
  file: Deno.FsFile,
  offset: number,
  into: Uint8Array,
): boolean {
  try {
    file.seekSync(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < into.byteLength) {
      const n = file.readSync(into.subarray(filled));
      if (n === null) return false;
      filled += n;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The `n`th candidate name for a file: `name` itself for 1, then
 * `stem (n).ext`, shortened so that it stays within the name limit.
 *
 * @param name the file's name (a safe single component)
 * @param n 1, 2, 3, ...
 * @returns the candidate name
 * @example
 * ```ts
 * import { numberedName } from "./part_file.ts";
 * numberedName("film.mkv", 2); // "film (2).mkv"
 * numberedName("README", 3); // "README (3)"
 * ```
 */
export function numberedName(name: string, n: number): string {
  if (n <= 1) return name;
  const dot = name.lastIndexOf(".");
  // A leading dot is not an extension; a long "extension" is part of the stem.
  const hasExt = dot > 0 && name.length - dot <= 16;
  let stem = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : "";
  const suffix = ` (${n})${ext}`;
  const room = MAX_NAME_BYTES - utf8(suffix).byteLength;
  if (utf8(stem).byteLength > room) {
    // Cut whole code points until the stem fits.
    const points = [...stem];
    while (points.length > 0 && utf8(points.join("")).byteLength > room) {
      points.pop();
    }
    stem = points.join("").trimEnd();
  }
  return `${stem}${suffix}`;
}

/**
 * Moves a checked part file into the download folder under the first free
 * name, never replacing what is there (a file, a folder or a link of that
 * name stays untouched).
 *
 * @param partPath the checked part file
 * @param folder the download folder
 * @param name the file's name from its manifest (already checked as safe)
 * @returns the path the file now has
 * @throws {Deno.errors.AlreadyExists} when every candidate name is taken
 */
export async function placeFile(
  partPath: string,
  folder: string,
  name: string,
): Promise<string> {
  for (let n = 1; n <= MAX_NAME_TRIES; n++) {
    const target = join(folder, numberedName(name, n));
    if (await claim(partPath, target)) return target;
  }
  throw new Deno.errors.AlreadyExists(
    `${name} and ${MAX_NAME_TRIES - 1} numbered names are taken`,
  );
}

/** Puts the part file at `target` if nothing is there; false if something is. */
async function claim(partPath: string, target: string): Promise<boolean> {
  try {
    // A hard link is created only where no entry exists (links are not
    // followed), so it cannot replace anything; then the part name goes.
    await Deno.link(partPath, target);
    await Deno.remove(partPath);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    if (!(error instanceof Deno.errors.NotSupported || isNoLink(error))) {
      throw error;
    }
  }
  // No hard links here (another file system, FAT): reserve the name with an
  // exclusive create, then rename over that reservation, which is ours.
  try {
    (await Deno.open(target, { write: true, createNew: true })).close();
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
  await Deno.rename(partPath, target);
  return true;
}

/** EXDEV, EPERM or EMLINK from link(2): this file system will not link it. */
function isNoLink(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "EXDEV" || code === "EPERM" || code === "EMLINK" ||
    error instanceof Deno.errors.PermissionDenied;
}
