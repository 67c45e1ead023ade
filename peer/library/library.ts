/**
 * The files a peer shares: whole files it seeds and downloads in progress
 * (which it serves chunk by chunk). Also remembers, in the peer's state
 * folder, which files it seeds and their manifests, so a restart does not
 * hash them again unless they changed.
 *
 * @module
 */
import { join, resolve, sep as SEP } from "node:path";
import {
  Bitfield,
  bytesEqual,
  type FileAnnouncement,
  fileIdOf,
  type FolderManifest,
  fromHex,
  type Manifest,
  parseManifest,
  ProtocolError,
  toHex,
} from "@shoal/protocol";
import { isManifestWorkerEvent } from "@shoal/protocol/worker_messages";
import { checkSeedable, SeedError, tooLargeError } from "./seedable.ts";
import { buildFolder, isBuiltFile } from "./build_folder.ts";
import { downloadedFiles } from "./downloaded_folder.ts";
import type { SavedFolder } from "./folder_reuse.ts";
import { writeJsonFile } from "../storage/json_file.ts";
import { terminateOnAbort } from "../workers/terminate_on_abort.ts";
import {
  type FolderPart,
  type SharedFolder,
  sharedFolderOf,
} from "./shared_folder.ts";

/** One file this peer can serve chunks of. */
export interface SharedFile {
  /** File id. */
  id: Uint8Array;
  /** File id, hex. */
  idHex: string;
  /** The manifest. */
  manifest: Manifest;
  /** Its canonical bytes. */
  manifestBytes: Uint8Array;
  /** Where the bytes are (a `.part` file while downloading). */
  path: string;
  /** Chunks this peer holds. */
  have: Bitfield;
  /** Modification time the manifest was built for; null for our own downloads. */
  mtimeMs: number | null;
  /**
   * Change time (ctime) at which the bytes were known to match the manifest;
   * while it is unchanged, chunks are served without hashing them again.
   * Null when unknown: every chunk is hashed before it is sent.
   */
  ctimeMs?: number | null;
  /** Set when the file changed on disk: its chunks are no longer served. */
  stale: boolean;
  /**
   * Set for a seeded folder (then `manifest` sums up the whole folder, and
   * `path` is the folder): its files and where their pieces are.
   */
  folder?: SharedFolder;
}

export { SeedError };

interface SavedSeed {
  path: string;
  size: number;
  mtimeMs: number;
  /** Change time when the manifest was built; absent in older state. */
  ctimeMs?: number;
  id: string;
}

const SEEDS_FILE = "seeds.json";
/** How much older than the hashing a ctime must be to vouch for the bytes. */
const CTIME_SLACK_MS = 2_000;
/** A file is hashed again in the background at most this often. */
const RECHECK_EVERY_MS = 60_000;
/**
 * A file at least this large, changed within the last CTIME_SLACK_MS, is
 * hashed only once its ctime has aged enough to vouch for the hashing: the
 * wait (at most ~2 s) costs less than what follows hashing it at once, a
 * second whole-file hash in its own worker isolate while every chunk served
 * meanwhile is hashed too (a 64 GiB seed peaked at 101 MiB that way).
 */
export const WAIT_FOR_CTIME_FROM_BYTES = 1024 ** 3;

/** Resolves once a ctime of `ctimeMs` can vouch for hashing that starts then. */
function ctimeAged(ctimeMs: number): Promise<void> {
  const waitMs = ctimeMs + CTIME_SLACK_MS + 100 - Date.now();
  return waitMs > 0
    ? new Promise((resolve) => setTimeout(resolve, waitMs))
    : Promise.resolve();
}

function isSavedSeed(value: unknown): value is SavedSeed {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.path === "string" && typeof v.size === "number" &&
    typeof v.mtimeMs === "number" &&
    typeof v.id === "string" && /^[0-9a-f]{64}$/.test(v.id);
}

/**
 * The set of files this peer shares.
 *
 * @example
 * ```ts
 * // const library = new Library("downloads/.shoal");
 * // const file = await library.seedPath("/data/big.iso");
 * ```
 */
