/**
 * The DHT's saved state, `OUT/.shoal/dht.json`: our node id and the nodes
 * met last time, so that a restart rejoins without the routers. The file
 * is read as untrusted (size bound, shape checked, addresses checked) and
 * reused only with the same bootstrap list it was made with: a loopback
 * run never learns a public node from a file, nor the other way round.
 *
 * @module
 */
import { join } from "node:path";
import type { DhtAddress } from "@shoal/protocol/dht_worker_messages";
import { dhtAddressProblem } from "./address_policy.ts";
import { writeJsonFile } from "../storage/json_file.ts";

/** The file's name in the state folder. */
export const DHT_FILE_NAME = "dht.json";
/** Largest file read. */
export const MAX_DHT_FILE_BYTES = 256 * 1024;
/** Most nodes saved and reused. */
export const MAX_SAVED_NODES = 300;

/** What dht.json holds. */
export interface SavedDht {
  /** Our node id, 40 hex digits. */
  nodeId: string;
  /** Nodes met, checked. */
  nodes: DhtAddress[];
}

/** The bootstrap list as one string, to tell whether a file belongs to it. */
function bootstrapKey(bootstrap: readonly DhtAddress[]): string[] {
  return bootstrap.map((node) => `${node.host.toLowerCase()}:${node.port}`)
    .sort();
}

/**
 * Reads dht.json; null when it is missing, unreadable, malformed, or made
 * with another bootstrap list.
 *
 * @param stateDir the peer's state folder
 * @param bootstrap this run's bootstrap nodes
 * @param loopbackOnly loopback mode (address_policy.ts)
 * @returns the saved node id and nodes, or null
 */
export async function loadDhtState(
  stateDir: string,
  bootstrap: readonly DhtAddress[],
  loopbackOnly: boolean,
): Promise<SavedDht | null> {
  let text: string;
  try {
    const path = join(stateDir, DHT_FILE_NAME);
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > MAX_DHT_FILE_BYTES) return null;
    text = await Deno.readTextFile(path);
  } catch {
    // Missing or unreadable: the DHT starts from the bootstrap nodes.
    return null;
  }
  return parseDhtState(text, bootstrap, loopbackOnly);
}

/**
 * Checks dht.json's text (total: anything malformed gives null).
 *
 * @param text the file's text
 * @param bootstrap this run's bootstrap nodes
 * @param loopbackOnly loopback mode
 * @returns the saved state, or null
 * @example
 * ```ts
 * import { parseDhtState } from "./routing_file.ts";
 * parseDhtState("{}", [], false); // null
 * ```
 */
export function parseDhtState(
  text: string,
  bootstrap: readonly DhtAddress[],
  loopbackOnly: boolean,
): SavedDht | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const saved = value as Record<string, unknown>;
  if (saved.version !== 1) return null;
  if (
    !Array.isArray(saved.bootstrap) ||
    JSON.stringify(saved.bootstrap) !==
      JSON.stringify(bootstrapKey(bootstrap))
  ) return null;
  if (
    typeof saved.nodeId !== "string" || !/^[0-9a-f]{40}$/.test(saved.nodeId)
  ) {
    return null;
  }
  const nodes: DhtAddress[] = [];
  if (Array.isArray(saved.nodes)) {
    for (const entry of saved.nodes.slice(0, MAX_SAVED_NODES)) {
      if (typeof entry !== "object" || entry === null) continue;
      const { host, port } = entry as Record<string, unknown>;
      if (typeof host !== "string" || typeof port !== "number") continue;
      if (dhtAddressProblem({ host, port }, loopbackOnly) === null) {
        nodes.push({ host, port });
      }
    }
  }
  return { nodeId: saved.nodeId, nodes };
}

/**
 * Writes dht.json whole (writeJsonFile: a temporary file renamed over the
 * old one).
 *
 * @param stateDir the peer's state folder
 * @param bootstrap this run's bootstrap nodes
 * @param state our node id and the nodes met
 */
export async function saveDhtState(
  stateDir: string,
  bootstrap: readonly DhtAddress[],
  state: SavedDht,
): Promise<void> {
  await writeJsonFile(join(stateDir, DHT_FILE_NAME), {
    version: 1,
    bootstrap: bootstrapKey(bootstrap),
    nodeId: state.nodeId,
    nodes: state.nodes.slice(0, MAX_SAVED_NODES),
  });
}
