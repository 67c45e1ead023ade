/**
 * A peer a BitTorrent client told us about in `ut_pex`, as a candidate:
 * met in BitTorrent, so it is asked in BitTorrent first (no Shoal handshake
 * to wait out), and a seed when its BEP 11 flags say so.
 *
 * @module
 */
import { PEX_FLAG_SEED, type PexPeer } from "@shoal/protocol";
import type { PexAddress } from "../discovery/pex_policy.ts";

/**
 * The candidate of one `ut_pex` entry.
 *
 * @param peer a decoded `added` entry
 * @returns its address, marked BitTorrent
 * @example
 * ```ts
 * import { btPexPeer } from "./pex_peers.ts";
 * btPexPeer({ host: "10.0.0.1", port: 6881, flags: 2 });
 * // { host: "10.0.0.1", port: 6881, bittorrent: true, complete: true }
 * ```
 */
export function btPexPeer(peer: PexPeer): PexAddress {
  return {
    host: peer.host,
    port: peer.port,
    bittorrent: true,
    complete: (peer.flags & PEX_FLAG_SEED) !== 0,
  };
}