export class Library {
  readonly #stateDir: string;
  readonly #files = new Map<string, SharedFile>();
  readonly #listeners = new Set<() => void>();
  readonly #haveListeners = new Set<(idHex: string, index: number) => void>();
  /** The file being hashed again in the background, by hex id (one at most). */
  readonly #rechecking = new Set<string>();
  /** When each file was last hashed again: a file whose ctime keeps moving is not hashed over and over. */
  readonly #recheckedAtMs = new Map<string, number>();
  /** Manifests from before BitTorrent v2 found in the state folder. */
  #legacySeen = 0;
  /** Changes to the seed list, one after another. */
  #seedsQueue: Promise<void> = Promise.resolve();

  /** @param stateDir where this peer keeps its state */
  constructor(stateDir: string) {
    this.#stateDir = stateDir;
  }

  /** Calls `listener` whenever the set of files changes. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  /** The file with this id, if shared and not stale. */
  get(id: Uint8Array): SharedFile | undefined {
    const file = this.#files.get(toHex(id));
    return file && !file.stale ? file : undefined;
  }

  /** Every shared file. */
  list(): SharedFile[] {
    return [...this.#files.values()];
  }

  /** What to tell the tracker. */
  announcements(): FileAnnouncement[] {
    return this.list().filter((file) => !file.stale).map((file) => ({
      id: file.id,
      name: file.manifest.name,
      size: file.manifest.size,
      chunkCount: file.manifest.chunkCount,
      complete: file.have.complete,
    }));
  }

  /** Adds or replaces a file. */
  add(file: SharedFile): void {
    this.#files.set(file.idHex, file);
    this.#changed();
  }

  /** Stops sharing a file. */
  remove(id: Uint8Array): void {
    if (this.#files.delete(toHex(id))) this.#changed();
  }

  /**
   * Stops sharing a file for good: it leaves the list kept in the state
   * folder too, so a restart does not share it again. The file itself stays
   * where it is.
   *
   * @param id the file's id
   * @returns whether it was shared
   */
  async forget(id: Uint8Array): Promise<boolean> {
    const idHex = toHex(id);
    const known = this.#files.delete(idHex);
    if (known) this.#changed();
    let removed = false;
    await this.#updateSeeds((saved) => {
      const kept = saved.filter((seed) => seed.id !== idHex);
      removed = kept.length !== saved.length;
      return removed ? kept : null;
    });
    await Deno.remove(join(this.#stateDir, "manifests", `${idHex}.manifest`))
      .catch(() => {});
    await Deno.remove(
      join(this.#stateDir, "manifests", `${idHex}.files.json`),
    ).catch(() => {});
    return known || removed;
  }

  /** Marks a file as changed on disk: no more chunks are served from it. */
  markStale(id: Uint8Array): void {
    const file = this.#files.get(toHex(id));
    if (!file || file.stale) return;
    file.stale = true;
    this.#changed();
  }

  /**
   * Hashes a whole file again in a worker, in the background, when its ctime
   * no longer vouches for its bytes (it was hashed too soon after it was
   * written, or something touched it since: a hard link, a chmod). Until
   * then each chunk is hashed before it is sent, which costs the seeder a
   * SHA-256 of everything it serves. When the bytes still match and nothing
   * touched the file during the hashing, the file's ctime vouches for it
   * again; when they no longer match, the file is marked stale. One file is
   * checked at a time (a `chmod -R` must not start a worker per file); calls
   * made while a check runs, or within a minute of the file's last one, do
   * nothing, and the next chunk served asks again.
   *
   * @param file a shared file (not a download in progress)
   * @returns once the check is done or skipped
   */
  recheck(file: SharedFile): Promise<void> {
    const idHex = file.idHex;
    const last = this.#recheckedAtMs.get(idHex);
    if (
      file.mtimeMs === null || file.stale || file.ctimeMs != null ||
      this.#rechecking.size > 0 ||
      (last !== undefined && Date.now() - last < RECHECK_EVERY_MS)
    ) return Promise.resolve();
    this.#rechecking.add(idHex);
    return this.#recheck(file).catch(() => {
      // Unreadable now: chunks keep being hashed on read, which reports it.
    }).finally(() => this.#rechecking.delete(idHex));
  }

  async #recheck(file: SharedFile): Promise<void> {
    if ("partOf" in file) {
      // A folder's file is hashed again only while it is the file that was
      // hashed: never a link put in its place, which would be read outside
      // the folder.
      const part = file as FolderPart;
      const info = await Deno.lstat(file.path);
      if (!info.isFile || info.ino !== part.ino || info.dev !== part.dev) {
        this.markStale(file.id);
        return;
      }
    }
    const before = await Deno.stat(file.path);
    const ctimeMs = before.ctime?.getTime() ?? null;
    if (ctimeMs === null) return;
    await ctimeAged(ctimeMs);
    const hashStartMs = Date.now();
    this.#recheckedAtMs.set(file.idHex, hashStartMs);
    const built = await buildManifest(
      file.path,
      file.manifest.name,
      file.manifest.chunkSize,
    );
    if (!bytesEqual(built.manifestBytes, file.manifestBytes)) {
      this.markStale(file.id);
      return;
    }
    const after = await Deno.stat(file.path);
    if (
      after.size !== file.manifest.size ||
      (after.mtime?.getTime() ?? 0) !== file.mtimeMs ||
      after.ctime?.getTime() !== ctimeMs ||
      ctimeMs > hashStartMs - CTIME_SLACK_MS
    ) return;
    file.ctimeMs = ctimeMs;
    // A folder's file is remembered with its folder, never on its own.
    if (!("partOf" in file)) await this.#remember(file, after.size);
  }

  /** Records that a download in progress now holds a chunk, and tells the listeners. */
  markChunk(id: Uint8Array, index: number): void {
    const idHex = toHex(id);
    const file = this.#files.get(idHex);
    if (!file) return;
    file.have.set(index);
    for (const listener of this.#haveListeners) listener(idHex, index);
  }

  /** Calls `listener` for every chunk a download in progress gains (to send HAVE). */
  onHave(listener: (idHex: string, index: number) => void): () => void {
    this.#haveListeners.add(listener);
    return () => this.#haveListeners.delete(listener);
  }

  /**
   * Shares a whole file from disk. Reuses the saved manifest when the file's
   * size and modification time are unchanged; otherwise hashes it in a worker.
   *
   * @param path the file
   * @param options progress callback, chunk size, and the size from which a
   *   just-changed file waits for its ctime to age before it is hashed
   *   (default {@linkcode WAIT_FOR_CTIME_FROM_BYTES})
   * @returns the shared file
   * @throws {SeedError} when the file cannot be read or its name cannot be shared
   */
  async seedPath(
    path: string,
    options: {
      onProgress?: (bytes: number, size: number) => void;
      chunkSize?: number;
      waitForCtimeFromBytes?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<SharedFile> {
    const folderInfo = await Deno.stat(resolve(path)).catch(() => null);
    if (folderInfo?.isDirectory) return await this.seedFolder(path, options);
    const { absolute, name, info, chunkSize: sizeChunk } = await checkSeedable(
      path,
      "seed",
    );
    if (await this.#inStateFolder(absolute)) {
      // Resume data, part files and the web page's token are this peer's
      // own: never published, whatever path or link names them.
      throw new SeedError(
        `Cannot seed ${absolute}: it is in this peer's state folder`,
      );
    }
    const mtimeMs = info.mtime?.getTime() ?? 0;
    const ctimeMs = info.ctime?.getTime() ?? null;
    const saved = (await this.#loadSaved()).find((seed) =>
      seed.path === absolute && seed.size === info.size &&
      seed.mtimeMs === mtimeMs
    );
    // The saved manifest is trusted without hashing each chunk only if
    // nothing touched the file since (its ctime cannot be set by users).
    let trustedCtimeMs = saved && saved.ctimeMs === ctimeMs ? ctimeMs : null;
    // File times may be whole seconds: a ctime this close to the hashing could
    // hide a change made in the same second, so it is not trusted (as git's
    // "racily clean" entries are not).
    let manifestBytes = saved ? await this.#loadManifest(saved.id) : null;
    const chunkSize = options.chunkSize ?? sizeChunk;
    if (!manifestBytes && chunkSize === null) {
      // Said before hashing, not after: the largest chunks hold 1 TiB.
      throw tooLargeError(absolute, info.size, "seed");
    }
    if (!manifestBytes) {
      const waitFrom = options.waitForCtimeFromBytes ??
        WAIT_FOR_CTIME_FROM_BYTES;
      if (ctimeMs !== null && info.size >= waitFrom) await ctimeAged(ctimeMs);
      const hashStartMs = Date.now();
      const built = await buildManifest(
        absolute,
        name,
        chunkSize!,
        (bytes) => options.onProgress?.(bytes, info.size),
        options.signal,
      );
      manifestBytes = built.manifestBytes;
      trustedCtimeMs =
        ctimeMs !== null && ctimeMs <= hashStartMs - CTIME_SLACK_MS
          ? ctimeMs
          : null;
      if (built.mtimeMs !== mtimeMs || built.size !== info.size) {
        throw new SeedError(
          `Cannot seed ${absolute}: it changed while it was being hashed; try again`,
        );
      }
    }
    return await this.#shareWhole(manifestBytes, absolute, {
      mtimeMs,
      ctimeMs: trustedCtimeMs,
      size: info.size,
    });
  }

  /**
   * Lists a whole, checked file as shared and remembers it for the next
   * start.
   *
   * @param manifestBytes its manifest
   * @param path where it is
   * @param seen its modification time, the change time that vouches for
   *   its bytes (null: none does) and its size
   */
  async #shareWhole(
    manifestBytes: Uint8Array,
    path: string,
    seen: { mtimeMs: number; ctimeMs: number | null; size: number },
  ): Promise<SharedFile> {
    const id = fileIdOf(manifestBytes);
    // A view of manifestBytes, which the file keeps anyway: 8 MiB of chunk
    // hashes for a 128 GiB file, once rather than twice.
    const manifest = parseManifest(manifestBytes, { viewHashes: true });
    const file: SharedFile = {
      id,
      idHex: toHex(id),
      manifest,
      manifestBytes,
      path,
      have: Bitfield.full(manifest.chunkCount),
      mtimeMs: seen.mtimeMs,
      ctimeMs: seen.ctimeMs,
      stale: false,
    };
    await this.#remember(file, seen.size);
    this.add(file);
    return file;
  }

  /**
   * Shares a folder as one BitTorrent v2 multi-file torrent: listed and
   * hashed in a worker (links never followed, hidden entries skipped), then
   * one library entry whose id is the folder's v2 infohash. Seeded again
   * (after a restart) without hashing while every file is still the file
   * hashed, with the same size and modification time, as a single file is.
   *
   * @param path the folder
   * @param options progress callback (bytes hashed, total bytes)
   * @returns the folder's entry; `folder.skipped` says what was left out
   * @throws {SeedError} when the folder cannot be shared
   */
  async seedFolder(
    path: string,
    options: {
      onProgress?: (bytes: number, size: number) => void;
      signal?: AbortSignal;
    } = {},
  ): Promise<SharedFile> {
    const absolute = resolve(path);
    if (await this.#inStateFolder(absolute)) {
      throw new SeedError(
        `Cannot seed ${absolute}: it is in this peer's state folder`,
      );
    }
    const before = (await this.#loadSaved()).find((seed) =>
      seed.path === absolute
    );
    const saved = before ? await this.#loadFolder(before.id) : null;
    const built = await buildFolder(
      absolute,
      options.onProgress,
      saved ?? undefined,
      options.signal,
    );
    // Our own worker's, built by the encoder that wrote these bytes: not
    // parsed nor hashed again on the peer's event loop (a third of a second
    // each for 10,000 files).
    const { id, manifest } = built;
    const entry = sharedFolderOf(
      id,
      toHex(id),
      manifest,
      built.manifestBytes,
      absolute,
      built.files,
      built.hashStartMs,
    );
    entry.folder!.skipped = built.skipped;
    await this.#remember(entry, manifest.size);
    // Each file as hashed, with the change time trusted then (or null): a
    // restart reuses the manifest while every file is still that file.
    const trusted = new Map(
      entry.folder!.parts.map((part) => [part.path, part.ctimeMs ?? null]),
    );
    const files = built.files.map((file) => ({
      ...file,
      ctimeMs: trusted.get(file.absolute) ?? null,
    }));
    await Deno.writeTextFile(
      join(this.#stateDir, "manifests", `${entry.idHex}.files.json`),
      JSON.stringify({ files }),
    );
    this.add(entry);
    return entry;
  }

  /** What was saved of a folder seeded before, or null. */
  async #loadFolder(idHex: string): Promise<SavedFolder | null> {
    const manifestBytes = await this.#loadManifest(idHex);
    if (!manifestBytes) return null;
    try {
      const parsed: unknown = JSON.parse(
        await Deno.readTextFile(
          join(this.#stateDir, "manifests", `${idHex}.files.json`),
        ),
      );
      const files = (parsed as { files?: unknown })?.files;
      return Array.isArray(files) && files.every(isBuiltFile)
        ? { manifestBytes, files }
        : null;
    } catch {
      // Missing or damaged: the folder is hashed again.
      return null;
    }
  }

  /** True when `path`, links resolved, is inside the state folder. */
  async #inStateFolder(path: string): Promise<boolean> {
    const real = await Deno.realPath(path);
    const state = await Deno.realPath(this.#stateDir).catch(() =>
      resolve(this.#stateDir)
    );
    return real === state || real.startsWith(state + SEP);
  }

  /**
   * Shares a file this peer just downloaded and checked, without hashing it
   * again, and remembers it so a restart seeds it too.
   *
   * @param path the checked file
   * @param manifestBytes its manifest
   * @returns the shared file
   */
  async addDownloaded(
    path: string,
    manifestBytes: Uint8Array,
  ): Promise<SharedFile> {
    const info = await Deno.stat(path);
    return await this.#shareWhole(manifestBytes, resolve(path), {
      mtimeMs: info.mtime?.getTime() ?? 0,
      // Just renamed into place: too recent to vouch for the bytes.
      ctimeMs: null,
      size: info.size,
    });
  }

