/**
 * A peer a BitTorrent client told us about in `ut_pex`, as a candidate:
 * met in BitTorrent, so it is asked in BitTorrent first (no Shoal handshake
 * to wait out), and a seed when its BEP 11 flags say so; and the `ut_pex`
 * payload we send, seeds flagged the same way.
 *
 * @module
 */
import { encodePexMessage, PEX_FLAG_SEED, type PexPeer } from "@shoal/protocol";
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

/**
 * The `ut_pex` payload of one PexSender round: seeds carry the BEP 11 seed flag.
 *
 * @param message the peers added and dropped since the last round
 * @returns the bencoded payload
 * @example
 * ```ts
 * import { btPexPayload } from "./pex_peers.ts";
 * btPexPayload({ added: [{ host: "10.0.0.1", port: 6881, complete: true }], dropped: [] });
 * ```
 */
export function btPexPayload(
  message: { added: PexAddress[]; dropped: PexAddress[] },
): Uint8Array {
  return encodePexMessage({
    added: message.added.map((peer) => ({
      host: peer.host,
      port: peer.port,
      flags: peer.complete ? PEX_FLAG_SEED : 0,
    })),
    dropped: message.dropped.map((peer) => ({ ...peer, flags: 0 })),
  });
}
