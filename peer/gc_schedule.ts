/**
 * Full garbage collections at a steady pace, for isolates that would
 * otherwise go a whole download without one.
 *
 * Why: every `node:crypto` hash object lives in V8's C++ heap (cppgc), which
 * only a full (mark-compact) collection frees; the frequent young-generation
 * collections do not. A fetch worker allocates so little JavaScript per chunk
 * that V8 never starts a full collection by itself, so the ~300 bytes behind
 * each chunk's hash stayed until the download ended, and the main thread's
 * heap filled with worker-message garbage: a leecher's RSS rose from 90 to
 * 107 MiB over a 16 GiB file. One full collection per 512 MiB per isolate
 * keeps it at 93-97 MiB from 256 MiB to 16 GiB (docs/PERFORMANCE.md). The
 * same goes for every loop that hashes chunk after chunk: the fetch workers,
 * re-checking a resumed file, building a manifest, serving a file whose bytes
 * must be checked as they are read.
 *
 * The collector is V8's `gc`: the global one when the process runs with
 * `--expose-gc` (the launcher, the benchmarks and the compiled binary pass
 * it: PEER_V8_FLAGS), else one taken from a fresh `node:vm` context made
 * while that flag is on for a moment. So a plain `deno run peer/main.ts`
 * gets it too; only then are `node:v8` and `node:vm` loaded, which costs
 * each isolate (every fetch worker) about 20 ms of its start.
 *
 * @module
 */

/** Bytes of chunks between two full collections in one isolate. */
export const GC_EVERY_BYTES = 512 * 1024 * 1024;

const collector: (() => void) | null = (globalThis as { gc?: () => void }).gc ??
  await collectorFromVm();

/**
 * V8's full collector for this isolate, or null where the runtime offers
 * none. Found once per isolate (each worker has its own), as the module loads.
 */
export function v8Collector(): (() => void) | null {
  return collector;
}

async function collectorFromVm(): Promise<(() => void) | null> {
  try {
    const [{ default: v8 }, { default: vm }] = await Promise.all([
      import("node:v8"),
      import("node:vm"),
    ]);
    // A context made while the flag is on gets `gc`; the flag then goes off
    // again, so no other code sees a global it did not ask for.
    v8.setFlagsFromString("--expose-gc");
    const found: unknown = vm.runInNewContext("globalThis.gc");
    v8.setFlagsFromString("--no-expose-gc");
    return typeof found === "function" ? found as () => void : null;
  } catch {
    // No flags at run time here: the schedule does nothing, memory creeps.
    return null;
  }
}

/**
 * Counts bytes handled and runs a full collection each time another
 * `everyBytes` have gone by.
 *
 * @example
 * ```ts
 * import { GcSchedule } from "./gc_schedule.ts";
 * const schedule = new GcSchedule();
 * schedule.add(512 * 1024); // after each checked chunk
 * ```
 */
export class GcSchedule {
  readonly #everyBytes: number;
  readonly #collect: (() => void) | null;
  #sinceLast = 0;

  /**
   * @param everyBytes bytes between two collections
   * @param collect the collector (default: {@linkcode v8Collector}; null: none)
   */
  constructor(
    everyBytes: number = GC_EVERY_BYTES,
    collect: (() => void) | null = v8Collector(),
  ) {
    if (!(everyBytes > 0)) {
      throw new RangeError(
        `Cannot schedule collections every ${everyBytes} bytes: use a positive count`,
      );
    }
    this.#everyBytes = everyBytes;
    this.#collect = collect;
  }

  /** Whether collections will run at all (false without a collector). */
  get active(): boolean {
    return this.#collect !== null;
  }

  /** Counts `bytes` more; collects once the count reaches the period. */
  add(bytes: number): void {
    if (this.count(bytes)) this.now();
  }

  /**
   * Counts `bytes` more without collecting, for a caller that picks the
   * moment: true once a collection is due, until {@linkcode GcSchedule.now}
   * runs it. A full collection holds its thread for 7-18 ms here, so a
   * thread others wait on runs it after it has handed out their next work.
   *
   * @returns whether a collection is due
   */
  count(bytes: number): boolean {
    this.#sinceLast += bytes;
    return this.#sinceLast >= this.#everyBytes;
  }

  /** Collects at once (after a burst of large garbage) and restarts the count. */
  now(): void {
    this.#sinceLast = 0;
    this.#collect?.();
  }
}
