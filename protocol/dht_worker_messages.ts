/**
 * Messages between a peer's main thread and its DHT worker
 * (peer/dht/dht_worker.ts), with runtime guards used on both sides.
 * Info hashes travel as 40 hex digits (20 bytes: BEP 5; a v2 file id's
 * first 20 bytes, as BEP 52 says for the DHT).
 *
 * @module
 */
import { isRecord } from "./_fields.ts";

/** A DHT node or a peer: IPv4 dotted quad (or a name, for bootstrap) and port. */
export interface DhtAddress {
  /** Host. */
  host: string;
  /** UDP port (a node) or TCP port (a peer). */
  port: number;
}

/** Main thread to the DHT worker. */
export type DhtWorkerCommand =
  | {
    type: "start";
    /** UDP port to bind, 0 for any. */
    port: number;
    /** Address to bind: "127.0.0.1" in loopback mode, else "0.0.0.0". */
    bindHost: string;
    /** Nodes to join through (the saved table first, then the routers). */
    bootstrap: DhtAddress[];
    /** Our node id, 40 hex digits, or null for a new one. */
    nodeId: string | null;
    /** Only loopback traffic and loopback peers (tests, benchmarks, the demo). */
    loopbackOnly: boolean;
  }
  | { type: "announce"; requestId: number; infoHash: string; port: number }
  | { type: "lookup"; requestId: number; infoHash: string }
  | { type: "save"; requestId: number }
  | { type: "stop" };

/** The DHT worker to the main thread. */
export type DhtWorkerEvent =
  /** Bound: the UDP port in use. */
  | { type: "listening"; port: number }
  /** Cannot run (the port is taken): the DHT stays off. */
  | { type: "failed"; message: string }
  /** Checked peers a lookup found (a batch). */
  | { type: "peers"; requestId: number; peers: DhtAddress[] }
  /** A lookup or announce ended; `error` is one line, or null. */
  | { type: "done"; requestId: number; error: string | null }
  /** The routing table, for dht.json. */
  | { type: "table"; requestId: number; nodeId: string; nodes: DhtAddress[] }
  /** Something went wrong that only a debug log wants to hear about. */
  | { type: "warning"; message: string }
  /** Sockets closed; the worker may be terminated. */
  | { type: "stopped" };

/** Most addresses one message may carry. */
export const MAX_DHT_ADDRESSES = 1_000;

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) &&
    value >= 0;
}

function isPort(value: unknown): value is number {
  return isCount(value) && value <= 65_535;
}

function isInfoHash(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{40}$/.test(value);
}

function isAddressList(value: unknown): value is DhtAddress[] {
  return Array.isArray(value) && value.length <= MAX_DHT_ADDRESSES &&
    value.every((entry) =>
      isRecord(entry) && typeof entry.host === "string" &&
      entry.host.length > 0 && entry.host.length <= 255 && isPort(entry.port)
    );
}

/**
 * Whether a value is a {@linkcode DhtWorkerCommand}.
 *
 * @param value a message the worker received
 * @returns true when it has the shape of a command
 * @example
 * ```ts
 * import { isDhtWorkerCommand } from "./dht_worker_messages.ts";
 * isDhtWorkerCommand({ type: "stop" }); // true
 * ```
 */
export function isDhtWorkerCommand(value: unknown): value is DhtWorkerCommand {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case "start":
      return isPort(value.port) && typeof value.bindHost === "string" &&
        isAddressList(value.bootstrap) &&
        (value.nodeId === null || isInfoHash(value.nodeId)) &&
        typeof value.loopbackOnly === "boolean";
    case "announce":
      return isCount(value.requestId) && isInfoHash(value.infoHash) &&
        isPort(value.port);
    case "lookup":
      return isCount(value.requestId) && isInfoHash(value.infoHash);
    case "save":
      return isCount(value.requestId);
    case "stop":
      return true;
    default:
      return false;
  }
}

/**
 * Whether a value is a {@linkcode DhtWorkerEvent}.
 *
 * @param value a message from the worker
 * @returns true when it has the shape of an event
 * @example
 * ```ts
 * import { isDhtWorkerEvent } from "./dht_worker_messages.ts";
 * isDhtWorkerEvent({ type: "listening", port: 6881 }); // true
 * ```
 */
export function isDhtWorkerEvent(value: unknown): value is DhtWorkerEvent {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case "listening":
      return isPort(value.port);
    case "failed":
    case "warning":
      return typeof value.message === "string";
    case "peers":
      return isCount(value.requestId) && isAddressList(value.peers);
    case "done":
      return isCount(value.requestId) &&
        (value.error === null || typeof value.error === "string");
    case "table":
      return isCount(value.requestId) && isInfoHash(value.nodeId) &&
        isAddressList(value.nodes);
    case "stopped":
      return true;
    default:
      return false;
  }
}
