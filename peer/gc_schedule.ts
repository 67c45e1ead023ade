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
 * `gc` exists only when the process runs with `--expose-gc`, which
 * `PEER_V8_FLAGS` (peer/launch.ts) sets; without it the schedule does nothing.
 *
 * @module
 */

/** Bytes of chunks between two full collections in one isolate. */
export const GC_EVERY_BYTES = 512 * 1024 * 1024;

/** V8's collector, when the process was started with `--expose-gc`. */
const exposedGc = (globalThis as { gc?: () => void }).gc;

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
  readonly #collect: (() => void) | undefined;
  #sinceLast = 0;

  /**
   * @param everyBytes bytes between two collections
   * @param collect the collector (default: V8's, if exposed; else none)
   */
  constructor(
    everyBytes: number = GC_EVERY_BYTES,
    collect: (() => void) | undefined = exposedGc,
  ) {
    if (!(everyBytes > 0)) {
      throw new RangeError(
        `Cannot schedule collections every ${everyBytes} bytes: use a positive count`,
      );
    }
    this.#everyBytes = everyBytes;
    this.#collect = collect;
  }

  /** Whether collections will run at all (false without `--expose-gc`). */
  get active(): boolean {
    return this.#collect !== undefined;
  }

  /** Counts `bytes` more; collects once the count reaches the period. */
  add(bytes: number): void {
    this.#sinceLast += bytes;
    if (this.#sinceLast < this.#everyBytes) return;
    this.#sinceLast = 0;
    this.#collect?.();
  }
}
