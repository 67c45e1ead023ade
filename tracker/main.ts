/**
 * The tracker CLI: `deno task tracker [--host ::] [--port 6969]
 * [--peer-ttl 60] [--max-files 100000] [--stats-port PORT] [--log-level info] [--log-format text]
 * [--version] [--help]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { getLogger, type LogLevel } from "@logtape/logtape";
import {
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  setupLogging,
} from "../logging.ts";
import { SHOAL_VERSION } from "../version.ts";
import { serveTracker, type TrackerServer } from "./server.ts";
import { summaryLine, trackerStats } from "./stats.ts";
import { serveStats, type StatsServer } from "./stats_server.ts";
import { friendAddresses, type InterfaceAddress } from "./friend_addresses.ts";

const logger = getLogger(["shoal", "tracker"]);

/** The largest --max-files: the registry sizes its tables from it. */
const MAX_FILES_FLAG = 10_000_000;

const USAGE = `Usage: shoal tracker [options]
(in the clone, "deno task tracker" does the same)

Runs the Shoal UDP tracker. At start it prints the udp:// addresses other
machines can give the peer's --tracker. BitTorrent clients (BEP 15) can use
the same port: udp://ADDRESS:PORT/announce.

Options:
  --host ADDRESS        address to bind (default ::, IPv6 and IPv4 together;
                        0.0.0.0 for IPv4 only, 127.0.0.1 or ::1 for loopback)
  --port PORT           UDP port, 0 for any free port (default 6969)
  --peer-ttl SECONDS    drop a peer silent this long (default 60)
  --max-files COUNT     most files tracked at once; one address may hold 1 %
                        of them (default 100000)
  --stats-port PORT     serve /stats (JSON) and /metrics (Prometheus) over
                        HTTP on this TCP port, 0 for any (default: off)
  --stats-host ADDRESS  address for --stats-port (default 127.0.0.1)
  --stats-every SECONDS log a line of statistics this often (default 60)
  --log-level LEVEL     debug, info, warning or error (default info)
  --log-format FORMAT   text or json (one JSON object per line); logs go to
                        stderr (default text)
  --version             print the version and exit
  --help                print this help and exit`;

/** Parsed and checked command-line flags. */
interface TrackerFlags {
  host: string;
  port: number;
  peerTtlSeconds: number;
  maxFiles: number;
  statsPort: number | null;
  statsHost: string;
  statsEverySeconds: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  help: boolean;
  version: boolean;
}

function parsePort(flag: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) {
    throw new RangeError(`${flag} "${text}" is not a port number (0 to 65535)`);
  }
  return port;
}

function parseSeconds(flag: string, text: string): number {
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1) {
    throw new RangeError(
      `${flag} "${text}" is not a whole number of seconds above 0`,
    );
  }
  return seconds;
}

function parseCount(flag: string, text: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > MAX_FILES_FLAG) {
    throw new RangeError(
      `${flag} "${text}" is not a whole number from 1 to ${MAX_FILES_FLAG}`,
    );
  }
  return count;
}

