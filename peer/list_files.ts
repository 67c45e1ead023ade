/**
 * `--list [QUERY]`: the files a tracker knows, as a table for people or one
 * JSON object per file for scripts.
 *
 * @module
 */
import { type FileSummary, toHex } from "@shoal/protocol";
import type { HostPort } from "./cli_flags.ts";
import type { CliOutput } from "./cli_output.ts";
import { formatBytes, plural } from "./progress.ts";
import { getLogger } from "@logtape/logtape";
import {
  TRACKER_RETRIES,
  TRACKER_TIMEOUT_MS,
  TrackerError,
  tryTimeouts,
} from "./tracker_client.ts";
import { TrackerSet } from "./discovery/trackers.ts";

const logger = getLogger(["shoal", "peer", "list"]);

/** Most files printed: more pages would only load the tracker. */
export const MAX_LISTED_FILES = 1_000;
/** Hex digits of the short id (what `--get` accepts at least). */
export const SHORT_ID_DIGITS = 8;
/**
 * Silence before `--list` says it is still waiting: a tracker that is up
 * answers within the first two tries (250 + 500 ms); one that is down takes
 * the whole retry schedule (7.75 s) to give up on.
 */
export const LIST_WAIT_NOTICE_MS = 1_000;

/**
 * Lays files out as a table: name, size, peers, short id.
 *
 * @param files the files, in the tracker's order (by name)
 * @returns the lines, a header first
 * @example
 * ```ts
 * import { fileTable } from "./list_files.ts";
 * fileTable([]); // ["NAME  SIZE  PEERS  ID"]
 * ```
 */
export function fileTable(files: readonly FileSummary[]): string[] {
  const rows = files.map((file) => [
    file.name,
    formatBytes(file.size),
    String(file.peers),
    toHex(file.id).slice(0, SHORT_ID_DIGITS),
  ]);
  const header = ["NAME", "SIZE", "PEERS", "ID"];
  // Names may hold tabs or newlines (they are UTF-8 text): shown escaped.
  for (const row of rows) row[0] = printable(row[0]!);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length))
  );
  const line = (row: string[]) =>
    row.map((cell, column) =>
      column === 1 || column === 2
        ? cell.padStart(widths[column]!)
        : column === row.length - 1
        ? cell
        : cell.padEnd(widths[column]!)
    ).join("  ");
  return [line(header), ...rows.map(line)];
}

/** A name on one line: control characters as JSON escapes. */
function printable(name: string): string {
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u001f\u007f]/.test(name)
    ? JSON.stringify(name).slice(1, -1)
    : name;
}

/**
 * Prints the files whose name contains the query, by name, as the first
 * tracker that answers knows them. While no tracker has answered after
 * {@linkcode LIST_WAIT_NOTICE_MS}, a warning on stderr says it is still
 * asking (the log, which `--json` leaves on stderr too).
 *
 * @param trackers the trackers, all asked at once; the first answer is used
 * @param list `--list`'s query ("" for every file)
 * @param out where to print
 * @param noticeMs silence before the still-asking warning (tests shorten it)
 * @returns the exit code: 0, or 7 when no tracker can be reached
 */
export async function listFiles(
  trackers: readonly HostPort[],
  list: string,
  out: CliOutput,
  noticeMs = LIST_WAIT_NOTICE_MS,
): Promise<number> {
  const query = list.normalize("NFC");
  let tracker: TrackerSet | null = null;
  let notice: ReturnType<typeof setTimeout> | undefined;
  try {
    tracker = await TrackerSet.open(trackers);
    const asked = tracker;
    const giveUpMs = tryTimeouts(TRACKER_TIMEOUT_MS, TRACKER_RETRIES)
      .reduce((sum, ms) => sum + ms, 0);
    notice = setTimeout(() => {
      const addresses = asked.addresses;
      const seconds = Math.ceil((giveUpMs - noticeMs) / 1000);
      if (addresses.length === 1) {
        logger.warn(
          "No answer yet from tracker {tracker}; still asking, for up to {seconds} s more",
          { tracker: addresses[0], seconds },
        );
      } else {
        logger.warn(
          "No answer yet from any of the trackers {trackers}; still asking, for up to {seconds} s more",
          { trackers: addresses.join(", "), seconds },
        );
      }
    }, noticeMs);
    const files: FileSummary[] = [];
    let total = 0;
    do {
      const page = await tracker.list(query, files.length);
      clearTimeout(notice);
      total = page.total;
      if (page.files.length === 0) break;
      files.push(...page.files);
    } while (files.length < total && files.length < MAX_LISTED_FILES);
    if (out.json) {
      for (const file of files) {
        out.event("file", {
          name: file.name,
          size: file.size,
          peers: file.peers,
          seeders: file.seeders,
          fileId: toHex(file.id),
        }, "");
      }
      return 0;
    }
    if (files.length === 0) {
      out.event(
        "files",
        {},
        query === ""
          ? `the tracker ${tracker.answeredBy} knows no file yet`
          : `no file on the tracker ${tracker.answeredBy} has "${query}" in its name`,
      );
      return 0;
    }
    for (const line of fileTable(files)) out.event("file", {}, line);
    const more = total - files.length;
    out.event(
      "files",
      {},
      more > 0
        ? `${
          plural(files.length, "file")
        } shown of ${total}; narrow with --list WORD`
        : plural(files.length, "file"),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof TrackerError)) throw error;
    out.error("tracker", 7, error.message);
    return 7;
  } finally {
    clearTimeout(notice);
    await tracker?.close();
  }
}
