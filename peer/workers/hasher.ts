/**
 * Main-thread handle on the hash worker (see hash_worker.ts).
 *
 * @module
 */
import {
  type HashWorkerCommand,
  type HashWorkerEvent,
  isHashWorkerEvent,
} from "@shoal/protocol/worker_messages";

/**
 * Hashes a growing `.part` file off the main thread and re-checks chunks.
 *
 * @example
 * ```ts
 * // const hasher = new Hasher(); // the worker starts loading now
 * // hasher.init(partPath, manifestBytes);
 * // hasher.advance(bytes); const digest = await hasher.finish();
 * ```
 */
export class Hasher {
  readonly #worker: Worker;
  #waiting: ((event: HashWorkerEvent) => void) | null = null;
  #failure: Error | null = null;

  /** Starts the worker; call {@linkcode Hasher.init} before anything else. */
  constructor() {
    this.#worker = new Worker(new URL("./hash_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (message: MessageEvent<unknown>) => {
      const event = message.data;
      if (!isHashWorkerEvent(event)) {
        throw new TypeError("The hash worker sent a malformed event");
      }
      if (event.type === "failed") {
        this.#failure = new Error(`Cannot hash the download: ${event.message}`);
      }
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.(event);
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#failure = new Error(`The hash worker crashed: ${event.message}`);
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.({ type: "failed", message: event.message });
    };
  }

  /**
   * Names the file to hash and its manifest.
   *
   * @param path the `.part` file
   * @param manifestBytes the file's manifest
   */
  init(path: string, manifestBytes: Uint8Array): void {
    this.#post({ type: "init", path, manifestBytes });
  }

  #post(command: HashWorkerCommand): void {
    this.#worker.postMessage(command);
  }

  #next(): Promise<HashWorkerEvent> {
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  /** Re-checks chunks on disk; resolves with the good and bad ones. */
  async verify(indices: number[]): Promise<{ good: number[]; bad: number[] }> {
    const next = this.#next();
    this.#post({ type: "verify", indices });
    const event = await next;
    if (event.type !== "verified") {
      throw this.#failure ??
        new Error("Cannot re-check chunks: the hash worker failed");
    }
    return event;
  }

  /** Lets the worker hash the file up to `bytes` (a contiguous, checked prefix). */
  advance(bytes: number): void {
    if (!this.#failure) this.#post({ type: "advance", upToBytes: bytes });
  }

  /** Hashes the rest and resolves with the whole file's SHA-256. */
  async finish(): Promise<Uint8Array> {
    if (this.#failure) throw this.#failure;
    const next = this.#next();
    this.#post({ type: "finish" });
    const event = await next;
    if (event.type !== "digest") {
      throw this.#failure ??
        new Error("Cannot hash the download: the hash worker failed");
    }
    return event.hash;
  }

  /** Ends the worker. */
  close(): void {
    this.#worker.terminate();
  }
}
