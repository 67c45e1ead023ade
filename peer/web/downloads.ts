/**
 * The downloads started from the web page: each runs on its own, an error in
 * one never stops the others, and only a bounded number of records is kept.
 *
 * @module
 */
import { type FileQuery, toHex } from "@shoal/protocol";
import {
  DownloadError,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
} from "../download/download.ts";
import { TrackerError } from "../tracker_client.ts";

/** What the manager needs from a peer (PeerNode, or a fake in tests). */
export interface Downloader {
  /** Downloads a file into the download folder. */
  download(
    query: FileQuery,
    options: Pick<
      DownloadOptions,
      "onProgress" | "signal" | "giveUpAfterMs"
    >,
  ): Promise<DownloadResult>;
}

/** A file the tracker knows, as the page shows it. */
export interface FileView {
  /** File id, hex. */
  id: string;
  /** File name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Peers holding some or all of it. */
  peers: number;
  /** Peers holding all of it. */
  seeders: number;
}

/** Why a download failed, for the page. */
export interface DownloadFailure {
  /** A DownloadError code, "tracker" when the tracker did not answer, or "internal". */
  code: string;
  /** One line for the user. */
  message: string;
  /** For "ambiguous": the files that share the name. */
  candidates: FileView[];
}

/** One download as the page shows it. */
export interface DownloadRecord {
  /** Stable key for this record. */
  key: string;
  /** What the user asked for: a name, or an id in hex. */
  query: string;
  /** Whether `query` is an id. */
  byId: boolean;
  /** "finding", "downloading", "checking", "done", "failed" or "stopped". */
  state: DownloadProgress["state"] | "failed" | "stopped";
  /** File name (the query until the manifest is known). */
  name: string;
  /** File id, hex ("" until known). */
  fileId: string;
  /** File size (0 until known). */
  size: number;
  /** Chunks in the file. */
  chunkCount: number;
  /** Chunks checked and written. */
  chunksDone: number;
  /** Bytes checked and written. */
  bytesDone: number;
  /** Percent done, 0 to 100. */
  percent: number;
  /** Recent rate. */
  bytesPerSecond: number;
  /** Peers connected. */
  peers: number;
  /** Peers dropped for bad data. */
  peersDropped: number;
  /** Seconds left at the current rate, or null. */
  secondsLeft: number | null;
  /** Milliseconds since start. */
  elapsedMs: number;
  /** When it started (epoch ms). */
  startedAt: number;
  /** Set when it failed. */
  error: DownloadFailure | null;
  /** Where the checked file is, once done. */
  path: string | null;
}

/** Options for {@linkcode DownloadManager}. */
export interface DownloadManagerOptions {
  /** Records kept (finished ones are dropped oldest first). @default {50} */
  maxRecords?: number;
  /** Downloads running at once. @default {8} */
  maxActive?: number;
  /** Passed to each download. @default {60_000} */
  giveUpAfterMs?: number;
}

/** A download that cannot be started now; the message is one line for the user. */
export class StartError extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /**
   * @param status HTTP status
   * @param message one line for the user
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "StartError";
    this.status = status;
  }
}

/**
 * Converts a tracker file summary for the page.
 *
 * @param file the summary
 * @returns the same with a hex id
 */
export function fileView(
  file: {
    id: Uint8Array;
    name: string;
    size: number;
    peers: number;
    seeders: number;
  },
): FileView {
  return {
    id: toHex(file.id),
    name: file.name,
    size: file.size,
    peers: file.peers,
    seeders: file.seeders,
  };
}

function failureOf(error: unknown): DownloadFailure {
  if (error instanceof DownloadError) {
    return {
      code: error.code,
      message: error.message,
      candidates: error.candidates.map(fileView),
    };
  }
  if (error instanceof TrackerError) {
    return { code: "tracker", message: error.message, candidates: [] };
  }
  return {
    code: "internal",
    message: error instanceof Error ? error.message : String(error),
    candidates: [],
  };
}

const ACTIVE_STATES = new Set(["finding", "downloading", "checking"]);

/**
 * Runs downloads concurrently and keeps their records.
 *
 * @example
 * ```ts
 * // const manager = new DownloadManager(node);
 * // manager.start({ name: "big.iso" }); manager.onChange(() => render(manager.list()));
 * ```
 */
export class DownloadManager {
  readonly #downloader: Downloader;
  readonly #maxRecords: number;
  readonly #maxActive: number;
  readonly #giveUpAfterMs: number;
  readonly #records = new Map<string, DownloadRecord>();
  readonly #controllers = new Map<string, AbortController>();
  readonly #running = new Set<Promise<void>>();
  readonly #listeners = new Set<() => void>();
  #nextKey = 1;
  #closed = false;

