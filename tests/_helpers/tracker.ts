/**
 * Starts an in-process tracker on loopback for tests.
 *
 * @module
 */
import {
  serveTracker,
  type ServeTrackerOptions,
  type TrackerServer,
} from "../../tracker/server.ts";
import type { TrackerHandler } from "../../tracker/handler.ts";
import type { FileAnnouncement } from "@shoal/protocol";
import { TrackerClient } from "../../peer/tracker_client.ts";

const RESTART_ATTEMPTS = 40;
const RESTART_DELAY_MS = 25;

/** Options for {@linkcode startTracker}. */
export interface StartTrackerOptions {
  /**
   * UDP port; 0 picks a free one. Pass a stopped tracker's port to restart it.
   *
   * @default {0}
   */
  port?: number;
  /**
   * Peer TTL in milliseconds.
   *
   * @default {60_000}
   */
  peerTtlMs?: number;
  /** Anything else {@linkcode serveTracker} takes (not hostname or signal). */
  server?: Omit<
    ServeTrackerOptions,
    "hostname" | "port" | "peerTtlMs" | "signal"
  >;
}

/** A tracker running in this process. */
export interface RunningTracker {
  /** Always "127.0.0.1". */
  host: string;
  /** The bound UDP port. */
  port: number;
  /** The handler, for its registry and counters. */
  handler: TrackerHandler;
  /** Closes the socket and waits for the loop to end. Safe to call twice. */
  stop(): Promise<void>;
  /** Same as stop(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a tracker on 127.0.0.1 (port 0 unless given), with the rate limit
 * off so busy tests are never throttled.
 *
 * @param options port, TTL and server options
 * @returns host, port, handler and stop()
 * @example
 * ```ts
 * import { startTracker } from "../_helpers/tracker.ts";
 * await using tracker = await startTracker();
 * // TrackerClient.open({ host: tracker.host, port: tracker.port }) ...
 * ```
 */
export async function startTracker(
  options: StartTrackerOptions = {},
): Promise<RunningTracker> {
  const controller = new AbortController();
  const serve = () =>
    serveTracker({
      handler: { rateLimit: false },
      ...options.server,
      hostname: "127.0.0.1",
      port: options.port ?? 0,
      peerTtlMs: options.peerTtlMs ?? 60_000,
      signal: controller.signal,
    });
  let server: TrackerServer | undefined;
  // A restart on a just-freed port can race with another test process
  // binding it; give the port a moment to come back.
  for (let attempt = 0; !server; attempt++) {
    try {
      server = serve();
    } catch (error) {
      if (
        !(error instanceof Deno.errors.AddrInUse) || !options.port ||
        attempt >= RESTART_ATTEMPTS
      ) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
    }
  }
  const finished = server.finished;
  const stop = async () => {
    controller.abort();
    await finished;
  };
  return {
    host: "127.0.0.1",
    port: server.addr.port,
    handler: server.handler,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * A Shoal TrackerClient of `tracker` (close it, or `await using` it).
 *
 * @param host the address to reach it at (its own, or 127.0.0.1, unless given)
 */
export function openTrackerClient(
  tracker: { host?: string; port: number },
  host = tracker.host ?? "127.0.0.1",
): Promise<TrackerClient> {
  return TrackerClient.open({ host, port: tracker.port });
}

/** A file to announce, with a fresh random id: `size` bytes in one chunk. */
export function randomAnnouncement(
  name: string,
  complete = true,
  size = 100,
): FileAnnouncement {
  return {
    id: crypto.getRandomValues(new Uint8Array(32)),
    name,
    size,
    chunkCount: 1,
    complete,
  };
}
