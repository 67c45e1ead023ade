/**
 * The download's pure core: which chunk to ask which connection for, how
 * many GETs each has in flight, when to say INTERESTED or NOT_INTERESTED,
 * when a connection is dropped or a peer banned, which peers to connect to,
 * and when the download gives up. It takes events (a connection's bitfield,
 * HAVEs, checked chunks, refusals, chokes, closes, clock ticks) and returns
 * actions (send GETs, cancel, interest, disconnect, connect, a chunk gained,
 * ask the tracker, give up). No sockets, no timers, no files: the clock is
 * injected, so every rule is tested with fake events (tests/unit/peer/scheduler.test.ts).
 *
 * Who owns a connection's state: this scheduler owns what is asked of whom
 * (`inflight`, the chunks requested from each connection, which drives the
 * pipeline depth, the stall rule and the endgame). The connection's wire
 * (peer/workers/fetch_worker.ts) keeps only what it needs to match replies
 * to requests (Shoal's transaction ids), and says which chunks arrived,
 * which were refused and when it closed. Events speak of chunk indices only,
 * so a connection of another wire protocol can plug in beside it.
 *
 * @module
 */
import { Bitfield, type Manifest } from "@shoal/protocol";
import { TokenBucket } from "../swarm/token_bucket.ts";
import { dropReason, type ProgressClock } from "./liveness.ts";
import type { PeerBook } from "./peer_book.ts";
import { PiecePicker } from "./piece_picker.ts";
import { RateMeter } from "./rate_meter.ts";
import {
  type PeerDialect,
  SHOAL_CLIENT,
} from "@shoal/protocol/worker_messages";

/** GETs in flight on a connection whose rate is not measured yet. */
export const DEFAULT_DEPTH = 8;
/** Fewest GETs in flight per connection. */
export const MIN_DEPTH = 2;
/** Most GETs in flight per connection. */
export const MAX_DEPTH = 16;
/**
 * Most GETs in flight per connection for a folder's chunks smaller than a
 * piece (a Shoal seeder queues 64 at most).
 */
export const MAX_SMALL_CHUNK_DEPTH = 48;
/** A connection's rate, for its pipeline depth and the page, is over this much of the recent past. */
export const RATE_WINDOW_MS = 2_000;
/** A peer that has had nothing for us this long is told NOT_INTERESTED. */
export const NOT_INTERESTED_AFTER_MS = 1_000;
/** With few helpful peers, the tracker is asked this often. */
export const TRACKER_RETRY_MS = 2_000;
/** Otherwise this often. */
export const TRACKER_REFRESH_MS = 30_000;
/**
 * A connection still without its handshake and bitfield this long stops
 * holding one of the `maxPeers` slots (up to twice `maxPeers` connections in
 * all): listeners that never answer cannot take every slot until their
 * handshake times out.
 */
export const SLOW_HANDSHAKE_MS = 1_500;

/** What happened, from a connection or the clock. */
export type SchedulerEvent =
  /** The handshake is done: the peer's bitfield, as sent. */
  | {
    type: "connected";
    connId: number;
    bitfield: Uint8Array;
    /** The peer's program, for the page. @default {"Shoal"} */
    client?: string;
    /** @default {"shoal"} */
    dialect?: PeerDialect;
  }
  /** The peer named its program after the handshake (shown, not used). */
  | { type: "client"; connId: number; client: string }
  /** The peer announced chunks. */
  | { type: "have"; connId: number; indices: readonly number[] }
  /** Chunks checked and written. */
  | { type: "received"; connId: number; indices: readonly number[] }
  /** The peer sent a chunk that fails its hash (its connection closes too). */
  | { type: "bad_chunk"; connId: number }
  /** The peer does not have a chunk it announced. */
  | { type: "refused"; connId: number; index: number }
  /** The peer is busy (choking us): the chunk goes back to the pool. */
  | { type: "busy"; connId: number; index: number }
  /** The peer choked or unchoked us. */
  | { type: "choke"; connId: number; choked: boolean }
  /** The connection is gone; `misbehaved` when the peer broke the rules. */
  | { type: "closed"; connId: number; misbehaved: boolean }
  /** About twice a second: the liveness rules, the tracker, the give-up clock. */
  | { type: "tick" }
  /** The time a `wake` action asked for has come (the download limit). */
  | { type: "wake" }
  /** The peer book may hold new peers: connect to some. */
  | { type: "peers_known" };

