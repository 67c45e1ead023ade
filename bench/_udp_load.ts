/**
 * What the UDP load generators share (tracker_load.ts for Shoal's messages,
 * bep15_load.ts for BEP 15): many loopback source addresses, a pool of
 * requests in flight, the timeout sweep, latency quantiles and the target's
 * memory.
 *
 * @module
 */

/** The Shoal tracker's cap of peers per source address (tracker/registry/quotas.ts). */
export const PEERS_PER_IP = 64;
/** Sources used at least (to stay far below per-address rate limits). */
const MIN_IPS = 1024;

/**
 * "HOST:PORT" as the address a load generator sends to, or null.
 *
 * @param text the --target flag
 */
export function parseTarget(text: string | undefined): Deno.NetAddr | null {
  const target = /^(.+):(\d+)$/.exec(text ?? "");
  return target
    ? { transport: "udp", hostname: target[1]!, port: Number(target[2]) }
    : null;
}

/**
 * Source addresses for `peers` peers: enough for 64 each (the Shoal
 * tracker's cap), and at least 1024 so no per-address rate limit binds.
 */
export function sourceCount(peers: number): number {
  return Math.max(Math.ceil(peers / PEERS_PER_IP), Math.min(peers, MIN_IPS));
}

/** Failures counted by what failed, for the report; `fail` returns false for a pool job. */
export function failureCounter(): {
  failures: Record<string, number>;
  fail: (what: string) => false;
} {
  const failures: Record<string, number> = {};
  const fail = (what: string): false => {
    failures[what] = (failures[what] ?? 0) + 1;
    return false;
  };
  return { failures, fail };
}

/** The set-up phase (connects, then registrations or announces). */
export interface SetupReport {
  seconds: number;
  /** Answered requests per second. */
  perSecond: number;
  /** Peers listed. */
  ok: number;
  failed: number;
  failures: Record<string, number>;
}

/** The timed phase: its answers and their latency. */
export interface TimedReport {
  seconds: number;
  answers: number;
  answersPerSecond: number;
  timeouts: number;
}

/** Seconds rounded to the millisecond, for the reports. */
function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/**
 * The set-up phase's report.
 *
 * @param seconds how long it took
 * @param answered requests answered in that time
 * @param ok peers listed
 * @param failed requests that failed
 * @param failures the failures by what failed
 */
export function setupReport(
  seconds: number,
  answered: number,
  ok: number,
  failed: number,
  failures: Record<string, number>,
): SetupReport {
  return {
    seconds: roundSeconds(seconds),
    perSecond: Math.round(answered / seconds),
    ok,
    failed,
    failures,
  };
}

/** The timed phase's report, before its latency quantiles. */
export function timedReport(
  seconds: number,
  answers: number,
  timeouts: number,
): TimedReport {
  return {
    seconds: roundSeconds(seconds),
    answers,
    answersPerSecond: Math.round(answers / seconds),
    timeouts,
  };
}

/** One request waiting for its answer. */
export interface Waiting<T> {
  sentMs: number;
  resolve: (reply: T | null) => void;
}

/**
 * A field of /proc/PID/status in KiB (VmRSS, VmHWM), or null.
 *
 * @param pid the process, or null
 * @param key the field
 */
export function statusKiB(pid: number | null, key: string): number | null {
  if (pid === null) return null;
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The i-th loopback source address under a /16 prefix such as "127.77",
 * skipping .0 and .255 host bytes: 65,000 sources.
 */
export function sourceHost(prefix: string, i: number): string {
  const n = Math.floor(i / 254) * 256 + (i % 254) + 1;
  return `${prefix}.${n >> 8}.${n & 255}`;
}

/** The p-quantile of sorted samples, in ms rounded to µs (NaN when none). */
export function quantile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(p * sorted.length) - 1),
  );
  return Math.round(sorted[i]! * 1000) / 1000;
}

/**
 * Runs `count` jobs with at most `concurrency` at once.
 *
 * @returns how many said true and how many false
 */
