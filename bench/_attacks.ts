/**
 * The denial-of-service attacks of issue 21, as the "under attack" benchmark
 * (bench/under_attack.ts) runs them beside an honest download: each comes
 * from loopback addresses other than 127.0.0.1 (Linux routes all of
 * 127.0.0.0/8 to loopback), the way strangers on other hosts would, and
 * speaks the real protocol. Every loop is bounded in count and time, and
 * `stop()` closes every socket an attack opened.
 *
 * @module
 */
import net from "node:net";
import {
  Bitfield,
  BtFrameDecoder,
  createMessage,
  encodeBtHandshake,
  encodeBtMessage,
  ErrorCode,
  type FileAnnouncement,
  FrameDecoder,
  type Message,
  parseMessage,
} from "@shoal/protocol";

/** The honest file every attack is aimed at. */
export interface TargetFile {
  /** File id (the manifest's SHA-256). */
  id: Uint8Array;
  /** File name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Chunks in the file. */
  chunkCount: number;
  /** The manifest's bytes (they hash to `id`). */
  manifestBytes: Uint8Array;
}

/** One attack, run beside the honest downloads of one row. */
export interface Attack {
  /** Short key for `--only` ("5" … "9"). */
  readonly key: string;
  /** What the attack does, for the table. */
  readonly label: string;
  /** Peers it registers as holders of the target file. */
  readonly holders: number;
  /** Sets up before the honest seeder starts (tables filled, fakes listed). */
  prepare(trackerPort: number, file: TargetFile): Promise<void>;
  /** Runs from when the seeder serves until `stop()`. */
  start(seederPort: number): Promise<void>;
  /** What the attack achieved, one short phrase. */
  summary(): string;
  /** Stops every loop and closes every socket. */
  stop(): Promise<void>;
}

/** Datagrams a second each flooding address sends: under the tracker's 200/s. */
const FLOOD_PER_SECOND = 150;
/** Flood ticks: FLOOD_PER_SECOND / (1000 / TICK_MS) datagrams per tick. */
const TICK_MS = 20;
/** A flood never outlives this, even if nobody stops it. */
const MAX_ATTACK_MS = 15 * 60_000;
/** Registered fake peers say they are alive this often (tracker TTL 60 s). */
const KEEPALIVE_MS = 20_000;
/** A new cookie this often (cookies last one or two 60 s windows). */
const COOKIE_MAX_AGE_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * A UDP client of the tracker bound to one loopback address: asks with
 * retries, or sends without waiting, and counts the answers it gets.
 */
export class TrackerClient {
  readonly host: string;
  /** Answers received, by kind ("error" split as "busy" for BUSY). */
  readonly answers = new Map<string, number>();
  /** Peers this client registered, to keep alive. */
  readonly peers: { peerId: Uint8Array; port: number }[] = [];
  readonly #socket: Deno.DatagramConn;
  readonly #to: Deno.NetAddr;
  readonly #waiters = new Map<number, (message: Message) => void>();
  readonly #loop: Promise<void>;
  #txid = Math.floor(Math.random() * 1e6);
  #cookie: { value: Promise<bigint>; atMs: number } | null = null;
  #closed = false;

