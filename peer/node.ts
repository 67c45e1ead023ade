/**
 * A running peer: its library of shared files, its TCP server, an
 * announcer per tracker that keeps each tracker up to date, and its DHT
 * node. The command line and the web page both drive a peer through this
 * class.
 *
 * @module
 */
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import {
  type FileQuery,
  fromHex,
  type RequestQuery,
  toHex,
} from "@shoal/protocol";
import { partPathFor } from "./storage/part_file.ts";
import { folderPartsPath } from "./storage/folder_parts.ts";
import { resumePath } from "./storage/resume.ts";
import { Library, type SharedFile } from "./library/library.ts";
import { PeerServer, type UploadPeer } from "./wire/server.ts";
import type {
  ListResult,
  RequestResult,
  TrackerCallOptions,
} from "./tracker_client.ts";
import { Announcer } from "./announcer.ts";
import { Bep15Announcer } from "./bep15_announcer.ts";
import type { HostPort } from "./cli_flags.ts";
import { TrackerSet } from "./discovery/trackers.ts";
import { MultiFinder } from "./discovery/multi_finder.ts";
import { DhtNode } from "./dht/dht_node.ts";
import { ConnectedPeers } from "./discovery/connected_peers.ts";
import { BanList } from "./swarm/ban_list.ts";
import { loadTotals, saveTotals, type Totals } from "./totals_file.ts";
import { lockStateDir, type StateLock } from "./storage/state_lock.ts";
import {
  download,
  type DownloadOptions,
  type DownloadResult,
} from "./download/download.ts";

const logger = getLogger(["shoal", "peer"]);

/** How often the all-time totals are written while the peer runs (and at close). */
const TOTALS_SAVE_MS = 30_000;

/** The DHT settings of a peer (see peer/dht/). */
export interface PeerDhtOptions {
  /** UDP port, 0 for any. @default {0} */
  port?: number;
  /** Nodes to join through; loopback ones only keep the DHT on loopback. */
  bootstrap: HostPort[];
  /** Wait before the DHT worker starts (see DhtNodeOptions). @default {0} */
  startDelayMs?: number;
}

/** A tracker's index of names: finding a file by name, listing files. */
export interface TrackerIndex {
  /** Asks every tracker (see MultiFinder). */
  request(query: RequestQuery, wanted?: number): Promise<RequestResult>;
  /** One page of names, from the first tracker that answers. */
  list(
    query: string,
    offset?: number,
    options?: TrackerCallOptions,
  ): Promise<ListResult>;
}

/** Options for {@linkcode PeerNode.start}. */
export interface PeerNodeOptions {
  /** The trackers to register with and ask (possibly none, with the DHT on). */
  trackers: HostPort[];
  /** The DHT, or null/absent for none. @default {null} */
  dht?: PeerDhtOptions | null;
  /** Exchange peers with connected peers (PEX, BEP 11). @default {true} */
  pex?: boolean;
  /** Download folder; the peer's state lives in its `.shoal` folder. */
  outDir: string;
  /** Address to serve peers on ("::" serves IPv6 and IPv4). @default {"::"} */
  hostname?: string;
  /** TCP port to serve peers on; 0 picks one. @default {0} */
  port?: number;
  /** Serve and announce files (false for a download-only run). @default {true} */
  serve?: boolean;
  /** Keepalive interval override, for tests. */
  keepaliveMs?: number;
  /** How often the all-time totals are saved while running. @default {30_000} */
  totalsSaveMs?: number;
  /** Called when a peer is dropped for breaking the protocol. */
  onMisbehaviour?: (reason: string, remote: string) => void;
  /** Serve the chunks of downloads in progress (partial seeding). @default {true} */
  partialSeeding?: boolean;
  /** Upload limit in bytes per second; none when absent. */
  maxUploadBytesPerSecond?: number;
  /** Download limit in bytes per second (per download); none when absent. */
  maxDownloadBytesPerSecond?: number;
  /** Upload slots (regular plus one optimistic). @default {5} */
  uploadSlots?: number;
  /** Most connections one address (an IPv6 /64) may hold on our server. @default {8} */
  maxConnectionsPerAddress?: number;
}