  /**
   * @param downloader the peer
   * @param options limits
   */
  constructor(downloader: Downloader, options: DownloadManagerOptions = {}) {
    this.#downloader = downloader;
    this.#maxRecords = options.maxRecords ?? 50;
    this.#maxActive = options.maxActive ?? 8;
    this.#giveUpAfterMs = options.giveUpAfterMs ?? 60_000;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every record, newest first. */
  list(): DownloadRecord[] {
    return [...this.#records.values()].reverse();
  }

  /**
   * Starts a download.
   *
   * @param query `{ name }` or `{ id }`
   * @returns its record
   * @throws {StartError} when closed, too busy, or the same file is already on its way
   */
  start(query: FileQuery): DownloadRecord {
    if (this.#closed) {
      throw new StartError(
        503,
        "Cannot start a download: the peer is stopping",
      );
    }
    const byId = "id" in query;
    const text = byId ? toHex(query.id) : query.name;
    const active = [...this.#records.values()].filter((record) =>
      ACTIVE_STATES.has(record.state)
    );
    const same = active.find((record) =>
      (record.byId === byId && record.query === text) ||
      (byId ? record.fileId === text : record.name === text)
    );
    if (same) {
      throw new StartError(
        409,
        `Cannot start downloading ${text}: it is already being downloaded`,
      );
    }
    if (active.length >= this.#maxActive) {
      throw new StartError(
        429,
        `Cannot start downloading ${text}: ${this.#maxActive} downloads are running; wait for one to finish`,
      );
    }
    const key = `d${this.#nextKey++}`;
    const record: DownloadRecord = {
      key,
      query: text,
      byId,
      state: "finding",
      name: text,
      fileId: byId ? text : "",
      size: 0,
      chunkCount: 0,
      chunksDone: 0,
      bytesDone: 0,
      percent: 0,
      bytesPerSecond: 0,
      peers: 0,
      peersDropped: 0,
      secondsLeft: null,
      elapsedMs: 0,
      startedAt: Date.now(),
      error: null,
      path: null,
    };
    this.#records.set(key, record);
    this.#trim();
    const controller = new AbortController();
    this.#controllers.set(key, controller);
    const run = this.#run(record, query, controller.signal).finally(() => {
      this.#controllers.delete(key);
      this.#running.delete(run);
    });
    this.#running.add(run);
    this.#changed();
    return { ...record };
  }

  /**
   * Stops a running download (its partial file and resume state stay).
   *
   * @param key the record's key
   * @returns whether a running download was found
   */
  stop(key: string): boolean {
    const controller = this.#controllers.get(key);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  /** Forgets finished, failed and stopped records. */
  clearFinished(): void {
    for (const [key, record] of this.#records) {
      if (!ACTIVE_STATES.has(record.state)) this.#records.delete(key);
    }
    this.#changed();
  }

  /** Stops every download and waits for them to wind down. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#controllers.values()) controller.abort();
    await Promise.allSettled([...this.#running]);
    this.#listeners.clear();
  }

  async #run(
    record: DownloadRecord,
    query: FileQuery,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      const result = await this.#downloader.download(query, {
        signal,
        giveUpAfterMs: this.#giveUpAfterMs,
        onProgress: (progress) => {
          this.#apply(record, progress);
          this.#changed();
        },
      });
      record.state = "done";
      record.path = result.path;
      record.name = result.manifest.name;
      record.fileId = toHex(result.fileId);
      record.size = result.manifest.size;
      record.chunkCount = result.manifest.chunkCount;
      record.chunksDone = result.manifest.chunkCount;
      record.bytesDone = result.manifest.size;
      record.percent = 100;
      record.secondsLeft = 0;
      record.elapsedMs = Math.round(result.seconds * 1000);
    } catch (error) {
      const stopped = error instanceof DownloadError &&
        error.code === "aborted";
      record.state = stopped ? "stopped" : "failed";
      record.error = failureOf(error);
      record.secondsLeft = null;
      record.bytesPerSecond = 0;
      record.peers = 0;
    }
    this.#changed();
  }

  #apply(record: DownloadRecord, progress: DownloadProgress): void {
    // "done" is shown once the download has returned its path (and the
    // peer seeds the file), not at the download's own last event.
    record.state = progress.state === "done" ? "checking" : progress.state;
    if (progress.fileId) record.fileId = progress.fileId;
    record.name = progress.name;
    record.size = progress.size;
    record.chunkCount = progress.chunkCount;
    record.chunksDone = progress.chunksDone;
    record.bytesDone = progress.bytesDone;
    record.percent = progress.state === "done"
      ? 100
      : progress.chunkCount === 0
      ? 0
      : Math.min(100, (progress.chunksDone / progress.chunkCount) * 100);
    record.bytesPerSecond = progress.bytesPerSecond;
    record.peers = progress.peers;
    record.peersDropped = progress.peersDropped;
    record.elapsedMs = progress.elapsedMs;
    record.secondsLeft = progress.state === "downloading" &&
        progress.bytesPerSecond > 0
      ? Math.ceil(
        (progress.size - progress.bytesDone) / progress.bytesPerSecond,
      )
      : null;
  }

  #trim(): void {
    if (this.#records.size <= this.#maxRecords) return;
    for (const [key, record] of this.#records) {
      if (this.#records.size <= this.#maxRecords) return;
      if (!ACTIVE_STATES.has(record.state)) this.#records.delete(key);
    }
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
