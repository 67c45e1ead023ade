/**
 * The downloads started from the web page: each runs on its own, an error in
 * one never stops the others, and only a bounded number of records is kept.
 *
 * @module
 */
import { type FileQuery, fromHex, toHex } from "@shoal/protocol";
import {
  DownloadError,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
} from "../download/download.ts";
import type { FileProgress } from "../download/folder_download.ts";
import { TrackerError } from "../tracker_client.ts";
import type { DownloadStore, SavedDownload } from "./saved_downloads.ts";

/** What the manager needs from a peer (PeerNode, or a fake in tests). */
export interface Downloader {
  /** Downloads a file into the download folder. */
  download(
    query: FileQuery,
    options: Pick<
      DownloadOptions,
      | "onProgress"
      | "signal"
      | "giveUpAfterMs"
      | "otherPlace"
      | "files"
      | "pickFiles"
    >,
  ): Promise<DownloadResult>;
  /**
   * Turns what the download box got into the file to fetch, as `--get` does
   * (`findFile` of peer/find_file.ts): the exact name, an id prefix of 8 or more hex
   * digits, or the name without regard to case; it throws a DownloadError
   * ("ambiguous" with the candidates, or "unknown_file" suggesting the
   * closest names). Absent: a name is asked for as typed.
   */
  find?(text: string): Promise<FileQuery>;
  /** Deletes a stopped download's part file and resume state. */
  discardPartial?(fileIdHex: string): Promise<void>;
  /** Stops seeding a finished file and deletes it. */
  deleteFile?(fileIdHex: string, path: string): Promise<void>;
  /** Recent upload rates of a file, by peer ("host:port"). */
  uploadRates?(fileIdHex: string): Map<string, number>;
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

/** One peer of a download, as the page shows it. */
export interface PeerView {
  /** Its server's address, "host:port". */
  address: string;
  /** Its program: "Shoal", or a BitTorrent client's own name (cleaned, bounded). */
  client: string;
  /** The protocol it speaks: "Shoal" or "BitTorrent". */
  dialect: "Shoal" | "BitTorrent";
  /** Bytes per second received from it lately. */
  downBytesPerSecond: number;
  /** Bytes per second sent to it lately. */
  upBytesPerSecond: number;
  /** How much of the file it holds, 0 to 100. */
  percent: number;
}

/** The states a record can be in. */
export type RecordState =
  | DownloadProgress["state"]
  | "failed"
  | "paused";

/** One download as the page shows it. */
export interface DownloadRecord {
  /** Stable key for this record. */
  key: string;
  /** What the user asked for: a name (or an id's first hex digits), or an id in hex. */
  query: string;
  /** Whether `query` is an id. */
  byId: boolean;
  /**
   * "finding", "choosing" (a folder waits for its files to be chosen),
   * "downloading", "checking", "done", "failed" or "paused".
   */
  state: RecordState;
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
  /** The peers connected, with their rates and progress. */
  peerList: PeerView[];
  /** The download rate once a second, oldest first, at most a minute of it. */
  history: number[];
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
  /**
   * A folder's number of files, once its manifest is in (their progress:
   * {@linkcode DownloadManager.files}); null for a file.
   */
  fileCount: number | null;
}

/** Options for {@linkcode DownloadManager}. */
export interface DownloadManagerOptions {
  /** Records kept (finished ones are dropped oldest first). @default {50} */
  maxRecords?: number;
  /** Downloads running at once. @default {8} */
  maxActive?: number;
  /** Passed to each download. @default {60_000} */
  giveUpAfterMs?: number;
  /** Where the list is kept across restarts; nowhere when absent. */
  store?: DownloadStore;
}

/** Options for {@linkcode DownloadManager.start}. */
export interface StartOptions {
  /**
   * For a folder: wait in state "choosing", fetching and writing nothing,
   * until {@linkcode DownloadManager.choose} says which files to fetch (a
   * file starts at once). @default {false}
   */
  chooseFirst?: boolean;
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

/** Words for the terminal, and what the page says instead. */
const PAGE_WORDS: [RegExp, string][] = [
  [/run the same command later to resume/g, "resume it later"],
  [/run the same command to resume/g, "resume it to go on"],
  [/choose another --out/g, "free some space or use another download folder"],
  [/\(start it with --seed [^)]*\)/g, "(restart the peer with it to share it)"],
  [/--list shows/g, "the list “On the tracker” shows"],
];

/**
 * Rewrites a message meant for the terminal for the page, which has no
 * command line: no flag and no "same command" is named there.
 *
 * @param message one line for the user
 * @returns the same line, in the page's words
 */
export function pageText(message: string): string {
  let text = message;
  for (const [pattern, words] of PAGE_WORDS) {
    text = text.replace(pattern, words);
  }
  return text;
}

function failureOf(error: unknown): DownloadFailure {
  if (error instanceof DownloadError) {
    return {
      code: error.code,
      message: pageText(error.message),
      candidates: error.candidates.map(fileView),
    };
  }
  if (error instanceof TrackerError) {
    return {
      code: "tracker",
      message: pageText(error.message),
      candidates: [],
    };
  }
  return {
    code: "internal",
    message: pageText(error instanceof Error ? error.message : String(error)),
    candidates: [],
  };
}

/** Longest display name kept from a magnet link, in characters. */
const MAX_LABEL_CHARS = 255;

/** A magnet link's `dn` as a one-line, bounded display name. */
function displayName(label: string): string {
  // Control and format characters (line breaks, U+202E and other bidi
  // overrides) could make the name read as something else.
  const line = label.replace(/[\p{Cc}\p{Cf}]/gu, " ").trim();
  return Array.from(line).slice(0, MAX_LABEL_CHARS).join("");
}

/** On its way: holds a place among the running downloads. */
const ACTIVE_STATES = new Set([
  "finding",
  "choosing",
  "downloading",
  "checking",
]);
/** Rate samples kept for the speed graph (one a second). */
export const HISTORY_SAMPLES = 60;
const SAMPLE_MS = 1_000;

/**
 * Runs downloads concurrently, keeps their records, and (with a store)
 * keeps the list across restarts.
 *
 * @example
 * ```ts
 * // const manager = new DownloadManager(node, { store: fileStore(node.stateDir) });
 * // await manager.restore(); manager.start({ name: "big.iso" });
 * // manager.onChange(() => render(manager.list()));
 * ```
 */
export class DownloadManager {
  readonly #downloader: Downloader;
  readonly #maxRecords: number;
  readonly #maxActive: number;
  readonly #giveUpAfterMs: number;
  readonly #store: DownloadStore | null;
  readonly #records = new Map<string, DownloadRecord>();
  /**
   * A folder download's files and their progress, by record key: asked for
   * on their own, so the events the page gets twice a second stay small.
   */
  readonly #files = new Map<string, FileProgress[]>();
  /** A folder download's ticked files, by record key (absent: every file). */
  readonly #ticked = new Map<string, number[]>();
  /** Downloads that ask which files to fetch before fetching any, by key. */
  readonly #asking = new Set<string>();
  /** A choosing download's answer, waited for by its run, by key. */
  readonly #pickers = new Map<
    string,
    (files: readonly number[] | null) => void
  >();
  readonly #controllers = new Map<string, AbortController>();
  readonly #runs = new Map<string, Promise<void>>();
  readonly #pausing = new Set<string>();
  readonly #listeners = new Set<() => void>();
  #nextKey = 1;
  #closed = false;
  #sampler: ReturnType<typeof setInterval> | null = null;
  #savedText = "";
  #saving: Promise<void> = Promise.resolve();

