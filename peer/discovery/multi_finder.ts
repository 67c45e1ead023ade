/**
 * One {@linkcode PeerFinder} over several trackers and the DHT: every source
 * is asked at once, the first useful answer is returned, and what the others
 * find later is handed on as candidates. A source that fails or hangs only
 * loses its say (BEP 12's idea: any tracker may be down).
 *
 * Pure policy: the trackers and the DHT are passed in (real clients, or
 * fakes in tests); the only timer is the wait for the DHT's first peers.
 *
 * @module
 */
import {
  type ListedPeer,
  type PeerAddress,
  type RequestQuery,
  toHex,
} from "@shoal/protocol";
import type { PeerFinder, PeerRequestOptions } from "../download/errors.ts";
import { peerKey } from "../download/peer_book.ts";
import type { RequestResult } from "../tracker_client.ts";
import { TrackerError } from "../tracker_client.ts";

/** A tracker, as the finder asks it (a TrackerClient is one). */
export interface TrackerSource {
  /** The tracker as "host:port", for messages. */
  readonly address: string;
  /** Asks who holds a file. */
  request(query: RequestQuery, wanted?: number): Promise<RequestResult>;
}

/** The DHT, as the finder asks it (peer/dht/dht_node.ts). */
export interface DhtSource {
  /**
   * Looks up the peers of a file.
   *
   * @param fileId the 32-byte file id (the DHT uses its first 20 bytes)
   * @param onPeers called with checked peers as they are found
   * @returns resolves when the lookup ends (never rejects)
   */
  lookup(
    fileId: Uint8Array,
    onPeers: (peers: PeerAddress[]) => void,
  ): Promise<void>;
}

/** Options for {@linkcode MultiFinder}. */
export interface MultiFinderOptions {
  /** The DHT, or null when it is off. @default {null} */
  dht?: DhtSource | null;
  /** Told about every tracker that failed a request (for a log line). */
  onTrackerFailure?: (address: string, error: unknown) => void;
  /**
   * How long an answer waits for the DHT's first peers when the trackers
   * had none (or there are none). @default {DHT_FIRST_PEERS_WAIT_MS}
   */
  dhtWaitMs?: number;
  /** Most peers one request hands on, late ones included. @default {MAX_PEERS_PER_REQUEST} */
  maxPeers?: number;
}

/** Wait for the DHT's first peers when no tracker had any. */
export const DHT_FIRST_PEERS_WAIT_MS = 5_000;

/** Most peers one request hands on (trackers answer 50; the DHT may find hundreds). */
export const MAX_PEERS_PER_REQUEST = 500;

/**
 * Asks several trackers and the DHT for peers, as one finder.
 *
 * - The answer is the first that names at least one new peer (a tracker's,
 *   or the DHT's for a query by id); peers found later go to
 *   `options.onPeers`, each peer once per request, at most `maxPeers`.
 * - With no peers anywhere, once every tracker has answered or failed (and
 *   the DHT had its wait): a tracker's empty peer list, else its candidates,
 *   else, with the DHT on and a query by id, an empty peer list (the DHT may
 *   still find some: a file is never "unknown" to it), else "unknown".
 * - Only when every tracker failed and there is no DHT does it reject, with
 *   the first tracker's error.
 * - One request per tracker and query is in flight at a time: a request
 *   made while another waits joins it.
 *
 * @example
 * ```ts
 * import { MultiFinder } from "./multi_finder.ts";
 * // const finder = new MultiFinder([trackerA, trackerB], { dht });
 * // const lookup = await finder.request({ id }, 0, { onPeers: (p) => book.add(p) });
 * ```
 */
export class MultiFinder implements PeerFinder {
  readonly #trackers: readonly TrackerSource[];
  readonly #dht: DhtSource | null;
  readonly #onFailure: (address: string, error: unknown) => void;
  readonly #dhtWaitMs: number;
  readonly #maxPeers: number;
  /** Requests in flight, by tracker index and query. */
  readonly #inFlight = new Map<string, Promise<RequestResult>>();

  /**
   * @param trackers the trackers, possibly none
   * @param options the DHT, a failure hook and bounds
   */
  constructor(
    trackers: readonly TrackerSource[],
    options: MultiFinderOptions = {},
  ) {
    this.#trackers = trackers;
    this.#dht = options.dht ?? null;
    this.#onFailure = options.onTrackerFailure ?? (() => {});
    this.#dhtWaitMs = options.dhtWaitMs ?? DHT_FIRST_PEERS_WAIT_MS;
    this.#maxPeers = options.maxPeers ?? MAX_PEERS_PER_REQUEST;
  }

  /** How many trackers it asks. */
  get trackerCount(): number {
    return this.#trackers.length;
  }

  /** Whether the DHT is asked too. */
  get hasDht(): boolean {
    return this.#dht !== null;
  }