/** Rate limits and upload slots, as the page sets them. */
export interface PeerLimits {
  /** Upload limit in bytes per second; null for none. */
  maxUploadBytesPerSecond: number | null;
  /** Download limit in bytes per second (per download); null for none. */
  maxDownloadBytesPerSecond: number | null;
  /** Upload slots (regular plus one optimistic); 0 when not serving. */
  uploadSlots: number;
}

/**
 * One peer process's state.
 *
 * @example
 * ```ts
 * // const node = await PeerNode.start({ trackers: [{ host: "127.0.0.1", port: 6969 }], outDir: "downloads" });
 * // await node.seed("big.iso"); ... await node.close();
 * ```
 */
export class PeerNode {
  /** This run's random peer id. */
  readonly peerId: Uint8Array = crypto.getRandomValues(new Uint8Array(16));
  /** The files this peer shares. */
  readonly library: Library;
  /** The download folder. */
  readonly outDir: string;
  /** The state folder. */
  readonly stateDir: string;
  readonly #trackers: TrackerSet;
  readonly #finder: MultiFinder;
  readonly #dht: DhtNode | null;
  readonly #server: PeerServer | null;
  readonly #announcers: Announcer[];
  /** One per BitTorrent (BEP 15) tracker, so BitTorrent clients find us. */
  readonly #bep15Announcers: Bep15Announcer[];
  #unsubscribe: (() => void) | null = null;
  #received = new Map<string, number>();
  /** Who we are connected to per file, for PEX; null when PEX is off. */
  #pex: ConnectedPeers | null = null;
  /** Peers that sent bad data, shared by the server and the downloads. */
  #bans = new BanList();
  readonly #partialSeeding: boolean;
  #maxDownloadBytesPerSecond: number | null;
  #downloadedBytes = 0;
  /** The totals of earlier runs, read from the state folder at start. */
  #earlier: Totals = { uploadedBytes: 0, downloadedBytes: 0 };
  /** The totals last written, so an idle peer writes nothing. */
  #savedTotals: Totals = { uploadedBytes: 0, downloadedBytes: 0 };
  #totalsTimer: ReturnType<typeof setInterval> | undefined;
  /** Saves run one after another (they share a temporary file). */
  #savingTotals: Promise<void> = Promise.resolve();
  /** This process's hold on the state folder, dropped by close(). */
  #stateLock: StateLock | null = null;

