/**
 * One download, from a name or id to a checked file in the download folder.
 *
 * Asks the tracker for peers, gets the manifest from any of them and checks
 * it against the file id, then fetches chunks from several peers at once
 * through a pool of fetch workers (each chunk is checked against the
 * manifest before it is written) into a part file of its own in the state
 * folder, hashes the whole file as it grows, and moves it into the download
 * folder, under a name nothing else has, only once everything matches.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { getLogger } from "@logtape/logtape";
import {
  Bitfield,
  bytesEqual,
  fileIdOf,
  type FileQuery,
  folderChunkLength,
  type FolderManifest,
  type Manifest,
  readAnyManifest,
  toHex,
} from "@shoal/protocol";
import { defaultWorkerCount, FetchPool } from "../workers/pool.ts";
import { pathInFolder, UnsafeNameError } from "../storage/safe_path.ts";
import {
  createPartFile,
  partPathFor,
  placeFile,
  preparePartFile,
} from "../storage/part_file.ts";
import { diskProblem } from "../storage/disk_errors.ts";
import {
  folderPartsPath,
  prepareFolderParts,
} from "../storage/folder_parts.ts";
import { placeFolder } from "../storage/place_folder.ts";
import { pickOnly, unchosenPieces } from "./only_files.ts";
import { type FileProgress, filesProgress } from "./folder_download.ts";
import { loadResume, resumePath, saveResume } from "../storage/resume.ts";
import { ProgressClock } from "./liveness.ts";
import { fileFromLookup, manifestFromPeers } from "./find_manifest.ts";
import {
  DownloadError,
  errorText,
  type PeerFinder,
  type PeerLookup,
} from "./errors.ts";
import { MAX_KNOWN_PEERS, PeerBook, peerKey } from "./peer_book.ts";
import type { BanList } from "../swarm/ban_list.ts";
import type { ConnectedPeers } from "../discovery/connected_peers.ts";
import {
  PEX_FIRST_DELAY_MS,
  type PexAddress,
} from "../discovery/pex_policy.ts";
import {
  Scheduler,
  type SchedulerAction,
  type SchedulerEvent,
} from "./scheduler.ts";
import { RateMeter } from "./rate_meter.ts";
import { GcSchedule } from "../gc_schedule.ts";
import type {
  FetchWorkerEvent,
  PeerDialect,
} from "@shoal/protocol/worker_messages";

const logger = getLogger(["shoal", "peer", "download"]);

export {
  DownloadError,
  type DownloadErrorCode,
  type PeerFinder,
  type PeerLookup,
} from "./errors.ts";

/** A snapshot of a download's progress. */
export interface DownloadProgress {
  /**
   * "finding" peers and the manifest, "choosing" (a folder waits for
   * `pickFiles`), "downloading", "checking" the whole file, "done".
   */
  state: "finding" | "choosing" | "downloading" | "checking" | "done";
  /** File id, hex (empty until known). */
  fileId: string;
  /** File name (the query until the manifest is known). */
  name: string;
  /** File size (0 until known). */
  size: number;
  /** Chunks in the file. */
  chunkCount: number;
  /** Chunks checked and written. */
  chunksDone: number;
  /** Bytes checked and written. */
  bytesDone: number;
  /** Recent download rate. */
  bytesPerSecond: number;
  /** Peers connected. */
  peers: number;
  /** Milliseconds since the download started. */
  elapsedMs: number;
  /** Peers dropped for bad data so far. */
  peersDropped: number;
  /** The peers connected now, one entry per peer (always set by the download). */
  peerList?: DownloadPeer[];
  /** A folder's files, each with its progress (set only for a folder). */
  files?: FileProgress[];
}

/** One connected peer, as a download sees it (read-only snapshot). */
export interface DownloadPeer {
  /** Its server's address, "host:port". */
  address: string;
  /** Chunks it holds, from its BITFIELD and HAVEs. */
  chunks: number;
  /** Bytes per second received from it lately. */
  bytesPerSecond: number;
  /** Its program, safe to show ("Shoal", "libtorrent 2.0.8", ...). */
  client: string;
  /** The protocol it speaks: "shoal" or "bittorrent". */
  dialect: PeerDialect;
}

