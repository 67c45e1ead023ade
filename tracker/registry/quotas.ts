/**
 * The registry's caps, and the share of each table one source address may
 * fill, so that filling any table takes many addresses.
 *
 * @module
 */

/** Limits of a {@linkcode SwarmRegistry}. Over any of them a change answers "busy". */
export interface RegistryLimits {
  /** Most files tracked at once. */
  maxFiles: number;
  /** Most peers tracked at once. */
  maxPeers: number;
  /** Most peers one file may list. */
  maxPeersPerFile: number;
  /** Most files one peer may hold. */
  maxFilesPerPeer: number;
  /** Most peers (TCP ports) behind one source IP. */
  maxPeersPerIp: number;
  /** Most (peer, file) pairs in total: the real memory bound. */
  maxHoldings: number;
  /**
   * Most (peer, file) pairs of all the peers behind one source IP. A file
   * needs a holder, so this also bounds the files one IP keeps listed.
   */
  maxHoldingsPerIp: number;
}

/**
 * The share of a table one source IP may fill: 1 %, so that filling any
 * table takes at least 100 addresses.
 */
export const SOURCE_SHARE_OF_TABLE = 0.01;
/** One source IP may always hold this many files, however small the tables. */
export const MIN_HOLDINGS_PER_IP = 16;
/** Most peers (TCP ports) behind one source IP, when the peer table allows it. */
export const MAX_PEERS_PER_IP = 64;

/**
 * The limits with every per-IP cap not given derived from the tables:
 * {@linkcode SOURCE_SHARE_OF_TABLE} of them (peers: at most
 * {@linkcode MAX_PEERS_PER_IP}; holdings: at least
 * {@linkcode MIN_HOLDINGS_PER_IP}).
 *
 * @param limits caps to set; the rest take the defaults
 * @returns every cap
 */
export function registryLimits(
  limits: Partial<RegistryLimits> = {},
): RegistryLimits {
  const maxFiles = limits.maxFiles ?? 100_000;
  const maxPeers = limits.maxPeers ?? 100_000;
  const maxHoldings = limits.maxHoldings ?? 1_000_000;
  const share = (table: number) =>
    Math.max(1, Math.floor(table * SOURCE_SHARE_OF_TABLE));
  return {
    maxFiles,
    maxPeers,
    maxHoldings,
    maxPeersPerFile: limits.maxPeersPerFile ?? 10_000,
    maxFilesPerPeer: limits.maxFilesPerPeer ?? 10_000,
    maxPeersPerIp: limits.maxPeersPerIp ??
      Math.min(MAX_PEERS_PER_IP, share(maxPeers)),
    maxHoldingsPerIp: limits.maxHoldingsPerIp ??
      Math.max(MIN_HOLDINGS_PER_IP, share(Math.min(maxFiles, maxHoldings))),
  };
}

/**
 * Default limits: roughly 200 MB in the worst case, and one source IP at
 * most 64 peers and 1,000 (peer, file) pairs (so at most 1,000 files):
 * about 1 MB.
 */
export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = Object
  .freeze(registryLimits());