  /**
   * Shares a folder this peer just downloaded and checked, without hashing
   * it again, and remembers it so a restart seeds it too.
   *
   * @param path the folder, in place
   * @param folder its manifest
   * @param manifestBytes the manifest's bytes
   * @returns the shared folder
   */
  async addDownloadedFolder(
    path: string,
    folder: FolderManifest,
    manifestBytes: Uint8Array,
  ): Promise<SharedFile> {
    const absolute = resolve(path);
    const files = await downloadedFiles(absolute, folder);
    const id = fileIdOf(manifestBytes);
    // A hashing start of 0: no change time vouches for the bytes yet.
    const entry = sharedFolderOf(
      id,
      toHex(id),
      folder,
      manifestBytes,
      absolute,
      files,
      0,
    );
    await this.#remember(entry, folder.size);
    await Deno.writeTextFile(
      join(this.#stateDir, "manifests", `${entry.idHex}.files.json`),
      JSON.stringify({ files }),
    );
    this.add(entry);
    return entry;
  }

  /**
   * Shares again every file this peer seeded before (from its state folder),
   * skipping files that are gone. Files that changed are hashed again.
   *
   * @param options `seedingNext`: paths about to be seeded anyway; a
   *   folder among them is skipped here, so it is hashed once, not twice
   * @returns the files now shared, one line per file that could not be,
   *   and how many were hashed again because an earlier Shoal saved them
   */
  async restore(
    options: { seedingNext?: readonly string[] } = {},
  ): Promise<
    { files: SharedFile[]; problems: string[]; rehashed: number }
  > {
    const files: SharedFile[] = [];
    const problems: string[] = [];
    const legacyBefore = this.#legacySeen;
    const next = new Set(options.seedingNext ?? []);
    for (const seed of await this.#loadSaved()) {
      if (next.has(seed.path)) {
        const info = await Deno.stat(seed.path).catch(() => null);
        if (info?.isDirectory) continue;
      }
      try {
        files.push(await this.seedPath(seed.path));
      } catch (error) {
        if (!(error instanceof SeedError)) throw error;
        problems.push(error.message);
      }
    }
    return { files, problems, rehashed: this.#legacySeen - legacyBefore };
  }

  async #loadSaved(): Promise<SavedSeed[]> {
    try {
      const parsed: unknown = JSON.parse(
        await Deno.readTextFile(join(this.#stateDir, SEEDS_FILE)),
      );
      const list = (parsed as { files?: unknown })?.files;
      return Array.isArray(list) ? list.filter(isSavedSeed) : [];
    } catch (error) {
      if (
        error instanceof Deno.errors.NotFound || error instanceof SyntaxError
      ) return [];
      throw error;
    }
  }

  async #loadManifest(idHex: string): Promise<Uint8Array | null> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(
        join(this.#stateDir, "manifests", `${idHex}.manifest`),
      );
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    if (isLegacyManifest(bytes)) {
      // Shoal before BitTorrent v2: its ids and chunk hashes mean nothing
      // now. Never served nor trusted: the file is hashed again.
      this.#legacySeen++;
      return null;
    }
    try {
      const id = fromHex(idHex);
      return id && bytesEqual(fileIdOf(bytes), id) ? bytes : null;
    } catch (error) {
      if (error instanceof ProtocolError) return null;
      throw error;
    }
  }

  async #remember(file: SharedFile, size: number): Promise<void> {
    await Deno.mkdir(join(this.#stateDir, "manifests"), { recursive: true });
    await Deno.writeFile(
      join(this.#stateDir, "manifests", `${file.idHex}.manifest`),
      file.manifestBytes,
    );
    await this.#updateSeeds((saved) => {
      const seeds = saved.filter((seed) => seed.path !== file.path);
      seeds.push({
        path: file.path,
        size,
        mtimeMs: file.mtimeMs ?? 0,
        ...(file.ctimeMs != null ? { ctimeMs: file.ctimeMs } : {}),
        id: file.idHex,
      });
      return seeds;
    });
  }

  /**
   * Reads, changes and writes the seed list, one change at a time: two
   * downloads that finish together must not both write the same temporary
   * file, nor lose each other's entry.
   *
   * @param change the new list, or null to leave the file as it is
   */
  #updateSeeds(
    change: (saved: SavedSeed[]) => SavedSeed[] | null,
  ): Promise<void> {
    const run = this.#seedsQueue.then(async () => {
      const seeds = change(await this.#loadSaved());
      if (seeds) await this.#saveSeeds(seeds);
    });
    // The next change waits for this one, whether it worked or not.
    this.#seedsQueue = run.catch(() => {});
    return run;
  }