/** What to do, in order. */
export type SchedulerAction =
  | { type: "connect"; connId: number; host: string; port: number }
  | { type: "get"; connId: number; indices: number[] }
  | { type: "cancel"; connId: number; index: number }
  | { type: "interest"; connId: number; interested: boolean }
  | { type: "disconnect"; connId: number; reason: string }
  /** A chunk we lacked is checked and written; `peer` is its key, null when its connection is gone. */
  | { type: "gained"; index: number; bytes: number; peer: string | null }
  /** Every chunk is held. */
  | { type: "complete" }
  /** Send a `wake` event after this long (GETs wait for the download limit). */
  | { type: "wake"; afterMs: number }
  /** Ask the tracker for peers, then send `peers_known`. */
  | { type: "ask_tracker" }
  /** Nothing was gained for the whole patience; `ready` connections are open. */
  | { type: "give_up"; ready: number };

/** Options for {@linkcode Scheduler}. */
export interface SchedulerOptions {
  /** The file's chunk layout. */
  manifest: Pick<Manifest, "chunkCount" | "chunkSize" | "size"> & {
    /** Bytes in chunk `index`, when not only the last is short (a folder's). */
    lengthOf?: (index: number) => number;
  };
  /** Chunks already held (updated in place as chunks arrive). */
  have: Bitfield;
  /** Known peers, shared with the manifest race. */
  book: PeerBook;
  /** The give-up clock, shared with the manifest race. */
  clock: ProgressClock;
  /** Milliseconds from a monotonic clock. @default {performance.now} */
  now?: () => number;
  /** Random number in [0, 1), for the piece picker. @default {Math.random} */
  random?: () => number;
  /** Fixed GETs in flight per connection; when absent, each follows its rate. */
  pipelineDepth?: number;
  /** Most connections at once, not counting those slow to shake hands (SLOW_HANDSHAKE_MS). @default {16} */
  maxPeers?: number;
  /** Fetch workers: with fewer connections than these, a peer gets a second one. */
  workers: number;
  /** Drop a connection with requests out and no chunk for this long. @default {15_000} */
  stallTimeoutMs?: number;
  /** The download limit at start, bytes per second; null for none. */
  limit?: number | null;
  /** Reads the download limit now (it may change while the download runs). */
  readLimit?: () => number | null;
}

/** One connection as the scheduler sees it. */
interface Connection {
  id: number;
  key: string;
  bitfield: Bitfield | null;
  /** Chunk index -> when it was asked for. */
  inflight: Map<number, number>;
  /** When it was opened. */
  openedMs: number;
  lastChunkMs: number;
  /** The peer said CHOKE: ask it for nothing until UNCHOKE. */
  choked: boolean;
  /** Chunks received lately, for this peer's pipeline depth. */
  recent: RateMeter;
  /** Chunks the peer holds that we lack. */
  useful: number;
  /** Since when `useful` has been 0 (null: it has something for us). */
  uselessSinceMs: number | null;
  /** Since when the peer has had nothing for us (null: it has something). */
  notInterestedSinceMs: number | null;
  /** What we last told the peer: INTERESTED or NOT_INTERESTED (null: nothing yet). */
  interested: boolean | null;
  /** Its program, safe to show. */
  client: string;
  /** The protocol it speaks on this connection. */
  dialect: PeerDialect;
}

/** One connected peer, as the page shows it. */
export interface PeerSnapshot {
  /** "host:port". */
  address: string;
  /** Chunks it holds. */
  chunks: number;
  /** Bytes per second received from it lately. */
  bytesPerSecond: number;
  /** Its program, safe to show ("Shoal", "libtorrent 2.0.8", ...). */
  client: string;
  /** The protocol it speaks. */
  dialect: PeerDialect;
}

/**
 * Schedules one download's chunks over its connections.
 *
 * @example
 * ```ts
 * import { Bitfield } from "@shoal/protocol";
 * import { ProgressClock } from "./liveness.ts";
 * import { PeerBook } from "./peer_book.ts";
 * import { Scheduler } from "./scheduler.ts";
 * const book = new PeerBook();
 * book.add([{ host: "127.0.0.1", port: 7000 }]);
 * const scheduler = new Scheduler({
 *   manifest: { chunkCount: 4, chunkSize: 1024, size: 4096 },
 *   have: new Bitfield(4), book, clock: new ProgressClock(60_000, 0), workers: 1,
 * });
 * scheduler.handle({ type: "peers_known" }); // [{ type: "connect", connId: 1, ... }]
 * ```
 */
