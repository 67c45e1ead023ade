/**
 * The peer's DHT node, seen from the main thread: starts the DHT worker,
 * announces the files this peer serves (at once, then every
 * {@linkcode DHT_REANNOUNCE_MS}), looks up peers for downloads (one lookup
 * per file at a time, at most one every {@linkcode DHT_LOOKUP_INTERVAL_MS}),
 * and saves the routing table in the state folder.
 *
 * Nothing here waits for the network: a DHT with no network, or whose port
 * is taken, logs one line and answers every lookup with no peers.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type PeerAddress, toHex } from "@shoal/protocol";
import {
  type DhtAddress,
  type DhtWorkerCommand,
  type DhtWorkerEvent,
  isDhtWorkerEvent,
} from "@shoal/protocol/dht_worker_messages";
import type { DhtSource } from "../discovery/multi_finder.ts";
import { dhtAddressProblem, isLoopbackOnly } from "./address_policy.ts";
import { loadDhtState, saveDhtState } from "./routing_file.ts";

const logger = getLogger(["shoal", "peer", "dht"]);

/**
 * Announces are renewed this often. bittorrent-dht has no schedule of its
 * own; nodes forget peers after about 30 minutes (libtorrent), and
 * webtorrent (the library's own client) renews every 15.
 */
export const DHT_REANNOUNCE_MS = 15 * 60_000;
/** A new lookup of the same file waits at least this long after the last began. */
export const DHT_LOOKUP_INTERVAL_MS = 10_000;
/**
 * After a lookup that found nobody, the next may start this soon, then
 * twice as late each time up to the interval: a seeder that announced a
 * moment after a leecher's first lookup is found within seconds.
 */
export const DHT_EMPTY_RETRY_MS = 1_000;
/** A lookup that has not ended by then is taken as ended. */
export const DHT_LOOKUP_TIMEOUT_MS = 30_000;
/** The routing table is saved this often (and when the peer stops). */
export const DHT_SAVE_MS = 10 * 60_000;
/** Announces running at once (each is a lookup, then announce_peer queries). */
export const DHT_ANNOUNCE_PARALLEL = 4;
/** How long a peer with trackers waits before it starts its DHT worker. */
export const DHT_START_DELAY_MS = 1_000;
/** Longest wait for the worker when stopping. */
const STOP_WAIT_MS = 2_000;

/** Options for {@linkcode DhtNode.start}. */
export interface DhtNodeOptions {
  /** The state folder (dht.json is kept there). */
  stateDir: string;
  /** UDP port, 0 for any. @default {0} */
  port?: number;
  /** Nodes to join through. */
  bootstrap: readonly DhtAddress[];
  /** The TCP port peers reach us on; 0 when this peer does not serve. */
  tcpPort: number;
  /** The ids of the files to announce, read at every round. */
  files: () => Iterable<Uint8Array>;
  /** @default {DHT_REANNOUNCE_MS} */
  reannounceMs?: number;
  /** @default {DHT_LOOKUP_INTERVAL_MS} */
  lookupIntervalMs?: number;
  /**
   * Wait before the worker is created (lookups and announces wait with
   * it). A peer with trackers waits {@linkcode DHT_START_DELAY_MS}, so
   * that creating the worker does not hold up its first tracker answer.
   * @default {0}
   */
  startDelayMs?: number;
}

/** One file's lookups. */
interface FileLookups {
  running: Promise<void> | null;
  listeners: Set<(peers: PeerAddress[]) => void>;
  lastStartMs: number;
  /** Lookups in a row that found no peer. */
  empty: number;
}

/** What the DHT has done, for tests, benchmarks and the page. */
export interface DhtStatus {
  /** The UDP port, or 0 before it is bound (or when it could not be). */
  port: number;
  /** False once the DHT gave up (port taken, worker crashed). */
  running: boolean;
  /** Announces that got an answer. */
  announced: number;
  /** Lookups started. */
  lookups: number;
}

