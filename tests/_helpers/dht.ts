/**
 * A Mainline DHT on loopback for tests: a bootstrap node in this process
 * (npm:bittorrent-dht, the library the peers use), the flag that points a
 * peer at it, and a node that floods it with made-up peers. Nothing here
 * sends a datagram anywhere but 127.0.0.1.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import DHT from "bittorrent-dht";

/** The part of bittorrent-dht's DHT these helpers use. */
interface DhtLibrary {
  listen(port: number, host: string, onListening: () => void): void;
  address(): { port: number };
  announce(infoHash: Buffer, port: number, cb: (error?: Error) => void): void;
  lookup(infoHash: Buffer, cb: (error?: Error) => void): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  destroy(cb: () => void): void;
}

/** A DHT node running in this process. */
export interface LoopbackDhtNode {
  /** "127.0.0.1". */
  host: string;
  /** Its UDP port. */
  port: number;
  /** The peer flags that join the DHT through this node (and loopback only). */
  args: string[];
  /** The flags of a seeder on it: `args`, and listening on 127.0.0.1 only. */
  seederArgs: string[];
  /** Stops it. Safe to call twice. */
  stop(): Promise<void>;
  /** Same as stop(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a bittorrent-dht node on 127.0.0.1 with the given bootstrap list. */
async function startNode(bootstrap: string[] | false): Promise<
  { dht: DhtLibrary; node: LoopbackDhtNode }
> {
  const dht = new DHT({ bootstrap } as never) as unknown as DhtLibrary;
  // A DHT with no network only warns; a test has none to report.
  dht.on("warning", () => {});
  await new Promise<void>((resolve) =>
    dht.listen(0, "127.0.0.1", () => resolve())
  );
  const port = dht.address().port;
  const args = ["--dht-bootstrap", `127.0.0.1:${port}`];
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= new Promise<void>((resolve) => dht.destroy(() => resolve()));
  return {
    dht,
    node: {
      host: "127.0.0.1",
      port,
      args,
      seederArgs: [...args, "--host", "127.0.0.1"],
      stop,
      [Symbol.asyncDispose]: stop,
    },
  };
}

/**
 * Starts the bootstrap node of a loopback DHT: peers started with its
 * `args` join it (and, being in loopback mode, talk to loopback only).
 *
 * @returns the node
 * @example
 * ```ts
 * import { startDhtBootstrap } from "../_helpers/dht.ts";
 * await using dht = await startDhtBootstrap();
 * // spawnPeer(null, ["--seed", file, ...dht.args]);
 * ```
 */
export async function startDhtBootstrap(): Promise<LoopbackDhtNode> {
  return (await startNode(false)).node;
}

/**
 * Announces made-up peers of a file on the DHT: one node joins through
 * `bootstrap` and announces 127.0.0.1 with each port (BEP 5 takes the
 * address from the datagram, the port from the message).
 *
 * @param bootstrap the DHT's bootstrap node
 * @param fileId the file's 32-byte id (its first 20 bytes are the key)
 * @param ports the ports to announce
 * @returns the flooding node (stop it when done)
 */
export async function floodDht(
  bootstrap: LoopbackDhtNode,
  fileId: Uint8Array,
  ports: readonly number[],
): Promise<LoopbackDhtNode> {
  const { dht, node } = await startNode([`127.0.0.1:${bootstrap.port}`]);
  const infoHash = Buffer.from(fileId.subarray(0, 20));
  // The first announce looks the key up; the rest reuse what it found.
  await new Promise<void>((resolve) => dht.lookup(infoHash, () => resolve()));
  for (const port of ports) {
    await new Promise<void>((resolve) =>
      dht.announce(infoHash, port, () => resolve())
    );
  }
  return node;
}
