/**
 * The manifest worker: streams a file from disk once, hashing every chunk
 * and the whole file, so seeding a large file never blocks the peer.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ManifestBuilder } from "@shoal/protocol";
import {
  isManifestWorkerCommand,
  type ManifestWorkerEvent,
} from "@shoal/protocol/worker_messages";
import { GcSchedule } from "../gc_schedule.ts";

const READ_BUFFER_BYTES = 1024 * 1024;
const PROGRESS_EVERY_BYTES = 64 * 1024 * 1024;
/** Each chunk's hash object is freed only by a full collection (gc_schedule.ts). */
const gcSchedule = new GcSchedule();

function post(event: ManifestWorkerEvent, transfer: Transferable[] = []): void {
  self.postMessage(event, transfer);
}

self.onmessage = async (event: MessageEvent<unknown>) => {
  const command = event.data;
  if (!isManifestWorkerCommand(command)) {
    throw new TypeError("Manifest worker got a malformed command");
  }
  try {
    using file = await Deno.open(command.path, { read: true });
    const before = await file.stat();
    // The size as it was: a file that grows or shrinks meanwhile fails below.
    const builder = new ManifestBuilder(command.chunkSize, {
      expectedBytes: before.size,
    });
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    let total = 0;
    let nextProgress = PROGRESS_EVERY_BYTES;
    while (true) {
      // A sync read: this worker has nothing else to do meanwhile, and the
      // hop to a runtime thread and back costs more than a read from the
      // page cache.
      const n = file.readSync(buffer);
      if (n === null) break;
      builder.update(buffer.subarray(0, n));
      gcSchedule.add(n);
      total += n;
      if (total >= nextProgress) {
        post({ type: "progress", bytes: total });
        nextProgress += PROGRESS_EVERY_BYTES;
      }
    }
    const after = await file.stat();
    if (
      after.mtime?.getTime() !== before.mtime?.getTime() || after.size !== total
    ) {
      throw new Error(
        `${command.path} changed while it was being hashed; try again once it is written`,
      );
    }
    const { bytes } = builder.finish(command.name);
    // Moved, not copied: 2 MiB of chunk hashes for a 32 GiB file.
    post({
      type: "built",
      manifestBytes: bytes,
      mtimeMs: after.mtime?.getTime() ?? 0,
      size: total,
    }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    post({
      type: "failed",
      message: error instanceof Error ? error.message : String(error),
    });
  }
};
