/**
 * Helpers for the attack and fault tests: a UDP probe that sends raw
 * datagrams from a chosen loopback address and collects what comes back,
 * the real tracker as a process, and a process's resident memory.
 *
 * @module
 */
import { join } from "node:path";
import { type RunningProcess, spawnDeno, TRACKER_MAIN } from "./peers.ts";

/** One datagram received by a {@linkcode UdpProbe}. */
export interface Received {
  /** The bytes. */
  bytes: Uint8Array;
  /** When it arrived (performance.now()). */
  atMs: number;
}

/**
 * A UDP socket on a loopback address that sends raw bytes to one target and
 * queues every datagram it receives. Linux routes all of 127.0.0.0/8 to
 * loopback, so each probe can stand for a different host.
 */
export class UdpProbe {
  readonly #socket: Deno.DatagramConn;
  readonly #target: Deno.NetAddr;
  readonly #queue: Received[] = [];
  readonly #loop: Promise<void>;
  #wake: (() => void) | null = null;
  #closed = false;

  /**
   * @param hostname the loopback address to send from ("127.0.0.2")
   * @param target where to send (a tracker's host and port)
   */
  constructor(hostname: string, target: { host: string; port: number }) {
    this.#socket = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
    this.#target = {
      transport: "udp",
      hostname: target.host,
      port: target.port,
    };
    this.#loop = this.#receiveLoop();
  }

  /** The address the probe sends from. */
  get addr(): Deno.NetAddr {
    return this.#socket.addr as Deno.NetAddr;
  }

  async #receiveLoop(): Promise<void> {
    const buffer = new Uint8Array(65_536);
    while (!this.#closed) {
      try {
        const [bytes] = await this.#socket.receive(buffer);
        this.#queue.push({ bytes: bytes.slice(), atMs: performance.now() });
        this.#wake?.();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        // ICMP "port unreachable" from an earlier send surfaces here.
        if (error instanceof Deno.errors.ConnectionRefused) continue;
        throw error;
      }
    }
  }

  /** Sends one datagram (errors such as "message too long" are returned, not thrown). */
  async send(bytes: Uint8Array): Promise<Error | null> {
    try {
      await this.#socket.send(bytes, this.#target);
      return null;
    } catch (error) {
      if (error instanceof Error) return error;
      throw error;
    }
  }

  /** Takes every datagram received so far. */
  take(): Received[] {
    return this.#queue.splice(0);
  }

  /** Waits up to `ms` for the next datagram. */
  async next(ms: number): Promise<Received | null> {
    const deadline = performance.now() + ms;
    while (this.#queue.length === 0) {
      const left = deadline - performance.now();
      if (left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
    return this.#queue.shift()!;
  }

  /** Waits `ms`, then takes everything received. */
  async drain(ms: number): Promise<Received[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.take();
  }

  /** Closes the socket and ends the receive loop. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    this.#wake?.();
    await this.#loop;
  }

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The real tracker CLI running as a child process. */
export interface TrackerProcess extends RunningProcess {
  /** Its UDP port. */
  port: number;
  /** Always "127.0.0.1". */
  host: string;
}

/**
 * Starts `tracker/main.ts` as a process on 127.0.0.1, with the permissions
 * of `deno task tracker` (network only).
 *
 * @param args extra flags (`--port`, `--peer-ttl`)
 */
export async function startTrackerProcess(
  args: string[] = [],
): Promise<TrackerProcess> {
  const withPort = args.includes("--port") ? args : [...args, "--port", "0"];
  const process = spawnDeno(
    TRACKER_MAIN,
    ["--host", "127.0.0.1", ...withPort],
    {
      permissions: ["--allow-net"],
    },
  );
  const match = await process.waitFor(/udp:\/\/[^ ]*:(\d+)/, 20_000);
  return Object.assign(process, { port: Number(match[1]), host: "127.0.0.1" });
}

/** Resident memory of a process in KiB (Linux /proc), or null elsewhere. */
export async function rssKiB(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(join("/proc", `${pid}`, "status"));
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `everyMs` until it returns a value other than null
 * or undefined, or throws after `timeoutMs`.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | null | undefined> | T | null | undefined,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== null && value !== undefined) return value;
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(everyMs);
  }
}
