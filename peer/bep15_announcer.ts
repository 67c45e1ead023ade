/**
 * Keeps a Shoal peer listed at a BitTorrent tracker (BEP 15), so BitTorrent
 * clients find it: every file is announced "started" (left 0 once
 * complete), again every interval the tracker asks for ("none"), and
 * "stopped" on exit. Never throws out of its loop: a failed round is
 * retried after a short wait.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type FileAnnouncement, toHex } from "@shoal/protocol";
import type { Bep15TrackerClient } from "./tracker_client.ts";
import { WakeableSleep } from "./wakeable_sleep.ts";

const logger = getLogger(["shoal", "peer", "announcer"]);

/** Options for {@linkcode Bep15Announcer}. */
export interface Bep15AnnouncerOptions {
  /** The TCP port this peer listens on. */
  port: number;
  /** The files to announce, read every round. */
  files: () => FileAnnouncement[];
  /** Interval instead of the tracker's (tests use a short one). */
  intervalMs?: number;
  /** Wait after a failed round. @default {5_000} */
  retryMs?: number;
  /** Wait for each "stopped" answer on stop (one try). @default {500} */
  stopTimeoutMs?: number;
}

/** Longest interval honoured, whatever the tracker asks (opentracker: 30 min). */
const MAX_INTERVAL_MS = 30 * 60_000;
/** Shortest interval honoured, against a tracker asking for a flood. */
const MIN_INTERVAL_MS = 10_000;

/**
 * Announces a peer's files to one BEP 15 tracker until stopped.
 *
 * @example
 * ```ts
 * import { Bep15Announcer } from "./bep15_announcer.ts";
 * // const announcer = new Bep15Announcer(client, { port: 7000, files: () => library.announcements() });
 * // announcer.start(); ... await announcer.stop();
 * ```
 */
export class Bep15Announcer {
  readonly #client: Bep15TrackerClient;
  readonly #options: Bep15AnnouncerOptions;
  readonly #controller = new AbortController();
  /** Files announced, by id hex, and whether they were complete. */
  readonly #announced = new Map<string, FileAnnouncement>();
  #loop: Promise<void> | null = null;
  /** The wait between rounds, which announceNow() and stop() cut short. */
  readonly #nap = new WakeableSleep();
  /** Rounds that announced every file, for tests and status. */
  rounds = 0;

  /**
   * @param client an open BEP 15 client (not closed by the announcer)
   * @param options port, files, timers
   */
  constructor(client: Bep15TrackerClient, options: Bep15AnnouncerOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Starts the loop (once). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Announces new or completed files now rather than at the next interval. */
  announceNow(): void {
    this.#nap.wake();
  }

  /** Ends the loop and tells the tracker every announced file is stopped. */
  async stop(): Promise<void> {
    this.#controller.abort();
    this.#nap.stop();
    await this.#loop;
    const timeoutMs = this.#options.stopTimeoutMs ?? 500;
    await Promise.all(
      [...this.#announced.values()].map((file) =>
        this.#client.announce({
          fileId: file.id,
          port: this.#options.port,
          left: file.complete ? 0n : BigInt(file.size),
          event: "stopped",
          numWant: 0,
        }, { timeoutMs, retries: 0 }).catch(() => {})
      ),
    );
  }

  async #run(): Promise<void> {
    const signal = this.#controller.signal;
    let intervalMs = this.#options.intervalMs ?? MAX_INTERVAL_MS;
    let lastFull = -Infinity;
    while (!signal.aborted) {
      const full = Date.now() - lastFull >= intervalMs;
      let failed = false;
      for (const file of this.#options.files()) {
        if (signal.aborted) return;
        const key = toHex(file.id);
        const before = this.#announced.get(key);
        const changed = !before || before.complete !== file.complete;
        if (!full && !changed) continue;
        try {
          const reply = await this.#client.announce({
            fileId: file.id,
            port: this.#options.port,
            left: file.complete ? 0n : BigInt(file.size),
            event: changed
              ? (before && file.complete ? "completed" : "started")
              : "none",
            numWant: 0,
          }, { signal });
          this.#announced.set(key, file);
          if (this.#options.intervalMs === undefined) {
            intervalMs = Math.min(
              MAX_INTERVAL_MS,
              Math.max(MIN_INTERVAL_MS, reply.intervalSeconds * 1000),
            );
          }
        } catch (error) {
          if (signal.aborted) return;
          failed = true;
          logger.warn("Cannot announce to {tracker}: {message}", {
            tracker: this.#client.address,
            message: error instanceof Error ? error.message : String(error),
          });
        }
      }
      if (full && !failed) {
        lastFull = Date.now();
        this.rounds++;
      }
      await this.#nap.sleep(
        failed ? this.#options.retryMs ?? 5_000 : intervalMs,
      );
    }
  }
}
