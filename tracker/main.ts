/**
 * The tracker CLI: `deno task tracker [--host 0.0.0.0] [--port 6969]
 * [--peer-ttl 60] [--log-level info] [--help]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { configure, getConsoleSink, type LogLevel } from "@logtape/logtape";
import { serveTracker } from "./server.ts";

const USAGE = `Usage: deno task tracker [options]

Runs the Shoal UDP tracker.

Options:
  --host ADDRESS     address to bind (default 0.0.0.0; use :: for IPv6)
  --port PORT        UDP port, 0 for any free port (default 6969)
  --peer-ttl SECONDS drop a peer silent this long (default 60)
  --log-level LEVEL  debug, info, warning or error (default info)
  --help             print this help and exit`;

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error"];

/** Parsed and checked command-line flags. */
interface TrackerFlags {
  host: string;
  port: number;
  peerTtlSeconds: number;
  logLevel: LogLevel;
  help: boolean;
}

function parseFlags(args: string[]): TrackerFlags {
  const { values, positionals } = parseArgs({
    args,
    options: {
      host: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: "6969" },
      "peer-ttl": { type: "string", default: "60" },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) {
    throw new TypeError(`unexpected argument "${positionals[0]}"`);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65_535) {
    throw new RangeError(
      `--port "${values.port}" is not a port number (0 to 65535)`,
    );
  }
  const peerTtlSeconds = Number(values["peer-ttl"]);
  if (!/^\d+$/.test(values["peer-ttl"]) || peerTtlSeconds < 1) {
    throw new RangeError(
      `--peer-ttl "${
        values["peer-ttl"]
      }" is not a whole number of seconds above 0`,
    );
  }
  const logLevel = values["log-level"] as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new RangeError(
      `--log-level "${logLevel}" is not one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  return {
    host: values.host,
    port,
    peerTtlSeconds,
    logLevel,
    help: values.help,
  };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Runs the tracker until SIGINT or SIGTERM.
 *
 * @param args command-line flags (without the script name)
 * @returns the exit code: 0 after a clean stop or `--help`, 2 for bad flags,
 *   1 when the socket cannot be bound
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
    // deno-lint-ignore no-console
    console.error(`Cannot start tracker: ${reason}; see --help`);
    return 2;
  }
  if (flags.help) {
    // deno-lint-ignore no-console
    console.log(USAGE);
    return 0;
  }
  await configure({
    reset: true,
    sinks: { console: getConsoleSink() },
    loggers: [
      { category: ["shoal"], lowestLevel: flags.logLevel, sinks: ["console"] },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["console"],
      },
    ],
  });

  const controller = new AbortController();
  let server;
  try {
    server = serveTracker({
      hostname: flags.host,
      port: flags.port,
      peerTtlMs: flags.peerTtlSeconds * 1000,
      signal: controller.signal,
    });
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const where = `udp://${formatHost(flags.host)}:${flags.port}`;
    const hint = error instanceof Deno.errors.AddrInUse
      ? "the port is in use; pick another --port"
      : error.message;
    // deno-lint-ignore no-console
    console.error(`Cannot start tracker on ${where}: ${hint}`);
    return 1;
  }

  const stop = () => controller.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    // deno-lint-ignore no-console
    console.log(
      `tracker listening on udp://${
        formatHost(server.addr.hostname)
      }:${server.addr.port}, peer ttl ${flags.peerTtlSeconds} s`,
    );
    await server.finished;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