  private constructor(
    options: PeerNodeOptions,
    trackers: TrackerSet,
    library: Library,
    server: PeerServer | null,
    dht: DhtNode | null,
  ) {
    this.outDir = options.outDir;
    this.#partialSeeding = options.partialSeeding ?? true;
    this.#maxDownloadBytesPerSecond = options.maxDownloadBytesPerSecond || null;
    this.stateDir = join(options.outDir, ".shoal");
    this.library = library;
    this.#trackers = trackers;
    this.#dht = dht;
    this.#finder = new MultiFinder(trackers.sources, {
      dht,
      onTrackerFailure: (address, error) =>
        logger.debug("Tracker {address} did not answer: {message}", {
          address,
          message: error instanceof Error ? error.message : String(error),
        }),
    });
    this.#server = server;
    this.#announcers = server
      ? trackers.clients.map((tracker) =>
        new Announcer(tracker, {
          peerId: this.peerId,
          port: server.port,
          files: () => library.announcements(),
          ...(options.keepaliveMs !== undefined
            ? { intervalMs: options.keepaliveMs }
            : {}),
        })
      )
      : [];
    for (const client of trackers.bep15) client.listenPort = server?.port ?? 0;
    this.#bep15Announcers = server
      ? trackers.bep15.map((client) =>
        new Bep15Announcer(client, {
          port: server.port,
          files: () => library.announcements(),
          ...(options.keepaliveMs !== undefined
            ? { intervalMs: options.keepaliveMs }
            : {}),
        })
      )
      : [];
    const announcers = this.#announcers;
    const bep15Announcers = this.#bep15Announcers;
    if (announcers.length > 0 || bep15Announcers.length > 0 || dht) {
      this.#unsubscribe = library.onChange(() => {
        for (const announcer of announcers) void announcer.announceNow();
        for (const announcer of bep15Announcers) announcer.announceNow();
        dht?.announceNew();
      });
    }
  }

  /**
   * Opens the tracker clients, the TCP server (unless `serve` is false) and
   * the DHT node (when asked for; it joins in the background), once this
   * process holds the download folder's state (one peer per folder).
   *
   * @throws {StateInUseError} when another peer uses the same folder
   */
  static async start(options: PeerNodeOptions): Promise<PeerNode> {
    // One peer per download folder: a second one is refused before it
    // touches anything (state_lock.ts).
    const stateLock = await lockStateDir(join(options.outDir, ".shoal"));
    try {
      const node = await PeerNode.#open(options);
      node.#stateLock = stateLock;
      return node;
    } catch (error) {
      stateLock.release();
      throw error;
    }
  }

  static async #open(options: PeerNodeOptions): Promise<PeerNode> {
    const trackers = await TrackerSet.detect(options.trackers);
    const library = new Library(join(options.outDir, ".shoal"));
    const pex = options.pex === false ? null : new ConnectedPeers();
    // Bytes each remote peer sent us, read and reset by the choker every round.
    const received = new Map<string, number>();
    // Peers that sent bad data: downloads add them, the server refuses them.
    const bans = new BanList();
    let server: PeerServer | null;
    try {
      server = options.serve === false ? null : PeerServer.listen({
        library,
        ...(pex ? { pex } : {}),
        hostname: options.hostname ?? "::",
        port: options.port ?? 0,
        ...(options.onMisbehaviour
          ? { onMisbehaviour: options.onMisbehaviour }
          : {}),
        ...(options.uploadSlots !== undefined
          ? { uploadSlots: options.uploadSlots }
          : {}),
        ...(options.maxUploadBytesPerSecond !== undefined
          ? { maxUploadBytesPerSecond: options.maxUploadBytesPerSecond }
          : {}),
        ...(options.maxConnectionsPerAddress !== undefined
          ? { maxConnectionsPerAddress: options.maxConnectionsPerAddress }
          : {}),
        bans,
        takeReceived: (key) => {
          const bytes = received.get(key) ?? 0;
          received.delete(key);
          return bytes;
        },
      });
    } catch (error) {
      // A port in use: nothing is left open behind the error.
      await trackers.close();
      throw error;
    }
    let dht: DhtNode | null;
    try {
      dht = options.dht
        ? await DhtNode.start({
          stateDir: join(options.outDir, ".shoal"),
          bootstrap: options.dht.bootstrap,
          ...(options.dht.port !== undefined ? { port: options.dht.port } : {}),
          ...(options.dht.startDelayMs !== undefined
            ? { startDelayMs: options.dht.startDelayMs }
            : {}),
          tcpPort: server?.port ?? 0,
          // Complete files and, with partial seeding, downloads in progress.
          files: () => library.announcements().map((file) => file.id),
        })
        : null;
    } catch (error) {
      await server?.close();
      await trackers.close();
      throw error;
    }
    const node = new PeerNode(options, trackers, library, server, dht);
    node.#received = received;
    node.#pex = pex;
    node.#bans = bans;
    node.#earlier = await loadTotals(node.stateDir).catch(() => node.#earlier);
    node.#savedTotals = node.#earlier;
    node.#totalsTimer = setInterval(
      () => void node.saveTotals(),
      options.totalsSaveMs ?? TOTALS_SAVE_MS,
    );
    return node;
  }

  /** The TCP port peers connect to (0 when not serving). */
  get port(): number {
    return this.#server?.port ?? 0;
  }

  /** Bytes of chunk data uploaded so far. */
  get uploadedBytes(): number {
    return this.#server?.uploadedBytes ?? 0;
  }

  /** Bytes of chunk data downloaded from peers so far (every download). */
  get downloadedBytes(): number {
    return this.#downloadedBytes;
  }

  /** Bytes uploaded and downloaded over all runs (kept in the state folder). */
  get totals(): Totals {
    return {
      uploadedBytes: this.#earlier.uploadedBytes + this.uploadedBytes,
      downloadedBytes: this.#earlier.downloadedBytes + this.#downloadedBytes,
    };
  }

  /**
   * Writes the totals to the state folder when they changed since the last
   * write. A failed write is logged; the next one tries again.
   */
  saveTotals(): Promise<void> {
    const run = this.#savingTotals.then(async () => {
      const totals = this.totals;
      if (
        totals.uploadedBytes === this.#savedTotals.uploadedBytes &&
        totals.downloadedBytes === this.#savedTotals.downloadedBytes
      ) return;
      try {
        await saveTotals(this.stateDir, totals);
        this.#savedTotals = totals;
      } catch (error) {
        logger.warn("Cannot save the upload and download totals: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
    this.#savingTotals = run;
    return run;
  }

  /** The rate limits (null: none) and upload slots now. */
  get limits(): PeerLimits {
    const server = this.#server?.limits;
    return {
      maxUploadBytesPerSecond: server?.maxUploadBytesPerSecond ?? null,
      maxDownloadBytesPerSecond: this.#maxDownloadBytesPerSecond,
      uploadSlots: server?.slots ?? 0,
    };
  }

  /**
   * Changes the rate limits and upload slots while running; downloads in
   * progress follow the new download limit at once.
   *
   * @param limits what to change (null: no limit)
   */
  setLimits(limits: Partial<PeerLimits>): void {
    if (limits.maxDownloadBytesPerSecond !== undefined) {
      this.#maxDownloadBytesPerSecond = limits.maxDownloadBytesPerSecond ||
        null;
    }
    this.#server?.setLimits({
      ...(limits.maxUploadBytesPerSecond !== undefined
        ? { maxUploadBytesPerSecond: limits.maxUploadBytesPerSecond }
        : {}),
      ...(limits.uploadSlots !== undefined
        ? { slots: limits.uploadSlots }
        : {}),
    });
  }

  /**
   * Recent upload rates of one file, by peer ("host:port" of its server).
   *
   * @param fileIdHex the file
   * @returns bytes per second, by peer
   */
  uploadRates(fileIdHex: string): Map<string, number> {
    return this.#server?.uploadRates(fileIdHex) ?? new Map();
  }

  /**
   * The peers sent some of one file lately: address, program, protocol, rate.
   *
   * @param fileIdHex the file
   */
  uploadPeers(fileIdHex: string): UploadPeer[] {
    return this.#server?.uploadPeers(fileIdHex) ?? [];
  }

  /**
   * Deletes what a stopped download kept to resume (its part file, or a
   * folder's part files, and resume state); the next download of it starts
   * from nothing.
   *
   * @param fileIdHex the file
   */
  async discardPartial(fileIdHex: string): Promise<void> {
    const id = fromHex(fileIdHex);
    if (!id) return;
    const file = this.library.get(id);
    if (file && !file.have.complete) this.library.remove(id);
    for (
      const path of [
        partPathFor(this.stateDir, id),
        folderPartsPath(this.stateDir, id),
        resumePath(this.stateDir, id),
      ]
    ) {
      await Deno.remove(path, { recursive: true }).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }

  /** Peers sent at least one chunk so far. */
  get uploadedPeers(): number {
    return this.#server?.uploadedPeers ?? 0;
  }

  /** The trackers' index of names, for lookups by name and lists. */
  get tracker(): TrackerIndex {
    return {
      request: (query, wanted) => this.#finder.request(query, wanted),
      list: (query, offset, options) =>
        this.#trackers.list(query, offset, options),
    };
  }

  /** The trackers in use, as "host:port". */
  get trackerAddresses(): string[] {
    return this.#trackers.addresses;
  }

  /** The DHT node, or null when the DHT is off. */
  get dht(): DhtNode | null {
    return this.#dht;
  }

  /** Starts announcing (after the first files are added, to register them at once). */
  startAnnouncing(): void {
    for (const announcer of this.#announcers) announcer.start();
    for (const announcer of this.#bep15Announcers) announcer.start();
    this.#dht?.announceNew();
  }

  /** Announces to every tracker now and waits for the round (best effort). */
  async announceNow(): Promise<void> {
    await Promise.all(
      this.#announcers.map((announcer) => announcer.announceNow()),
    );
  }

  /**
   * Shares a file from disk (hashing it in a worker unless unchanged since last time).
   *
   * @param path the file
   * @param onProgress bytes hashed so far, and the file size
   * @param signal stops the hashing (the promise rejects with its reason)
   */
  seed(
    path: string,
    onProgress?: (bytes: number, size: number) => void,
    signal?: AbortSignal,
  ): Promise<SharedFile> {
    return this.library.seedPath(path, {
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * Downloads a file into the download folder; unless this peer does not
   * serve, it then seeds it and tells the tracker (BECOME_SEEDER).
   *
   * @param query `{ name }` or `{ id }`
   * @param options progress callback, signal, limits
   */
  async download(
    query: FileQuery,
    options: Omit<
      DownloadOptions,
      "finder" | "query" | "outDir" | "peerId" | "listenPort" | "stateDir"
    > = {},
  ): Promise<DownloadResult> {
    const sharePartial = this.#server !== null && this.#partialSeeding;
    let partialId: Uint8Array | null = null;
    /** The entry served while downloading (connections opened meanwhile hold it). */
    let partial = null as SharedFile | null;
    let result: DownloadResult;
    try {
      result = await download({
        downloadLimit: () => this.#maxDownloadBytesPerSecond,
        bans: this.#bans,
        ...options,
        finder: this.#finder,
        query,
        outDir: this.outDir,
        stateDir: this.stateDir,
        peerId: this.peerId,
        listenPort: this.port,
        ...(this.#pex ? { pex: this.#pex } : {}),
        alreadyHave: (id) => {
          // A file this peer seeds whole is not fetched again.
          const file = this.library.get(id);
          return file?.have.complete
            ? { path: file.path, manifestBytes: file.manifestBytes }
            : null;
        },
        onStart: (info) => {
          options.onStart?.(info);
          if (!sharePartial) return;
          // Serve every checked chunk while the rest arrives (the bitfield is shared).
          partialId = info.fileId;
          partial = {
            id: info.fileId,
            idHex: toHex(info.fileId),
            manifest: info.manifest,
            manifestBytes: info.manifestBytes,
            path: info.partPath,
            have: info.have,
            mtimeMs: null,
            stale: false,
          };
          this.library.add(partial);
        },
        onChunk: (index) => {
          options.onChunk?.(index);
          if (partialId) this.library.markChunk(partialId, index);
        },
        onChunkFrom: (key, bytes) => {
          options.onChunkFrom?.(key, bytes);
          this.#downloadedBytes += bytes;
          this.#received.set(key, (this.#received.get(key) ?? 0) + bytes);
        },
      });
    } catch (error) {
      if (partialId) this.library.remove(partialId);
      throw error;
    }
    // A folder fetched in part (--only) is not shared: its id names every file.
    const whole = !result.chosen || result.chosen.every((chosen) => chosen);
    if (this.#server && !result.alreadyKept && whole) {
      const file = result.folder
        ? await this.library.addDownloadedFolder(
          result.path,
          result.folder,
          result.manifestBytes,
        )
        : await this.library.addDownloaded(
          result.path,
          result.manifestBytes,
        );
      // Connections opened while it downloaded hold the partial entry, and
      // its open file, which is now the placed file: from here on they check
      // that file's times before each chunk, as the new entry does, so a
      // file its owner changes stops being served (still_matches.ts).
      if (partial !== null && !file.folder) {
        partial.path = file.path;
        partial.mtimeMs = file.mtimeMs;
        partial.ctimeMs = file.ctimeMs ?? null;
      }
      await Promise.all(
        this.#announcers.map((announcer) =>
          announcer.becomeSeeder({
            id: file.id,
            name: file.manifest.name,
            size: file.manifest.size,
            chunkCount: file.manifest.chunkCount,
            complete: true,
          })
        ),
      );
    }
    return result;
  }

  /** Leaves the trackers, closes every connection, the tracker clients and the DHT. */
  async close(): Promise<void> {
    clearInterval(this.#totalsTimer);
    this.#unsubscribe?.();
    await Promise.all([
      ...this.#announcers.map((announcer) => announcer.stop()),
      ...this.#bep15Announcers.map((announcer) => announcer.stop()),
      this.#dht?.close(),
    ]);
    await this.#server?.close();
    await this.#trackers.close();
    await this.saveTotals();
    this.#stateLock?.release();
    this.#stateLock = null;
  }
}