  /**
   * Asks every tracker and, for a query by id, the DHT.
   *
   * @param query `{ id }`, `{ name }` or `{ idPrefix }`
   * @param wanted most peers wanted from each tracker, 0 for its default
   * @param options where late peers go, and our own port
   * @returns the first useful answer (see the class notes)
   * @throws {TrackerError} when every tracker failed and the DHT is off
   */
  request(
    query: RequestQuery,
    wanted = 0,
    options: PeerRequestOptions = {},
  ): Promise<RequestResult> {
    const id = "id" in query ? query.id : null;
    const useDht = this.#dht !== null && id !== null;
    if (this.#trackers.length === 0 && !useDht) {
      return Promise.reject(
        new TrackerError(
          "unreachable",
          this.#dht
            ? "Cannot look up a file by name without a tracker: give --tracker HOST:PORT, or the file's id or magnet link"
            : "Cannot find peers: no tracker and the DHT is off; give --tracker HOST:PORT or leave the DHT on",
        ),
      );
    }
    const delivered = new Set<string>();
    const selfPort = options.selfPort ?? 0;
    /** The peers not handed on yet, within the bound. */
    const fresh = (peers: readonly ListedPeer[]): ListedPeer[] => {
      const out: ListedPeer[] = [];
      for (const peer of peers) {
        if (delivered.size >= this.#maxPeers) break;
        if (selfPort !== 0 && peer.port === selfPort && isLocal(peer.host)) {
          continue;
        }
        const key = peerKey(peer);
        if (delivered.has(key)) continue;
        delivered.add(key);
        out.push(peer);
      }
      return out;
    };
    return new Promise<RequestResult>((resolve, reject) => {
      let answered = false;
      /** The file the answer names: later peers of another file are not handed on. */
      let answeredId: string | null = id ? toHex(id) : null;
      let trackersLeft = this.#trackers.length;
      let dhtWaiting = useDht;
      let waitTimer: ReturnType<typeof setTimeout> | undefined;
      const answers: RequestResult[] = [];
      const errors: unknown[] = [];

      const answer = (result: RequestResult) => {
        answered = true;
        clearTimeout(waitTimer);
        if (result.kind === "peers") answeredId = toHex(result.fileId);
        resolve(result);
      };
      const late = (fileId: Uint8Array, peers: readonly ListedPeer[]) => {
        if (answeredId !== null && answeredId !== toHex(fileId)) return;
        const found = fresh(peers);
        if (found.length > 0) options.onPeers?.(found);
      };
      /** Answers with what there is, once nothing better can come in time. */
      const settle = () => {
        if (answered || trackersLeft > 0 || dhtWaiting) return;
        const peers = answers.find((a) => a.kind === "peers");
        const candidates = answers.find((a) => a.kind === "candidates");
        if (peers) return answer(peers);
        if (candidates) return answer(candidates);
        if (useDht) return answer(emptyPeers(id!));
        if (answers.length > 0) return answer({ kind: "unknown" });
        answered = true;
        reject(errors[0]);
      };

      this.#trackers.forEach((tracker, index) => {
        this.#ask(index, tracker, query, wanted).then(
          (result) => {
            trackersLeft--;
            if (result.kind === "peers") {
              if (answered) return late(result.fileId, result.peers);
              const found = fresh(result.peers);
              if (found.length > 0) {
                return answer({ ...result, peers: found });
              }
              answers.push({ ...result, peers: [] });
            } else {
              answers.push(result);
            }
            settle();
          },
          (error: unknown) => {
            trackersLeft--;
            errors.push(error);
            this.#onFailure(tracker.address, error);
            settle();
          },
        );
      });

      if (useDht) {
        const fileId = id!;
        // With no tracker peers, the DHT's first ones are worth a short wait.
        waitTimer = setTimeout(() => {
          dhtWaiting = false;
          settle();
        }, this.#dhtWaitMs);
        const dht = this.#dht!;
        const onDhtPeers = (peers: PeerAddress[]) => {
          const listed = peers.map((peer) => ({ ...peer, complete: false }));
          if (answered) return late(fileId, listed);
          const found = fresh(listed);
          if (found.length === 0) return;
          // A tracker's answer names the file; the DHT's only its id.
          const known = answers.find((a) => a.kind === "peers");
          answer(
            known?.kind === "peers"
              ? { ...known, peers: found }
              : { ...emptyPeers(fileId), peers: found },
          );
        };
        let looking: Promise<void>;
        try {
          looking = dht.lookup(fileId, onDhtPeers);
        } catch {
          // The DHT is a best-effort source: its failure is no answer.
          looking = Promise.resolve();
        }
        looking.catch(() => {}).finally(() => {
          dhtWaiting = false;
          clearTimeout(waitTimer);
          settle();
        });
      }
    });
  }

  /** Asks one tracker, joining a request for the same query in flight. */
  #ask(
    index: number,
    tracker: TrackerSource,
    query: RequestQuery,
    wanted: number,
  ): Promise<RequestResult> {
    const key = `${index} ${wanted} ${queryKey(query)}`;
    const running = this.#inFlight.get(key);
    if (running) return running;
    const asked = tracker.request(query, wanted).finally(() =>
      this.#inFlight.delete(key)
    );
    this.#inFlight.set(key, asked);
    return asked;
  }
}

/** A peer list for a file known only by id (from the DHT). */
function emptyPeers(
  fileId: Uint8Array,
): Extract<RequestResult, { kind: "peers" }> {
  return { kind: "peers", fileId, name: "", size: 0, chunkCount: 0, peers: [] };
}

function queryKey(query: RequestQuery): string {
  if ("id" in query) return `id:${toHex(query.id)}`;
  if ("idPrefix" in query) return `prefix:${query.idPrefix}`;
  return `name:${query.name}`;
}

/** Addresses that are this machine whatever its network. */
function isLocal(host: string): boolean {
  return /^127\./.test(host) || host === "::1" || host === "0.0.0.0" ||
    host === "::";
}
