/**
 * Who this peer is connected to, per file, in either direction and either
 * protocol: what its PEX messages tell other peers (pex_policy.ts). The
 * seeding side adds each peer that said where it listens (Shoal's
 * HANDSHAKE port, BitTorrent's `p`); a download adds each peer it fetches
 * from. Peers told to the seeding side by PEX go on to the download of the
 * same file, if there is one (`learned`). Bounded by the connections
 * themselves: an entry lives as long as its connection.
 *
 * @module
 */
import { peerKey } from "../download/peer_book.ts";
import type { PexAddress } from "./pex_policy.ts";

type Learner = (peers: PexAddress[]) => void;

/**
 * The connected peers of every file, by file id (hex).
 *
 * @example
 * ```ts
 * import { ConnectedPeers } from "./connected_peers.ts";
 * const peers = new ConnectedPeers();
 * const remove = peers.add("ab", { host: "127.0.0.1", port: 7000 });
 * peers.list("ab"); // [{ host: "127.0.0.1", port: 7000 }]
 * remove();
 * ```
 */
export class ConnectedPeers {
  readonly #files = new Map<string, Map<number, PexAddress>>();
  readonly #learners = new Map<string, Set<Learner>>();
  #nextToken = 1;

  /**
   * Records a connection to `peer` for a file.
   *
   * @param idHex the file id in hex
   * @param peer where the peer listens
   * @returns forgets it (call when the connection closes)
   */
  add(idHex: string, peer: PexAddress): () => void {
    const token = this.#nextToken++;
    let file = this.#files.get(idHex);
    if (!file) this.#files.set(idHex, file = new Map());
    file.set(token, peer);
    return () => {
      const entries = this.#files.get(idHex);
      if (!entries?.delete(token)) return;
      if (entries.size === 0) this.#files.delete(idHex);
    };
  }

  /**
   * The peers connected for a file, each once (a peer connected both ways
   * counts once).
   *
   * @param idHex the file id in hex
   * @returns the peers
   */
  list(idHex: string): PexAddress[] {
    const byKey = new Map<string, PexAddress>();
    for (const peer of this.#files.get(idHex)?.values() ?? []) {
      const key = peerKey(peer);
      if (!byKey.has(key)) byKey.set(key, peer);
    }
    return [...byKey.values()];
  }

  /**
   * Listens for peers learned by PEX on the seeding side for a file.
   *
   * @param idHex the file id in hex
   * @param learner called with checked candidates
   * @returns stops listening
   */
  onLearned(idHex: string, learner: Learner): () => void {
    let set = this.#learners.get(idHex);
    if (!set) this.#learners.set(idHex, set = new Set());
    set.add(learner);
    return () => {
      const learners = this.#learners.get(idHex);
      learners?.delete(learner);
      if (learners?.size === 0) this.#learners.delete(idHex);
    };
  }

  /**
   * Hands peers a connection learned by PEX to whoever downloads the file.
   *
   * @param idHex the file id in hex
   * @param peers checked candidates (pex_policy.ts `pexCandidates`)
   */
  learned(idHex: string, peers: PexAddress[]): void {
    if (peers.length === 0) return;
    for (const learner of this.#learners.get(idHex) ?? []) learner(peers);
  }
}