/** Options for {@linkcode download}. */
export interface DownloadOptions {
  /** Where to find peers. */
  finder: PeerFinder;
  /** The file: `{ id }` or `{ name }`. */
  query: FileQuery;
  /**
   * The file's manifest, when the user already has it (a `.torrent`): no
   * peer is asked for it. Used only when its id is the query's id.
   */
  manifestBytes?: Uint8Array;
  /** The download folder. */
  outDir: string;
  /**
   * For a folder: fetch only the files whose path below it matches one of
   * these globs (only_files.ts); every file when absent or empty.
   */
  only?: readonly string[];
  /**
   * For a folder: fetch only these files, by their place in the manifest
   * (the files ticked on the web page); wins over `only`.
   */
  files?: readonly number[];
  /**
   * For a folder, unless `files` is given: asked once its manifest is in,
   * before anything is fetched or written (a progress event in state
   * "choosing" lists the files first); resolves to the files to fetch by
   * place in the manifest (null: all). The download waits for it, without
   * giving up, until it resolves or the download is stopped. A single
   * file never asks.
   */
  pickFiles?: (
    files: readonly { path: string; size: number }[],
  ) => Promise<readonly number[] | null>;
  /**
   * Only find the file and its manifest (`--files`), then stop: no worker
   * starts, nothing is written, and the result's `path` is empty.
   */
  manifestOnly?: boolean;
  /** This peer's state folder (resume data). @default {`${outDir}/.shoal`} */
  stateDir?: string;
  /** Our random peer id. */
  peerId: Uint8Array;
  /** The TCP port we serve on, told to peers; 0 when not serving. @default {0} */
  listenPort?: number;
  /** Fetch workers. @default {the cores, at most 4} */
  workers?: number;
  /**
   * GETs in flight per connection; when absent, each connection's depth
   * follows its measured rate (about a quarter second of data, 2 to 16).
   */
  pipelineDepth?: number;
  /** Most peers connected at once. @default {16} */
  maxPeers?: number;
  /**
   * Give up when nothing was gained (the manifest, a checked chunk) for this
   * long, whatever peers do meanwhile. @default {60_000}
   */
  giveUpAfterMs?: number;
  /** Drop a peer that completes no chunk for this long while asked for some. @default {15_000} */
  stallTimeoutMs?: number;
  /** Called about twice a second, and at each change of state. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Called once the manifest is known and the `.part` file exists (for partial seeding). */
  onStart?: (
    info: {
      fileId: Uint8Array;
      manifest: Manifest;
      manifestBytes: Uint8Array;
      partPath: string;
      have: Bitfield;
    },
  ) => void;
  /** Called for each chunk checked and written. */
  onChunk?: (index: number) => void;
  /** Called with the peer ("host:port") each fetched chunk came from, for tit for tat. */
  onChunkFrom?: (peerKey: string, bytes: number) => void;
  /** Download limit in bytes per second; none when absent. */
  maxDownloadBytesPerSecond?: number;
  /**
   * Reads the download limit now (bytes per second, null for none); when
   * given, it wins over `maxDownloadBytesPerSecond` and may change while
   * the download runs (the page's settings).
   */
  downloadLimit?: () => number | null;
  /**
   * Where this peer already keeps the checked file with this id, if it does
   * (a file it seeds): the download then ends at once with that path.
   */
  alreadyHave?: (
    fileId: Uint8Array,
  ) => { path: string; manifestBytes: Uint8Array } | null;
  /**
   * The flag or control that picks another download folder, named in
   * errors. @default {"choose another --out"}
   */
  otherPlace?: string;
  /**
   * Read the finished file back from disk and check every chunk again
   * before it is moved into place (for a failing disk). @default {false}
   */
  verify?: boolean;
  /** Stops the download, keeping resume state. */
  signal?: AbortSignal;
  /**
   * The process's bans (peer/swarm/ban_list.ts): peers banned there are not
   * connected to, and peers this download bans go there. @default {none}
   */
  bans?: BanList;
  /**
   * Peer exchange: the peers connected per file (ours are added, the
   * server's are told to the peers we fetch from, and peers learned by PEX
   * join the peer book); PEX is off when absent.
   */
  pex?: ConnectedPeers;
}

/** What a finished download produced. */
export interface DownloadResult {
  /** The checked file's path. */
  path: string;
  /** File id. */
  fileId: Uint8Array;
  /** The manifest. */
  manifest: Manifest;
  /** Its canonical bytes. */
  manifestBytes: Uint8Array;
  /** Seconds from start to the file in place. */
  seconds: number;
  /** Bytes fetched from peers in this run (not counting resumed chunks). */
  bytesFetched: number;
  /** Chunks found already checked on disk at start. */
  resumedChunks: number;
  /** Chunks fetched, per peer ("host:port"). */
  chunksByPeer: Record<string, number>;
  /** True when this peer already kept the file whole and fetched nothing. */
  alreadyKept: boolean;
  /** The folder, when the download was one. */
  folder?: FolderManifest;
  /** For a folder: which files were fetched (`only`). */
  chosen?: boolean[];
}

const TICK_MS = 500;
/** A resumed download's chunks are re-checked this many bytes per round (progress in between). */
const RECHECK_BATCH_BYTES = 128 * 1024 * 1024;
/** A manifest this large (a file of 16 GiB in 512 KiB chunks) is worth a collection once set up. */
const LARGE_MANIFEST_BYTES = 1024 * 1024;
/** The progress line's speed is over this much of the recent past. */
const PROGRESS_WINDOW_MS = 3_000;
const RESUME_SAVE_MS = 1_000;

/**
 * Downloads a file; resolves once it is checked and in place.
 *
 * @param options what to fetch, from where, to where
 * @returns where the file is and how it went
 * @throws {DownloadError} with a one-line reason when it cannot finish
 * @example
 * ```ts
 * // const result = await download({ finder: tracker, query: { name: "a.iso" }, outDir: "downloads", peerId });
 * ```
 */
export function download(options: DownloadOptions): Promise<DownloadResult> {
  return new Download(options).run();
}

