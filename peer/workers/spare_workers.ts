/**
 * Fetch workers started before the peer's own code has loaded.
 *
 * Why: a worker takes about a tenth of a second of CPU to load its modules
 * (node:crypto among them), and so does the peer's main thread. Started one
 * after the other, a `--get` waited for both before its first request; the
 * entry point (`main.ts`) now starts one worker first, so it loads on the
 * other core while the main thread loads the rest of the peer and asks the
 * tracker. The download's pool takes it and makes the others.
 *
 * Measured on 256 MiB from 3 libtorrent seeders (2 cores), from the
 * process's start: the download's first request at ~330 ms with one spare,
 * ~460 ms with two (each `new Worker` holds the main thread ~40 ms while
 * the worker's isolate is built) and ~360 ms with none.
 *
 * @module
 */

/** The fetch worker's module. */
export const FETCH_WORKER_URL = new URL("./fetch_worker.ts", import.meta.url);

/** Default number of fetch workers: the cores, at most 4. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
}

const spares: { worker: Worker; failed: boolean }[] = [];

/**
 * Whether a peer started with these flags downloads at once (`--get`), and
 * so will want its fetch workers.
 *
 * @param args the peer's command-line flags
 * @returns true for a `--get` that is not `--help`, `--version` or `--files`
 * @example
 * ```ts
 * import { downloadsAtStart } from "./spare_workers.ts";
 * downloadsAtStart(["--get", "big.iso"]); // true
 * downloadsAtStart(["--seed", "big.iso"]); // false
 * ```
 */
export function downloadsAtStart(args: readonly string[]): boolean {
  let get = false;
  for (const arg of args) {
    if (arg === "--") break;
    if (
      arg === "--help" || arg === "-h" || arg === "--version" ||
      arg === "--files"
    ) return false;
    if (arg === "--get" || arg.startsWith("--get=")) get = true;
  }
  return get;
}

/**
 * Starts `count` fetch workers now, for the next pool to take.
 *
 * @param count how many
 */
export function prestartFetchWorkers(count: number): void {
  for (let i = 0; i < count; i++) {
    const spare = { worker: newFetchWorker(), failed: false };
    // One that fails to load is not handed out: the pool's own worker
    // then reports the same error through the pool's handler.
    spare.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      spare.failed = true;
    };
    spares.push(spare);
  }
}

/**
 * A fetch worker: a spare started earlier if one is left, else a new one.
 * Its owner sets its handlers (a spare has posted nothing yet).
 *
 * @returns the worker
 */
export function takeFetchWorker(): Worker {
  for (let spare = spares.shift(); spare; spare = spares.shift()) {
    if (!spare.failed) {
      spare.worker.onerror = null;
      return spare.worker;
    }
    spare.worker.terminate();
  }
  return newFetchWorker();
}

function newFetchWorker(): Worker {
  return new Worker(FETCH_WORKER_URL, { type: "module" });
}
