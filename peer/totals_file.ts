/**
 * The bytes this peer has uploaded and downloaded in all its runs, kept in
 * its state folder (`STATE/totals.json`) so the page's totals and ratio
 * survive a restart, as in qBittorrent's "all-time" statistics.
 *
 * @module
 */
import { join } from "node:path";
import { readJsonFile, writeJsonFile } from "./storage/json_file.ts";

/** The file's name inside the state folder. */
export const TOTALS_FILE = "totals.json";
/** A larger file was never written by us: it is not read. */
const MAX_FILE_BYTES = 4096;

/** Bytes moved over all runs. */
export interface Totals {
  /** Chunk bytes sent to peers. */
  uploadedBytes: number;
  /** Chunk bytes received from peers. */
  downloadedBytes: number;
}

function count(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0
    ? value as number
    : 0;
}

/**
 * The totals in what was read from the file; a missing or bad count is 0.
 *
 * @param value the parsed file (anything)
 * @returns the totals
 * @example
 * ```ts
 * import { parseTotals } from "./totals_file.ts";
 * parseTotals({ uploadedBytes: 5, downloadedBytes: -1 }); // { uploadedBytes: 5, downloadedBytes: 0 }
 * ```
 */
export function parseTotals(value: unknown): Totals {
  const v =
    (typeof value === "object" && value !== null ? value : {}) as Record<
      string,
      unknown
    >;
  return {
    uploadedBytes: count(v.uploadedBytes),
    downloadedBytes: count(v.downloadedBytes),
  };
}

/**
 * Reads the saved totals (zeros when there are none).
 *
 * @param stateDir the peer's state folder
 */
export async function loadTotals(stateDir: string): Promise<Totals> {
  return parseTotals(
    await readJsonFile(join(stateDir, TOTALS_FILE), MAX_FILE_BYTES),
  );
}

/**
 * Saves the totals at once (temporary file and rename, mode 0600).
 *
 * @param stateDir the peer's state folder
 * @param totals the counts over all runs
 */
export async function saveTotals(
  stateDir: string,
  totals: Totals,
): Promise<void> {
  await writeJsonFile(join(stateDir, TOTALS_FILE), { version: 1, ...totals });
}
