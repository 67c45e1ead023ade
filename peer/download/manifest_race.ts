/**
 * Gets a manifest from whichever peer answers first: asks several at once,
 * starts another as soon as one fails, cancels the rest once one wins, and
 * gives up when the deadline passes. Silent peers cost one short timeout
 * each, in parallel, instead of a long one after another.
 *
 * @module
 */

/**
 * Peers asked to shake hands at the same time: silent ones cost a socket
 * each, never the time of an honest one (the manifest itself is asked of
 * few at once, through a {@linkcode Gate}).
 */
export const HANDSHAKE_PARALLEL = 64;
/** Peers asked for the manifest at the same time, at least. */
export const MANIFEST_PARALLEL = 8;
/** Peers asked for a small manifest at the same time. */
export const MANIFEST_PARALLEL_MAX = 32;
/**
 * Manifest bytes that may be on their way at once, from all the peers
 * asked: a small manifest is asked of many peers (each silent one costs a
 * timeout, in parallel), a large one of few (every honest one sends it all).
 */
export const MANIFEST_BUDGET_BYTES = 4 * 1024 * 1024;

/**
 * How many peers to ask for a manifest at once, from the tracker's hint of
 * the file's chunk count (a lie only changes this number).
 *
 * @param chunkCountHint chunks in the file, as the tracker says
 * @returns between {@linkcode MANIFEST_PARALLEL} and {@linkcode MANIFEST_PARALLEL_MAX}
 * @example
 * ```ts
 * import { manifestParallel } from "./manifest_race.ts";
 * manifestParallel(128); // 32 (a 64 MiB file)
 * manifestParallel(262_144); // 8 (128 GiB)
 * ```
 */
export function manifestParallel(chunkCountHint: number): number {
  // A manifest is a short header and one SHA-256 per chunk.
  const estimate = 512 + 32 * Math.max(0, chunkCountHint);
  return Math.max(
    MANIFEST_PARALLEL,
    Math.min(
      MANIFEST_PARALLEL_MAX,
      Math.floor(MANIFEST_BUDGET_BYTES / estimate),
    ),
  );
}
/** While the manifest is missing, more peers are asked of the tracker this often. */
export const MANIFEST_REFRESH_MS = 2_000;

/** Options for {@linkcode raceManifest}. */
export interface RaceOptions<P> {
  /** The best peer not yet being asked, or null when there is none now. */
  next(): P | null;
  /** Asks one peer; rejects when it fails or the signal aborts. */
  fetch(peer: P, signal: AbortSignal): Promise<Uint8Array>;
  /** Records a failed peer; throwing stops the race (a manifest no peer can fix). */
  failed(peer: P, error: unknown): void;
  /** Looks for more peers (the tracker); called every `refreshMs` until the race ends. */
  refresh(): Promise<void>;
  /** Milliseconds left before giving up (the give-up clock). */
  leftMs(): number;
  /** Rejects to stop the race (a stop signal); never resolves otherwise. */
  stopped: Promise<never>;
  /** @default {MANIFEST_PARALLEL} */
  parallel?: number;
  /** @default {MANIFEST_REFRESH_MS} */
  refreshMs?: number;
}

/**
 * Races peers for the manifest.
 *
 * @param options who to ask, how, and for how long
 * @returns the first peer that answered and its bytes, or null once the
 *   deadline passed
 * @throws whatever `failed` or `stopped` throws; every attempt is cancelled first
 * @example
 * ```ts
 * // const won = await raceManifest({ next, fetch, failed, refresh, leftMs, stopped });
 * ```
 */
export async function raceManifest<P>(
  options: RaceOptions<P>,
): Promise<{ peer: P; bytes: Uint8Array } | null> {
  const parallel = options.parallel ?? MANIFEST_PARALLEL;
  const refreshMs = options.refreshMs ?? MANIFEST_REFRESH_MS;
  type Settled =
    | { kind: "ok"; peer: P; bytes: Uint8Array; id: number }
    | { kind: "failed"; peer: P; error: unknown; id: number }
    | { kind: "refreshed" }
    | { kind: "wake" };
  const running = new Map<
    number,
    { controller: AbortController; done: Promise<Settled> }
  >();
  let nextId = 1;
  let lastRefreshMs = -Infinity;
  let refreshing: Promise<Settled> | null = null;
  const cancelAll = () => {
    for (const { controller } of running.values()) controller.abort();
    running.clear();
  };
  try {
    while (true) {
      if (options.leftMs() <= 0) return null;
      while (running.size < parallel) {
        const peer = options.next();
        if (peer === null) break;
        const id = nextId++;
        const controller = new AbortController();
        const done = options.fetch(peer, controller.signal).then(
          (bytes): Settled => ({ kind: "ok", peer, bytes, id }),
          (error): Settled => ({ kind: "failed", peer, error, id }),
        );
        running.set(id, { controller, done });
      }
      const now = performance.now();
      // Even with candidates to spare: they may all be silent peers cycling
      // through their back-off, and the tracker lists only some holders
      // (50 of them, at random) per answer.
      if (refreshing === null && now - lastRefreshMs >= refreshMs) {
        lastRefreshMs = now;
        refreshing = options.refresh().then(
          (): Settled => ({ kind: "refreshed" }),
          (): Settled => ({ kind: "refreshed" }),
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = new Promise<Settled>((resolve) => {
        const ms = Math.max(1, Math.min(refreshMs, options.leftMs()));
        timer = setTimeout(() => resolve({ kind: "wake" }), ms);
      });
      let settled: Settled;
      try {
        settled = await Promise.race([
          ...[...running.values()].map((attempt) => attempt.done),
          ...(refreshing ? [refreshing] : []),
          wake,
          options.stopped,
        ]);
      } finally {
        clearTimeout(timer);
      }
      if (settled.kind === "refreshed") refreshing = null;
      if (settled.kind === "refreshed" || settled.kind === "wake") continue;
      running.delete(settled.id);
      if (settled.kind === "ok") {
        return { peer: settled.peer, bytes: settled.bytes };
      }
      options.failed(settled.peer, settled.error);
    }
  } finally {
    cancelAll();
  }
}

/**
 * At most `limit` holders at once: a counting semaphore whose waiters give
 * up when their signal aborts.
 *
 * @example
 * ```ts
 * import { Gate } from "./manifest_race.ts";
 * const gate = new Gate(2);
 * const release = await gate.acquire(new AbortController().signal);
 * release();
 * ```
 */
export class Gate {
  readonly #limit: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  /** @param limit holders at once (at least 1) */
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Holders now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Waits for a place.
   *
   * @param signal gives up waiting (rejects with its reason)
   * @returns the release function (calling it twice releases once)
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const take = () => {
      this.#held++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.#held--;
        this.#waiting.shift()?.();
      };
    };
    if (this.#held < this.#limit) return Promise.resolve(take());
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(take());
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(wake);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(wake);
    });
  }
}
