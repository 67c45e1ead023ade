/**
 * Opens what `--get` names before anything is started: a `.torrent` file
 * (read with a size bound, checked, its manifest kept so no peer is asked
 * for it) or a magnet link. Both are untrusted; a bad one is one line and
 * exit code 8, and nothing is written anywhere.
 *
 * @module
 */
import {
  fileNameProblem,
  type FileQuery,
  MAX_TORRENT_BYTES,
  parseMagnet,
  parseTorrent,
  ProtocolError,
} from "@shoal/protocol";
import type { GetTarget } from "./cli_flags.ts";

/** A `.torrent` file or magnet link that cannot be used; one line. */
export class LinkError extends Error {
  /** @param message one line for the user */
  constructor(message: string) {
    super(message);
    this.name = "LinkError";
  }
}

/** What to download, as `node.download` takes it, and where to ask. */
export interface OpenedGet {
  /** The file. */
  query: FileQuery;
  /** The manifest, from a `.torrent`. */
  manifestBytes?: Uint8Array;
  /** Tracker URLs the link names (untrusted; may be any scheme). */
  trackers: string[];
}

/**
 * Reads and checks what `--get` names.
 *
 * @param target the parsed `--get` value
 * @returns the query, the manifest if a `.torrent` gave one, and its trackers
 * @throws {LinkError} for a `.torrent` or magnet link that cannot be used
 * @example
 * ```ts
 * import { openGetTarget } from "./get_link.ts";
 * // const { query, manifestBytes, trackers } = await openGetTarget(
 * //   { kind: "torrent", path: "/home/me/a.iso.torrent" },
 * // );
 * ```
 */
export async function openGetTarget(target: GetTarget): Promise<OpenedGet> {
  switch (target.kind) {
    case "query":
      return { query: target.query, trackers: [] };
    case "magnet":
      return openMagnet(target.link);
    case "torrent":
      return await openTorrent(target.path);
  }
}

function openMagnet(text: string): OpenedGet {
  let link;
  try {
    link = parseMagnet(text);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new LinkError(reasonOf(error, "Cannot use the magnet link"));
  }
  // The name shown is the manifest's, once fetched; a link whose own name
  // could not be a file name is refused rather than trusted for anything.
  const problem = link.name === null ? null : fileNameProblem(link.name);
  if (problem) {
    throw new LinkError(
      `Cannot use the magnet link: its name (dn) ${problem}; ask for a correct link`,
    );
  }
  return { query: { id: link.id }, trackers: link.trackers };
}

async function openTorrent(path: string): Promise<OpenedGet> {
  const bytes = await readBounded(path, MAX_TORRENT_BYTES);
  try {
    const torrent = parseTorrent(bytes);
    return {
      query: { id: torrent.id },
      manifestBytes: torrent.manifestBytes,
      trackers: torrent.trackers,
    };
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new LinkError(reasonOf(error, `Cannot use ${path}`));
  }
}

/** The decoder's reason after `prefix`, without its own "Cannot ...:" start. */
function reasonOf(error: ProtocolError, prefix: string): string {
  const reason = error.message.split("\n")[0]!.replace(/^Cannot [^:]*: /, "");
  // Broken bencode is a damaged download or another kind of file.
  return /^bad bencode/i.test(reason)
    ? `${prefix}: it is not a whole .torrent file (${reason.toLowerCase()})`
    : `${prefix}: ${reason}`;
}

/** Reads a whole file of at most `maxBytes`, checking the size first. */
async function readBounded(
  path: string,
  maxBytes: number,
): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw openError(path, error);
  }
  using _ = file;
  const info = await file.stat();
  if (info.isDirectory) {
    throw new LinkError(`Cannot use ${path}: it is a folder, not a .torrent`);
  }
  if (info.size > maxBytes) {
    throw new LinkError(
      `Cannot use ${path}: ${info.size} bytes is too large for a .torrent (at most ${maxBytes})`,
    );
  }
  // One byte past the size tells a file that grew meanwhile.
  const bytes = new Uint8Array(info.size + 1);
  let filled = 0;
  while (filled < bytes.byteLength) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  if (filled > info.size) {
    throw new LinkError(
      `Cannot use ${path}: it changed while being read; try again`,
    );
  }
  return bytes.subarray(0, filled);
}

function openError(path: string, error: unknown): Error {
  if (
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotADirectory
  ) {
    return new LinkError(
      `Cannot use ${path}: no such file (to get a shared file whose name ends in .torrent, give its id)`,
    );
  }
  if (
    error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable
  ) {
    return new LinkError(`Cannot use ${path}: permission denied`);
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return new LinkError(`Cannot use ${path}: it is a folder, not a .torrent`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
