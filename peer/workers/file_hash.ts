/**
 * The whole-file SHA-256 of a download, computed while it arrives: it reads
 * the contiguous prefix back from the `.part` file as the prefix grows (so
 * the check ends moments after the last chunk), flushes the file to disk as
 * it goes (so the final flush before the rename is short).
 *
 * It runs inside the first fetch worker (fetch_worker.ts), not in a worker of
 * its own: an isolate costs ~11 MiB, and the work is done in slices that let
 * the worker's own connections go on meanwhile.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { type Manifest, parseManifest } from "@shoal/protocol";
import type {
  HashWorkerCommand,
  HashWorkerEvent,
} from "@shoal/protocol/worker_messages";

const READ_BUFFER_BYTES = 1024 * 1024;
/**
 * The prefix is hashed in slices of at most this many bytes, each followed
 * by a turn of the event loop, so one long catch-up (a straggler chunk lets
 * the prefix jump by tens of MiB) never holds up the worker's sockets for
 * more than a few milliseconds.
 */
const SLICE_BYTES = 4 * 1024 * 1024;
/**
 * A background fdatasync starts after each this many hashed bytes. Without
 * it the whole file is still dirty in the page cache when the last chunk
 * lands, and flushing 1 GiB then took 0.3 s on the critical path.
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Runs {@linkcode HashWorkerCommand}s strictly in order and reports
 * {@linkcode HashWorkerEvent}s through `post`.
 *
 * @example
 * ```ts
 * // const hash = new FileHash((event) => self.postMessage({ type: "hash", event }));
 * // hash.handle({ type: "init", path: "a.part", manifestBytes });
 * // hash.handle({ type: "advance", upToBytes: 4 * 524288 });
 * // hash.handle({ type: "finish" }); // posts { type: "digest", ... }
 * ```
 */
export class FileHash {
  readonly #post: (event: HashWorkerEvent) => void;
  #file: Deno.FsFile | null = null;
  #manifest: Manifest | null = null;
  #hash: Hash = createHash("sha256");
  #hashedBytes = 0;
  #targetBytes = 0;
  #finishing = false;
  #work: Promise<void> = Promise.resolve();
  /** The background flush under way, if any (at most one at a time). */
  #flushing: Promise<void> | null = null;
  #flushedUpTo = 0;
  /** Where the file position is, so sequential reads skip the seek. */
  #position = -1;
  readonly #buffer = new Uint8Array(READ_BUFFER_BYTES);
  readonly #turn = new MessageChannel();
  #resumeTurn: (() => void) | null = null;

  /** @param post called with every event, in order */
  constructor(post: (event: HashWorkerEvent) => void) {
    this.#post = post;
    this.#turn.port1.onmessage = () => this.#resumeTurn?.();
  }

  /** Queues one command; it runs after the previous one's I/O. */
  handle(command: HashWorkerCommand): void {
    this.#work = this.#work.then(async () => {
      try {
        await this.#run(command);
      } catch (error) {
        this.#post({
          type: "failed",
          message: error instanceof Error ? error.message : String(error),
        });
      }
    });
  }

  /** Closes the file (when the worker shuts down). */
  close(): void {
    this.#file?.close();
    this.#file = null;
    this.#turn.port1.close();
  }

  async #run(command: HashWorkerCommand): Promise<void> {
    switch (command.type) {
      case "init":
        this.#file?.close();
        this.#file = await Deno.open(command.path, { read: true });
        this.#position = 0;
        // A view of the download's one shared copy (download.ts).
        this.#manifest = parseManifest(command.manifestBytes, {
          viewHashes: true,
        });
        this.#hash = createHash("sha256");
        this.#hashedBytes = 0;
        this.#flushedUpTo = 0;
        return;
      case "advance":
        this.#targetBytes = Math.max(this.#targetBytes, command.upToBytes);
        await this.#catchUp();
        return;
      case "finish":
        this.#finishing = true;
        this.#targetBytes = this.#manifest!.size;
        await this.#catchUp();
        return;
    }
  }

  #readFully(at: number, into: Uint8Array): void {
    // Sync calls: the bytes were just written, so they come from the page
    // cache, faster than handing each read to a runtime thread and back.
    const file = this.#file!;
    if (this.#position !== at) file.seekSync(at, Deno.SeekMode.Start);
    this.#position = -1;
    let filled = 0;
    while (filled < into.byteLength) {
      const n = file.readSync(into.subarray(filled));
      if (n === null) {
        throw new Error(
          `Cannot read the partial file: it ends at ${at + filled} bytes`,
        );
      }
      filled += n;
    }
    this.#position = at + filled;
  }

  /** One turn of the event loop (a message to ourselves: timers get clamped). */
  #yield(): Promise<void> {
    return new Promise((resolve) => {
      this.#resumeTurn = resolve;
      this.#turn.port2.postMessage(null);
    });
  }

  async #catchUp(): Promise<void> {
    let slice = 0;
    while (this.#hashedBytes < this.#targetBytes) {
      if (slice >= SLICE_BYTES) {
        slice = 0;
        await this.#yield();
      }
      const length = Math.min(
        this.#buffer.byteLength,
        this.#targetBytes - this.#hashedBytes,
      );
      const view = this.#buffer.subarray(0, length);
      this.#readFully(this.#hashedBytes, view);
      this.#hash.update(view);
      this.#hashedBytes += length;
      slice += length;
      if (
        this.#hashedBytes - this.#flushedUpTo >= SYNC_EVERY_BYTES &&
        !this.#flushing
      ) {
        this.#flushedUpTo = this.#hashedBytes;
        // fdatasync runs on a runtime thread; hashing goes on meanwhile.
        this.#flushing = this.#file!.syncData().catch(() => {
          // A failed background flush is retried by the final one, which reports.
        }).finally(() => (this.#flushing = null));
      }
    }
    if (this.#finishing && this.#hashedBytes === this.#manifest!.size) {
      this.#finishing = false;
      const digest = new Uint8Array(this.#hash.digest());
      // Every chunk is written (the connections are closed): make the bytes
      // durable before the main thread renames the file into place.
      await this.#flushing;
      await this.#file!.syncData();
      this.#file?.close();
      this.#file = null;
      this.#post({ type: "digest", hash: digest, bytes: this.#hashedBytes });
    }
  }
}
