/**
 * The tracker's statistics: a snapshot of its registry and counters, as
 * JSON for `/stats`, as the Prometheus text format for `/metrics`, and as
 * one line for the log. Pure: the clock comes in as arguments.
 *
 * @module
 */
import { SHOAL_VERSION } from "../version.ts";
import {
  BITTORRENT_REQUEST_TYPES,
  type BitTorrentRequestType,
  DROP_REASONS,
  type DropReason,
  REQUEST_TYPES,
  type RequestType,
  type TrackerHandler,
} from "./handler.ts";
import type { FileCounts } from "./registry/mod.ts";

/** Files listed one by one in a snapshot, most peers first. */
export const STATS_TOP_FILES = 100;

/** What `/stats` serves. */
export interface TrackerStats {
  /** The tracker's version. */
  version: string;
  /** Seconds since the tracker started. */
  uptimeSeconds: number;
  /** Files tracked. */
  files: number;
  /** Peers registered. */
  peers: number;
  /** Peers by address family. */
  peersByFamily: { ipv4: number; ipv6: number };
  /** Peers by protocol: Shoal peers, and BitTorrent clients (BEP 15). */
  peersByProtocol: { shoal: number; bittorrent: number };
  /** (peer, file) pairs. */
  holdings: number;
  /** Holdings of a complete file. */
  seeders: number;
  /** Holdings of a partial file. */
  leechers: number;
  /** Datagrams received in all. */
  datagrams: number;
  /** Replies sent. */
  replies: number;
  /** Shoal requests by type. */
  requests: Record<RequestType, number>;
  /** BitTorrent (BEP 15) requests by type. */
  bittorrentRequests: Record<BitTorrentRequestType, number>;
  /** Drops by reason. */
  drops: Record<DropReason, number>;
  /** The files with most peers (at most {@linkcode STATS_TOP_FILES}). */
  topFiles: FileCounts[];
}

/** Options for {@linkcode trackerStats}. */
export interface TrackerStatsOptions {
  /** When the tracker started, in ms of the same clock as `nowMs`. */
  startedMs: number;
  /** Now. */
  nowMs: number;
  /**
   * How many files to list one by one.
   *
   * @default {100}
   */
  topFiles?: number;
}

/** One series of a metric: its labels ("" or `{key="value"}`) and value. */
type Sample = readonly [labels: string, value: number];
/** A metric: its name after "shoal_tracker_", type, help and series. */
type Metric = readonly [
  name: string,
  type: "gauge" | "counter",
  help: string,
  samples: readonly Sample[],
];

/** One series per key, labelled `{label="key"}`. */
function byLabel<K extends string>(
  label: string,
  keys: readonly K[],
  values: Record<K, number>,
): Sample[] {
  return keys.map((key) => [`{${label}="${key}"}`, values[key]]);
}

/**
 * Takes a snapshot of a handler's registry and counters.
 *
 * @param handler the tracker's handler
 * @param options start time, now and list length
 * @returns the snapshot
 * @example
 * ```ts
 * import { TrackerHandler } from "./handler.ts";
 * import { trackerStats } from "./stats.ts";
 * const stats = trackerStats(new TrackerHandler(), { startedMs: 0, nowMs: 1_000 });
 * stats.uptimeSeconds; // 1
 * ```
 */
export function trackerStats(
  handler: TrackerHandler,
  options: TrackerStatsOptions,
): TrackerStats {
  const registry = handler.registry;
  const counts = registry.stats;
  const totals = registry.totals;
  const handled = handler.stats;
  const counters = handler.counters;
  return {
    version: SHOAL_VERSION,
    uptimeSeconds: Math.max(
      0,
      Math.floor((options.nowMs - options.startedMs) / 1000),
    ),
    files: counts.files,
    peers: counts.peers,
    peersByFamily: { ipv4: totals.ipv4Peers, ipv6: totals.ipv6Peers },
    peersByProtocol: {
      shoal: counts.peers - totals.bittorrentPeers,
      bittorrent: totals.bittorrentPeers,
    },
    holdings: counts.holdings,
    seeders: totals.seeders,
    leechers: totals.leechers,
    datagrams: handled.received,
    replies: handled.replies,
    requests: counters.requests,
    bittorrentRequests: counters.bittorrent,
    drops: counters.drops,
    topFiles: registry.topFiles(options.topFiles ?? STATS_TOP_FILES),
  };
}

function metric(
  lines: string[],
  name: string,
  type: "gauge" | "counter",
  help: string,
  samples: readonly Sample[],
): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) {
    lines.push(`${name}${labels} ${value}`);
  }
}

