/**
 * Owns the fetch workers of one download: spawns them, spreads connections
 * over them, routes commands to the worker that holds a connection, and
 * shuts them down (flushing their writes) before the file is renamed.
 *
 * @module
 */
import {
  type FetchWorkerCommand,
  type FetchWorkerEvent,
  isFetchWorkerEvent,
} from "@shoal/protocol/worker_messages";
import { takeFetchWorker } from "./spare_workers.ts";

export { defaultWorkerCount } from "./spare_workers.ts";

/**
 * A fixed pool of fetch workers.
 *
 * @example
 * ```ts
 * // const pool = new FetchPool(2, (event) => console.log(event));
 * // pool.broadcast({ type: "init", ... });
 * ```
 */
export class FetchPool {
  readonly #workers: Worker[] = [];
  readonly #linkCount: number[] = [];
  readonly #workerOf = new Map<number, number>();
  readonly #onEvent: (event: FetchWorkerEvent) => void;
  #shutdowns = 0;
  #nextVerifyId = 1;
  /** Re-checks under way: what each still waits for, by request id. */
  readonly #verifying = new Map<
    number,
    {
      left: number;
      good: number[];
      bad: number[];
      resolve: (result: { good: number[]; bad: number[] }) => void;
      reject: (error: Error) => void;
    }
  >();
  #onShutDown: (() => void) | null = null;

  /**
   * @param size number of workers
   * @param onEvent called for every event from any worker
   * @param onError called when a worker crashes (a bug)
   */
  constructor(
    size: number,
    onEvent: (event: FetchWorkerEvent) => void,
    onError: (error: Error) => void,
  ) {
    this.#onEvent = onEvent;
    for (let i = 0; i < size; i++) {
      const worker = takeFetchWorker();
      worker.onmessage = (message: MessageEvent<unknown>) =>
        this.#receive(message.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        onError(new Error(`A fetch worker crashed: ${event.message}`));
      };
      this.#workers.push(worker);
      this.#linkCount.push(0);
    }
  }

  #receive(data: unknown): void {
    if (!isFetchWorkerEvent(data)) {
      throw new TypeError("A fetch worker sent a malformed event");
    }
    if (data.type === "verified") {
      const request = this.#verifying.get(data.requestId);
      if (!request) return;
      request.good.push(...data.good);
      request.bad.push(...data.bad);
      if (--request.left > 0) return;
      this.#verifying.delete(data.requestId);
      request.resolve({ good: request.good, bad: request.bad });
      return;
    }
    if (data.type === "shut_down") {
      this.#shutdowns++;
      if (this.#shutdowns === this.#workers.length) this.#onShutDown?.();
      return;
    }
    if (data.type === "closed") {
      const worker = this.#workerOf.get(data.connId);
      if (worker !== undefined) this.#linkCount[worker]!--;
      this.#workerOf.delete(data.connId);
    }
    this.#onEvent(data);
  }

  /** Sends a command to every worker. */
  broadcast(command: FetchWorkerCommand): void {
    for (const worker of this.#workers) worker.postMessage(command);
  }

  /** Opens a connection on the least busy worker, in Shoal's peer wire unless told. */
  connect(
    connId: number,
    host: string,
    port: number,
    protocol: "shoal" | "bittorrent" = "shoal",
  ): void {
    let best = 0;
    for (let i = 1; i < this.#workers.length; i++) {
      if (this.#linkCount[i]! < this.#linkCount[best]!) best = i;
    }
    this.#workerOf.set(connId, best);
    this.#linkCount[best]!++;
    this.#workers[best]!.postMessage(
      {
        type: "connect",
        connId,
        host,
        port,
        protocol,
      } satisfies FetchWorkerCommand,
    );
  }

  /**
   * Re-checks chunks of the part file against the manifest, a share on each
   * worker at once (every other chunk each: neighbours stay close on disk).
   *
   * @param partPath the part file
   * @param manifestBytes the download's manifest (its shared copy)
   * @param indices chunks to check
   * @returns the chunks that match and those that do not
   */
  verify(
    partPath: string,
    manifestBytes: Uint8Array,
    indices: readonly number[],
  ): Promise<{ good: number[]; bad: number[] }> {
    const count = this.#workers.length;
    if (count === 0) {
      return Promise.reject(new Error("the workers were stopped"));
    }
    const shares: number[][] = Array.from({ length: count }, () => []);
    indices.forEach((index, i) => shares[i % count]!.push(index));
    const requestId = this.#nextVerifyId++;
    return new Promise((resolve, reject) => {
      this.#verifying.set(requestId, {
        left: count,
        good: [],
        bad: [],
        resolve,
        reject,
      });
      shares.forEach((share, i) =>
        this.#workers[i]!.postMessage(
          {
            type: "verify",
            requestId,
            partPath,
            manifestBytes,
            indices: share,
          } satisfies FetchWorkerCommand,
        )
      );
    });
  }

  /** Sends a command to the worker that holds `connId`. */
  send(connId: number, command: FetchWorkerCommand): void {
    const worker = this.#workerOf.get(connId);
    if (worker !== undefined) this.#workers[worker]!.postMessage(command);
  }

  /**
   * Closes every connection and flushes and closes the file the workers
   * write; the workers stay up (for `--verify`'s re-read).
   */
  async closeConnections(timeoutMs = 10_000): Promise<void> {
    const done = new Promise<void>((resolve) => (this.#onShutDown = resolve));
    this.broadcast({ type: "shutdown" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      done,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Ends the workers at once (after an error, or once the file is checked). */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers.length = 0;
    for (const request of this.#verifying.values()) {
      request.reject(new Error("the workers were stopped"));
    }
    this.#verifying.clear();
  }
}
