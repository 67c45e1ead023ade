/**
 * Fetch workers started before the peer's own code has loaded.
 *
 * Why: a worker takes tens of milliseconds of CPU to load its modules
 * (node:crypto among them), and so does the peer's main thread. Started one
 * after the other, a `--get` waited for both before its first request; the
 * entry point (`main.ts`) now starts {@linkcode SPARES_AT_START} workers
 * first, so they load on the other core while the main thread loads the rest
 * of the peer and asks the tracker. The download's pool takes them and makes
 * any others.
 *
 * Measured (2 cores, 1 GiB from 3 Shoal seeders, peers started directly,
 * alternating, the bench's warm-up before each): with two spares instead of
 * one, 1.32 s against 1.39 s and 1.41 s against 1.46 s (medians of 12 and 10
 * pairs; the median of the pairs' ratios 0.94 and 0.95), "downloading" 6-14
 * ms sooner. Each `new Worker` holds the main thread 11-12 ms while the
 * worker's isolate is built; made at the start, that wait falls while the
 * main thread loads `cli.ts` (whose module loads leave it idle in places),
 * and the second worker is ready when the first chunks are asked for, not
 * about 25 ms later. The price: an 8 MiB download, too short to need the
 * second worker, takes about 6 ms longer (paired ratios 1.026 and 1.032,
 * `bench/ab.ts --task`), its load competing with the main thread's. (An
 * earlier measurement, when making a worker held the main thread ~40 ms,
 * found two spares slower on 256 MiB from libtorrent seeders: the first
 * request at ~330 ms with one spare, ~460 ms with two.)
 *
 * @module
 */

/** The fetch worker's module. */
export const FETCH_WORKER_URL = new URL("./fetch_worker.ts", import.meta.url);

/** Default number of fetch workers: the cores, at most 4. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
}

/**
 * Fetch workers `main.ts` starts for a `--get` before the peer's own code
 * has loaded: the pool's, up to two (each holds the main thread ~12 ms as
 * it is made; three workers and three spares on 2 cores were no faster).
 */
export const SPARES_AT_START = Math.min(2, defaultWorkerCount());

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