export class Scheduler {
  readonly #manifest: SchedulerOptions["manifest"];
  readonly #book: PeerBook;
  readonly #clock: ProgressClock;
  readonly #now: () => number;
  readonly #picker: PiecePicker;
  readonly #options: SchedulerOptions;
  readonly #connections = new Map<number, Connection>();
  #nextConnId = 1;
  #peersDropped = 0;
  #done = false;
  #bucket: TokenBucket | null = null;
  #bucketRate: number | null = null;
  #wakePending = false;
  /** Actions of the event being handled. */
  #out: SchedulerAction[] = [];

  /** @param options the file, the peers, the clock and the limits */
  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#manifest = options.manifest;
    this.#book = options.book;
    this.#clock = options.clock;
    this.#now = options.now ?? (() => performance.now());
    this.#picker = new PiecePicker(options.have, {
      ...(options.random ? { random: options.random } : {}),
      // Two connections to one peer (one per worker) share its one upload.
      samePeer: (a, b) => {
        const key = this.#connections.get(a)?.key;
        return key !== undefined && key === this.#connections.get(b)?.key;
      },
    });
    this.#setBucket(options.limit ?? null);
  }

  /** Chunks held. */
  get have(): Bitfield {
    return this.#picker.have;
  }

  /** True once every chunk is held. */
  get complete(): boolean {
    return this.#picker.complete;
  }

  /** Peers dropped for bad data so far. */
  get peersDropped(): number {
    return this.#peersDropped;
  }

  /** Distinct peers with a finished handshake (a peer may hold two connections). */
  peerCount(): number {
    const keys = new Set<string>();
    for (const conn of this.#connections.values()) {
      if (conn.bitfield !== null) keys.add(conn.key);
    }
    return keys.size;
  }

  /** One entry per connected peer, its connections' rates summed. */
  peerList(): PeerSnapshot[] {
    const now = this.#now();
    const byKey = new Map<string, PeerSnapshot>();
    for (const conn of this.#connections.values()) {
      if (!conn.bitfield) continue;
      const rate = (conn.recent.bytes(now) * 1000) / RATE_WINDOW_MS;
      const seen = byKey.get(conn.key);
      if (seen) {
        seen.bytesPerSecond += rate;
        seen.chunks = Math.max(seen.chunks, conn.bitfield.count);
      } else {
        byKey.set(conn.key, {
          address: conn.key,
          chunks: conn.bitfield.count,
          bytesPerSecond: rate,
          client: conn.client,
          dialect: conn.dialect,
        });
      }
    }
    return [...byKey.values()];
  }

  /**
   * Handles one event.
   *
   * @param event what happened
   * @returns what to do, in order
   */
  handle(event: SchedulerEvent): SchedulerAction[] {
    const out: SchedulerAction[] = [];
    this.#out = out;
    if (!this.#done) this.#handle(event);
    return out;
  }

  #handle(event: SchedulerEvent): void {
    const picker = this.#picker;
    switch (event.type) {
      case "connected": {
        const conn = this.#connections.get(event.connId);
        if (!conn) return;
        try {
          conn.bitfield = new Bitfield(
            this.#manifest.chunkCount,
            event.bitfield,
          );
        } catch {
          this.#disconnect(conn.id, "bad bitfield");
          return;
        }
        conn.client = event.client ?? SHOAL_CLIENT;
        conn.dialect = event.dialect ?? "shoal";
        conn.lastChunkMs = this.#now();
        picker.addPeer(conn.bitfield);
        conn.useful = 0;
        for (let i = 0; i < conn.bitfield.size; i++) {
          if (conn.bitfield.has(i) && !picker.have.has(i)) conn.useful++;
        }
        this.#book.sawChunks(conn.key, conn.useful > 0);
        this.#tellInterest(conn);
        this.#fill(conn);
        return;
      }
      case "client": {
        const conn = this.#connections.get(event.connId);
        if (conn) conn.client = event.client;
        return;
      }
      case "have": {
        const conn = this.#connections.get(event.connId);
        if (!conn?.bitfield) return;
        for (const index of event.indices) {
          if (index >= conn.bitfield.size || !conn.bitfield.set(index)) {
            continue;
          }
          picker.peerGained(index);
          if (!picker.have.has(index)) conn.useful++;
        }
        this.#tellInterest(conn);
        this.#fill(conn);
        return;
      }
      case "received": {
        const conn = this.#connections.get(event.connId);
        for (const index of event.indices) {
          if (this.#received(conn, event.connId, index)) return;
        }
        if (conn) this.#fill(conn);
        return;
      }
      case "bad_chunk": {
        // Its own connection closes (misbehaved); the peer's others go too.
        const conn = this.#connections.get(event.connId);
        if (conn) this.#ban(conn.key, conn.id);
        return;
      }
      case "refused": {
        const conn = this.#connections.get(event.connId);
        picker.release(event.index, event.connId);
        if (!conn) return;
        conn.inflight.delete(event.index);
        if (conn.bitfield?.has(event.index)) {
          conn.bitfield.clear(event.index);
          picker.peerLost(event.index);
          if (!picker.have.has(event.index)) conn.useful--;
          this.#tellInterest(conn);
        }
        this.#fillAll();
        return;
      }
      case "busy": {
        // Choked: the chunk goes back to the pool, the peer keeps its bitfield.
        const conn = this.#connections.get(event.connId);
        picker.release(event.index, event.connId);
        if (!conn) return;
        conn.inflight.delete(event.index);
        conn.choked = true;
        this.#fillAll();
        return;
      }
      case "choke": {
        const conn = this.#connections.get(event.connId);
        if (!conn) return;
        conn.choked = event.choked;
        if (!event.choked) this.#fill(conn);
        return;
      }
      case "closed": {
        const conn = this.#connections.get(event.connId);
        if (!conn) return;
        this.#connections.delete(event.connId);
        for (const index of conn.inflight.keys()) {
          picker.release(index, conn.id);
        }
        if (conn.bitfield) picker.removePeer(conn.bitfield);
        if (this.#book.get(conn.key)) {
          if (event.misbehaved) {
            this.#ban(conn.key, conn.id);
            this.#peersDropped++;
          }
          this.#book.failed(conn.key, this.#now());
        }
        this.#fillAll();
        this.#connectMore();
        return;
      }
      case "tick":
        this.#tick();
        return;
      case "wake":
        this.#wakePending = false;
        this.#fillAll();
        return;
      case "peers_known":
        this.#connectMore();
        return;
    }
  }

  /** One checked chunk from a connection; true once the download is complete. */
  #received(
    conn: Connection | undefined,
    connId: number,
    index: number,
  ): boolean {
    const picker = this.#picker;
    const bytes = this.#chunkBytes(index);
    const now = this.#now();
    conn?.inflight.delete(index);
    if (conn) {
      conn.lastChunkMs = now;
      conn.recent.add(now, bytes);
      this.#book.helped(conn.key, now);
    }
    if (picker.have.has(index)) {
      picker.release(index, connId);
    } else {
      // Endgame: the first answer wins, the other requests are cancelled.
      for (const other of picker.markHave(index)) {
        if (other === connId) continue;
        this.#connections.get(other)?.inflight.delete(index);
        this.#out.push({ type: "cancel", connId: other, index });
      }
      this.#clock.progress(now);
      this.#out.push({
        type: "gained",
        index,
        bytes,
        peer: conn?.key ?? null,
      });
      for (const other of this.#connections.values()) {
        if (other.bitfield?.has(index)) {
          other.useful--;
          this.#tellInterest(other);
        }
      }
    }
    if (picker.complete) {
      this.#done = true;
      this.#out.push({ type: "complete" });
      return true;
    }
    return false;
  }

  /** Chunk `index`'s size: the last chunk may be short. */
  #chunkBytes(index: number): number {
    const { chunkSize, size, lengthOf } = this.#manifest;
    return lengthOf?.(index) ?? Math.min(chunkSize, size - index * chunkSize);
  }

  #setBucket(rate: number | null): void {
    this.#bucketRate = rate;
    this.#bucket = rate
      ? new TokenBucket(rate, {
        burst: Math.max(rate / 4, 1024 * 1024),
        now: this.#now,
      })
      : null;
  }

  #fill(conn: Connection): void {
    if (!conn.bitfield || conn.choked || this.#done) return;
    const depth = this.#options.pipelineDepth ?? this.#adaptiveDepth(conn);
    // Refill in batches once half the pipeline has drained: one message to
    // the worker and one socket write per batch, not per chunk.
    if (conn.inflight.size > depth / 2) return;
    const picker = this.#picker;
    const batch: number[] = [];
    const flush = () => {
      if (batch.length > 0) {
        this.#out.push({ type: "get", connId: conn.id, indices: batch });
      }
    };
    const limit = this.#options.readLimit?.();
    if (limit !== undefined && limit !== this.#bucketRate) {
      this.#setBucket(limit);
    }
    while (conn.inflight.size < depth) {
      const index = picker.next(conn.bitfield, conn.id);
      if (index === null) return flush();
      if (
        this.#bucket &&
        !this.#bucket.tryTake(this.#chunkBytes(index))
      ) {
        // Over --max-download: try again when the bucket has refilled.
        if (!this.#wakePending) {
          this.#wakePending = true;
          this.#out.push({
            type: "wake",
            afterMs: Math.max(
              10,
              this.#bucket.waitMs(this.#manifest.chunkSize),
            ),
          });
        }
        return flush();
      }
      picker.requested(index, conn.id);
      const now = this.#now();
      if (conn.inflight.size === 0) conn.lastChunkMs = now;
      conn.inflight.set(index, now);
      batch.push(index);
    }
    flush();
  }

  /**
   * Enough GETs in flight to cover about a quarter second of this peer's
   * recent rate: a fast seeder gets a deep pipeline, a slow or choked-down
   * peer a short one, so chunks are not promised to it long before it can
   * send them (which costs duplicates from rate-limited seeders in a crowd).
   */
  #adaptiveDepth(conn: Connection): number {
    const now = this.#now();
    const samples = conn.recent.samples(now);
    if (samples < 2) return DEFAULT_DEPTH;
    const bytes = conn.recent.bytes(now);
    const seconds = Math.max(0.1, (now - conn.recent.oldestMs(now)) / 1000);
    // A folder's chunks may be far smaller than a piece (a file of 4 KiB is
    // one chunk): count them by their size as received.
    const chunkBytes = this.#manifest.lengthOf
      ? bytes / samples
      : this.#manifest.chunkSize;
    const depth = Math.ceil((bytes / seconds) * 0.25 / chunkBytes) + 1;
    // Small chunks may go deeper, as many bytes in flight as 16 whole
    // pieces at most, within what a Shoal seeder queues.
    const most = this.#manifest.lengthOf
      ? Math.min(
        MAX_SMALL_CHUNK_DEPTH,
        Math.max(
          MAX_DEPTH,
          Math.floor(MAX_DEPTH * this.#manifest.chunkSize / chunkBytes),
        ),
      )
      : MAX_DEPTH;
    return Math.max(MIN_DEPTH, Math.min(most, depth));
  }

  /** Tells a peer whether it has anything we want, so its upload slots go where they help. */
  #tellInterest(conn: Connection): void {
    const interested = conn.useful > 0;
    const now = this.#now();
    if (interested) conn.uselessSinceMs = null;
    else conn.uselessSinceMs ??= now;
    if (conn.interested === interested) return;
    if (!interested && conn.interested !== null) {
      // In a swarm a peer runs out of new chunks for us and gains one again
      // many times a second: say NOT_INTERESTED only once it has stayed so,
      // or the slot churn costs more CPU than it saves.
      conn.notInterestedSinceMs ??= now;
      if (now - conn.notInterestedSinceMs < NOT_INTERESTED_AFTER_MS) return;
    }
    conn.notInterestedSinceMs = null;
    conn.interested = interested;
    this.#out.push({ type: "interest", connId: conn.id, interested });
  }

  #fillAll(): void {
    for (const conn of this.#connections.values()) this.#fill(conn);
  }

  #tick(): void {
    const now = this.#now();
    const limits = {
      stallMs: this.#options.stallTimeoutMs ?? 15_000,
      othersWaiting: this.#book.order(now, this.#connectedKeys()).length > 0,
    };
    let helping = 0;
    for (const conn of this.#connections.values()) {
      if (conn.notInterestedSinceMs !== null) this.#tellInterest(conn);
      const reason = dropReason(
        {
          ready: conn.bitfield !== null,
          useful: conn.useful,
          uselessSinceMs: conn.uselessSinceMs,
          inflight: conn.inflight.size,
          choked: conn.choked,
          lastChunkMs: conn.lastChunkMs,
        },
        now,
        limits,
      );
      if (reason !== null) this.#disconnect(conn.id, reason);
      else if (conn.useful > 0) helping++;
    }
    // Few peers with something for us: look for more every few seconds.
    const wantMore = helping < Math.min(4, this.#maxPeers);
    const askEvery = wantMore ? TRACKER_RETRY_MS : TRACKER_REFRESH_MS;
    if (now - this.#book.lastAskMs > askEvery) {
      this.#out.push({ type: "ask_tracker" });
    } else if (wantMore) {
      this.#connectMore();
    }
    // Open connections do not count: only chunks checked do (liveness.ts).
    if (this.#clock.expired(now)) {
      let ready = 0;
      for (const conn of this.#connections.values()) {
        if (conn.bitfield !== null) ready++;
      }
      this.#out.push({ type: "give_up", ready });
    }
  }

  get #maxPeers(): number {
    return this.#options.maxPeers ?? 16;
  }

  #connectMore(): void {
    const maxPeers = this.#maxPeers;
    const now = this.#now();
    // Peers that failed least since they last helped first (liveness.ts):
    // a crowd of useless peers cannot keep an honest one waiting for long.
    let slots = maxPeers - this.#slotsHeld(now);
    let room = 2 * maxPeers - this.#connections.size;
    for (const key of this.#book.order(now, this.#connectedKeys())) {
      if (slots <= 0 || room <= 0) break;
      this.#open(key, now);
      slots--;
      room--;
    }
    // Each connection lives in one fetch worker, which checks its chunks.
    // With fewer connections than workers (one seeder, say), a second
    // connection to a peer puts the idle worker to work: 1 GiB from one
    // seeder, 2.02 s -> 1.69 s. (Rounding larger small swarms up to a
    // multiple of the workers gained nothing measurable with three.)
    const workers = this.#options.workers;
    for (const [key, peer] of this.#book.entries()) {
      if (this.#connections.size >= Math.min(workers, maxPeers)) break;
      if (peer.banned || peer.retryAtMs > now) continue;
      let toPeer = 0;
      for (const conn of this.#connections.values()) {
        if (conn.key === key) toPeer++;
      }
      if (toPeer === 1) this.#open(key, now);
    }
  }

  /** Connections that hold a slot: all but those slow to shake hands. */
  #slotsHeld(now: number): number {
    let held = 0;
    for (const conn of this.#connections.values()) {
      if (conn.bitfield !== null || now - conn.openedMs < SLOW_HANDSHAKE_MS) {
        held++;
      }
    }
    return held;
  }

  #connectedKeys(): Set<string> {
    return new Set([...this.#connections.values()].map((c) => c.key));
  }

  /** Bans a peer and drops its other connections (there can be two). */
  #ban(key: string, exceptConnId: number): void {
    this.#book.ban(key);
    for (const other of this.#connections.values()) {
      if (other.key !== key || other.id === exceptConnId) continue;
      this.#disconnect(
        other.id,
        "the peer sent bad data on another connection",
      );
    }
  }

  #disconnect(connId: number, reason: string): void {
    this.#out.push({ type: "disconnect", connId, reason });
  }

  #open(key: string, now: number): void {
    const peer = this.#book.get(key)!;
    const id = this.#nextConnId++;
    this.#connections.set(id, {
      id,
      key,
      bitfield: null,
      inflight: new Map(),
      openedMs: now,
      lastChunkMs: now,
      choked: false,
      recent: new RateMeter(RATE_WINDOW_MS),
      useful: 0,
      uselessSinceMs: null,
      notInterestedSinceMs: null,
      interested: null,
      client: SHOAL_CLIENT,
      dialect: "shoal",
    });
    this.#out.push({
      type: "connect",
      connId: id,
      host: peer.host,
      port: peer.port,
    });
  }
}