  /**
   * @param host the loopback address to send from
   * @param trackerPort the tracker's UDP port on 127.0.0.1
   */
  constructor(host: string, trackerPort: number) {
    this.host = host;
    this.#socket = Deno.listenDatagram({
      transport: "udp",
      hostname: host,
      port: 0,
    });
    this.#to = { transport: "udp", hostname: "127.0.0.1", port: trackerPort };
    this.#loop = this.#receive();
  }

  /** A fresh transaction id. */
  txid(): number {
    this.#txid = (this.#txid + 1) % 0xffff_ffff;
    return this.#txid;
  }

  async #receive(): Promise<void> {
    const buffer = new Uint8Array(65_536);
    while (!this.#closed) {
      let bytes: Uint8Array;
      try {
        [bytes] = await this.#socket.receive(buffer);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        continue; // ICMP "port unreachable" after a send: keep listening.
      }
      let message: Message;
      try {
        message = parseMessage(bytes);
      } catch {
        continue;
      }
      const kind = message.kind === "error" && message.code === ErrorCode.BUSY
        ? "busy"
        : message.kind;
      this.answers.set(kind, (this.answers.get(kind) ?? 0) + 1);
      this.#waiters.get(message.txid)?.(message);
    }
  }

  /** Sends without waiting for the answer; a socket error is ignored. */
  async send(message: Message): Promise<void> {
    const bytes = createMessage(message);
    try {
      await this.#socket.send(bytes, this.#to);
    } catch {
      // The attack goes on; a lost datagram is a lost datagram.
    }
  }

  /** Sends and waits for the answer with the same txid (5 tries, 1 s each). */
  async ask(message: Message): Promise<Message | null> {
    for (let attempt = 0; attempt < 5 && !this.#closed; attempt++) {
      const answer = new Promise<Message | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 1_000);
        this.#waiters.set(message.txid, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
      await this.send(message);
      const reply = await answer;
      this.#waiters.delete(message.txid);
      if (reply) return reply;
    }
    return null;
  }

  /** A cookie for this address, asked again once it is 30 s old. */
  cookie(): Promise<bigint> {
    const now = performance.now();
    if (!this.#cookie || now - this.#cookie.atMs > COOKIE_MAX_AGE_MS) {
      // One CONNECT for every caller waiting meanwhile.
      const value = this.ask({ kind: "connect", txid: this.txid() }).then(
        (reply) => {
          if (reply?.kind === "cookie") return reply.cookie;
          this.#cookie = null;
          throw new Error(`The tracker gave ${this.host} no cookie`);
        },
      );
      this.#cookie = { value, atMs: now };
    }
    return this.#cookie.value;
  }

  /** Registers a peer of this address holding `files`; true when ACKed. */
  async register(
    port: number,
    files: FileAnnouncement[],
    peerId: Uint8Array = randomBytes(16),
  ): Promise<boolean> {
    const reply = await this.ask({
      kind: "register",
      txid: this.txid(),
      cookie: await this.cookie(),
      peerId,
      port,
      files,
    });
    if (reply?.kind !== "ack") return false;
    if (!this.peers.some((peer) => peer.peerId === peerId)) {
      this.peers.push({ peerId, port });
    }
    return true;
  }

  /** Sends a KEEPALIVE for every peer this client registered. */
  async keepAlive(): Promise<void> {
    const cookie = await this.cookie().catch(() => null);
    if (cookie === null) return;
    for (const { peerId, port } of this.peers) {
      await this.send({
        kind: "keepalive",
        txid: this.txid(),
        cookie,
        peerId,
        port,
      });
    }
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    await this.#loop;
  }
}

/** Files with random ids and names of at most 7 bytes: 26 fit one REGISTER (1,452 bytes). */
function junkFiles(count: number): FileAnnouncement[] {
  return Array.from({ length: count }, () => ({
    id: randomBytes(32),
    name: `j${Math.floor(Math.random() * 1e6)}`,
    size: 1_000,
    chunkCount: 1,
    complete: true,
  }));
}

function announcement(file: TargetFile): FileAnnouncement {
  return {
    id: file.id,
    name: file.name,
    size: file.size,
    chunkCount: file.chunkCount,
    complete: true,
  };
}

/**
 * Calls `tick()` every TICK_MS until aborted or MAX_ATTACK_MS passed, and
 * `keepAlive()` every KEEPALIVE_MS. Returns the loop's promise.
 */
function everyTick(
  signal: AbortSignal,
  tick: () => Promise<void>,
  keepAlive: () => Promise<void> = async () => {},
): Promise<void> {
  return (async () => {
    const start = performance.now();
    let lastKeepAlive = start;
    for (let n = 1; !signal.aborted; n++) {
      const now = performance.now();
      if (now - start > MAX_ATTACK_MS) return;
      if (now - lastKeepAlive > KEEPALIVE_MS) {
        lastKeepAlive = now;
        await keepAlive();
      }
      await tick();
      await sleep(Math.max(0, start + n * TICK_MS - performance.now()));
    }
  })();
}

