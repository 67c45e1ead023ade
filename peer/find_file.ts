/**
 * Turns what a person typed after `--get` into a query the download can
 * use: the exact name, else an id prefix (8 or more hex digits), else the
 * name without regard to case; when nothing matches, the closest names the
 * tracker knows are suggested. The tracker's work stays bounded: at most
 * two name searches and a few pages of its list.
 *
 * @module
 */
import {
  type FileQuery,
  type FileSummary,
  MIN_ID_PREFIX_DIGITS,
  type RequestQuery,
  toHex,
} from "@shoal/protocol";
import { DownloadError } from "./download/download.ts";
import type { ListResult, RequestResult } from "./tracker_client.ts";
import { formatBytes, plural } from "./progress.ts";

/** The tracker calls finding a file needs (a TrackerClient has them). */
export interface FileIndex {
  /** REQUEST: peers, candidates or unknown. */
  request(query: RequestQuery, wanted?: number): Promise<RequestResult>;
  /** LIST: one page of the files whose name contains `query`. */
  list(query: string, offset?: number): Promise<ListResult>;
}

/** Pages of the whole list read for suggestions when the tracker is small. */
const SUGGEST_PAGES = 8;
/** Names suggested at most. */
const MAX_SUGGESTIONS = 3;

/** Names as a person means them: Unicode-normalised, case aside. */
export function foldName(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/**
 * Resolves `--get TEXT` to a download query.
 *
 * - a name some file is known by exactly: `{ name }` (the download then
 *   reports several such files as ambiguous);
 * - 8 to 63 hex digits that start one file's id: `{ id }`;
 * - a name that only one file has without regard to case:
 *   `{ id, name }`, so that the download still checks the manifest's name.
 *
 * @param index the tracker
 * @param text what the user typed
 * @returns the query to download
 * @throws {DownloadError} "ambiguous" (several files fit) or "unknown_file"
 *   (none does: the message suggests the closest names)
 * @throws {TrackerError} when the tracker does not answer
 */
export async function findFile(
  index: FileIndex,
  text: string,
): Promise<FileQuery> {
  const exact = await index.request({ name: text }, 1);
  if (exact.kind !== "unknown") return { name: text };
  if (new RegExp(`^[0-9a-fA-F]{${MIN_ID_PREFIX_DIGITS},63}$`).test(text)) {
    const prefix = text.toLowerCase();
    const byId = await index.request({ idPrefix: prefix }, 1);
    if (byId.kind === "peers") return { id: byId.fileId };
    if (byId.kind === "candidates") {
      throw new DownloadError(
        "ambiguous",
        `Several files have an id starting with ${prefix}; give more digits: ${
          describe(byId.files)
        }`,
        { candidates: byId.files },
      );
    }
  }
  const folded = foldName(text);
  const found = await index.list(text.normalize("NFC"));
  const same = found.files.filter((file) => foldName(file.name) === folded);
  if (same.length === 1) return { id: same[0]!.id, name: text };
  if (same.length > 1) {
    throw new DownloadError(
      "ambiguous",
      `Several files are called ${text} (case aside); ask for one by id: ${
        describe(same)
      }`,
      { candidates: same },
    );
  }
  const names = await knownNames(index, text, found);
  const closest = closestNames(text, names);
  throw new DownloadError(
    "unknown_file",
    closest.length > 0
      ? `No file called ${text} is known to the tracker; did you mean ${
        closest.map((name) => JSON.stringify(name)).join(", or ")
      }? (--list shows every file)`
      : `No file called ${text} is known to the tracker; --list shows the files it knows`,
  );
}

/** Files as "id (size, peers)" for an error line. */
function describe(files: readonly FileSummary[]): string {
  return files.map((file) =>
    `${toHex(file.id)} ${JSON.stringify(file.name)} (${
      formatBytes(file.size)
    }, ${plural(file.peers, "peer")})`
  ).join(", ");
}

/**
 * Names to suggest from: the files whose name contains what was asked, the
 * whole list when the tracker is small, else one search for the longest
 * word of what was asked (one scan of the tracker's names).
 */
async function knownNames(
  index: FileIndex,
  text: string,
  found: ListResult,
): Promise<string[]> {
  const names = found.files.map((file) => file.name);
  const first = await index.list("", 0);
  names.push(...first.files.map((file) => file.name));
  let offset = first.files.length;
  const small = first.total <= first.files.length * SUGGEST_PAGES;
  if (small) {
    for (let page = 1; page < SUGGEST_PAGES && offset < first.total; page++) {
      const next = await index.list("", offset);
      if (next.files.length === 0) break;
      names.push(...next.files.map((file) => file.name));
      offset += next.files.length;
    }
    return names;
  }
  const word = foldName(text).split(/[^\p{L}\p{N}]+/u)
    .filter((part) => part.length >= 3)
    .sort((a, b) => b.length - a.length)[0];
  if (word !== undefined && word !== foldName(text)) {
    names.push(...(await index.list(word)).files.map((file) => file.name));
  }
  return names;
}

/**
 * The names closest to `asked` (case aside): those containing it first,
 * then by edit distance, each no further than a third of its length.
 *
 * @param asked what the user typed
 * @param names names the tracker knows
 * @returns up to three names, closest first
 * @example
 * ```ts
 * import { closestNames } from "./find_file.ts";
 * closestNames("ubunt.iso", ["ubuntu.iso", "debian.iso"]); // ["ubuntu.iso"]
 * ```
 */
export function closestNames(
  asked: string,
  names: readonly string[],
): string[] {
  const target = foldName(asked);
  const limit = Math.max(2, Math.floor(target.length / 3));
  const scored: { name: string; score: number }[] = [];
  for (const name of new Set(names)) {
    const folded = foldName(name);
    const score = folded.includes(target)
      ? -1 / folded.length
      : editDistance(target, folded, limit);
    if (score <= limit) scored.push({ name, score });
  }
  scored.sort((a, b) => a.score - b.score || (a.name < b.name ? -1 : 1));
  return scored.slice(0, MAX_SUGGESTIONS).map((entry) => entry.name);
}

/**
 * Levenshtein distance, or `limit + 1` as soon as it must exceed `limit`.
 *
 * @param a one string
 * @param b the other
 * @param limit the largest distance of interest
 * @returns the distance, at most `limit + 1`
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      current.push(value);
      if (value < best) best = value;
    }
    if (best > limit) return limit + 1;
    previous = current;
  }
  return Math.min(previous[b.length]!, limit + 1);
}
