/**
 * Keeps a peer listed on the tracker: REGISTER, then KEEPALIVE every
 * interval the tracker asks for, REGISTER again when the tracker forgot the
 * peer (a restart, lost keepalives), and retry with backoff while the tracker
 * is unreachable. Never gives up and never throws out of its loop.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type FileAnnouncement, toHex } from "@shoal/protocol";
import { type TrackerClient, TrackerError } from "./tracker_client.ts";
import { WakeableSleep } from "./wakeable_sleep.ts";

const logger = getLogger(["shoal", "peer", "announcer"]);

/** Options for {@linkcode Announcer}. */
export interface AnnouncerOptions {
  /** This peer's 16-byte id. */
  peerId: Uint8Array;
  /** The TCP port this peer listens on. */
  port: number;
  /** The files to announce, read at every registration. */
  files: () => FileAnnouncement[];
  /**
   * Keepalive interval in milliseconds, instead of the one the tracker's ACK
   * asks for (tests use a short one).
   *
   * @default {the ACK's intervalSeconds * 1000}
   */
  intervalMs?: number;
  /**
   * First wait after a failed round; doubles up to `retryMaxMs`.
   *
   * @default {1_000}
   */
  retryMinMs?: number;
  /**
   * Longest wait between failed rounds.
   *
   * @default {60_000}
   */
  retryMaxMs?: number;
  /**
   * Wait for the LEAVE answer on stop (one try, best effort).
   *
   * @default {500}
   */
  leaveTimeoutMs?: number;
}

/** What the announcer is doing, for status displays and tests. */
export interface AnnouncerStatus {
  /** True after a REGISTER succeeded and until the tracker forgets the peer. */
  registered: boolean;
  /** Successful registration rounds so far. */
  registrations: number;
  /** Successful keepalives so far. */
  keepalives: number;
  /** Failed rounds in a row (network failures or refusals). */
  failures: number;
  /** The last failure's message, or null. */
  lastError: string | null;
}

/**
 * Announces a peer to a tracker and keeps it announced until stopped.
 *
 * @example
 * ```ts
 * import { Announcer } from "./announcer.ts";
 * import { TrackerClient } from "./tracker_client.ts";
 * const client = await TrackerClient.open({ host: "127.0.0.1", port: 6969 });
 * const announcer = new Announcer(client, {
 *   peerId: crypto.getRandomValues(new Uint8Array(16)),
 *   port: 7000,
 *   files: () => [],
 * });
 * announcer.start();
 * await announcer.stop();
 * await client.close();
 * ```
 */
