/**
 * Which paths the `.torrent` flags name, worked out the same way by the
 * launcher (to grant them) and by the peer (to use them). No Deno calls:
 * the launcher and the peer must agree without looking at the disk.
 *
 * @module
 */
import { lastComponent, resolvePath } from "./plain_path.ts";

/**
 * Whether a `--get` value is a path to a `.torrent` file rather than the
 * name of a shared file: it ends with `.torrent` (any case). A shared file
 * whose own name ends so is fetched by its id.
 *
 * @param text the `--get` value
 * @returns true for a `.torrent` path
 * @example
 * ```ts
 * import { isTorrentPath } from "./torrent_paths.ts";
 * isTorrentPath("ubuntu.iso.torrent"); // true
 * isTorrentPath("ubuntu.iso"); // false
 * ```
 */
export function isTorrentPath(text: string): boolean {
  return /\.torrent$/i.test(text) && !/^magnet:/i.test(text);
}

/**
 * Where `--make-torrent FILE` writes: `--torrent-out PATH` when given, else
 * `NAME.torrent` in the user's folder (NAME is the file's name).
 *
 * @param file the `--make-torrent` value
 * @param torrentOut the `--torrent-out` value, if any
 * @param cwd the user's folder
 * @returns the absolute path of the `.torrent` to write
 * @example
 * ```ts
 * import { torrentOutPath } from "./torrent_paths.ts";
 * torrentOutPath("data/a.iso", undefined, "/home/me"); // "/home/me/a.iso.torrent"
 * ```
 */
export function torrentOutPath(
  file: string,
  torrentOut: string | undefined,
  cwd: string,
): string {
  return resolvePath(
    cwd,
    torrentOut ?? `${lastComponent(resolvePath(cwd, file))}.torrent`,
  );
}
