/**
 * Hashes a folder to seed in a worker (peer/workers/folder_worker.ts), so a
 * folder of many files or many gigabytes never blocks the peer's event loop.
 *
 * @module
 */
import type { FolderManifest } from "@shoal/protocol";
import { SeedError } from "./seedable.ts";
import type { SavedFolder } from "./folder_reuse.ts";
import { terminateOnAbort } from "../workers/terminate_on_abort.ts";

/** One file of a built folder, as the worker saw it once hashed. */
export interface BuiltFolderFile {
  /** Its absolute path on disk. */
  absolute: string;
  /** Its modification time once hashed. */
  mtimeMs: number;
  /** Its change time once hashed, or null when unknown. */
  ctimeMs: number | null;
  /** Its inode and device: a file opened to serve must be this one. */
  ino: number | null;
  /** See `ino`. */
  dev: number;
}

/** A folder worker to the main thread. */
export type FolderWorkerEvent =
  | { type: "progress"; bytes: number; total: number }
  | {
    type: "built";
    manifestBytes: Uint8Array;
    /** The manifest those bytes encode, as the worker built it. */
    manifest: FolderManifest;
    /** The v2 infohash of those bytes. */
    id: Uint8Array;
    /** In the manifest's order. */
    files: BuiltFolderFile[];
    /** One line per entry left out (links, hidden entries). */
    skipped: string[];
    /** When the listing started: a ctime before it (with slack) vouches for the bytes. */
    hashStartMs: number;
    /** Whether the saved manifest was reused, nothing hashed. */
    reused: boolean;
  }
  | { type: "failed"; message: string; seedError: boolean };

/** A folder, hashed. */
export type BuiltFolderResult = Extract<FolderWorkerEvent, { type: "built" }>;

/**
 * True when `value` has the shape of a {@linkcode BuiltFolderFile}.
 *
 * @param value anything (a worker's event, a saved state file)
 * @returns whether it is one
 */
export function isBuiltFile(value: unknown): value is BuiltFolderFile {
  const v = value as Record<string, unknown> | null;
  return typeof v === "object" && v !== null &&
    typeof v.absolute === "string" && typeof v.mtimeMs === "number" &&
    (v.ctimeMs === null || typeof v.ctimeMs === "number") &&
    (v.ino === null || typeof v.ino === "number") && typeof v.dev === "number";
}

/**
 * True when `value` is a well-formed {@linkcode FolderWorkerEvent}.
 *
 * @param value anything received from a folder worker
 * @returns whether it has the shape of an event
 */
export function isFolderWorkerEvent(
  value: unknown,
): value is FolderWorkerEvent {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null) return false;
  switch (v.type) {
    case "progress":
      return typeof v.bytes === "number" && typeof v.total === "number";
    case "built":
      return v.manifestBytes instanceof Uint8Array &&
        v.id instanceof Uint8Array && v.id.byteLength === 32 &&
        typeof v.manifest === "object" && v.manifest !== null &&
        Array.isArray((v.manifest as FolderManifest).files) &&
        (v.manifest as FolderManifest).files.length ===
          (Array.isArray(v.files) ? v.files.length : -1) &&
        Array.isArray(v.files) && v.files.every(isBuiltFile) &&
        Array.isArray(v.skipped) &&
        v.skipped.every((line) => typeof line === "string") &&
        typeof v.hashStartMs === "number" && typeof v.reused === "boolean";
    case "failed":
      return typeof v.message === "string" && typeof v.seedError === "boolean";
    default:
      return false;
  }
}

/**
 * Lists and hashes a folder in a worker.
 *
 * @param path the folder
 * @param onProgress bytes hashed so far and the total, every 64 MiB
 * @param saved what was saved when this folder was seeded before: reused,
 *   nothing hashed, when no file changed
 * @returns the manifest bytes, the files and what was skipped
 * @throws {SeedError} with one line when the folder cannot be shared
 * @example
 * ```ts
 * import { buildFolder } from "./build_folder.ts";
 * // const { manifestBytes, skipped } = await buildFolder("/data/album");
 * ```
 */
export function buildFolder(
  path: string,
  onProgress?: (bytes: number, total: number) => void,
  saved?: SavedFolder,
  signal?: AbortSignal,
): Promise<BuiltFolderResult> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(
      new URL("../workers/folder_worker.ts", import.meta.url),
      { type: "module" },
    );
    const forget = terminateOnAbort(worker, signal, reject);
    worker.onmessage = (message: MessageEvent<unknown>) => {
      const event = message.data;
      if (!isFolderWorkerEvent(event)) {
        forget();
        worker.terminate();
        reject(new TypeError("The folder worker sent a malformed event"));
        return;
      }
      if (event.type === "progress") {
        onProgress?.(event.bytes, event.total);
        return;
      }
      forget();
      worker.terminate();
      if (event.type === "built") resolvePromise(event);
      else if (event.seedError) reject(new SeedError(event.message));
      else reject(new SeedError(`Cannot hash ${path}: ${event.message}`));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      forget();
      worker.terminate();
      reject(new Error(`The folder worker crashed: ${event.message}`));
    };
    worker.postMessage({ type: "build_folder", path, saved });
  });
}
