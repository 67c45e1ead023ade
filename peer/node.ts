/**
 * A running peer: its library of shared files, its TCP server, and its
 * announcer that keeps the tracker up to date. The command line and the web
 * page both drive a peer through this class.
 *
 * @module
 */
import { join } from "node:path";
import { type FileQuery, fromHex, toHex } from "@shoal/protocol";
import { partPathFor } from "./storage/part_file.ts";
import { resumePath } from "./storage/resume.ts";
import { Library, type SharedFile } from "./library/library.ts";
import { PeerServer } from "./wire/server.ts";
import { TrackerClient } from "./tracker_client.ts";
import { Announcer } from "./announcer.ts";
import {
  download,
  type DownloadOptions,
  type DownloadResult,
} from "./download/download.ts";

/** Options for {@linkcode PeerNode.start}. */
export interface PeerNodeOptions {
  /** Tracker host. */
  trackerHost: string;
  /** Tracker UDP port. */
  trackerPort: number;
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
 * // const node = await PeerNode.start({ trackerHost: "127.0.0.1", trackerPort: 6969, outDir: "downloads" });
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
  readonly #tracker: TrackerClient;
  readonly #server: PeerServer | null;
  readonly #announcer: Announcer | null;
  #unsubscribe: (() => void) | null = null;
  #received = new Map<string, number>();
  readonly #partialSeeding: boolean;
  #maxDownloadBytesPerSecond: number | null;
  #downloadedBytes = 0;

  private constructor(
    options: PeerNodeOptions,
    tracker: TrackerClient,
    library: Library,
    server: PeerServer | null,
  ) {
    this.outDir = options.outDir;
    this.#partialSeeding = options.partialSeeding ?? true;
    this.#maxDownloadBytesPerSecond = options.maxDownloadBytesPerSecond || null;
    this.stateDir = join(options.outDir, ".shoal");
    this.library = library;
    this.#tracker = tracker;
    this.#server = server;
    this.#announcer = server
      ? new Announcer(tracker, {
        peerId: this.peerId,
        port: server.port,
        files: () => library.announcements(),
        ...(options.keepaliveMs !== undefined
          ? { intervalMs: options.keepaliveMs }
          : {}),
      })
      : null;
    if (this.#announcer) {
      const announcer = this.#announcer;
      this.#unsubscribe = library.onChange(() => void announcer.announceNow());
    }
  }

  /** Opens the tracker client and, unless `serve` is false, the TCP server. */
  static async start(options: PeerNodeOptions): Promise<PeerNode> {
    const tracker = await TrackerClient.open({
      host: options.trackerHost,
      port: options.trackerPort,
    });
    const library = new Library(join(options.outDir, ".shoal"));
    // Bytes each remote peer sent us, read and reset by the choker every round.
    const received = new Map<string, number>();
    let server: PeerServer | null;
    try {
      server = options.serve === false ? null : PeerServer.listen({
        library,
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
        takeReceived: (key) => {
          const bytes = received.get(key) ?? 0;
          received.delete(key);
          return bytes;
        },
      });
    } catch (error) {
      // A port in use: nothing is left open behind the error.
      await tracker.close();
      throw error;
    }
    const node = new PeerNode(options, tracker, library, server);
    node.#received = received;
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
   * Deletes what a stopped download kept to resume (its part file and
   * resume state); the next download of it starts from nothing.
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
        resumePath(this.stateDir, id),
      ]
    ) {
      await Deno.remove(path).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }

  /** Peers sent at least one chunk so far. */
  get uploadedPeers(): number {
    return this.#server?.uploadedPeers ?? 0;
  }

  /** The tracker client, for lookups. */
  get tracker(): TrackerClient {
    return this.#tracker;
  }

  /** Starts announcing (after the first files are added, to register them at once). */
  startAnnouncing(): void {
    this.#announcer?.start();
  }

  /** Announces now and waits for the round (best effort). */
  async announceNow(): Promise<void> {
    await this.#announcer?.announceNow();
  }

  /**
   * Shares a file from disk (hashing it in a worker unless unchanged since last time).
   *
   * @param path the file
   * @param onProgress bytes hashed so far, and the file size
   */
  seed(
    path: string,
    onProgress?: (bytes: number, size: number) => void,
  ): Promise<SharedFile> {
    return this.library.seedPath(path, onProgress ? { onProgress } : {});
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
    let result: DownloadResult;
    try {
      result = await download({
        downloadLimit: () => this.#maxDownloadBytesPerSecond,
        ...options,
        finder: this.#tracker,
        query,
        outDir: this.outDir,
        stateDir: this.stateDir,
        peerId: this.peerId,
        listenPort: this.port,
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
          this.library.add({
            id: info.fileId,
            idHex: toHex(info.fileId),
            manifest: info.manifest,
            manifestBytes: info.manifestBytes,
            path: info.partPath,
            have: info.have,
            mtimeMs: null,
            stale: false,
          });
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
    if (this.#server && !result.alreadyKept) {
      const file = await this.library.addDownloaded(
        result.path,
        result.manifestBytes,
      );
      await this.#announcer?.becomeSeeder({
        id: file.id,
        name: file.manifest.name,
        size: file.manifest.size,
        chunkCount: file.manifest.chunkCount,
        complete: true,
      });
    }
    return result;
  }

  /** Leaves the tracker, closes every connection and the tracker client. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#announcer?.stop();
    await this.#server?.close();
    await this.#tracker.close();
  }
}