function parseFlags(args: string[]): TrackerFlags {
  const { values, positionals } = parseArgs({
    args,
    options: {
      host: { type: "string", default: "::" },
      port: { type: "string", default: "6969" },
      "peer-ttl": { type: "string", default: "60" },
      "max-files": { type: "string", default: "100000" },
      "stats-port": { type: "string" },
      "stats-host": { type: "string", default: "127.0.0.1" },
      "stats-every": { type: "string", default: "60" },
      "log-level": { type: "string", default: "info" },
      "log-format": { type: "string", default: "text" },
      version: { type: "boolean", short: "V", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) {
    throw new TypeError(`unexpected argument "${positionals[0]}"`);
  }
  const logLevel = values["log-level"] as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new RangeError(
      `--log-level "${logLevel}" is not one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  const logFormat = values["log-format"] as LogFormat;
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new RangeError(
      `--log-format "${logFormat}" is not one of ${LOG_FORMATS.join(", ")}`,
    );
  }
  return {
    host: values.host,
    port: parsePort("--port", values.port),
    peerTtlSeconds: parseSeconds("--peer-ttl", values["peer-ttl"]),
    maxFiles: parseCount("--max-files", values["max-files"]),
    statsPort: values["stats-port"] === undefined
      ? null
      : parsePort("--stats-port", values["stats-port"]),
    statsHost: values["stats-host"],
    statsEverySeconds: parseSeconds("--stats-every", values["stats-every"]),
    logLevel,
    logFormat,
    help: values.help,
    version: values.version,
  };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * This machine's addresses, or null without the permission to read them
 * (deno run --allow-sys=networkInterfaces; never prompted for).
 */
function interfaceAddresses(): InterfaceAddress[] | null {
  const granted = Deno.permissions.querySync({
    name: "sys",
    kind: "networkInterfaces",
  }).state === "granted";
  if (!granted) return null;
  try {
    return Deno.networkInterfaces().map((entry) => ({
      family: entry.family,
      address: entry.address,
    }));
  } catch {
    return null;
  }
}

function say(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

function fail(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

/**
 * Runs the tracker until SIGINT or SIGTERM.
 *
 * @param args command-line flags (without the script name)
 * @returns the exit code: 0 after a clean stop, `--help` or `--version`, 2
 *   for bad flags, 1 when a socket cannot be bound
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * await main(["--help"]); // prints the usage, returns 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let flags: TrackerFlags;
  try {
    flags = parseFlags(args);
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) {
      throw error;
    }
    // node:util's messages go on with advice about "--"; keep the first sentence.
    const reason = error.message.split(". ")[0]!;
    fail(`Cannot start tracker: ${reason}; see --help`);
    return 2;
  }
  if (flags.help) {
    say(USAGE);
    return 0;
  }
  if (flags.version) {
    say(`shoal-tracker ${SHOAL_VERSION}`);
    return 0;
  }
  await setupLogging({ level: flags.logLevel, format: flags.logFormat });

  const controller = new AbortController();
  const startedMs = Date.now();
  let server: TrackerServer;
  try {
    server = serveTracker({
      hostname: flags.host,
      port: flags.port,
      peerTtlMs: flags.peerTtlSeconds * 1000,
      registry: { limits: { maxFiles: flags.maxFiles } },
      signal: controller.signal,
    });
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const where = `udp://${formatHost(flags.host)}:${flags.port}`;
    const hint = error instanceof Deno.errors.AddrInUse
      ? "the port is in use; pick another --port"
      : error.message;
    fail(`Cannot start tracker on ${where}: ${hint}`);
    return 1;
  }
  const snapshot = () =>
    trackerStats(server.handler, { startedMs, nowMs: Date.now() });
  let stats: StatsServer | null = null;
  if (flags.statsPort !== null) {
    try {
      stats = serveStats(snapshot, {
        hostname: flags.statsHost,
        port: flags.statsPort,
        signal: controller.signal,
      });
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      controller.abort();
      await server.finished;
      const hint = error instanceof Deno.errors.AddrInUse
        ? "the port is in use; pick another --stats-port"
        : error.message;
      fail(
        `Cannot serve statistics on ${
          formatHost(flags.statsHost)
        }:${flags.statsPort}: ${hint}`,
      );
      return 1;
    }
  }

  const stop = () => controller.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  const logStats = () => {
    const current = snapshot();
    logger.info("Stats: {summary}", {
      summary: summaryLine(current),
      files: current.files,
      peers: current.peers,
      seeders: current.seeders,
      leechers: current.leechers,
      requests: current.requests,
      drops: current.drops,
      uptimeSeconds: current.uptimeSeconds,
    });
  };
  const timer = setInterval(logStats, flags.statsEverySeconds * 1000);
  try {
    const where = server.addrs.map((addr) =>
      `udp://${formatHost(addr.hostname)}:${addr.port}`
    ).join(" and ");
    say(`tracker listening on ${where}, peer ttl ${flags.peerTtlSeconds} s`);
    const port = server.addrs[0]!.port;
    const friends = friendAddresses(flags.host, port, interfaceAddresses());
    say(
      friends.length > 0
        ? `friends can use --tracker ${
          friends.join(" or ")
        } (from outside your network: your public address, with UDP port ${port} forwarded)`
        : flags.host === "::" || flags.host === "0.0.0.0"
        ? `friends can use --tracker udp://THIS-MACHINE'S-ADDRESS:${port}`
        : `only this machine can reach this tracker; start it with --host :: to share with friends`,
    );
    if (stats) {
      const base = `http://${
        formatHost(stats.addr.hostname)
      }:${stats.addr.port}`;
      say(`stats on ${base}/stats and ${base}/metrics`);
    }
    logger.info("Tracker {version} started on {where}", {
      version: SHOAL_VERSION,
      where,
    });
    await server.finished;
    await stats?.finished;
    logStats();
    logger.info("Tracker stopped");
  } finally {
    clearInterval(timer);
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    controller.abort();
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