/**
 * Renders a snapshot in the Prometheus text exposition format (version
 * 0.0.4): gauges of files, peers (by family and by protocol), holdings,
 * seeders and leechers, counters of Shoal and BitTorrent requests by type
 * and of drops by reason. Per-file counts stay in
 * `/stats`: one series per file would grow without bound.
 *
 * @param stats a snapshot from {@linkcode trackerStats}
 * @returns the text, ending with a newline
 * @example
 * ```ts
 * import { TrackerHandler } from "./handler.ts";
 * import { prometheusText, trackerStats } from "./stats.ts";
 * const text = prometheusText(trackerStats(new TrackerHandler(), { startedMs: 0, nowMs: 0 }));
 * text.includes("shoal_tracker_files 0"); // true
 * ```
 */
export function prometheusText(stats: TrackerStats): string {
  const lines: string[] = [];
  const one = (value: number): Sample[] => [["", value]];
  const metrics: Metric[] = [
    ["info", "gauge", "Tracker version.", [[
      `{version="${stats.version}"}`,
      1,
    ]]],
    [
      "uptime_seconds",
      "gauge",
      "Seconds since the tracker started.",
      one(stats.uptimeSeconds),
    ],
    ["files", "gauge", "Files tracked.", one(stats.files)],
    ["peers", "gauge", "Registered peers.", one(stats.peers)],
    [
      "peers_by_family",
      "gauge",
      "Registered peers by address family.",
      byLabel("family", ["ipv4", "ipv6"], stats.peersByFamily),
    ],
    [
      "peers_by_protocol",
      "gauge",
      "Registered peers by protocol: Shoal peers and BitTorrent clients (BEP 15).",
      byLabel("protocol", ["shoal", "bittorrent"], stats.peersByProtocol),
    ],
    [
      "holdings",
      "gauge",
      "Peer and file pairs, by completeness.",
      byLabel("state", ["seeder", "leecher"], {
        seeder: stats.seeders,
        leecher: stats.leechers,
      }),
    ],
    [
      "datagrams_total",
      "counter",
      "Datagrams received.",
      one(stats.datagrams),
    ],
    ["replies_total", "counter", "Replies sent.", one(stats.replies)],
    [
      "requests_total",
      "counter",
      "Requests that decoded, by type.",
      byLabel("type", REQUEST_TYPES, stats.requests),
    ],
    [
      "bittorrent_requests_total",
      "counter",
      "BitTorrent (BEP 15) requests that decoded, by type.",
      byLabel("type", BITTORRENT_REQUEST_TYPES, stats.bittorrentRequests),
    ],
    [
      "drops_total",
      "counter",
      "Datagrams dropped or refused, by reason.",
      byLabel("reason", DROP_REASONS, stats.drops),
    ],
  ];
  for (const [name, type, help, samples] of metrics) {
    metric(lines, `shoal_tracker_${name}`, type, help, samples);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * One line for people, logged every minute.
 *
 * @param stats a snapshot
 * @returns e.g. "3 files, 5 peers (4 IPv4, 1 IPv6; 2 BitTorrent), 4 seeding, 1 leeching; 120 requests (30 BitTorrent), 2 dropped; up 61 s"
 * @example
 * ```ts
 * import { TrackerHandler } from "./handler.ts";
 * import { summaryLine, trackerStats } from "./stats.ts";
 * summaryLine(trackerStats(new TrackerHandler(), { startedMs: 0, nowMs: 0 }));
 * ```
 */
export function summaryLine(stats: TrackerStats): string {
  const bittorrent = BITTORRENT_REQUEST_TYPES.reduce(
    (sum, type) => sum + stats.bittorrentRequests[type],
    0,
  );
  const requests = bittorrent + REQUEST_TYPES.reduce(
    (sum, type) => sum + stats.requests[type],
    0,
  );
  const drops = DROP_REASONS.reduce(
    (sum, reason) => sum + stats.drops[reason],
    0,
  );
  const count = (n: number, noun: string) =>
    `${n} ${noun}${n === 1 ? "" : "s"}`;
  return `${count(stats.files, "file")}, ${
    count(stats.peers, "peer")
  } (${stats.peersByFamily.ipv4} IPv4, ${stats.peersByFamily.ipv6} IPv6; ${stats.peersByProtocol.bittorrent} BitTorrent), ${stats.seeders} seeding, ${stats.leechers} leeching; ${
    count(requests, "request")
  } (${bittorrent} BitTorrent), ${drops} dropped; up ${stats.uptimeSeconds} s`;
}