export async function runPool(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<boolean>,
): Promise<{ ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      if (await job(next++)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, failed };
}

/**
 * Times out requests with no answer: one sweep timer, not one per datagram.
 *
 * @param pending the requests in flight, by transaction id
 * @param timeoutMs how long one may wait
 * @param onTimeout called once per request timed out
 * @returns the timer, to clear at the end
 */
export function sweepTimeouts<T>(
  pending: Map<number, Waiting<T>>,
  timeoutMs: number,
  onTimeout: () => void,
): ReturnType<typeof setInterval> {
  return setInterval(() => {
    const oldest = performance.now() - timeoutMs;
    for (const [txid, waiting] of pending) {
      if (waiting.sentMs < oldest) {
        pending.delete(txid);
        onTimeout();
        waiting.resolve(null);
      }
    }
  }, 25);
}

/** Transaction ids 1, 2, ... wrapping before 2^32. */
export function txidCounter(): () => number {
  let next = 1;
  return () => {
    const t = next;
    next = next >= 0xffff_fff0 ? 1 : next + 1;
    return t;
  };
}

/** How {@linkcode LoadSources} reads replies. */
export interface ReplyReader<Reply> {
  /** What a generator keeps of a datagram, or null to drop it (malformed). */
  decode(data: Uint8Array): Reply | null;
  /** The transaction id of a reply. */
  txidOf(reply: Reply): number;
}

/**
 * One UDP socket on each of `count` loopback source addresses, each with a
 * receive loop that hands a reply to the request waiting on its
 * transaction id; requests left unanswered time out (counted in
 * {@linkcode LoadSources.timeouts}).
 */
export class LoadSources<Reply> {
  /** Requests timed out so far. */
  timeouts = 0;
  readonly #sockets: Deno.DatagramConn[] = [];
  readonly #to: Deno.NetAddr;
  readonly #pending = new Map<number, Waiting<Reply>>();
  readonly #loops: Promise<void>[] = [];
  readonly #sweeper: ReturnType<typeof setInterval>;

  /**
   * @param prefix the /16 the sources are in, e.g. "127.77"
   * @param count how many sources
   * @param to the target
   * @param timeoutMs how long a request may wait for its answer
   * @param reader how replies are read
   */
  constructor(
    prefix: string,
    count: number,
    to: Deno.NetAddr,
    timeoutMs: number,
    reader: ReplyReader<Reply>,
  ) {
    this.#to = to;
    for (let i = 0; i < count; i++) {
      const socket = Deno.listenDatagram({
        transport: "udp",
        hostname: sourceHost(prefix, i),
        port: 0,
      });
      this.#sockets.push(socket);
      this.#loops.push(this.#receive(socket, reader));
    }
    this.#sweeper = sweepTimeouts(
      this.#pending,
      timeoutMs,
      () => this.timeouts++,
    );
  }

  /**
   * Sends a request from source `i`.
   *
   * @returns its reply, or null when it timed out
   */
  send(i: number, bytes: Uint8Array, txid: number): Promise<Reply | null> {
    return new Promise((resolve) => {
      this.#pending.set(txid, { sentMs: performance.now(), resolve });
      this.#sockets[i]!.send(bytes, this.#to).catch(() => {
        // The sweep times it out.
      });
    });
  }

  /** Stops the sweep, closes every socket and waits for the loops to end. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const socket of this.#sockets) socket.close();
    await Promise.all(this.#loops);
  }

  async #receive(
    socket: Deno.DatagramConn,
    reader: ReplyReader<Reply>,
  ): Promise<void> {
    const buffer = new Uint8Array(2048);
    for (;;) {
      let data: Uint8Array;
      try {
        [data] = await socket.receive(buffer);
      } catch {
        return;
      }
      const reply = reader.decode(data);
      if (reply === null) continue;
      const txid = reader.txidOf(reply);
      const waiting = this.#pending.get(txid);
      if (!waiting) continue;
      this.#pending.delete(txid);
      waiting.resolve(reply);
    }
  }
}
