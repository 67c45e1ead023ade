/**
 * Main-thread handle on the whole-file hash (file_hash.ts), which runs in the
 * first fetch worker.
 *
 * @module
 */
import type {
  HashWorkerCommand,
  HashWorkerEvent,
} from "@shoal/protocol/worker_messages";

/**
 * Hashes a growing `.part` file off the main thread.
 *
 * @example
 * ```ts
 * // const hasher = new Hasher((command) => pool.sendHash(command));
 * // pool.onHashEvent = (event) => hasher.receive(event);
 * // hasher.init(partPath, manifestBytes);
 * // hasher.advance(bytes); const digest = await hasher.finish();
 * ```
 */
export class Hasher {
  readonly #send: (command: HashWorkerCommand) => void;
  #waiting: ((event: HashWorkerEvent) => void) | null = null;
  #failure: Error | null = null;

  /** @param send delivers a command to the worker that keeps the hash */
  constructor(send: (command: HashWorkerCommand) => void) {
    this.#send = send;
  }

  /** Takes one event from the worker. */
  receive(event: HashWorkerEvent): void {
    if (event.type === "failed") {
      this.#failure ??= new Error(`Cannot hash the download: ${event.message}`);
    }
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.(event);
  }

  /** The worker is gone (it crashed): whatever waits fails with `error`. */
  fail(error: Error): void {
    this.receive({ type: "failed", message: error.message });
  }

  /**
   * Names the file to hash and its manifest.
   *
   * @param path the `.part` file
   * @param manifestBytes the file's manifest
   */
  init(path: string, manifestBytes: Uint8Array): void {
    this.#send({ type: "init", path, manifestBytes });
  }

  #next(): Promise<HashWorkerEvent> {
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  /** Lets the worker hash the file up to `bytes` (a contiguous, checked prefix). */
  advance(bytes: number): void {
    if (!this.#failure) this.#send({ type: "advance", upToBytes: bytes });
  }

  /** Hashes the rest and resolves with the whole file's SHA-256. */
  async finish(): Promise<Uint8Array> {
    if (this.#failure) throw this.#failure;
    const next = this.#next();
    this.#send({ type: "finish" });
    const event = await next;
    if (event.type !== "digest") {
      throw this.#failure ??
        new Error("Cannot hash the download: the whole-file hash failed");
    }
    return event.hash;
  }
}
