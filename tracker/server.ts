/**
 * The tracker's UDP loop: receive a datagram, hand it to
 * {@linkcode TrackerHandler}, send the reply. Stops on an AbortSignal.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { MAX_DATAGRAM_BYTES } from "@shoal/protocol";
import { TrackerHandler, type TrackerHandlerOptions } from "./handler.ts";
import { type RegistryOptions, SwarmRegistry } from "./registry.ts";

const logger = getLogger(["shoal", "tracker"]);

/** Default time a silent peer stays listed. */
export const DEFAULT_PEER_TTL_MS = 60_000;

/** Options for {@linkcode serveTracker}. */
export interface ServeTrackerOptions {
  /**
   * Address to bind.
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
  /** The address the socket is bound to (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** The handler, for its registry and counters. */
  readonly handler: TrackerHandler;
  /**
   * Settles when the loop has ended and the socket is closed. Rejects when
   * the handler throws (a bug).
   */
  readonly finished: Promise<void>;
}

/**
 * Binds a UDP socket and serves tracker requests until `signal` aborts.
 *
 * @param options address, port, TTL, caps and stop signal
 * @returns the bound address, the handler and a promise of the loop's end
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
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port ?? 6969,
  });
  const addr = socket.addr as Deno.NetAddr;
  const onAbort = () => socket.close();
  signal?.addEventListener("abort", onAbort, { once: true });

  // One buffer for every datagram: the handler copies what it keeps. One
  // byte more than the limit, so an oversized datagram fails to decode.
  const buffer = new Uint8Array(MAX_DATAGRAM_BYTES + 1);

  async function loop(): Promise<void> {
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
        const reply = handler.handle(bytes, source, now());
        if (!reply) continue;
        try {
          await socket.send(reply, source);
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
      signal?.removeEventListener("abort", onAbort);
      if (!signal?.aborted) socket.close();
    }
  }

  return { addr, handler, finished: loop() };
}