/** An attack with an abort signal and loops to wait for on stop. */
abstract class BaseAttack implements Attack {
  abstract readonly key: string;
  abstract readonly label: string;
  readonly holders: number = 0;
  protected readonly abort = new AbortController();
  protected readonly loops: Promise<void>[] = [];
  protected readonly clients: TrackerClient[] = [];

  abstract prepare(trackerPort: number, file: TargetFile): Promise<void>;
  abstract summary(): string;

  start(_seederPort: number): Promise<void> {
    return Promise.resolve();
  }

  /** Keeps every registered peer of every client alive until stopped. */
  protected keepAliveAll(): void {
    this.loops.push(
      everyTick(
        this.abort.signal,
        () => sleep(TICK_MS * 10),
        async () => {
          for (const client of this.clients) await client.keepAlive();
        },
      ),
    );
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    await this.closeMore();
    await Promise.all(this.clients.map((client) => client.close()));
  }

  /** Closes what a subclass opened besides tracker clients. */
  protected closeMore(): Promise<void> {
    return Promise.resolve();
  }
}

/** 5: one address registers as many peers and files as the tracker lets it, then keeps trying. */
export class TableFill extends BaseAttack {
  readonly key = "5";
  readonly label = "5: one address fills the tracker's tables";
  #offered = 0;
  #accepted = 0;
  #client: TrackerClient | null = null;

  async prepare(trackerPort: number): Promise<void> {
    const client = new TrackerClient("127.0.0.50", trackerPort);
    this.#client = client;
    this.clients.push(client);
    // 64 peers (the per-address peer cap) with 53 files each, 150 a second.
    const asks: Promise<void>[] = [];
    for (let port = 1; port <= 64; port++) {
      const peerId = randomBytes(16);
      for (const count of [26, 26, 1]) {
        this.#offered += count;
        asks.push(
          client.register(port, junkFiles(count), peerId).then((ok) => {
            if (ok) this.#accepted += count;
          }),
        );
        await sleep(1000 / FLOOD_PER_SECOND);
      }
    }
    await Promise.all(asks);
    this.keepAliveAll();
  }

  override start(): Promise<void> {
    const client = this.#client!;
    const perTick = Math.round(FLOOD_PER_SECOND * TICK_MS / 1000);
    this.loops.push(everyTick(this.abort.signal, async () => {
      const cookie = await client.cookie().catch(() => null);
      if (cookie === null) return;
      for (let k = 0; k < perTick; k++) {
        this.#offered += 26;
        await client.send({
          kind: "register",
          txid: client.txid(),
          cookie,
          peerId: randomBytes(16),
          port: 1 + Math.floor(Math.random() * 64),
          files: junkFiles(26),
        });
      }
    }));
    return Promise.resolve();
  }

  summary(): string {
    const acks = this.#client?.answers.get("ack") ?? 0;
    const busy = this.#client?.answers.get("busy") ?? 0;
    return `${this.#accepted} of the first ${64 * 53} files accepted; ` +
      `then ${acks} ACK, ${busy} BUSY for ${this.#offered} files offered`;
  }
}

/** 6: a nearly full file table, and four addresses sending full-scan searches under the rate limit. */
export class ListFlood extends BaseAttack {
  readonly key = "6";
  readonly label = "6: 4 addresses flood LIST full scans";
  #registered = 0;
  #sent = 0;
  #flooders: TrackerClient[] = [];
  #trackerPort = 0;

  async prepare(trackerPort: number): Promise<void> {
    this.#trackerPort = trackerPort;
    // 96 addresses × 40 peers × 25 files: 96,000 files, each address
    // within its 1 % share, leaving room for the honest seeder's file.
    for (let group = 0; group < 8; group++) {
      const clients = Array.from(
        { length: 12 },
        (_, i) =>
          new TrackerClient(`127.0.1.${group * 12 + i + 1}`, trackerPort),
      );
      this.clients.push(...clients);
      await Promise.all(clients.map(async (client) => {
        for (let peer = 0; peer < 40; peer++) {
          if (await client.register(1_000 + peer, junkFiles(25))) {
            this.#registered += 25;
          }
        }
      }));
    }
    this.keepAliveAll();
  }