export class Announcer {
  readonly #client: TrackerClient;
  readonly #peerId: Uint8Array;
  readonly #port: number;
  readonly #files: () => FileAnnouncement[];
  readonly #intervalMs: number | undefined;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #leaveTimeoutMs: number;
  readonly #controller = new AbortController();
  #loop: Promise<void> | null = null;
  #needRegister = true;
  /** Ids the tracker has from us, to notice removed files. */
  #announced = new Set<string>();
  /** The wait between rounds, which announceNow(), becomeSeeder() and stop() cut short. */
  readonly #nap = new WakeableSleep();
  /** Callers of announceNow() waiting for the next registration round. */
  #roundWaiters: (() => void)[] = [];
  #stopped = false;
  readonly #status: AnnouncerStatus = {
    registered: false,
    registrations: 0,
    keepalives: 0,
    failures: 0,
    lastError: null,
  };

  /**
   * @param client an open tracker client (the announcer does not close it)
   * @param options peer id, TCP port, files and timers
   */
  constructor(client: TrackerClient, options: AnnouncerOptions) {
    this.#client = client;
    this.#peerId = options.peerId;
    this.#port = options.port;
    this.#files = options.files;
    this.#intervalMs = options.intervalMs;
    this.#retryMinMs = options.retryMinMs ?? 1_000;
    this.#retryMaxMs = options.retryMaxMs ?? 60_000;
    this.#leaveTimeoutMs = options.leaveTimeoutMs ?? 500;
  }

  /** A snapshot of what the announcer has done. */
  get status(): AnnouncerStatus {
    return { ...this.#status };
  }

  /** Starts the loop: register at once, then keep alive. Idempotent. */
  start(): void {
    if (this.#stopped) {
      throw new TypeError("Cannot start announcer: it was stopped");
    }
    this.#loop ??= this.#run();
  }

  /**
   * Registers again now, after the file list changed. Starts the loop if
   * needed.
   *
   * @returns resolves after the next registration round, whether it worked
   *   or not (see {@linkcode Announcer.status}), or on stop
   */
  announceNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#needRegister = true;
    const done = new Promise<void>((resolve) =>
      this.#roundWaiters.push(resolve)
    );
    this.start();
    this.#nap.wake();
    return done;
  }

  /**
   * Tells the tracker this peer now holds all of `file`. When the tracker
   * does not know the peer, or cannot be reached, the next round registers
   * again (with `files()`, which should now list the file as complete).
   * Never throws for network failures.
   *
   * @param file the completed file
   * @returns true when the tracker acknowledged it
   */
  async becomeSeeder(file: FileAnnouncement): Promise<boolean> {
    if (this.#stopped) return false;
    try {
      const result = await this.#client.becomeSeeder(
        this.#peerId,
        this.#port,
        file,
        { signal: this.#controller.signal },
      );
      if (result === "ok") {
        this.#announced.add(toHex(file.id));
        return true;
      }
    } catch (error) {
      if (!(error instanceof TrackerError)) throw error;
      if (error.code === "aborted" || error.code === "closed") return false;
      logger.warn("Cannot announce seeding {file}: {message}", {
        file: file.name,
        message: error.message,
      });
    }
    this.#needRegister = true;
    this.#nap.wake();
    return false;
  }

  /**
   * Ends the loop and sends LEAVE (one try, short timeout, best effort).
   * Resolves when the loop has ended.
   */
  async stop(): Promise<void> {
    if (this.#stopped) {
      await this.#loop;
      return;
    }
    this.#stopped = true;
    this.#controller.abort();
    this.#nap.stop();
    await this.#loop;
    this.#releaseRoundWaiters();
    if (!this.#loop) return;
    try {
      await this.#client.leave(this.#peerId, this.#port, {
        timeoutMs: this.#leaveTimeoutMs,
        retries: 0,
      });
    } catch (error) {
      if (!(error instanceof TrackerError)) throw error;
      logger.debug("Cannot leave tracker: {message}", {
        message: error.message,
      });
    }
  }

  async #run(): Promise<void> {
    const signal = this.#controller.signal;
    let retryMs = this.#retryMinMs;
    let intervalMs = this.#intervalMs ?? 30_000;
    while (!this.#stopped) {
      let delayMs: number;
      try {
        if (this.#needRegister) {
          intervalMs = await this.#register(signal);
        } else {
          const result = await this.#client.keepalive(
            this.#peerId,
            this.#port,
            { signal },
          );
          if (result === "unknown_peer") {
            logger.info(
              "Tracker {tracker} forgot this peer; registering again",
              {
                tracker: this.#client.address,
              },
            );
            this.#status.registered = false;
            this.#needRegister = true;
            continue;
          }
          this.#status.keepalives++;
        }
        this.#status.failures = 0;
        this.#status.lastError = null;
        retryMs = this.#retryMinMs;
        delayMs = intervalMs;
      } catch (error) {
        if (this.#stopped) break;
        const message = error instanceof Error ? error.message : String(error);
        this.#status.failures++;
        this.#status.lastError = message;
        logger.warn(
          "Tracker announce failed, retrying in {retryMs} ms: {message}",
          {
            retryMs,
            message,
          },
        );
        delayMs = retryMs;
        retryMs = Math.min(retryMs * 2, this.#retryMaxMs);
      }
      if (this.#needRegister && this.#status.failures === 0) continue;
      await this.#nap.sleep(delayMs);
    }
    this.#releaseRoundWaiters();
  }

  /** Registers the current files; returns the keepalive interval in ms. */
  async #register(signal: AbortSignal): Promise<number> {
    this.#needRegister = false;
    // Callers of announceNow() from now on wait for the next round, which
    // will read files() after their change.
    const waiters = this.#roundWaiters;
    this.#roundWaiters = [];
    const files = this.#files();
    const ids = new Set(files.map((file) => toHex(file.id)));
    // REGISTER only adds; when a file went away, LEAVE first so the
    // tracker forgets it.
    const removed = [...this.#announced].some((id) => !ids.has(id));
    try {
      if (removed) {
        await this.#client.leave(this.#peerId, this.#port, { signal });
        this.#announced.clear();
        this.#status.registered = false;
      }
      const { intervalSeconds } = await this.#client.register(
        this.#peerId,
        this.#port,
        files,
        { signal },
      );
      this.#announced = ids;
      this.#status.registered = true;
      this.#status.registrations++;
      return this.#intervalMs ?? Math.max(1, intervalSeconds) * 1000;
    } catch (error) {
      this.#needRegister = true;
      throw error;
    } finally {
      for (const resolve of waiters) resolve();
    }
  }

  #releaseRoundWaiters(): void {
    const waiters = this.#roundWaiters;
    this.#roundWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
