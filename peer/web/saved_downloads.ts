/**
 * The page's download list, kept in the peer's state folder
 * (`STATE/web-downloads.json`) so that a restart resumes the downloads that
 * were running and still lists the paused and finished ones. What is read
 * back is checked entry by entry: a damaged file loses only what is damaged.
 *
 * @module
 */
import { join } from "node:path";
import { MAX_TREE_FILES } from "@shoal/protocol";

/** The list's file name inside the state folder. */
export const SAVED_DOWNLOADS_FILE = "web-downloads.json";
/** A list file larger than this is not read (it was never written by us). */
const MAX_FILE_BYTES = 1024 * 1024;

/** One download as saved. */
export interface SavedDownload {
  /** What the user asked for: a name, or an id in hex. */
  query: string;
  /** Whether `query` is an id. */
  byId: boolean;
  /** "active" (resumed at start), "paused" or "done". */
  state: "active" | "paused" | "done";
  /** File name. */
  name: string;
  /** File id, hex ("" until known). */
  fileId: string;
  /** File size (0 until known). */
  size: number;
  /** Chunks in the file (0 until known). */
  chunkCount: number;
  /** Where the finished file is; null until done. */
  path: string | null;
  /** When it was first started (epoch ms). */
  startedAt: number;
  /** A folder's ticked files, by place in the folder; absent: every file. */
  files?: number[];
  /** True while the user has still to choose a folder's files (asked again). */
  chooseFirst?: true;
}

const STATES = new Set(["active", "paused", "done"]);

/**
 * Keeps only well-formed entries, at most `max` of them.
 *
 * @param value what was parsed from the file
 * @param max the most entries kept
 * @returns the entries
 */
export function parseSavedDownloads(
  value: unknown,
  max: number,
): SavedDownload[] {
  const list = (value as { downloads?: unknown } | null)?.downloads;
  if (!Array.isArray(list)) return [];
  const out: SavedDownload[] = [];
  for (const item of list) {
    if (out.length >= max) break;
    if (typeof item !== "object" || item === null) continue;
    const v = item as Record<string, unknown>;
    const ok = typeof v.query === "string" && v.query.length > 0 &&
      v.query.length <= 1024 && typeof v.byId === "boolean" &&
      typeof v.state === "string" && STATES.has(v.state) &&
      typeof v.name === "string" && v.name.length <= 1024 &&
      typeof v.fileId === "string" && /^([0-9a-f]{64})?$/.test(v.fileId) &&
      (!v.byId || /^[0-9a-f]{64}$/.test(v.query)) &&
      Number.isSafeInteger(v.size) && (v.size as number) >= 0 &&
      Number.isSafeInteger(v.chunkCount) && (v.chunkCount as number) >= 0 &&
      (v.path === null || typeof v.path === "string") &&
      Number.isFinite(v.startedAt);
    if (!ok) continue;
    // A damaged tick list is dropped, not the download: it then fetches all.
    const ticked = Array.isArray(v.files) && v.files.length > 0 &&
        v.files.length <= MAX_TREE_FILES &&
        v.files.every((i) => Number.isSafeInteger(i) && i >= 0)
      ? v.files as number[]
      : null;
    out.push({
      query: v.query as string,
      byId: v.byId as boolean,
      state: v.state as SavedDownload["state"],
      name: v.name as string,
      fileId: v.fileId as string,
      size: v.size as number,
      chunkCount: v.chunkCount as number,
      path: v.path as string | null,
      startedAt: v.startedAt as number,
      ...(ticked ? { files: ticked } : {}),
      ...(v.chooseFirst === true ? { chooseFirst: true as const } : {}),
    });
  }
  return out;
}

/** Where the manager keeps its list (a file, or memory in tests). */
export interface DownloadStore {
  /** The saved list (empty when there is none). */
  load(): Promise<SavedDownload[]>;
  /** Replaces the saved list. */
  save(downloads: SavedDownload[]): Promise<void>;
}

/**
 * A store in the peer's state folder; writes go through a temporary file
 * and a rename, so a crash leaves the old list or the new one.
 *
 * @param stateDir the peer's state folder
 * @param max the most entries read back
 * @returns the store
 */
export function fileStore(stateDir: string, max = 200): DownloadStore {
  const path = join(stateDir, SAVED_DOWNLOADS_FILE);
  return {
    async load() {
      try {
        const info = await Deno.stat(path);
        if (!info.isFile || info.size > MAX_FILE_BYTES) return [];
        return parseSavedDownloads(
          JSON.parse(await Deno.readTextFile(path)),
          max,
        );
      } catch (error) {
        if (
          error instanceof Deno.errors.NotFound || error instanceof SyntaxError
        ) return [];
        throw error;
      }
    },
    async save(downloads) {
      await Deno.mkdir(stateDir, { recursive: true });
      await Deno.writeTextFile(
        `${path}.tmp`,
        JSON.stringify({ version: 1, downloads }, null, 1),
        { mode: 0o600 },
      );
      await Deno.rename(`${path}.tmp`, path);
    },
  };
}
