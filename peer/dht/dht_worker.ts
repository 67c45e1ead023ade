/**
 * The DHT worker: one Mainline DHT node (BEP 5, npm:bittorrent-dht) off the
 * main thread, so that its UDP traffic, bencode and routing table never
 * take time from a transfer. It answers the main thread's commands
 * (protocol/dht_worker_messages.ts) and applies address_policy.ts to every
 * datagram it sends and every peer it hands on.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import DHT from "bittorrent-dht";
import {
  type DhtAddress,
  type DhtWorkerCommand,
  type DhtWorkerEvent,
  isDhtWorkerCommand,
  MAX_DHT_ADDRESSES,
} from "@shoal/protocol/dht_worker_messages";
import { dhtAddressProblem } from "./address_policy.ts";

/** Most distinct peers one lookup hands on. */
export const MAX_PEERS_PER_LOOKUP = 500;
/** Peers are sent to the main thread in batches at most this often. */
const PEER_FLUSH_MS = 50;
/** Warnings passed on at most this many per minute (the rest are counted). */
const WARNINGS_PER_MINUTE = 10;

/** What the library's `peer` event and table give (untyped JavaScript). */
interface LibraryPeer {
  host: string;
  port: number;
}

/** The part of bittorrent-dht's DHT class this worker uses. */
interface DhtLibrary {
  nodeId: Uint8Array;
  listen(port: number, host: string, onListening: () => void): void;
  address(): { port: number };
  announce(infoHash: Buffer, port: number, cb: (error?: Error) => void): void;
  lookup(infoHash: Buffer, cb: (error?: Error) => void): () => void;
  toJSON(): { nodes: LibraryPeer[] };
  on(event: string, listener: (...args: unknown[]) => void): void;
  destroy(cb: () => void): void;
}

/** One lookup in progress. */
interface Lookup {
  requestId: number;
  seen: Set<string>;
  batch: DhtAddress[];
}

let dht: DhtLibrary | null = null;
/**
 * Resolves once the socket is bound: a query sent before is lost (Deno's
 * node:dgram drops it), and the lookup would wait out its timeout.
 */
let bound: Promise<void> = Promise.resolve();
let loopbackOnly = true;
/** Lookups in progress by info hash (hex). */
const lookups = new Map<string, Lookup[]>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;
let warningsThisMinute = 0;
let warningMinute = 0;

function post(event: DhtWorkerEvent): void {
  self.postMessage(event);
}

/** Passes a warning on, a few a minute at most: a dead network is quiet. */
function warn(message: string): void {
  const minute = Math.floor(Date.now() / 60_000);
  if (minute !== warningMinute) {
    warningMinute = minute;
    warningsThisMinute = 0;
  }
  if (++warningsThisMinute > WARNINGS_PER_MINUTE) return;
  post({ type: "warning", message: message.split("\n")[0]!.slice(0, 300) });
}

/**
 * A UDP socket whose sends obey the address policy: a node that names
 * an address we must not talk to gets no datagram (its query times out).
 */
function guardedSocket(): dgram.Socket {
  const socket = dgram.createSocket("udp4");
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  // k-rpc-socket calls send(buf, offset, length, port, host, cb).
  (socket as unknown as { send: (...args: unknown[]) => void }).send = (
    ...args: unknown[]
  ) => {
    const port = args[3];
    const host = args[4];
    const cb = args[5];
    if (
      typeof port !== "number" || typeof host !== "string" ||
      dhtAddressProblem({ host, port }, loopbackOnly) !== null
    ) {
      if (typeof cb === "function") queueMicrotask(() => cb(null));
      return;
    }
    send(...args);
  };
  return socket;
}

