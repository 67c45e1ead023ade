/**
 * The manifest worker: streams a file from disk once and hashes every chunk,
 * so seeding a large file never blocks the peer. The whole file's SHA-256 is
 * computed at the same time on the main thread (library.ts), from the same
 * buffers lent to it: two hashes of every byte on two cores, one read.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ManifestBuilder } from "@shoal/protocol";
import {
  isManifestWorkerCommand,
  type ManifestWorkerCommand,
  type ManifestWorkerEvent,
} from "@shoal/protocol/worker_messages";
import { GcSchedule } from "../gc_schedule.ts";

const READ_BUFFER_BYTES = 1024 * 1024;
/**
 * Buffers in circulation: enough that a read and both hashes always have
 * one to work on, few enough that the main thread never lags far behind.
 */
const BUFFER_COUNT = 4;
const PROGRESS_EVERY_BYTES = 64 * 1024 * 1024;
/** Each chunk's hash object is freed only by a full collection (gc_schedule.ts). */
const gcSchedule = new GcSchedule();

/** Buffers back from the main thread, and whoever waits for one. */
const free: Uint8Array[] = [];
let waitingForBuffer: ((buffer: Uint8Array) => void) | null = null;
let waitingForFileHash: ((hash: Uint8Array) => void) | null = null;

function post(event: ManifestWorkerEvent, transfer: Transferable[] = []): void {
  self.postMessage(event, transfer);
}

function nextBuffer(): Promise<Uint8Array> {
  const buffer = free.pop();
  if (buffer) return Promise.resolve(buffer);
  return new Promise((resolve) => (waitingForBuffer = resolve));
}

self.onmessage = (event: MessageEvent<unknown>) => {
  const command = event.data;
  if (!isManifestWorkerCommand(command)) {
    throw new TypeError("Manifest worker got a malformed command");
  }
  switch (command.type) {
    case "return": {
      const waiting = waitingForBuffer;
      waitingForBuffer = null;
      if (waiting) waiting(command.buffer);
      else free.push(command.buffer);
      return;
    }
    case "file_hash": {
      const waiting = waitingForFileHash;
      waitingForFileHash = null;
      waiting?.(command.hash);
      return;
    }
    case "build":
      void build(command);
      return;
  }
};

async function build(
  command: Extract<ManifestWorkerCommand, { type: "build" }>,
): Promise<void> {
  try {
    using file = await Deno.open(command.path, { read: true });
    const before = await file.stat();
    // The size as it was: a file that grows or shrinks meanwhile fails below.
    const builder = new ManifestBuilder(command.chunkSize, {
      expectedBytes: before.size,
      wholeFileHashedElsewhere: true,
    });
    for (let i = 0; i < BUFFER_COUNT; i++) {
      free.push(new Uint8Array(READ_BUFFER_BYTES));
    }
    let total = 0;
    let nextProgress = PROGRESS_EVERY_BYTES;
    while (true) {
      const buffer = await nextBuffer();
      // A sync read: this worker has nothing else to do meanwhile, and a hop
      // to a runtime thread and back cost more than the read (1 GiB from
      // the page cache: 1.0-1.1 s async, 0.87-0.90 s sync).
      const n = file.readSync(buffer);
      if (n === null) {
        free.push(buffer);
        break;
      }
      builder.update(buffer.subarray(0, n));
      gcSchedule.add(n);
      total += n;
      // Lent, not copied: the main thread hashes it and sends it back.
      post({ type: "bytes", buffer, length: n }, [
        buffer.buffer as ArrayBuffer,
      ]);
      if (total >= nextProgress) {
        post({ type: "progress", bytes: total });
        nextProgress += PROGRESS_EVERY_BYTES;
      }
    }
    const fileHash = new Promise<Uint8Array>((resolve) =>
      waitingForFileHash = resolve
    );
    post({ type: "read_all" });
    const after = await file.stat();
    if (
      after.mtime?.getTime() !== before.mtime?.getTime() || after.size !== total
    ) {
      throw new Error(
        `${command.path} changed while it was being hashed; try again once it is written`,
      );
    }
    const { bytes } = builder.finish(command.name, await fileHash);
    // Moved, not copied: 8 MiB of chunk hashes for a 128 GiB file.
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
}