  /**
   * @param downloader the peer
   * @param options limits and the store
   */
  constructor(downloader: Downloader, options: DownloadManagerOptions = {}) {
    this.#downloader = downloader;
    this.#maxRecords = options.maxRecords ?? 50;
    this.#maxActive = options.maxActive ?? 8;
    this.#giveUpAfterMs = options.giveUpAfterMs ?? 60_000;
    this.#store = options.store ?? null;
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
   * Lists the saved downloads again and resumes those that were running.
   *
   * @returns once they are listed (the downloads go on in the background)
   */
  async restore(): Promise<void> {
    if (!this.#store) return;
    const saved = await this.#store.load();
    this.#savedText = JSON.stringify(saved);
    let running = 0;
    for (const entry of saved.slice(-this.#maxRecords)) {
      if (this.#closed) return;
      const resume = entry.state === "active" && running < this.#maxActive;
      const record = this.#newRecord(entry.query, entry.byId);
      record.state = entry.state === "done" ? "done" : "paused";
      record.name = entry.name;
      record.fileId = entry.fileId;
      record.size = entry.size;
      record.chunkCount = entry.chunkCount;
      record.path = entry.path;
      record.startedAt = entry.startedAt;
      if (entry.files) this.#ticked.set(record.key, entry.files);
      if (entry.chooseFirst) this.#asking.add(record.key);
      if (entry.state === "done") {
        record.percent = 100;
        record.chunksDone = entry.chunkCount;
        record.bytesDone = entry.size;
      }
      this.#records.set(record.key, record);
      if (resume) {
        running++;
        this.#launch(record);
      }
    }
    this.#changed();
  }

  /**
   * Starts a download.
   *
   * @param query `{ name }` or `{ id }`
   * @param label what to call a download by id until its manifest names it
   *   (a magnet link's `dn`); untrusted, shown as text
   * @param options whether a folder's files are chosen before any is fetched
   * @returns its record
   * @throws {StartError} when closed, too busy, or the same file is already on its way
   */
  start(
    query: FileQuery,
    label?: string,
    options: StartOptions = {},
  ): DownloadRecord {
    const byId = "id" in query;
    const text = byId ? toHex(query.id) : query.name;
    this.#checkCanRun(text, byId, null);
    const record = this.#newRecord(text, byId);
    const shown = byId && label !== undefined ? displayName(label) : "";
    if (shown !== "") record.name = shown;
    this.#records.set(record.key, record);
    if (options.chooseFirst) this.#asking.add(record.key);
    this.#trim();
    this.#launch(record);
    this.#changed();
    return { ...record };
  }

  /**
   * Pauses a running download (its part file and resume state stay).
   *
   * @param key the record's key
   * @returns whether a running download was found
   */
  pause(key: string): boolean {
    const controller = this.#controllers.get(key);
    if (!controller) return false;
    this.#pausing.add(key);
    controller.abort();
    return true;
  }

  /**
   * Resumes a paused or failed download from what it kept.
   *
   * @param key the record's key
   * @returns the record
   * @throws {StartError} when there is no such record, it runs, or too many run
   */
  resume(key: string): DownloadRecord {
    const record = this.#records.get(key);
    if (!record || ACTIVE_STATES.has(record.state) || record.state === "done") {
      throw new StartError(404, "No paused or failed download with that key");
    }
    this.#checkCanRun(record.query, record.byId, key);
    record.error = null;
    this.#launch(record);
    this.#changed();
    return { ...record };
  }

  /**
   * Removes a download from the list, stopping it first. With `deleteData`
   * its part file and resume state go too, or the finished file (which is
   * then no longer seeded).
   *
   * @param key the record's key
   * @param deleteData whether to delete what it downloaded
   * @returns whether the record existed
   */
  async remove(key: string, deleteData: boolean): Promise<boolean> {
    const record = this.#records.get(key);
    if (!record) return false;
    const run = this.#runs.get(key);
    if (run) {
      this.#pausing.add(key);
      this.#controllers.get(key)?.abort();
      await run;
    }
    this.#records.delete(key);
    this.#files.delete(key);
    this.#ticked.delete(key);
    this.#asking.delete(key);
    this.#changed();
    if (!deleteData || record.fileId === "") return true;
    if (record.state === "done" && record.path !== null) {
      await this.#downloader.deleteFile?.(record.fileId, record.path);
    } else {
      await this.#downloader.discardPartial?.(record.fileId);
    }
    return true;
  }

  /**
   * A folder download's files with their progress, as its last event (or
   * its end) said.
   *
   * @param key the record's key
   * @returns the files in BEP 52 order, or null (no such folder download,
   *   or its manifest is not in yet)
   */
  files(key: string): FileProgress[] | null {
    return this.#records.has(key) ? this.#files.get(key) ?? null : null;
  }

  /**
   * Chooses which files of a folder download are fetched (the page's
   * ticks). A download waiting in "choosing" goes on with them; one running
   * stops and starts again with them: what it has checked of files still
   * chosen is kept, files no longer chosen are dropped, and newly chosen
   * ones are fetched.
   *
   * @param key the record's key
   * @param files the chosen files by place in the folder, or null for all
   * @returns the record
   * @throws {StartError} when there is no such folder download, it is
   *   done, or no file would be left
   */
  async choose(
    key: string,
    files: readonly number[] | null,
  ): Promise<DownloadRecord> {
    const record = this.#records.get(key);
    const count = record?.fileCount ?? null;
    if (!record || record.state === "done" || count === null) {
      throw new StartError(
        404,
        "No folder download with that key still on its way (its files are listed once it has started)",
      );
    }
    const chosen = files === null ? null : [
      ...new Set(
        files.filter((i) => Number.isSafeInteger(i) && i >= 0 && i < count),
      ),
    ].sort((a, b) => a - b);
    if (chosen !== null && chosen.length === 0) {
      throw new StartError(
        400,
        `Cannot choose no file of ${record.name}: tick at least one, or remove the download`,
      );
    }
    if (chosen === null || chosen.length === count) this.#ticked.delete(key);
    else this.#ticked.set(key, chosen);
    const ticked = new Set(chosen ?? []);
    for (const [i, file] of (this.#files.get(key) ?? []).entries()) {
      file.chosen = chosen === null || ticked.has(i);
    }
    this.#asking.delete(key);
    const pick = this.#pickers.get(key);
    if (pick) {
      this.#pickers.delete(key);
      record.state = "finding";
      pick(chosen);
      this.#sampler ??= setInterval(() => this.#sample(), SAMPLE_MS);
      this.#changed();
      return { ...record };
    }
    const run = this.#runs.get(key);
    if (run) {
      this.#pausing.add(key);
      this.#controllers.get(key)?.abort();
      await run;
      if (!this.#closed && this.#records.get(key) === record) {
        record.error = null;
        this.#launch(record);
      }
    }
    this.#changed();
    return { ...record };
  }

  /** Forgets finished and failed records (paused ones stay). */
  clearFinished(): void {
    for (const [key, record] of this.#records) {
      if (record.state === "done" || record.state === "failed") {
        this.#records.delete(key);
        this.#files.delete(key);
      }
    }
    this.#changed();
  }

  /**
   * Stops every download and waits for them to wind down; the saved list
   * keeps them as they were, so the next start resumes them.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sampler !== null) clearInterval(this.#sampler);
    this.#sampler = null;
    for (const controller of this.#controllers.values()) controller.abort();
    await Promise.allSettled([...this.#runs.values()]);
    await this.#saving;
    this.#listeners.clear();
  }

  #newRecord(query: string, byId: boolean): DownloadRecord {
    return {
      key: `d${this.#nextKey++}`,
      query,
      byId,
      state: "finding",
      name: query,
      fileId: byId ? query : "",
      size: 0,
      chunkCount: 0,
      chunksDone: 0,
      bytesDone: 0,
      percent: 0,
      bytesPerSecond: 0,
      peers: 0,
      peerList: [],
      history: [],
      peersDropped: 0,
      secondsLeft: null,
      elapsedMs: 0,
      startedAt: Date.now(),
      error: null,
      path: null,
      fileCount: null,
    };
  }

  #checkCanRun(text: string, byId: boolean, key: string | null): void {
    if (this.#closed) {
      throw new StartError(
        503,
        "Cannot start a download: the peer is stopping",
      );
    }
    const active = [...this.#records.values()].filter((record) =>
      ACTIVE_STATES.has(record.state) && record.key !== key
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
  }

  #launch(record: DownloadRecord): void {
    const key = record.key;
    record.state = "finding";
    record.history = [];
    const known = record.fileId !== "" ? fromHex(record.fileId) : null;
    // Once the file is known, it is asked for by id: the name may have
    // become ambiguous since.
    const query: FileQuery = known ? { id: known } : { name: record.query };
    const controller = new AbortController();
    this.#controllers.set(key, controller);
    const run = this.#run(record, query, controller.signal).finally(() => {
      this.#controllers.delete(key);
      this.#runs.delete(key);
      this.#pausing.delete(key);
      this.#pickers.delete(key);
    });
    this.#runs.set(key, run);
    this.#sampler ??= setInterval(() => this.#sample(), SAMPLE_MS);
  }

  async #run(
    record: DownloadRecord,
    query: FileQuery,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      // A name (never an id the record already knows) is resolved as
      // `--get` resolves it: an id prefix, or another case, is found too.
      const asked = "name" in query && this.#downloader.find
        ? await this.#downloader.find(query.name)
        : query;
      const result = await this.#downloader.download(asked, {
        signal,
        giveUpAfterMs: this.#giveUpAfterMs,
        otherPlace: "free some space or use another download folder",
        ...(this.#ticked.has(record.key)
          ? { files: this.#ticked.get(record.key)! }
          : {}),
        // Asked again after a pause or a restart until the user has chosen.
        ...(this.#asking.has(record.key)
          ? {
            pickFiles: () =>
              new Promise<readonly number[] | null>((resolve) =>
                this.#pickers.set(record.key, resolve)
              ),
          }
          : {}),
        onProgress: (progress) => {
          this.#apply(record, progress);
          this.#changed();
        },
      });
      record.state = "done";
      record.path = result.path;
      this.#asking.delete(record.key);
      if (result.folder) {
        const chosen = result.chosen;
        record.fileCount = result.folder.files.length;
        this.#files.set(
          record.key,
          result.folder.files.map((file, i) => ({
            path: file.path.join("/"),
            size: file.length,
            chunkCount: file.chunkCount,
            chunksDone: chosen?.[i] === false ? 0 : file.chunkCount,
            chosen: chosen?.[i] ?? true,
          })),
        );
      }
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
      const aborted = error instanceof DownloadError &&
        error.code === "aborted";
      // Stopped because the peer is stopping: saved as running, resumed at start.
      if (aborted && this.#closed && !this.#pausing.has(record.key)) return;
      record.state = aborted ? "paused" : "failed";
      record.error = aborted ? null : failureOf(error);
    }
    record.secondsLeft = record.state === "done" ? 0 : null;
    record.bytesPerSecond = 0;
    record.peers = 0;
    record.peerList = [];
    this.#changed();
  }

  #apply(record: DownloadRecord, progress: DownloadProgress): void {
    // "done" is shown once the download has returned its path (and the
    // peer seeds the file), not at the download's own last event.
    record.state = progress.state === "done" ? "checking" : progress.state;
    if (progress.fileId) record.fileId = progress.fileId;
    // Until its manifest is in, a download by id is named by the id: the
    // page keeps the name it had (a magnet link's dn, or the name asked for).
    if (progress.name !== record.fileId) record.name = progress.name;
    if (progress.files) {
      record.fileCount = progress.files.length;
      this.#files.set(record.key, progress.files);
    }
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
    const up = record.fileId !== ""
      ? this.#downloader.uploadRates?.(record.fileId)
      : undefined;
    record.peerList = (progress.peerList ?? []).map((peer) => ({
      address: peer.address,
      client: peer.client,
      dialect: peer.dialect === "bittorrent" ? "BitTorrent" : "Shoal",
      downBytesPerSecond: Math.round(peer.bytesPerSecond),
      upBytesPerSecond: Math.round(up?.get(peer.address) ?? 0),
      percent: progress.chunkCount === 0
        ? 0
        : Math.min(100, (peer.chunks / progress.chunkCount) * 100),
    }));
    record.peersDropped = progress.peersDropped;
    record.elapsedMs = progress.elapsedMs;
    record.secondsLeft = progress.state === "downloading" &&
        progress.bytesPerSecond > 0
      ? Math.ceil(
        (progress.size - progress.bytesDone) / progress.bytesPerSecond,
      )
      : null;
  }

  /** One rate sample a second per running download, for the speed graph. */
  #sample(): void {
    let running = 0;
    for (const record of this.#records.values()) {
      // Nothing moves while the user chooses: no graph, no event.
      if (!ACTIVE_STATES.has(record.state) || record.state === "choosing") {
        continue;
      }
      running++;
      record.history.push(Math.round(record.bytesPerSecond));
      if (record.history.length > HISTORY_SAMPLES) record.history.shift();
    }
    if (running === 0 && this.#sampler !== null) {
      clearInterval(this.#sampler);
      this.#sampler = null;
    }
    if (running > 0) this.#changed();
  }

  #trim(): void {
    if (this.#records.size <= this.#maxRecords) return;
    for (const [key, record] of this.#records) {
      if (this.#records.size <= this.#maxRecords) return;
      if (record.state === "done" || record.state === "failed") {
        this.#records.delete(key);
        this.#files.delete(key);
      }
    }
  }

  /** What the store keeps: running, paused and finished downloads, oldest first. */
  #toSave(): SavedDownload[] {
    const saved: SavedDownload[] = [];
    for (const record of this.#records.values()) {
      if (record.state === "failed") continue;
      saved.push({
        query: record.query,
        byId: record.byId,
        state: record.state === "done"
          ? "done"
          : record.state === "paused"
          ? "paused"
          : "active",
        name: record.name,
        fileId: record.fileId,
        size: record.size,
        chunkCount: record.chunkCount,
        path: record.path,
        startedAt: record.startedAt,
        ...(this.#ticked.has(record.key)
          ? { files: this.#ticked.get(record.key)! }
          : {}),
        ...(this.#asking.has(record.key) ? { chooseFirst: true } : {}),
      });
    }
    return saved;
  }

  #persist(): void {
    const store = this.#store;
    if (!store || this.#closed) return;
    const list = this.#toSave();
    const text = JSON.stringify(list);
    if (text === this.#savedText) return;
    this.#savedText = text;
    this.#saving = this.#saving.then(() => store.save(list)).catch(() => {
      // A full disk must not stop downloads; the next change tries again.
      this.#savedText = "";
    });
  }

  #changed(): void {
    this.#persist();
    for (const listener of this.#listeners) listener();
  }
}