class Download {
  readonly #options: DownloadOptions;
  readonly #stateDir: string;
  readonly #startMs = performance.now();
  /** Known peers, shared by the manifest race and the scheduler. */
  readonly #book: PeerBook;
  readonly #chunksByPeer: Record<string, number> = {};
  #fileId: Uint8Array = new Uint8Array();
  /** The file's chunk count as the tracker said (a hint, for the manifest race). */
  #chunkCountHint = 0;
  #manifest: Manifest | null = null;
  /** The folder, when the id names one (#manifest is then its summary). */
  #folder: FolderManifest | null = null;
  /** For a folder: which files are fetched. */
  #chosen: boolean[] = [];
  /** For a folder: the files `pickFiles` chose (null: all, or not asked). */
  #picked: readonly number[] | null = null;
  #manifestBytes: Uint8Array = new Uint8Array();
  #partPath = "";
  /**
   * Where an earlier run placed this file before it stopped (its part file
   * is that file): finished here by removing the part name, not placed again.
   */
  #placedAs: string | null = null;
  /** The pure core: chunks, connections, liveness (scheduler.ts). */
  #scheduler: Scheduler | null = null;
  #pool: FetchPool | null = null;
  #state: DownloadProgress["state"] = "finding";
  /** The chunks found good so far while a resumed download is re-checked. */
  #recheckHave: Bitfield | null = null;
  #bytesFetched = 0;
  #resumedChunks = 0;
  #resumeDirty = false;
  /** The resume save under way, if any; the next one waits for it. */
  #saving: Promise<void> = Promise.resolve();
  #lastResumeSaveMs = 0;
  /** Gives up once nothing was gained for --give-up-after (liveness.ts). */
  readonly #clock: ProgressClock;
  readonly #rateWindow = new RateMeter(PROGRESS_WINDOW_MS);
  /** Worker messages leave garbage V8 would keep for the whole download. */
  readonly #gc = new GcSchedule();
  /** A collection fell due while the scheduler's actions were carried out. */
  #collectAfterActions = false;
  #finish = Promise.withResolvers<void>();
  #throttleTimer: ReturnType<typeof setTimeout> | undefined;
  #finished = false;
  /** True once run() has returned or thrown: late peers are ignored. */
  #ended = false;
  /** Where each connection goes (PEX lists the connected ones). */
  readonly #connAddress = new Map<number, { host: string; port: number }>();
  /** PEX: forgets each connected peer in the connected list. */
  readonly #unlist = new Map<number, () => void>();
  #stopLearning: (() => void) | null = null;
  #pexTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: DownloadOptions) {
    this.#options = options;
    this.#book = new PeerBook(MAX_KNOWN_PEERS, options.bans ?? null);
    // A stop or failure can come before the transfer waits on this (while
    // the tracker answers, or chunks on disk are re-checked): whoever waits
    // later still sees it, and meanwhile it is not an unhandled rejection.
    this.#finish.promise.catch(() => {});
    this.#stateDir = options.stateDir ?? join(options.outDir, ".shoal");
    this.#clock = new ProgressClock(
      options.giveUpAfterMs ?? 60_000,
      performance.now(),
    );
  }

  get #label(): string {
    return this.#manifest?.name ??
      ("name" in this.#options.query
        ? this.#options.query.name
        : toHex(this.#options.query.id));
  }

  async run(): Promise<DownloadResult> {
    const signal = this.#options.signal;
    const onAbort = () =>
      this.#fail(
        new DownloadError(
          "aborted",
          `Stopped downloading ${this.#label}; run the same command to resume`,
        ),
      );
    signal?.addEventListener("abort", onAbort);
    try {
      this.#progress();
      const found = this.#findFile();
      // Workers take ~10 ms of this thread each to create and more to load
      // their code: start them while the tracker answers.
      if (!this.#options.manifestOnly) this.#startWorkers();
      await found;
      await this.#stopIfFailed();
      const kept = this.#options.alreadyHave?.(this.#fileId);
      if (kept) return this.#alreadyDone(kept);
      await this.#getManifest();
      await this.#stopIfFailed();
      if (this.#options.manifestOnly) return this.#manifestFound();
      await this.#pickFiles();
      await this.#preparePaths();
      await this.#transfer();
      return await this.#complete();
    } finally {
      this.#ended = true;
      this.#stopPex();
      signal?.removeEventListener("abort", onAbort);
      clearTimeout(this.#throttleTimer);
      this.#pool?.terminate();
      if (this.#resumeDirty) await this.#saveResume().catch(() => {});
      // A periodic save may still be writing: the process must not exit
      // under it (the state on disk would stay at the save before).
      await this.#saving;
    }
  }

  // ---- finding the file and its manifest ------------------------------------

  async #askTracker(): Promise<PeerLookup> {
    this.#book.asked(performance.now());
    const query: FileQuery = this.#fileId.byteLength > 0
      ? { id: this.#fileId }
      : this.#options.query;
    const lookup = await this.#options.finder.request(query, 0, {
      selfPort: this.#options.listenPort ?? 0,
      // Peers a slower tracker or the DHT finds later join the book; the
      // scheduler (once there is one) connects to some.
      onPeers: (peers) => {
        if (this.#ended || this.#book.add(peers) === 0) return;
        if (this.#scheduler) this.#schedule({ type: "peers_known" });
      },
    });
    if (lookup.kind === "peers") this.#book.add(lookup.peers);
    return lookup;
  }

  async #findFile(): Promise<void> {
    const found = fileFromLookup(await this.#askTracker(), this.#label);
    this.#fileId = found.fileId;
    this.#chunkCountHint = found.chunkCount;
  }

  async #getManifest(): Promise<void> {
    const saved = await loadResume(
      resumePath(this.#stateDir, this.#fileId),
      this.#fileId,
    );
    const given = this.#options.manifestBytes;
    const known = saved?.manifestBytes ??
      (given && idMatches(given, this.#fileId) ? given : null);
    if (known) {
      this.#setManifest(known);
      return;
    }
    const fetched = await manifestFromPeers({
      book: this.#book,
      fileId: this.#fileId,
      label: this.#label,
      peerId: this.#options.peerId,
      listenPort: this.#options.listenPort ?? 0,
      chunkCountHint: this.#chunkCountHint,
      askTracker: () => this.#askTracker(),
      clock: this.#clock,
      stopped: this.#stopped(),
    });
    // Its piece layers were checked against their roots a moment ago (by
    // fetchManifest, or hash by hash from a BitTorrent peer): once is enough
    // (the second time held up the start of a 16 GiB download by tens of
    // milliseconds).
    this.#setManifest(fetched, { layerChecked: true });
  }

  /** Rejects once the download is stopped (a signal, a crashed worker). */
  #stopped(): Promise<never> {
    return this.#finish.promise.then(() => new Promise<never>(() => {}));
  }

  /**
   * Keeps the manifest in shared memory and reads its fields.
   *
   * @param bytes the manifest, whose id is checked
   * @param options `layerChecked`: these bytes already passed readAnyManifest
   *   in this process; otherwise (a resume file, a `.torrent`) the piece
   *   layers are checked here
   */
  #setManifest(
    bytes: Uint8Array,
    options: { layerChecked?: boolean } = {},
  ): void {
    // One copy in shared memory: the workers are sent views of it, not
    // copies, and every isolate reads its chunk hashes in place.
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    this.#manifestBytes = shared;
    // fetchManifest and loadResume both check the id; parse once more for the fields.
    ({ manifest: this.#manifest, folder: this.#folder } = readAnyManifest(
      shared,
      { viewHashes: true, layerChecked: options.layerChecked ?? false },
    ));
  }

  /** Lets the user pick a folder's files (`pickFiles`) before any is fetched. */
  async #pickFiles(): Promise<void> {
    const ask = this.#options.pickFiles;
    const folder = this.#folder;
    if (!ask || !folder || this.#options.files) return;
    this.#state = "choosing";
    this.#progress();
    this.#picked = await Promise.race([
      ask(folder.files.map((file) => ({
        path: file.path.join("/"),
        size: file.length,
      }))),
      this.#stopped(),
    ]);
    // The wait was not the peers' fault: #transfer starts the give-up
    // clock again before anything is asked of them.
    this.#state = "finding";
    this.#progress();
  }

  // ---- files on disk --------------------------------------------------------

  async #preparePaths(): Promise<void> {
    const manifest = this.#manifest!;
    try {
      // Only the name is checked here: the final path is picked at the end,
      // among the names still free then.
      pathInFolder(this.#options.outDir, manifest.name);
    } catch (error) {
      if (error instanceof UnsafeNameError) {
        throw new DownloadError("unsafe_name", error.message, { cause: error });
      }
      throw error;
    }
    if (
      "name" in this.#options.query &&
      !sameName(this.#options.query.name, manifest.name)
    ) {
      // The tracker's name is a hint from whoever registered: the manifest,
      // which the file id authenticates, is what the file is called.
      throw new DownloadError(
        "unknown_file",
        `No file called ${this.#options.query.name} could be found: the file the tracker named is called ${
          JSON.stringify(manifest.name)
        } by its peers; ask for it by id (${
          toHex(this.#fileId)
        }) if you want it`,
      );
    }
    this.#partPath = this.#folder
      ? folderPartsPath(this.#stateDir, this.#fileId)
      : partPathFor(this.#stateDir, this.#fileId);
    this.#chooseFiles();
    for (
      const folder of [
        this.#options.outDir,
        dirname(this.#partPath),
        dirname(resumePath(this.#stateDir, this.#fileId)),
      ]
    ) {
      try {
        await Deno.mkdir(folder, { recursive: true });
      } catch (error) {
        throw new DownloadError(
          "disk",
          `Cannot create ${folder}: ${this.#diskProblem(error)}`,
          { cause: error },
        );
      }
    }
  }

  /** Which files of a folder are fetched; refuses `only` that cannot apply. */
  #chooseFiles(): void {
    const only = this.#options.only ?? [];
    const name = this.#manifest!.name;
    const picked = this.#options.files ?? this.#picked;
    if (picked && this.#folder) {
      const chosen = this.#folder.files.map(() => false);
      for (const index of picked) if (index in chosen) chosen[index] = true;
      if (!chosen.includes(true)) {
        throw new DownloadError(
          "no_match",
          `Cannot download ${name}: no file of it is chosen; choose at least one`,
        );
      }
      this.#chosen = chosen;
      return;
    }
    const byGlob = pickOnly(this.#folder, only, name);
    if ("problem" in byGlob) {
      throw new DownloadError("no_match", byGlob.problem);
    }
    if (!this.#folder) return;
    this.#chosen = byGlob.chosen ?? this.#folder.files.map(() => true);
  }

  #diskProblem(error: unknown): string {
    return diskProblem(error, {
      ...(this.#options.otherPlace !== undefined
        ? { otherPlace: this.#options.otherPlace }
        : {}),
    });
  }

  async #openPart(): Promise<Bitfield> {
    const manifest = this.#manifest!;
    const saved = await loadResume(
      resumePath(this.#stateDir, this.#fileId),
      this.#fileId,
    );
    try {
      const kept = this.#folder
        ? await prepareFolderParts(
          this.#partPath,
          this.#folder,
          this.#chosen,
          saved !== null,
        )
        : await this.#preparePart(saved !== null);
      if (kept && saved) return saved.have;
    } catch (error) {
      throw this.#partFileError(error);
    }
    return new Bitfield(manifest.chunkCount);
  }

  #partFileError(error: unknown): DownloadError {
    return new DownloadError(
      "disk",
      `Cannot create the part file of ${
        this.#manifest!.name
      } (${this.#partPath}): ${this.#diskProblem(error)}`,
      { cause: error },
    );
  }

  /** preparePartFile, remembering where an earlier run placed the file. */
  async #preparePart(vouched: boolean): Promise<boolean> {
    const manifest = this.#manifest!;
    const part = await preparePartFile(this.#partPath, manifest.size, vouched, {
      folder: this.#options.outDir,
      name: manifest.name,
    });
    if (part.kind === "placed") this.#placedAs = part.path;
    return part.kind !== "new";
  }

  /**
   * The file an earlier run placed no longer matches (changed by its owner
   * since): it stays as it is, and the download starts again in a new part
   * file of its own, placed under a free name.
   */
  async #leavePlaced(): Promise<void> {
    const manifest = this.#manifest!;
    logger.warn(
      "{placed} was placed by an earlier run and has changed since; it stays as it is and {name} is downloaded again",
      { placed: this.#placedAs, name: manifest.name },
    );
    this.#placedAs = null;
    await createPartFile(this.#partPath, manifest.size).catch((error) => {
      throw this.#partFileError(error);
    });
  }

  // ---- the transfer ---------------------------------------------------------

  /** Checks every chunk as it is on disk now, in batches, with progress. */
  async #verifyOnDisk(): Promise<void> {
    const manifest = this.#manifest!;
    const batch = Math.max(
      1,
      Math.floor(RECHECK_BATCH_BYTES / manifest.chunkSize),
    );
    // Files left out by --only have no part to read.
    const skipped = new Set(
      this.#folder ? unchosenPieces(this.#folder, this.#chosen) : [],
    );
    for (let at = 0; at < manifest.chunkCount; at += batch) {
      const indices: number[] = [];
      const end = Math.min(manifest.chunkCount, at + batch);
      for (let i = at; i < end; i++) if (!skipped.has(i)) indices.push(i);
      const { bad } = await this.#pool!.verify(
        this.#partPath,
        this.#manifestBytes,
        indices,
      );
      if (bad.length > 0) {
        throw new DownloadError(
          "corrupt",
          `Cannot finish ${manifest.name}: chunk ${
            Math.min(...bad)
          } no longer matches once written to disk; the disk may be failing (the download resumes from what is still good)`,
        );
      }
    }
  }

  async #transfer(): Promise<void> {
    const manifest = this.#manifest!;
    const claimed = await this.#openPart();
    let have = new Bitfield(manifest.chunkCount);
    if (claimed.count > 0) {
      const indices: number[] = [];
      for (let i = 0; i < manifest.chunkCount; i++) {
        if (claimed.has(i)) indices.push(i);
      }
      // Every worker checks a share at once; shown as "checking", the good
      // chunks counted as they are found (16 GiB on disk is seconds of it).
      this.#state = "checking";
      this.#recheckHave = have;
      const batch = Math.max(
        1,
        Math.floor(RECHECK_BATCH_BYTES / manifest.chunkSize),
      );
      for (let at = 0; at < indices.length; at += batch) {
        // Stopped meanwhile: the saved state stays as it was (this check has
        // not changed what is on disk).
        await this.#stopIfFailed();
        const { good } = await this.#pool!.verify(
          this.#partPath,
          this.#manifestBytes,
          indices.slice(at, at + batch),
        );
        for (const index of good) have.set(index);
        this.#progress();
      }
      this.#recheckHave = null;
      this.#resumedChunks = have.count;
    }
    // A placed file is the user's: never written to, whatever it lacks.
    if (this.#placedAs !== null && !have.complete) {
      await this.#leavePlaced();
      have = new Bitfield(manifest.chunkCount);
      this.#resumedChunks = 0;
    }
    // Files left out by --only count as had: none of their pieces is asked for.
    const folder = this.#folder;
    if (folder) {
      for (const index of unchosenPieces(folder, this.#chosen)) have.set(index);
    }
    const workers = this.#options.workers ?? defaultWorkerCount();
    const readLimit = this.#options.downloadLimit;
    this.#scheduler = new Scheduler({
      manifest: folder
        ? { ...manifest, lengthOf: (i) => folderChunkLength(folder, i) }
        : manifest,
      have,
      book: this.#book,
      clock: this.#clock,
      workers,
      limit: readLimit?.() ?? this.#options.maxDownloadBytesPerSecond ?? null,
      ...(readLimit ? { readLimit } : {}),
      ...(this.#options.pipelineDepth !== undefined
        ? { pipelineDepth: this.#options.pipelineDepth }
        : {}),
      ...(this.#options.maxPeers !== undefined
        ? { maxPeers: this.#options.maxPeers }
        : {}),
      ...(this.#options.stallTimeoutMs !== undefined
        ? { stallTimeoutMs: this.#options.stallTimeoutMs }
        : {}),
    });
    // Create the resume state before the part file grows, so it can still
    // be saved (in place) if the disk fills up later.
    await this.#saveResume().catch((error) => {
      throw new DownloadError(
        "disk",
        `Cannot save resume state of ${manifest.name}: ${
          this.#diskProblem(error)
        }`,
        { cause: error },
      );
    });
    this.#state = "downloading";
    // Said when it begins, not at the next tick: a small file can be done
    // before one, and scripts (and the bench) time the set-up by it.
    this.#progress();
    // Re-checking chunks on disk was progress: the patience starts now.
    this.#clock.progress(performance.now());
    // Setting up a large file leaves copies of its manifest as garbage (the
    // frame it came in, 8 MiB for 128 GiB): free them before the transfer
    // adds its own, so the peak stays where a small file's is.
    if (this.#manifestBytes.byteLength >= LARGE_MANIFEST_BYTES) this.#gc.now();
    // A folder's parts are not served while it downloads (yet).
    if (!folder) {
      this.#options.onStart?.({
        fileId: this.#fileId,
        manifest,
        manifestBytes: this.#manifestBytes,
        partPath: this.#partPath,
        have,
      });
    }
    // Complete already (all resumed).
    if (have.complete) return;

    this.#pool!.broadcast({
      type: "init",
      partPath: this.#partPath,
      manifestBytes: this.#manifestBytes,
      fileId: this.#fileId,
      peerId: this.#options.peerId,
      listenPort: this.#options.listenPort ?? 0,
      pex: this.#options.pex !== undefined,
    });
    this.#startPex();
    this.#schedule({ type: "peers_known" });
    const ticker = setInterval(() => this.#tick(), TICK_MS);
    try {
      await this.#finish.promise;
    } finally {
      clearInterval(ticker);
    }
  }

  // ---- peer exchange ---------------------------------------------------------

  /**
   * PEX: peers told to our server for this file join the book, and the
   * fetch workers learn who we are connected to (each tells its peers once
   * a minute), sent again only when that changes.
   */
  #startPex(): void {
    const pex = this.#options.pex;
    if (!pex) return;
    const idHex = toHex(this.#fileId);
    this.#stopLearning = pex.onLearned(idHex, (peers) => this.#learn(peers));
    let told = "";
    this.#pexTimer = setInterval(() => {
      const peers = pex.list(idHex);
      const now = peers.map(peerKey).sort().join(" ");
      if (now === told) return;
      told = now;
      this.#pool?.broadcast({ type: "pex_peers", peers });
    }, PEX_FIRST_DELAY_MS);
  }

  #stopPex(): void {
    clearInterval(this.#pexTimer);
    this.#stopLearning?.();
    for (const unlist of this.#unlist.values()) unlist();
    this.#unlist.clear();
  }

  /** Peers learned by PEX (checked by pex_policy.ts) join the book as a tracker's do. */
  #learn(peers: PexAddress[]): void {
    if (this.#ended || this.#book.add(peers) === 0) return;
    logger.debug("Learned {count} peers by PEX", { count: peers.length });
    if (this.#scheduler) this.#schedule({ type: "peers_known" });
  }

  #startWorkers(): void {
    const pool = new FetchPool(
      this.#options.workers ?? defaultWorkerCount(),
      (event) => this.#onWorkerEvent(event),
      (error) => this.#fail(error),
    );
    this.#pool = pool;
  }

  /** Throws the stop or failure that came meanwhile (a signal, a crashed worker). */
  async #stopIfFailed(): Promise<void> {
    if (this.#finished) await this.#finish.promise;
  }

  #fail(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#finish.reject(error);
  }

  /** Feeds the scheduler one event and carries out what it decides. */
  #schedule(event: SchedulerEvent): void {
    if (this.#finished) return;
    for (const action of this.#scheduler!.handle(event)) this.#act(action);
    // After the GETs of this turn are sent: the collection holds this thread
    // 7-18 ms here, and pipelines refilled first keep the workers busy
    // through it.
    if (this.#collectAfterActions) {
      this.#collectAfterActions = false;
      // Not once complete (said in the turn of the last chunk): the
      // collection would only delay the finish.
      if (!this.#finished) this.#gc.now();
    }
  }

  #act(action: SchedulerAction): void {
    const pool = this.#pool!;
    switch (action.type) {
      case "connect":
        this.#connAddress.set(action.connId, {
          host: action.host,
          port: action.port,
        });
        // BitTorrent for a peer known to speak only it (protocol_fallback.ts).
        pool.connect(
          action.connId,
          action.host,
          action.port,
          this.#book.protocolOf(peerKey(action)),
        );
        return;
      case "get":
      case "cancel":
      case "interest":
      case "disconnect":
        // The same shape as the worker's command: sent as it is.
        pool.send(action.connId, action);
        return;
      case "gained":
        this.#gained(action.index, action.bytes, action.peer);
        return;
      case "complete":
        this.#finished = true;
        this.#finish.resolve();
        return;
      case "wake":
        this.#throttleTimer ??= setTimeout(() => {
          this.#throttleTimer = undefined;
          this.#schedule({ type: "wake" });
        }, action.afterMs);
        return;
      case "ask_tracker":
        this.#askTracker().then(
          () => this.#schedule({ type: "peers_known" }),
          () => {},
        );
        return;
      case "give_up": {
        const have = this.#scheduler!.have.count;
        this.#fail(
          new DownloadError(
            "no_peers",
            `${
              action.ready === 0 ? "No peer left for" : "No peer sent any of"
            } ${this.#label} for ${
              Math.round(this.#clock.limitMs / 1000)
            } s (${have}/${
              this.#manifest!.chunkCount
            } chunks kept); run the same command later to resume`,
          ),
        );
        return;
      }
    }
  }

  /** A chunk we lacked is checked and on disk. */
  #gained(index: number, bytes: number, peer: string | null): void {
    const now = performance.now();
    this.#bytesFetched += bytes;
    this.#rateWindow.add(now, bytes);
    if (this.#gc.count(bytes)) this.#collectAfterActions = true;
    if (peer !== null) {
      this.#chunksByPeer[peer] = (this.#chunksByPeer[peer] ?? 0) + 1;
      this.#options.onChunkFrom?.(peer, bytes);
    }
    this.#resumeDirty = true;
    this.#options.onChunk?.(index);
  }

  /** A fetch worker's event, told to the scheduler in its own terms. */
  #onWorkerEvent(event: FetchWorkerEvent): void {
    if (this.#finished) return;
    switch (event.type) {
      case "connected": {
        const address = this.#connAddress.get(event.connId);
        if (this.#options.pex && address) {
          this.#unlist.set(
            event.connId,
            this.#options.pex.add(toHex(this.#fileId), {
              ...address,
              ...(this.#book.protocolOf(peerKey(address)) === "bittorrent"
                ? { bittorrent: true }
                : {}),
            }),
          );
        }
        return this.#schedule(event);
      }
      case "peer_client":
        return this.#schedule({
          type: "client",
          connId: event.connId,
          client: event.client,
        });
      case "pex":
        return this.#learn(event.peers);
      case "peer_have":
        return this.#schedule({
          type: "have",
          connId: event.connId,
          indices: event.indices,
        });
      case "chunks_ok":
        return this.#schedule({
          type: "received",
          connId: event.connId,
          indices: event.indices,
        });
      case "chunk_bad":
        return this.#schedule({ type: "bad_chunk", connId: event.connId });
      case "chunk_refused":
        return this.#schedule({
          type: "refused",
          connId: event.connId,
          index: event.index,
        });
      case "chunk_busy":
        return this.#schedule({
          type: "busy",
          connId: event.connId,
          index: event.index,
        });
      case "choke":
        return this.#schedule(event);
      case "closed":
        this.#unlist.get(event.connId)?.();
        this.#unlist.delete(event.connId);
        this.#connAddress.delete(event.connId);
        return this.#schedule({
          type: "closed",
          connId: event.connId,
          misbehaved: event.code === "misbehaved",
        });
      case "speaks_bittorrent":
        logger.debug(
          "Peer {peer} did not answer in Shoal: asking it in BitTorrent",
          { peer: peerKey(event) },
        );
        this.#book.speaksBitTorrent(peerKey(event));
        return;
      case "write_failed":
        this.#fail(
          new DownloadError(
            "disk",
            `Cannot write ${this.#label} (${this.#partPath}): ${
              this.#diskProblem({ code: event.code, message: event.message })
            }; run the same command to resume`,
          ),
        );
        return;
      case "shut_down":
        return;
    }
  }

  #tick(): void {
    this.#schedule({ type: "tick" });
    // Gave up (the scheduler's give-up clock): nothing more to save or show.
    if (this.#finished) return;
    const now = performance.now();
    if (this.#resumeDirty && now - this.#lastResumeSaveMs > RESUME_SAVE_MS) {
      this.#lastResumeSaveMs = now;
      this.#saveResume().catch((error) =>
        this.#fail(
          new DownloadError(
            "disk",
            `Cannot save resume state of ${this.#label}: ${
              this.#diskProblem(error)
            }`,
            { cause: error },
          ),
        )
      );
    }
    this.#progress();
  }

  /**
   * Saves the resume state. Saves run one after another: a periodic save
   * still writing when the download stops must not race the last one (two
   * first saves share a temporary file).
   */
  #saveResume(): Promise<void> {
    const scheduler = this.#scheduler;
    if (!scheduler) return Promise.resolve();
    const run = this.#saving.then(() => {
      this.#resumeDirty = false;
      return saveResume(resumePath(this.#stateDir, this.#fileId), {
        manifestBytes: this.#manifestBytes,
        have: scheduler.have,
      });
    });
    this.#saving = run.catch(() => {});
    return run;
  }

  #progress(): void {
    const now = performance.now();
    const windowBytes = this.#rateWindow.bytes(now);
    const windowMs = Math.min(PROGRESS_WINDOW_MS, now - this.#startMs);
    const manifest = this.#manifest;
    const scheduler = this.#scheduler;
    const have = scheduler?.have ?? this.#recheckHave;
    this.#options.onProgress?.({
      state: this.#state,
      fileId: this.#fileId.byteLength ? toHex(this.#fileId) : "",
      name: this.#label,
      size: manifest?.size ?? 0,
      chunkCount: manifest?.chunkCount ?? 0,
      chunksDone: have?.count ?? 0,
      bytesDone: manifest && have
        ? Math.min(have.count * manifest.chunkSize, manifest.size)
        : 0,
      bytesPerSecond: windowMs > 0 ? (windowBytes * 1000) / windowMs : 0,
      // Distinct peers: one peer may have two connections (one per worker).
      peers: scheduler?.peerCount() ?? 0,
      elapsedMs: now - this.#startMs,
      peersDropped: scheduler?.peersDropped ?? 0,
      peerList: scheduler?.peerList() ?? [],
      ...(this.#folder
        ? { files: filesProgress(this.#folder, this.#chosen, have ?? null) }
        : {}),
    });
  }

  // ---- the end --------------------------------------------------------------

  #alreadyDone(
    kept: { path: string; manifestBytes: Uint8Array },
  ): DownloadResult {
    this.#setManifest(kept.manifestBytes);
    this.#state = "done";
    this.#progress();
    return {
      path: kept.path,
      fileId: this.#fileId,
      manifest: this.#manifest!,
      manifestBytes: this.#manifestBytes,
      seconds: (performance.now() - this.#startMs) / 1000,
      bytesFetched: 0,
      resumedChunks: this.#manifest!.chunkCount,
      chunksByPeer: {},
      alreadyKept: true,
    };
  }

  /** What `manifestOnly` returns: the manifest, nothing fetched or placed. */
  #manifestFound(): DownloadResult {
    return {
      path: "",
      fileId: this.#fileId,
      manifest: this.#manifest!,
      manifestBytes: this.#manifestBytes,
      seconds: (performance.now() - this.#startMs) / 1000,
      bytesFetched: 0,
      resumedChunks: 0,
      chunksByPeer: {},
      alreadyKept: false,
      ...(this.#folder ? { folder: this.#folder } : {}),
    };
  }

  /** An earlier run placed the file and stopped: only its part name goes. */
  async #finishPlaced(path: string): Promise<string> {
    await Deno.remove(this.#partPath).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    return path;
  }

  async #complete(): Promise<DownloadResult> {
    const manifest = this.#manifest!;
    this.#state = "checking";
    this.#progress();
    await this.#pool?.closeConnections();
    await this.#saveResume();
    // Every chunk matched the piece layer, which matched the pieces root
    // that the id vouches for: the file is right. --verify reads it back
    // anyway, for a disk that may not keep what it was given.
    if (this.#options.verify && manifest.chunkCount > 0) {
      await this.#verifyOnDisk();
    }
    this.#pool?.terminate();
    this.#pool = null;
    let finalPath: string;
    try {
      finalPath = this.#placedAs !== null
        ? await this.#finishPlaced(this.#placedAs)
        : this.#folder
        ? await placeFolder(
          this.#partPath,
          this.#options.outDir,
          manifest.name,
        )
        : await placeFile(
          this.#partPath,
          this.#options.outDir,
          manifest.name,
        );
    } catch (error) {
      throw new DownloadError(
        error instanceof Deno.errors.AlreadyExists ? "exists" : "disk",
        `Cannot move ${manifest.name} into ${this.#options.outDir}: ${
          error instanceof Deno.errors.AlreadyExists
            ? `${errorText(error)}; move some away`
            : this.#diskProblem(error)
        }`,
        { cause: error },
      );
    }
    this.#resumeDirty = false;
    await Deno.remove(resumePath(this.#stateDir, this.#fileId)).catch(() => {});
    this.#state = "done";
    this.#progress();
    return {
      path: finalPath,
      fileId: this.#fileId,
      manifest,
      manifestBytes: this.#manifestBytes,
      seconds: (performance.now() - this.#startMs) / 1000,
      bytesFetched: this.#bytesFetched,
      resumedChunks: this.#resumedChunks,
      chunksByPeer: { ...this.#chunksByPeer },
      alreadyKept: false,
      ...(this.#folder ? { folder: this.#folder, chosen: this.#chosen } : {}),
    };
  }
}

/** Names match as a user means them: Unicode-normalised, case aside. */
function sameName(asked: string, actual: string): boolean {
  const fold = (name: string) => name.normalize("NFC").toLowerCase();
  return fold(asked) === fold(actual);
}

/** Whether manifest bytes the user gave describe the file `id` names. */
function idMatches(manifestBytes: Uint8Array, id: Uint8Array): boolean {
  try {
    return bytesEqual(fileIdOf(manifestBytes), id);
  } catch {
    return false;
  }
}
