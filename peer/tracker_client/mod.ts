/**
 * The peer's tracker client: {@linkcode TrackerClient} and what its calls
 * take and return. Files: `client.ts` (the seven calls), `options.ts`, `exchange.ts`
 * (transaction ids, the receive loop, retries), `cookies.ts`, `retry.ts`
 * (timeouts, the clock), `batching.ts` (REGISTER datagrams), `transport.ts`
 * (the socket, injectable), `resolve.ts` (DNS), `address.ts`, `errors.ts`.
 *
 * @module
 */
export {
  type ListResult,
  type RequestResult,
  TrackerClient,
} from "./client.ts";
export {
  BEP15_CONNECTION_ID_MAX_AGE_MS,
  type Bep15AnnounceParams,
  type Bep15AnnounceResult,
  type Bep15ClientOptions,
  bep15PeerId,
  Bep15TrackerClient,
} from "./bep15_client.ts";
export type { TrackerClientOptions } from "./options.ts";
export { COOKIE_MAX_AGE_MS } from "./cookies.ts";
export { TrackerError, type TrackerErrorCode } from "./errors.ts";
export type { TrackerCallOptions } from "./exchange.ts";
export type { DnsLookup } from "./resolve.ts";
export {
  type Clock,
  TRACKER_RETRIES,
  TRACKER_TIMEOUT_MS,
  tryTimeouts,
} from "./retry.ts";
export type { DatagramTransport, OpenTransport } from "./transport.ts";