  async #saveSeeds(seeds: SavedSeed[]): Promise<void> {
    await writeJsonFile(join(this.#stateDir, SEEDS_FILE), {
      version: 1,
      files: seeds,
    });
  }
}

/**
 * Hashes a file in a manifest worker.
 *
 * @param path the file
 * @param name the name to record
 * @param chunkSize chunk size
 * @param onProgress bytes hashed so far
 * @param signal stops the hashing (the promise rejects with its reason)
 * @returns the manifest bytes and the file's size and modification time
 */
export function buildManifest(
  path: string,
  name: string,
  chunkSize: number,
  onProgress?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<{ manifestBytes: Uint8Array; mtimeMs: number; size: number }> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(
      new URL("../workers/manifest_worker.ts", import.meta.url),
      { type: "module" },
    );
    const forget = terminateOnAbort(worker, signal, reject);
    worker.onmessage = (message: MessageEvent<unknown>) => {
      const event = message.data;
      if (!isManifestWorkerEvent(event)) {
        forget();
        worker.terminate();
        reject(new TypeError("The manifest worker sent a malformed event"));
        return;
      }
      if (event.type === "progress") {
        onProgress?.(event.bytes);
        return;
      }
      forget();
      worker.terminate();
      if (event.type === "built") resolvePromise(event);
      else reject(new SeedError(`Cannot hash ${path}: ${event.message}`));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      forget();
      worker.terminate();
      reject(new Error(`The manifest worker crashed: ${event.message}`));
    };
    worker.postMessage({ type: "build", path, name, chunkSize });
  });
}

/** "SHMF": how manifests began before they were BitTorrent v2 info dictionaries. */
const LEGACY_MANIFEST_MAGIC = [0x53, 0x48, 0x4d, 0x46];

/** Whether `bytes` are a manifest in the format before BitTorrent v2. */
export function isLegacyManifest(bytes: Uint8Array): boolean {
  return LEGACY_MANIFEST_MAGIC.every((byte, i) => bytes[i] === byte);
}