/**
 * A DHT node in a worker.
 *
 * @example
 * ```ts
 * import { DhtNode } from "./dht_node.ts";
 * // const dht = await DhtNode.start({
 * //   stateDir: "downloads/.shoal", bootstrap: [{ host: "127.0.0.1", port: 6881 }],
 * //   tcpPort: 7000, files: () => [],
 * // });
 * // await dht.close();
 * ```
 */
export class DhtNode implements DhtSource {
  #worker: Worker | null = null;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #startCommand: DhtWorkerCommand;
  /** Commands sent before the worker exists. */
  readonly #queued: DhtWorkerCommand[] = [];
  readonly #options: DhtNodeOptions;
  readonly #loopbackOnly: boolean;
  readonly #bootstrap: readonly DhtAddress[];
  readonly #status: DhtStatus = {
    port: 0,
    running: true,
    announced: 0,
    lookups: 0,
  };
  readonly #started: PromiseWithResolvers<void> = Promise.withResolvers();
  /** Lookups and announces waiting for the worker, by request id. */
  readonly #requests = new Map<
    number,
    {
      onPeers?: (peers: PeerAddress[]) => void;
      finish: (error: string | null) => void;
    }
  >();
  readonly #tables = new Map<
    number,
    (table: Extract<DhtWorkerEvent, { type: "table" }>) => void
  >();
  readonly #files = new Map<string, FileLookups>();
  /** Files announced this round, and those waiting for a slot. */
  readonly #announced = new Set<string>();
  readonly #announceQueue: Uint8Array[] = [];
  #announcing = 0;
  #nextRequest = 1;
  #stopped: PromiseWithResolvers<void> | null = null;
  #reannounceTimer: ReturnType<typeof setInterval> | undefined;
  #saveTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(
    options: DhtNodeOptions,
    saved: { nodeId: string; nodes: DhtAddress[] } | null,
  ) {
    this.#options = options;
    this.#bootstrap = options.bootstrap;
    this.#loopbackOnly = isLoopbackOnly(options.bootstrap);
    // The saved nodes first: they were alive last time, the routers may not be.
    this.#startCommand = {
      type: "start",
      port: options.port ?? 0,
      bindHost: this.#loopbackOnly ? "127.0.0.1" : "0.0.0.0",
      bootstrap: [...(saved?.nodes ?? []), ...options.bootstrap],
      nodeId: saved?.nodeId ?? null,
      loopbackOnly: this.#loopbackOnly,
    };
    const delayMs = options.startDelayMs ?? 0;
    if (delayMs > 0) {
      this.#startTimer = setTimeout(() => this.#spawn(), delayMs);
    } else this.#spawn();
  }

  /**
   * Creates the worker: tens of milliseconds of this thread (module
   * loading), which is why a peer with trackers does it a moment after
   * its download has started.
   */
  #spawn(): void {
    this.#startTimer = undefined;
    if (this.#closed || this.#worker) return;
    const worker = new Worker(new URL("./dht_worker.ts", import.meta.url), {
      type: "module",
    });
    worker.onmessage = (message: MessageEvent<unknown>) =>
      this.#receive(message.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#giveUp(`the DHT worker crashed: ${event.message}`);
    };
    this.#worker = worker;
    worker.postMessage(this.#startCommand);
    for (const command of this.#queued.splice(0)) worker.postMessage(command);
  }

  /** Sends a command to the worker, or keeps it until the worker exists. */
  #post(command: DhtWorkerCommand): void {
    if (this.#worker) this.#worker.postMessage(command);
    else this.#queued.push(command);
  }

  /**
   * Starts the worker and returns at once: the node binds and joins in the
   * background (see {@linkcode DhtNode.started}).
   *
   * @param options state folder, ports, bootstrap nodes, files
   * @returns the node; call {@linkcode DhtNode.close} when done
   */
  static async start(options: DhtNodeOptions): Promise<DhtNode> {
    const saved = await loadDhtState(
      options.stateDir,
      options.bootstrap,
      isLoopbackOnly(options.bootstrap),
    );
    const node = new DhtNode(options, saved);
    const reannounceMs = options.reannounceMs ?? DHT_REANNOUNCE_MS;
    node.#reannounceTimer = setInterval(() => {
      node.#announced.clear();
      node.announceNew();
    }, reannounceMs);
    node.#saveTimer = setInterval(() => void node.#save(), DHT_SAVE_MS);
    return node;
  }

  /** Resolves once the node is bound (or gave up). */
  get started(): Promise<void> {
    return this.#started.promise;
  }

  /** A snapshot of what the node has done. */
  get status(): DhtStatus {
    return { ...this.#status };
  }

  /** Whether only loopback is used (every bootstrap node is on loopback). */
  get loopbackOnly(): boolean {
    return this.#loopbackOnly;
  }

  /**
   * Announces every file not announced this round (call it when the
   * library changed). Nothing happens when this peer does not serve.
   */
  announceNew(): void {
    if (this.#closed || this.#options.tcpPort === 0) return;
    for (const id of this.#options.files()) {
      const hex = toHex(id);
      if (this.#announced.has(hex)) continue;
      this.#announced.add(hex);
      this.#announceQueue.push(id);
    }
    this.#pumpAnnounces();
  }

  /**
   * Looks up the peers of a file; joins the lookup already running for it,
   * and starts none when one began less than the lookup interval ago.
   *
   * @param fileId the 32-byte file id (its first 20 bytes are the DHT key)
   * @param onPeers checked peers, as found
   * @returns resolves when the lookup ends; never rejects
   */
  lookup(
    fileId: Uint8Array,
    onPeers: (peers: PeerAddress[]) => void,
  ): Promise<void> {
    if (this.#closed || !this.#status.running) return Promise.resolve();
    const hex = toHex(fileId);
    let file = this.#files.get(hex);
    if (!file) {
      file = {
        running: null,
        listeners: new Set(),
        lastStartMs: -Infinity,
        empty: 0,
      };
      this.#files.set(hex, file);
    }
    const entry = file;
    if (entry.running) {
      entry.listeners.add(onPeers);
      return entry.running.finally(() => entry.listeners.delete(onPeers));
    }
    const now = performance.now();
    const interval = Math.min(
      this.#options.lookupIntervalMs ?? DHT_LOOKUP_INTERVAL_MS,
      entry.empty > 0 ? DHT_EMPTY_RETRY_MS * 2 ** (entry.empty - 1) : Infinity,
    );
    if (now - entry.lastStartMs < interval) return Promise.resolve();
    entry.lastStartMs = now;
    entry.listeners.add(onPeers);
    this.#status.lookups++;
    let found = false;
    entry.running = this.#request(
      { type: "lookup", infoHash: infoHashOf(fileId) },
      (peers) => {
        found = true;
        for (const listener of [...entry.listeners]) listener(peers);
      },
      DHT_LOOKUP_TIMEOUT_MS,
    ).finally(() => {
      entry.running = null;
      entry.listeners.clear();
      entry.empty = found ? 0 : entry.empty + 1;
    });
    return entry.running;
  }

  /** Saves the routing table, stops the worker (bounded waits). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#reannounceTimer);
    clearInterval(this.#saveTimer);
    clearTimeout(this.#startTimer);
    await this.#save();
    this.#closed = true;
    this.#announceQueue.length = 0;
    if (this.#status.running && this.#worker) {
      this.#stopped = Promise.withResolvers();
      this.#worker.postMessage({ type: "stop" });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#stopped.promise,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, STOP_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#worker?.terminate();
    this.#started.resolve();
    for (const request of [...this.#requests.values()]) {
      request.finish("stopped");
    }
  }

  #pumpAnnounces(): void {
    while (
      this.#announcing < DHT_ANNOUNCE_PARALLEL &&
      this.#announceQueue.length > 0 && !this.#closed
    ) {
      const id = this.#announceQueue.shift()!;
      this.#announcing++;
      void this.#request(
        {
          type: "announce",
          infoHash: infoHashOf(id),
          port: this.#options.tcpPort,
        },
        undefined,
        DHT_LOOKUP_TIMEOUT_MS,
        () => this.#status.announced++,
      ).finally(() => {
        this.#announcing--;
        this.#pumpAnnounces();
      });
    }
  }

  /** Sends a lookup or announce; resolves when it is done or timed out. */
  #request(
    command:
      | { type: "lookup"; infoHash: string }
      | { type: "announce"; infoHash: string; port: number },
    onPeers: ((peers: PeerAddress[]) => void) | undefined,
    timeoutMs: number,
    onSuccess?: () => void,
  ): Promise<void> {
    if (this.#closed || !this.#status.running) return Promise.resolve();
    const requestId = this.#nextRequest++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish("timed out"), timeoutMs);
      const finish = (error: string | null) => {
        clearTimeout(timer);
        this.#requests.delete(requestId);
        if (error === null) onSuccess?.();
        else logger.debug("DHT {what}: {error}", { what: command.type, error });
        resolve();
      };
      this.#requests.set(requestId, {
        ...(onPeers ? { onPeers } : {}),
        finish,
      });
      this.#post({ ...command, requestId });
    });
  }

  #receive(data: unknown): void {
    if (!isDhtWorkerEvent(data)) {
      this.#giveUp("the DHT worker sent a malformed event");
      return;
    }
    switch (data.type) {
      case "listening":
        this.#status.port = data.port;
        logger.info("DHT node on UDP port {port}{mode}", {
          port: data.port,
          mode: this.#loopbackOnly ? " (loopback only)" : "",
        });
        this.#started.resolve();
        this.announceNew();
        return;
      case "failed":
        this.#giveUp(
          `cannot use UDP port ${
            this.#options.port ?? 0
          } (${data.message}); pick another --dht-port, or --no-dht`,
        );
        return;
      case "peers": {
        const request = this.#requests.get(data.requestId);
        // Checked in the worker; checked again here, where it counts.
        const peers = data.peers.filter((peer) =>
          dhtAddressProblem(peer, this.#loopbackOnly) === null
        );
        if (request?.onPeers && peers.length > 0) {
          request.onPeers(shuffled(peers));
        }
        return;
      }
      case "done":
        this.#requests.get(data.requestId)?.finish(data.error);
        return;
      case "table":
        this.#tables.get(data.requestId)?.(data);
        return;
      case "warning":
        logger.debug("DHT: {message}", { message: data.message });
        return;
      case "stopped":
        this.#stopped?.resolve();
        return;
    }
  }

  /** The DHT is off from now on; one line says why. */
  #giveUp(reason: string): void {
    if (!this.#status.running) return;
    this.#status.running = false;
    logger.warn("DHT off: {reason}", { reason });
    this.#started.resolve();
    for (const request of [...this.#requests.values()]) request.finish(reason);
  }

  /** Asks the worker for its table and writes dht.json (best effort). */
  async #save(): Promise<void> {
    if (this.#closed || !this.#status.running || this.#status.port === 0) {
      return;
    }
    const requestId = this.#nextRequest++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const table = await new Promise<
      Extract<DhtWorkerEvent, { type: "table" }> | null
    >((resolve) => {
      timer = setTimeout(() => resolve(null), STOP_WAIT_MS);
      this.#tables.set(requestId, resolve);
      this.#post({ type: "save", requestId });
    });
    clearTimeout(timer);
    this.#tables.delete(requestId);
    if (!table || table.nodes.length === 0) return;
    try {
      await saveDhtState(this.#options.stateDir, this.#bootstrap, {
        nodeId: table.nodeId,
        nodes: table.nodes,
      });
    } catch (error) {
      logger.debug("Cannot save the DHT's nodes: {message}", {
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/** The DHT key of a file: the first 20 bytes of its id (BEP 52), as hex. */
export function infoHashOf(fileId: Uint8Array): string {
  return toHex(fileId.subarray(0, 20));
}

/** A copy in random order: a flood that came first is not tried first. */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
