/**
 * The tracker's UDP loop: receive a datagram, hand it to
 * {@linkcode TrackerHandler}, send the reply. Stops on an AbortSignal.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { BEP15_MAX_REQUEST_BYTES, MAX_DATAGRAM_BYTES } from "@shoal/protocol";
import { TrackerHandler, type TrackerHandlerOptions } from "./handler.ts";
import { type RegistryOptions, SwarmRegistry } from "./registry/mod.ts";

const logger = getLogger(["shoal", "tracker"]);

/** Default time a silent peer stays listed. */
export const DEFAULT_PEER_TTL_MS = 60_000;

/** Options for {@linkcode serveTracker}. */
export interface ServeTrackerOptions {
  /**
   * Address to bind. "::" serves IPv6 and IPv4 (one dual-stack socket, or
   * two where the system keeps IPv6 sockets IPv6-only, or IPv4 alone where
   * the system has no IPv6).
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * UDP port to bind; 0 picks a free one (read it from the result).
   *
   * @default {6969}
   */
  port?: number;
  /**
   * How long a silent peer stays listed, in milliseconds.
   *
   * @default {60_000}
   */
  peerTtlMs?: number;
  /** Registry caps and randomness (the TTL comes from `peerTtlMs`). */
  registry?: Omit<RegistryOptions, "peerTtlMs">;
  /** Cookie jar, rate limit and sweep interval for the handler. */
  handler?: Omit<TrackerHandlerOptions, "registry">;
  /**
   * Clock in milliseconds.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /** Aborting it closes the socket and ends the loop. */
  signal?: AbortSignal;
}

/** A running tracker. */
export interface TrackerServer {
  /** The address the first socket is bound to (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /**
   * Every bound socket's address: one for a single address or a dual-stack
   * "::", two ("::" and "0.0.0.0") where the system keeps IPv6 sockets
   * IPv6-only.
   */
  readonly addrs: readonly Deno.NetAddr[];
  /** The handler, for its registry and counters. */
  readonly handler: TrackerHandler;
  /**
   * Settles when every loop has ended and the sockets are closed. Rejects
   * when the handler throws (a bug).
   */
  readonly finished: Promise<void>;
}

/** Closes a socket that may be closed already. */
function closeQuietly(socket: Deno.DatagramConn): void {
  try {
    socket.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

function bind(hostname: string, port: number): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname, port });
}

/**
 * Binds the sockets for `hostname`. For "::" it binds IPv6 and then tries
 * 0.0.0.0 on the same port: where the IPv6 socket is dual stack (Linux's
 * default) that port is taken already and one socket serves both families;
 * where IPv6 sockets are IPv6-only the second socket serves IPv4. A system
 * without IPv6 gets 0.0.0.0 alone.
 */
function bindAll(hostname: string, port: number): Deno.DatagramConn[] {
  if (hostname !== "::") return [bind(hostname, port)];
  let v6: Deno.DatagramConn;
  try {
    v6 = bind("::", port);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw error;
    logger.info("IPv6 is not available ({error}); serving IPv4 only", {
      error,
    });
    return [bind("0.0.0.0", port)];
  }
  const boundPort = (v6.addr as Deno.NetAddr).port;
  try {
    return [v6, bind("0.0.0.0", boundPort)];
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return [v6];
    closeQuietly(v6);
    throw error;
  }
}

/**
 * Binds UDP (see `hostname`) and serves tracker requests until `signal`
 * aborts.
 *
 * @param options address, port, TTL, caps and stop signal
 * @returns the bound addresses, the handler and a promise of the loops' end
 * @example
 * ```ts
 * import { serveTracker } from "./server.ts";
 * const controller = new AbortController();
 * const server = serveTracker({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
 * console.log(server.addr.port);
 * controller.abort();
 * await server.finished;
 * ```
 */
export function serveTracker(options: ServeTrackerOptions = {}): TrackerServer {
  const registry = new SwarmRegistry({
    ...options.registry,
    peerTtlMs: options.peerTtlMs ?? DEFAULT_PEER_TTL_MS,
  });
  const handler = new TrackerHandler({ ...options.handler, registry });
  const now = options.now ?? Date.now;
  const signal = options.signal;
  signal?.throwIfAborted();
  const sockets = bindAll(options.hostname ?? "0.0.0.0", options.port ?? 6969);
  const addrs = sockets.map((socket) => socket.addr as Deno.NetAddr);
  const onAbort = () => sockets.forEach(closeQuietly);
  signal?.addEventListener("abort", onAbort, { once: true });

  async function loop(socket: Deno.DatagramConn): Promise<void> {
    // One buffer per socket: the handler copies what it keeps. One byte
    // more than the largest request of either dialect (a BEP 15 scrape of
    // 74 infohashes is 1496 bytes), so an oversized datagram fails to decode.
    const buffer = new Uint8Array(
      Math.max(MAX_DATAGRAM_BYTES, BEP15_MAX_REQUEST_BYTES) + 1,
    );
    // The handler's reply is a view of its own buffer, which another
    // socket's loop may overwrite while this send is in flight: each loop
    // copies it into a buffer of its own first.
    const sendBuffer = new Uint8Array(MAX_DATAGRAM_BYTES);
    try {
      while (!signal?.aborted) {
        let bytes: Uint8Array;
        let source: Deno.NetAddr;
        try {
          const [received, from] = await socket.receive(buffer);
          bytes = received;
          source = from as Deno.NetAddr;
        } catch (error) {
          if (signal?.aborted || error instanceof Deno.errors.BadResource) {
            return;
          }
          // An ICMP error from an earlier send can surface here; the socket
          // itself is fine, so keep serving.
          logger.warn("Cannot receive datagram: {error}", { error });
          continue;
        }
        const reply = handler.respond(bytes, source, now());
        if (!reply) continue;
        let out = reply;
        if (reply.byteLength <= sendBuffer.byteLength) {
          sendBuffer.set(reply);
          out = sendBuffer.subarray(0, reply.byteLength);
        }
        try {
          await socket.send(out, source);
        } catch (error) {
          if (signal?.aborted || error instanceof Deno.errors.BadResource) {
            return;
          }
          logger.warn("Cannot send reply to {host}:{port}: {error}", {
            host: source.hostname,
            port: source.port,
            error,
          });
        }
      }
    } finally {
      closeQuietly(socket);
    }
  }

  const finished = Promise.all(sockets.map(loop)).then(
    () => {},
  ).finally(() => {
    signal?.removeEventListener("abort", onAbort);
    // One loop failing (a handler bug) stops the others too.
    sockets.forEach(closeQuietly);
  });
  return { addr: addrs[0]!, addrs, handler, finished };
}
