/**
 * `--make-torrent FILE`: hash a file the way a seeder does (the same chunk
 * size, so the `.torrent`'s infohash is the id a seeder of the file
 * announces), write a v2 `.torrent`, and give its magnet link. Nothing is
 * kept in a state folder: the torrent holds the manifest.
 * `--make-torrent DIR`: the same for a folder, as one BEP 52 multi-file
 * torrent named after it (peer/library/folder_scan.ts, folder_hash.ts).
 *
 * @module
 */
import {
  encodeTorrent,
  fileIdOf,
  magnetLink,
  parseManifest,
  toHex,
} from "@shoal/protocol";
import { buildManifest, SeedError } from "./library/library.ts";
import { scanFolder } from "./library/folder_scan.ts";
import { hashFolder } from "./library/folder_hash.ts";
import { checkSeedable, tooLargeError } from "./library/seedable.ts";
import { type PeerFlags, trackerUrl } from "./cli_flags.ts";
import type { CliOutput } from "./cli_output.ts";

/** A `.torrent` that was written. */
export interface MadeTorrent {
  /** The file id: the v2 infohash, hex. */
  idHex: string;
  /** The file's name. */
  name: string;
  /** The file's size in bytes. */
  size: number;
  /** The magnet link. */
  magnet: string;
  /** Where the `.torrent` is. */
  torrentPath: string;
  /** For a folder: how many files it holds. */
  files?: number;
  /** For a folder: the entries left out, one line each ("a/link: ..."). */
  skipped?: string[];
}

/** The most skipped entries listed one by one; the rest are counted. */
const MAX_SKIPPED_LINES = 20;

/** The `.torrent` cannot be written (it exists, or the folder refuses). */
export class TorrentWriteError extends Error {
  /** @param message one line for the user */
  constructor(message: string) {
    super(message);
    this.name = "TorrentWriteError";
  }
}

/**
 * Hashes `path` in a worker and writes its `.torrent` to `torrentPath`,
 * which must not exist yet.
 *
 * @param path the file to describe
 * @param options where to write, the tracker URLs to name, and hashing progress
 * @returns the id, magnet link and path
 * @throws {SeedError} when the file cannot be described
 * @throws {TorrentWriteError} when the `.torrent` exists or cannot be written
 * @example
 * ```ts
 * import { makeTorrent } from "./make_torrent.ts";
 * // const made = await makeTorrent("/data/a.iso", {
 * //   torrentPath: "/home/me/a.iso.torrent",
 * //   trackers: ["udp://tracker.example:6969/announce"],
 * // });
 * ```
 */
export async function makeTorrent(
  path: string,
  options: MakeTorrentOptions,
): Promise<MadeTorrent> {
  const { torrentPath } = options;
  if (await isFolder(path)) return await makeFolderTorrent(path, options);
  const file = await checkSeedable(path, "make a torrent of");
  if (file.chunkSize === null) {
    throw tooLargeError(file.absolute, file.info.size, "make a torrent of");
  }
  // Said before hashing, so a large file is not hashed for nothing; the
  // write itself refuses too (createNew), should one appear meanwhile.
  if (await exists(torrentPath)) throw existsError(torrentPath);
  const built = await buildManifest(
    file.absolute,
    file.name,
    file.chunkSize,
    (bytes) => options.onProgress?.(bytes, file.info.size),
  );
  const id = fileIdOf(built.manifestBytes);
  const manifest = parseManifest(built.manifestBytes);
  await writeTorrent(
    torrentPath,
    encodeTorrent(built.manifestBytes, options.trackers),
  );
  return {
    idHex: toHex(id),
    name: manifest.name,
    size: manifest.size,
    magnet: magnetLink(id, manifest.name, options.trackers),
    torrentPath,
  };
}

/** What to write and name: see {@linkcode makeTorrent}. */
export interface MakeTorrentOptions {
  /** Where the `.torrent` goes (refused when something is there). */
  torrentPath: string;
  /** Tracker URLs to name. */
  trackers: readonly string[];
  /** Hashing progress: bytes so far of the total. */
  onProgress?: (bytes: number, size: number) => void;
}