async function start(
  command: Extract<DhtWorkerCommand, { type: "start" }>,
): Promise<void> {
  loopbackOnly = command.loopbackOnly;
  const listening = Promise.withResolvers<void>();
  bound = listening.promise;
  // Bound before the DHT exists: the library sends its first queries (the
  // join) at once, and those sent while the socket was still binding went
  // unanswered here.
  const socket = guardedSocket();
  const bindError = await new Promise<Error | null>((resolve) => {
    socket.once("error", (error: Error) => resolve(error));
    socket.bind(command.port, command.bindHost, () => resolve(null));
  });
  if (bindError) {
    socket.close();
    listening.resolve();
    post({ type: "failed", message: textOf(bindError) });
    return;
  }
  const options: Record<string, unknown> = {
    bootstrap: command.bootstrap.map((node) => `${node.host}:${node.port}`),
    socket,
    // Peers others announce to us are kept a bounded while (BEP 5 leaves it
    // open; 30 minutes as libtorrent), at most this many.
    maxAge: 30 * 60_000,
    maxPeers: 10_000,
  };
  // A node bound to loopback knows its own address: it then answers lookups
  // for the files it announces with itself, so a peer that rejoins through
  // saved nodes finds the seeders even when the announces went elsewhere.
  // On the open network its public address is not known, so it stays unset.
  if (command.bindHost === "127.0.0.1") options.host = command.bindHost;
  if (command.nodeId) options.nodeId = command.nodeId;
  const node = new DHT(options) as unknown as DhtLibrary;
  dht = node;
  node.on("peer", (peer, infoHash) => onPeer(peer, infoHash));
  node.on("warning", (error) => warn(textOf(error)));
  node.on("error", (error) => warn(textOf(error)));
  // The library learns it is listening from the socket's event, which has
  // passed: it is told again (its bucket checks start then).
  socket.emit("listening");
  listening.resolve();
  post({ type: "listening", port: node.address().port });
}

function onPeer(peer: unknown, infoHash: unknown): void {
  if (!(infoHash instanceof Uint8Array)) return;
  const waiting = lookups.get(Buffer.from(infoHash).toString("hex"));
  if (!waiting) return;
  const candidate = peer as Partial<LibraryPeer>;
  if (
    typeof candidate.host !== "string" || typeof candidate.port !== "number"
  ) {
    return;
  }
  const address = { host: candidate.host, port: candidate.port };
  if (dhtAddressProblem(address, loopbackOnly) !== null) return;
  const key = `${address.host}:${address.port}`;
  for (const lookup of waiting) {
    if (lookup.seen.size >= MAX_PEERS_PER_LOOKUP || lookup.seen.has(key)) {
      continue;
    }
    lookup.seen.add(key);
    lookup.batch.push(address);
  }
  flushTimer ??= setTimeout(flush, PEER_FLUSH_MS);
}

/** Sends every lookup's new peers. */
function flush(): void {
  flushTimer = undefined;
  for (const waiting of lookups.values()) {
    for (const lookup of waiting) {
      if (lookup.batch.length === 0) continue;
      post({ type: "peers", requestId: lookup.requestId, peers: lookup.batch });
      lookup.batch = [];
    }
  }
}

async function lookup(requestId: number, infoHash: string): Promise<void> {
  await bound;
  const node = dht;
  if (!node) return post({ type: "done", requestId, error: "DHT not started" });
  const entry: Lookup = { requestId, seen: new Set(), batch: [] };
  lookups.set(infoHash, [...(lookups.get(infoHash) ?? []), entry]);
  node.lookup(Buffer.from(infoHash, "hex"), (error) => {
    flush();
    const rest = (lookups.get(infoHash) ?? []).filter((l) => l !== entry);
    if (rest.length > 0) lookups.set(infoHash, rest);
    else lookups.delete(infoHash);
    post({ type: "done", requestId, error: error ? textOf(error) : null });
  });
}

async function announce(
  requestId: number,
  infoHash: string,
  port: number,
): Promise<void> {
  await bound;
  const node = dht;
  if (!node) return post({ type: "done", requestId, error: "DHT not started" });
  node.announce(Buffer.from(infoHash, "hex"), port, (error) => {
    post({ type: "done", requestId, error: error ? textOf(error) : null });
  });
}

function table(requestId: number): void {
  const node = dht;
  if (!node) return;
  const nodes: DhtAddress[] = [];
  for (const entry of node.toJSON().nodes) {
    if (nodes.length >= MAX_DHT_ADDRESSES) break;
    const address = { host: entry.host, port: entry.port };
    if (dhtAddressProblem(address, loopbackOnly) === null) nodes.push(address);
  }
  post({
    type: "table",
    requestId,
    nodeId: Buffer.from(node.nodeId).toString("hex"),
    nodes,
  });
}

function stop(): void {
  clearTimeout(flushTimer);
  const node = dht;
  dht = null;
  if (!node) return post({ type: "stopped" });
  node.destroy(() => post({ type: "stopped" }));
}

function textOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

self.onmessage = (message: MessageEvent<unknown>) => {
  const command = message.data;
  if (!isDhtWorkerCommand(command)) {
    warn("The DHT worker got a malformed command");
    return;
  }
  switch (command.type) {
    case "start":
      return void start(command);
    case "lookup":
      return void lookup(command.requestId, command.infoHash);
    case "announce":
      return void announce(command.requestId, command.infoHash, command.port);
    case "save":
      return table(command.requestId);
    case "stop":
      return stop();
  }
};
