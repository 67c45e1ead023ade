/**
 * The tracker's statistics over HTTP: `/stats` (JSON) and `/metrics`
 * (Prometheus text). Read-only, on loopback unless told otherwise.
 *
 * @module
 */
import { prometheusText, type TrackerStats } from "./stats.ts";

/** Options for {@linkcode serveStats}. */
export interface ServeStatsOptions {
  /**
   * Address to bind.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** TCP port; 0 picks a free one (read it from the result). */
  port: number;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
}

/** A running statistics server. */
export interface StatsServer {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Settles once the server is closed. */
  readonly finished: Promise<void>;
}

const JSON_TYPE = "application/json; charset=utf-8";
const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Answers one request: GET or HEAD of `/stats` or `/metrics`.
 *
 * @param request the request
 * @param snapshot takes a fresh snapshot
 * @returns the response
 * @example
 * ```ts
 * // const response = statsResponse(new Request("http://x/metrics"), () => stats);
 * ```
 */
export function statsResponse(
  request: Request,
  snapshot: () => TrackerStats,
): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method not allowed\n", {
      status: 405,
      headers: { allow: "GET, HEAD" },
    });
  }
  const path = new URL(request.url).pathname;
  const headers = { "cache-control": "no-store" };
  if (path === "/stats") {
    return new Response(`${JSON.stringify(snapshot())}\n`, {
      headers: { ...headers, "content-type": JSON_TYPE },
    });
  }
  if (path === "/metrics") {
    return new Response(prometheusText(snapshot()), {
      headers: { ...headers, "content-type": PROMETHEUS_TYPE },
    });
  }
  return new Response("Not found: try /stats or /metrics\n", { status: 404 });
}

/**
 * Serves `/stats` and `/metrics` until `signal` aborts.
 *
 * @param snapshot takes a fresh snapshot per request
 * @param options address, port and stop signal
 * @returns the bound address and a promise of the end
 * @example
 * ```ts
 * // const server = serveStats(() => trackerStats(handler, {...}), { port: 9100, signal });
 * ```
 */
export function serveStats(
  snapshot: () => TrackerStats,
  options: ServeStatsOptions,
): StatsServer {
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    ...(options.signal ? { signal: options.signal } : {}),
    onListen: () => {},
  }, (request) => statsResponse(request, snapshot));
  return { addr: server.addr, finished: server.finished };
}