/** `--make-torrent DIR`: a multi-file torrent of a folder. */
async function makeFolderTorrent(
  path: string,
  options: MakeTorrentOptions,
): Promise<MadeTorrent> {
  const { torrentPath } = options;
  const folder = scanFolder(path, "make a torrent of");
  if (await exists(torrentPath)) throw existsError(torrentPath);
  const built = hashFolder(folder, {
    onProgress: (bytes, total) => options.onProgress?.(bytes, total),
  });
  await writeTorrent(
    torrentPath,
    encodeTorrent(built.manifestBytes, options.trackers),
  );
  return {
    idHex: toHex(built.id),
    name: built.manifest.name,
    size: built.manifest.size,
    magnet: magnetLink(built.id, built.manifest.name, options.trackers),
    torrentPath,
    files: built.manifest.files.length,
    skipped: folder.skipped,
  };
}

/** Writes a new `.torrent`, never over an existing one. */
async function writeTorrent(
  torrentPath: string,
  bytes: Uint8Array,
): Promise<void> {
  try {
    await Deno.writeFile(torrentPath, bytes, { createNew: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw existsError(torrentPath);
    }
    const reason = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.NotADirectory
      ? "its folder does not exist"
      : error instanceof Deno.errors.PermissionDenied ||
          error instanceof Deno.errors.NotCapable
      ? "permission denied"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a folder"
      : null;
    if (reason === null) throw error;
    throw new TorrentWriteError(
      `Cannot write ${torrentPath}: ${reason}; pass --torrent-out with a path in a folder you can write to`,
    );
  }
}

/** Whether `path` is a folder (false when it is anything else or absent). */
async function isFolder(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    // checkSeedable says why the path cannot be read.
    return false;
  }
}

function existsError(torrentPath: string): TorrentWriteError {
  return new TorrentWriteError(
    `Cannot write ${torrentPath}: it exists already; pass --torrent-out with another path, or remove it first`,
  );
}

/** Whether something is at `path` (false when this run may not look). */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    // Whatever stops the look (a missing folder, the sandbox) stops the
    // write too, which says so.
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotCapable
    ) return false;
    throw error;
  }
}

/**
 * Runs `--make-torrent`: prints hashing progress, then the `.torrent`'s path
 * and the magnet link on a line of its own (the last line, for scripts);
 * with `--json`, exactly one line of type "torrent" with `id`, `infohash`
 * (the same 64 hex digits: a Shoal id is a v2 infohash), `magnet` and
 * `torrent`, and for a folder `files` (its file count) and `skipped` (the
 * entries left out, which the text output lists first, "skipped ...").
 *
 * @param flags the file, where to write, and the trackers `--tracker` named
 * @param out where to print
 * @returns the exit code: 0; 1 when the file cannot be described; 6 when
 *   the `.torrent` exists or cannot be written
 */
export async function makeTorrentCommand(
  flags: Pick<
    PeerFlags,
    | "makeTorrent"
    | "torrentOut"
    | "trackers"
  >,
  out: CliOutput,
): Promise<number> {
  const path = flags.makeTorrent!;
  try {
    const made = await makeTorrent(path, {
      torrentPath: flags.torrentOut!,
      trackers: flags.trackers.map((t) => trackerUrl(t.host, t.port)),
      ...(out.json ? {} : {
        onProgress: (bytes: number, size: number) =>
          out.event(
            "hashing",
            {},
            `hashing ${path}: ${Math.floor((bytes / size) * 100)}%`,
          ),
      }),
    });
    const skipped = made.skipped ?? [];
    const skippedText = [
      ...skipped.slice(0, MAX_SKIPPED_LINES).map((line) => `skipped ${line}`),
      ...(skipped.length > MAX_SKIPPED_LINES
        ? [`skipped ${skipped.length - MAX_SKIPPED_LINES} more entries`]
        : []),
    ].map((line) => `${line}\n`).join("");
    const what = made.files === undefined
      ? made.name
      : `folder ${made.name}, ${made.files} file${made.files === 1 ? "" : "s"}`;
    out.event(
      "torrent",
      {
        id: made.idHex,
        infohash: made.idHex,
        magnet: made.magnet,
        torrent: made.torrentPath,
        ...(made.files === undefined ? {} : { files: made.files, skipped }),
      },
      `${skippedText}wrote ${made.torrentPath} (${what}, id ${made.idHex})\n${made.magnet}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof SeedError) {
      out.error("file", 1, error.message);
      return 1;
    }
    if (error instanceof TorrentWriteError) {
      out.error("torrent_write", 6, error.message);
      return 6;
    }
    throw error;
  }
}
