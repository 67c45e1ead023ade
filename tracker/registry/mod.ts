/**
 * The swarm registry: which peers hold which files, with caps. The class
 * {@linkcode SwarmRegistry} coordinates the single-purpose parts of this
 * folder; this file is its public surface.
 *
 * @module
 */
export { SwarmRegistry } from "./swarm_registry.ts";
export {
  DEFAULT_REGISTRY_LIMITS,
  MAX_PEERS_PER_IP,
  MIN_HOLDINGS_PER_IP,
  type RegistryLimits,
  registryLimits,
  SOURCE_SHARE_OF_TABLE,
} from "./quotas.ts";
export type * from "./types.ts";
