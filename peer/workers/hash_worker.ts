/**
 * The hash worker: computes the whole-file SHA-256 of a download while it
 * arrives (it reads the contiguous prefix back from the `.part` file as the
 * prefix grows, so the check ends moments after the last chunk), flushes the
 * file to disk as it goes (so the final flush before the rename is short), and
 * checks chunks listed in resume state before they are trusted again.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createHash, type Hash } from "node:crypto";
import {
  bytesEqual,
  chunkHash,
  chunkLength,
  type Manifest,
  parseManifest,
  sha256,
} from "@shoal/protocol";
import {
  type HashWorkerEvent,
  isHashWorkerCommand,
} from "@shoal/protocol/worker_messages";

const READ_BUFFER_BYTES = 1024 * 1024;
/**
 * A background fdatasync starts after each this many hashed bytes. Without
 * it the whole file is still dirty in the page cache when the last chunk
 * lands, and flushing 1 GiB then took 0.3 s on the critical path.
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

let file: Deno.FsFile | null = null;
let manifest: Manifest | null = null;
let hash: Hash = createHash("sha256");
let hashedBytes = 0;
let targetBytes = 0;
let finishing = false;
let work: Promise<void> = Promise.resolve();
/** The background flush under way, if any (at most one at a time). */
let flushing: Promise<void> | null = null;
let flushedUpTo = 0;
const buffer = new Uint8Array(READ_BUFFER_BYTES);

function post(event: HashWorkerEvent): void {
  self.postMessage(event);
}

self.onmessage = (event: MessageEvent<unknown>) => {
  const command = event.data;
  if (!isHashWorkerCommand(command)) {
    throw new TypeError("Hash worker got a malformed command");
  }
  // Commands run strictly in order, each after the previous one's I/O.
  work = work.then(async () => {
    try {
      switch (command.type) {
        case "init":
          file = await Deno.open(command.path, { read: true });
          position = 0;
          // A view of the download's one shared copy (download.ts).
          manifest = parseManifest(command.manifestBytes, { viewHashes: true });
          hash = createHash("sha256");
          hashedBytes = 0;
          flushedUpTo = 0;
          return;
        case "verify":
          post(verify(command.indices));
          return;
        case "advance":
          targetBytes = Math.max(targetBytes, command.upToBytes);
          await catchUp();
          return;
        case "finish":
          finishing = true;
          targetBytes = manifest!.size;
          await catchUp();
          return;
      }
    } catch (error) {
      post({
        type: "failed",
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
};

/** Where the file position is, so sequential reads skip the seek. */
let position = -1;

function readFully(at: number, into: Uint8Array): void {
  // Sync calls: the bytes were just written, so they come from the page
  // cache, faster than handing each read to a runtime thread and back.
  if (position !== at) file!.seekSync(at, Deno.SeekMode.Start);
  position = -1;
  let filled = 0;
  while (filled < into.byteLength) {
    const n = file!.readSync(into.subarray(filled));
    if (n === null) {
      throw new Error(
        `Cannot read the partial file: it ends at ${at + filled} bytes`,
      );
    }
    filled += n;
  }
  position = at + filled;
}

function verify(indices: number[]): HashWorkerEvent {
  const good: number[] = [];
  const bad: number[] = [];
  const m = manifest!;
  for (const index of indices) {
    if (index >= m.chunkCount) {
      bad.push(index);
      continue;
    }
    const length = chunkLength(m, index);
    const chunk = length <= buffer.byteLength
      ? buffer.subarray(0, length)
      : new Uint8Array(length);
    try {
      readFully(index * m.chunkSize, chunk);
      (bytesEqual(sha256(chunk), chunkHash(m, index)) ? good : bad).push(index);
    } catch {
      bad.push(index);
    }
  }
  return { type: "verified", good, bad };
}

async function catchUp(): Promise<void> {
  while (hashedBytes < targetBytes) {
    const length = Math.min(buffer.byteLength, targetBytes - hashedBytes);
    const view = buffer.subarray(0, length);
    readFully(hashedBytes, view);
    hash.update(view);
    hashedBytes += length;
    if (hashedBytes - flushedUpTo >= SYNC_EVERY_BYTES && !flushing) {
      flushedUpTo = hashedBytes;
      // fdatasync runs on a runtime thread; hashing goes on meanwhile.
      flushing = file!.syncData().catch(() => {
        // A failed background flush is retried by the final one, which reports.
      }).finally(() => (flushing = null));
    }
  }
  if (finishing && hashedBytes === manifest!.size) {
    finishing = false;
    const digest = new Uint8Array(hash.digest());
    // Every chunk is written (the fetch workers have shut down): make the
    // bytes durable before the main thread renames the file into place.
    await flushing;
    await file!.syncData();
    file?.close();
    file = null;
    post({ type: "digest", hash: digest, bytes: hashedBytes });
  }
}