  override start(): Promise<void> {
    this.#flooders = Array.from(
      { length: 4 },
      (_, i) => new TrackerClient(`127.0.2.${i + 1}`, this.#trackerPort),
    );
    this.clients.push(...this.#flooders);
    const perTick = Math.round(FLOOD_PER_SECOND * TICK_MS / 1000);
    this.loops.push(everyTick(this.abort.signal, async () => {
      for (const client of this.#flooders) {
        const cookie = await client.cookie().catch(() => null);
        if (cookie === null) continue;
        for (let k = 0; k < perTick; k++) {
          this.#sent++;
          await client.send({
            kind: "list",
            txid: client.txid(),
            cookie,
            offset: 0,
            query: `nothing-${this.#sent}`,
          });
        }
      }
    }));
    return Promise.resolve();
  }

  summary(): string {
    const answered = this.#flooders.reduce(
      (sum, client) => sum + (client.answers.get("file_list") ?? 0),
      0,
    );
    return `${this.#registered} files listed; ${answered} of ${this.#sent} searches answered`;
  }
}

/** Registers one holder of `file` at (host, port), from host, as a real peer would. */
async function registerHolder(
  clients: TrackerClient[],
  trackerPort: number,
  host: string,
  port: number,
  file: TargetFile,
): Promise<boolean> {
  const client = new TrackerClient(host, trackerPort);
  clients.push(client);
  return await client.register(port, [announcement(file)]);
}

/** A distinct loopback address per fake peer, as if each were its own host. */
function hostOf(base: number, i: number): string {
  return `127.0.${base + (i >> 8)}.${(i & 0xff) + 1}`;
}

/** 7: 64 peers that answer the handshake with an empty bitfield, serve the manifest, then say nothing. */
export class EmptyPeers extends BaseAttack {
  readonly key = "7";
  readonly label = "7: 64 holders with nothing, then silence";
  override readonly holders = 64;
  #listeners: Deno.Listener[] = [];
  #accepting: Promise<void>[] = [];
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #connections = 0;
  #manifests = 0;
  #registered = 0;

  async prepare(trackerPort: number, file: TargetFile): Promise<void> {
    for (let i = 0; i < this.holders; i++) {
      const host = hostOf(10, i);
      const listener = Deno.listen({ hostname: host, port: 0 });
      this.#listeners.push(listener);
      // Not in this.loops: those are awaited before closeMore() closes listeners.
      this.#accepting.push(this.#accept(listener, file));
      const port = (listener.addr as Deno.NetAddr).port;
      if (await registerHolder(this.clients, trackerPort, host, port, file)) {
        this.#registered++;
      }
    }
    this.keepAliveAll();
  }

  async #accept(listener: Deno.Listener, file: TargetFile): Promise<void> {
    try {
      for await (const conn of listener) {
        this.#connections++;
        this.#conns.add(conn);
        const task = this.#serve(conn, file).finally(() => {
          this.#conns.delete(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    } catch {
      // Closed by stop().
    }
  }

  async #serve(conn: Deno.Conn, file: TargetFile): Promise<void> {
    const decoder = new FrameDecoder();
    const inbox: Message[] = [];
    const write = async (message: Message) => {
      const bytes = createMessage(message);
      for (let at = 0; at < bytes.byteLength;) {
        at += await conn.write(bytes.subarray(at));
      }
    };
    try {
      const buffer = new Uint8Array(16_384);
      while (!this.abort.signal.aborted) {
        const n = await conn.read(buffer);
        if (n === null) break;
        decoder.push(buffer.subarray(0, n), (m) => inbox.push(m));
        for (const message of inbox.splice(0)) {
          if (message.kind === "handshake") {
            await write({
              kind: "ack",
              txid: message.txid,
              intervalSeconds: 0,
            });
            await write({
              kind: "bitfield",
              txid: 0,
              bits: new Bitfield(file.chunkCount).toBytes(),
            });
          } else if (message.kind === "get_manifest") {
            this.#manifests++;
            await write({
              kind: "manifest",
              txid: message.txid,
              bytes: file.manifestBytes,
            });
          }
          // Everything else (INTERESTED, GET…) goes unanswered.
        }
      }
    } catch {
      // The leecher hung up, or sent bytes we cannot parse.
    } finally {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  }

