/**
 * The folder worker: lists and hashes a folder to seed (folder_scan.ts,
 * folder_hash.ts) off the peer's event loop, which keeps serving peers
 * meanwhile. One folder per worker; the worker is ended once it answers.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { scanFolder } from "../library/folder_scan.ts";
import { hashFolder } from "../library/folder_hash.ts";
import { SeedError } from "../library/seedable.ts";
import { reuseFolder, type SavedFolder } from "../library/folder_reuse.ts";
import type { FolderWorkerEvent } from "../library/build_folder.ts";

function post(event: FolderWorkerEvent, transfer: Transferable[] = []): void {
  self.postMessage(event, transfer);
}

self.onmessage = (event: MessageEvent<unknown>) => {
  const command = event.data as {
    type?: unknown;
    path?: unknown;
    saved?: SavedFolder;
  };
  if (command?.type !== "build_folder" || typeof command.path !== "string") {
    throw new TypeError("Folder worker got a malformed command");
  }
  try {
    const hashStartMs = Date.now();
    const folder = scanFolder(command.path, "seed");
    const reused = command.saved ? reuseFolder(folder, command.saved) : null;
    if (reused) {
      post({
        type: "built",
        manifestBytes: command.saved!.manifestBytes,
        ...reused,
        skipped: folder.skipped,
        hashStartMs,
        reused: true,
      });
      return;
    }
    const built = hashFolder(folder, {
      onProgress: (bytes, total) => post({ type: "progress", bytes, total }),
    });
    const bytes = built.manifestBytes;
    post({
      type: "built",
      manifestBytes: bytes,
      // Cloned, not parsed again: parsing 10,000 files' tree on the peer's
      // event loop took half a second.
      manifest: built.manifest,
      id: built.id,
      files: folder.files.map((file, i) => ({
        absolute: file.absolute,
        ino: file.ino,
        dev: file.dev,
        ...built.times[i]!,
      })),
      skipped: folder.skipped,
      hashStartMs,
      reused: false,
    }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    post({
      type: "failed",
      message: error instanceof Error ? error.message : String(error),
      seedError: error instanceof SeedError,
    });
  }
};