  protected override async closeMore(): Promise<void> {
    for (const listener of this.#listeners) listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await Promise.allSettled([...this.#accepting, ...this.#tasks]);
  }

  summary(): string {
    return `${this.#registered} listed; ${this.#connections} connections, ${this.#manifests} manifests served`;
  }
}

/** 8: 64 listening sockets registered as holders that never accept a connection. */
export class DeafListeners extends BaseAttack {
  readonly key = "8";
  readonly label = "8: 64 holders that never accept";
  override readonly holders = 64;
  #listeners: Deno.Listener[] = [];
  #registered = 0;

  async prepare(trackerPort: number, file: TargetFile): Promise<void> {
    for (let i = 0; i < this.holders; i++) {
      const host = hostOf(20, i);
      // The kernel completes the TCP handshake; nothing ever answers.
      const listener = Deno.listen({ hostname: host, port: 0 });
      this.#listeners.push(listener);
      const port = (listener.addr as Deno.NetAddr).port;
      if (await registerHolder(this.clients, trackerPort, host, port, file)) {
        this.#registered++;
      }
    }
    this.keepAliveAll();
  }

  protected override closeMore(): Promise<void> {
    for (const listener of this.#listeners) listener.close();
    return Promise.resolve();
  }

  summary(): string {
    return `${this.#registered} listed`;
  }
}

/** What an {@linkcode IdleAttack} reads the seeder with: FrameDecoder or BtFrameDecoder. */
interface IdleDecoder {
  push(data: Uint8Array, emit: (message: { kind: string }) => void): void;
}

/** One idle connection of an {@linkcode IdleAttack}. */
interface IdleConn {
  socket: net.Socket;
  closed: boolean;
  /** The seeder answered the handshake. */
  accepted: boolean;
}

/**
 * 20 connections to the seeder from 4 addresses that handshake, say
 * INTERESTED, then never request; a closed one comes back within a second.
 * A subclass speaks the wire (Shoal or BitTorrent) and counts what the
 * seeder answers.
 */
abstract class IdleAttack extends BaseAttack {
  protected file: TargetFile | null = null;
  #conns: IdleConn[] = [];
  #opened = 0;
  /** How many of each counted message the seeder sent. */
  readonly #counts = new Map<string, number>();

  prepare(_trackerPort: number, file: TargetFile): Promise<void> {
    this.file = file;
    return Promise.resolve();
  }

  /** What connection `i` opens with: its handshake, then INTERESTED. */
  protected abstract hello(i: number): Uint8Array[];

  /** A decoder of what the seeder sends (it throws on a broken stream). */
  protected abstract decoder(): IdleDecoder;

  /** The message by which the seeder accepts a connection. */
  protected abstract readonly acceptedBy: string;

  /** The messages from the seeder counted for the summary. */
  protected abstract readonly counted: readonly string[];

  /** Called every second, `ticks` in, for each connection still open. */
  protected abstract nudge(conn: IdleConn, ticks: number): void;

  #connect(i: number, port: number): IdleConn {
    // 5 from each of 4 addresses: under the seeder's 8 per address.
    const socket = net.connect({
      host: "127.0.0.1",
      port,
      localAddress: `127.0.0.${2 + (i % 4)}`,
    });
    const conn: IdleConn = { socket, closed: false, accepted: false };
    const decoder = this.decoder();
    const emit = ({ kind }: { kind: string }) => {
      if (kind === this.acceptedBy) conn.accepted = true;
      if (this.counted.includes(kind)) {
        this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
      }
    };
    this.#opened++;
    socket.on("connect", () => {
      for (const bytes of this.hello(i)) socket.write(bytes);
    });
    socket.on("data", (data: Uint8Array) => {
      try {
        decoder.push(new Uint8Array(data), emit);
      } catch {
        socket.destroy();
      }
    });
    socket.on("close", () => (conn.closed = true));
    socket.on("error", () => (conn.closed = true));
    return conn;
  }

  override start(seederPort: number): Promise<void> {
    this.#conns = Array.from(
      { length: 20 },
      (_, i) => this.#connect(i, seederPort),
    );
    let ticks = 0;
    this.loops.push(everyTick(this.abort.signal, () => {
      ticks++;
      // Every second: a closed connection comes back (at most one a second
      // each), and each open one is nudged.
      if (ticks % 50 === 0) {
        for (const [i, conn] of this.#conns.entries()) {
          if (conn.closed) this.#conns[i] = this.#connect(i, seederPort);
          else this.nudge(conn, ticks);
        }
      }
      return Promise.resolve();
    }));
    return this.#accepted();
  }

  /** Waits (at most 10 s) until the seeder has accepted all 20. */
  async #accepted(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (this.#conns.every((conn) => conn.accepted)) return;
      await sleep(100);
    }
  }

  protected override closeMore(): Promise<void> {
    for (const conn of this.#conns) conn.socket.destroy();
    return Promise.resolve();
  }

  summary(): string {
    const open = this.#conns.filter((conn) => !conn.closed).length;
    const counts = this.counted.map((kind) =>
      `${this.#counts.get(kind) ?? 0} ${kind.toUpperCase()}`
    );
    return `${open} of 20 open at the end, ${this.#opened} opened, ${
      counts.join(", ")
    }`;
  }
}

/** 9: 20 connections from 4 addresses that handshake, say INTERESTED, then nothing. */
export class IdleConnections extends IdleAttack {
  readonly key = "9";
  readonly label = "9: 20 idle connections on the seeder";
  protected readonly acceptedBy = "bitfield";
  protected readonly counted = ["unchoke", "error"];

  protected hello(i: number): Uint8Array[] {
    return [
      createMessage({
        kind: "handshake",
        txid: 1,
        fileId: this.file!.id,
        peerId: new Uint8Array(16).fill(i + 1),
        port: 0,
      }),
      createMessage({ kind: "interested", txid: 0 }),
    ];
  }

  protected decoder(): IdleDecoder {
    return new FrameDecoder();
  }

  protected nudge(conn: IdleConn, ticks: number): void {
    // Every minute each says INTERESTED again.
    if (ticks % 3_000 === 0) {
      conn.socket.write(createMessage({ kind: "interested", txid: 0 }));
    }
  }
}

/**
 * 9 over BitTorrent: 20 BitTorrent connections from 4 addresses that
 * handshake, say INTERESTED, never request, and say INTERESTED again every
 * second (which, before issue 21's BitTorrent rules, kept a slot as a
 * request does).
 */
export class IdleBtConnections extends IdleAttack {
  readonly key = "9bt";
  readonly label = "9: 20 idle BitTorrent connections on the seeder";
  protected readonly acceptedBy = "have_all";
  protected readonly counted = ["unchoke", "choke"];

  protected hello(i: number): Uint8Array[] {
    return [
      encodeBtHandshake({
        infoHash: this.file!.id.slice(0, 20),
        peerId: new TextEncoder().encode(
          `-AT0001-idle${String(i).padStart(8, "0")}`,
        ),
        extended: false,
        fast: true,
      }),
      encodeBtMessage({ kind: "interested" }),
    ];
  }

  protected decoder(): IdleDecoder {
    return new BtFrameDecoder();
  }

  protected nudge(conn: IdleConn): void {
    conn.socket.write(encodeBtMessage({ kind: "interested" }));
  }

  override start(seederPort: number): Promise<void> {
    // Past the slots' grace (2 s) and idle (5 s) times, so the slots are
    // wherever the rules leave them when the leecher comes.
    return super.start(seederPort).then(() => sleep(6_000));
  }
}

/** Every attack, in the order. */
export function allAttacks(): Attack[] {
  return [
    new TableFill(),
    new ListFlood(),
    new EmptyPeers(),
    new DeafListeners(),
    new IdleConnections(),
    new IdleBtConnections(),
  ];
}
