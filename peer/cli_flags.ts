/**
 * The peer's command-line flags: parsing and checking, nothing else.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { type FileQuery, fromHex } from "@shoal/protocol";
import { LOG_FORMATS, type LogFormat } from "../logging.ts";
import { MAX_CONNECTIONS_PER_ADDRESS } from "./swarm/address_limit.ts";

/** The peer's usage text. */
export const PEER_USAGE = `Usage:
  shoal peer --tracker HOST:PORT --seed FILE [--seed FILE ...] [--port 0]
  shoal peer --tracker HOST:PORT --get NAME|ID [--out downloads] [--no-seed]
  shoal peer --tracker HOST:PORT --list [QUERY] [--json]
  shoal peer --tracker HOST:PORT --ui [--ui-port 8080] [--out downloads]
(in the clone, "deno task peer" does the same as "shoal peer")

Shares files with other Shoal peers through a tracker.

Options:
  --tracker ADDRESS     the tracker: HOST:PORT, [IPv6]:PORT or what the tracker
                        prints, udp://HOST:PORT (default 127.0.0.1:6969)
  --seed FILE           share FILE (repeat for several files)
  --get NAME|ID         download a file by name (case aside when only one file
                        has it), by its id, or by the first 8 or more hex
                        digits of its id
  --list [QUERY]        print the files the tracker knows (name, size, peers,
                        short id), or those whose name contains QUERY
  --out DIR             download folder; the peer keeps its state in DIR/.shoal
                        (default downloads)
  --no-seed             exit once the download is checked, without seeding it
  --verify              read the finished file back from disk and check it again
                        before it is moved into place (for a failing disk)
  --host ADDRESS        address to serve other peers on (default ::, IPv6 and
                        IPv4 together; 0.0.0.0 for IPv4 only)
  --port PORT           TCP port to serve other peers on (default 0: any free port)
  --ui                  serve the web page on http://127.0.0.1:PORT and print its
                        address (with a per-start token); runs until Ctrl+C
  --ui-port PORT        port for the web page (default 8080; 0: any free port)
  --give-up-after SECS  fail a download after this long with no progress (default 60)
  --max-upload RATE     upload at most RATE bytes per second (e.g. 20M; default none)
  --max-download RATE   download at most RATE bytes per second (default none)
  --upload-slots N      peers served at once, one of them rotated (default 5)
  --max-conns-per-ip N  connections one address (IPv6: one /64) may hold on
                        this peer; more are refused (default 8; raise it for
                        many peers on one machine, as in tests)
  --no-partial          serve a download only once it is whole (no partial seeding)
  --log-level LEVEL     debug, info, warning or error (default warning)
  --log-format FORMAT   text or json (one JSON object per line); logs go to
                        stderr (default text)
  --json                print progress, results and errors on stdout as one
                        JSON object per line, and nothing else
  --version             print the version and exit
  --help                print this help and exit

Paths are relative to the folder you run the command from.
Exit codes: 0 done (or stopped by Ctrl+C or SIGTERM), 1 failed, 2 bad command
line, 3 unknown file, 4 ambiguous name, 5 no peer left, 6 cannot write the
file, 7 tracker unreachable.`;

/** Log levels the peer accepts. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** Checked peer flags. */
export interface PeerFlags {
  help: boolean;
  trackerHost: string;
  trackerPort: number;
  seeds: string[];
  get: FileQuery | null;
  outDir: string;
  serve: boolean;
  host: string;
  port: number;
  giveUpAfterMs: number;
  logLevel: typeof LOG_LEVELS[number];
  /** Log format on stderr. */
  logFormat: LogFormat;
  /** Machine-readable output: JSON lines on stdout. */
  json: boolean;
  /** Print the version and exit. */
  version: boolean;
  /** Serve the web page. */
  ui: boolean;
  /** The web page's port (0: any free port). */
  uiPort: number;
  /** Upload limit in bytes per second, or null. */
  maxUploadBytesPerSecond: number | null;
  /** Download limit in bytes per second, or null. */
  maxDownloadBytesPerSecond: number | null;
  /** Upload slots. */
  uploadSlots: number;
  /** Most connections one address may hold on our server. */
  maxConnsPerIp: number;
  /** Serve downloads in progress. */
  partialSeeding: boolean;
  /** `--verify`: re-read a finished download from disk and check it. */
  verify: boolean;
  /** No --seed, --get or --ui: seed what the state folder remembers, if anything. */
  seedsOnlySaved: boolean;
  /** `--list [QUERY]`: the query ("" for every file), or null. */
  list: string | null;
}

/**
 * Parses a byte rate such as "500000", "20M" or "1.5G" (decimal units, as
 * network rates are), or returns null when it is not one.
 *
 * @param text the rate
 * @returns bytes per second, or null
 */
export function parseRate(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text);
  if (!match) return null;
  const scale = {
    "": 1,
    k: 1e3,
    m: 1e6,
    g: 1e9,
  }[match[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  const value = Math.round(Number(match[1]) * scale);
  return value > 0 ? value : null;
}

/** A command line that cannot be run; the message is one line. */
export class UsageError extends Error {
  /** @param message one line for the user */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Reads a tracker address as people write it: "HOST:PORT", "[IPv6]:PORT",
 * or what a tracker prints, "udp://HOST:PORT" (with or without
 * "/announce").
 *
 * @param text the address
 * @returns host and port
 * @throws {UsageError} when it is not an address with a port
 * @example
 * ```ts
 * import { parseHostPort } from "./cli_flags.ts";
 * parseHostPort("udp://[::1]:6969/announce"); // { host: "::1", port: 6969 }
 * ```
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme && scheme[1]!.toLowerCase() !== "udp") {
    throw new UsageError(
      `--tracker "${text}": Shoal trackers speak UDP; give udp://HOST:PORT or HOST:PORT`,
    );
  }
  const bare = (scheme ? text.slice(scheme[0].length) : text)
    .replace(/\/(announce)?$/i, "");
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(bare) ??
    /^([^:/\[\]]+):(\d+)$/.exec(bare);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !(port >= 1 && port <= 65_535)) {
    const hint = /^[0-9a-f:]+:\d+$/i.test(bare) && bare.split(":").length > 2
      ? "; put an IPv6 address in brackets, as in [::1]:6969"
      : "";
    throw new UsageError(
      `--tracker "${text}" is not HOST:PORT (for example 127.0.0.1:6969 or udp://tracker.example:6969)${hint}`,
    );
  }
  return { host: match[1]!, port };
}

/**
 * Parses the peer's flags. Relative paths resolve against `cwd` (the folder
 * the user ran the command from: `INIT_CWD` under `deno task`).
 *
 * @param args command-line arguments
 * @param cwd the user's folder
 * @returns the checked flags
 * @throws {UsageError} with a one-line reason
 */
export function parsePeerFlags(args: string[], cwd: string): PeerFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", short: "V", default: false },
        json: { type: "boolean", default: false },
        "log-format": { type: "string", default: "text" },
        tracker: { type: "string", default: "127.0.0.1:6969" },
        seed: { type: "string", multiple: true, default: [] },
        get: { type: "string" },
        out: { type: "string", default: "downloads" },
        "no-seed": { type: "boolean", default: false },
        verify: { type: "boolean", default: false },
        host: { type: "string", default: "::" },
        port: { type: "string", default: "0" },
        "give-up-after": { type: "string", default: "60" },
        "log-level": { type: "string", default: "warning" },
        ui: { type: "boolean", default: false },
        "ui-port": { type: "string", default: "8080" },
        "max-upload": { type: "string" },
        "max-download": { type: "string" },
        "upload-slots": { type: "string", default: "5" },
        "max-conns-per-ip": {
          type: "string",
          default: String(MAX_CONNECTIONS_PER_ADDRESS),
        },
        "no-partial": { type: "boolean", default: false },
        list: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    // node:util goes on with advice about "--"; keep the first sentence.
    const reason = (error instanceof Error ? error.message : String(error))
      .split(". ")[0]!;
    throw new UsageError(`${reason}; see --help`);
  }
  const v = parsed.values;
  const positionals = parsed.positionals;
  if (positionals.length > (v.list ? 1 : 0)) {
    throw new UsageError(
      `unexpected argument "${
        positionals[v.list ? 1 : 0]
      }" (only --list takes a word after it); see --help`,
    );
  }
  if (v.list && (v.seed.length > 0 || v.get !== undefined || v.ui)) {
    throw new UsageError(
      "--list only prints the tracker's files: run it without --seed, --get or --ui",
    );
  }
  const tracker = parseHostPort(v.tracker);
  const port = Number(v.port);
  if (!/^\d+$/.test(v.port) || port > 65_535) {
    throw new UsageError(
      `--port "${v.port}" is not a port number (0 to 65535)`,
    );
  }
  const uiPort = Number(v["ui-port"]);
  if (!/^\d+$/.test(v["ui-port"]) || uiPort > 65_535) {
    throw new UsageError(
      `--ui-port "${v["ui-port"]}" is not a port number (0 to 65535)`,
    );
  }
  const giveUp = Number(v["give-up-after"]);
  if (!(giveUp > 0)) {
    throw new UsageError(
      `--give-up-after "${
        v["give-up-after"]
      }" is not a number of seconds above 0`,
    );
  }
  const logLevel = v["log-level"] as PeerFlags["logLevel"];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(
      `--log-level "${logLevel}" is not one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  const rate = (flag: "max-upload" | "max-download") => {
    const text = v[flag];
    if (text === undefined) return null;
    const value = parseRate(text);
    if (value === null) {
      throw new UsageError(
        `--${flag} "${text}" is not a rate in bytes per second (for example 20M)`,
      );
    }
    return value;
  };
  const maxUploadBytesPerSecond = rate("max-upload");
  const maxDownloadBytesPerSecond = rate("max-download");
  const uploadSlots = Number(v["upload-slots"]);
  if (!Number.isInteger(uploadSlots) || uploadSlots < 1 || uploadSlots > 100) {
    throw new UsageError(
      `--upload-slots "${
        v["upload-slots"]
      }" is not a whole number from 1 to 100`,
    );
  }
  const maxConnsPerIp = Number(v["max-conns-per-ip"]);
  if (
    !Number.isInteger(maxConnsPerIp) || maxConnsPerIp < 1 ||
    maxConnsPerIp > 1000
  ) {
    throw new UsageError(
      `--max-conns-per-ip "${
        v["max-conns-per-ip"]
      }" is not a whole number from 1 to 1000`,
    );
  }
  const logFormat = v["log-format"] as LogFormat;
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new UsageError(
      `--log-format "${logFormat}" is not one of ${LOG_FORMATS.join(", ")}`,
    );
  }
  let get: FileQuery | null = null;
  if (v.get !== undefined) {
    const id = /^[0-9a-fA-F]{64}$/.test(v.get) ? fromHex(v.get) : null;
    get = id ? { id } : { name: v.get };
    if (v.get.length === 0) {
      throw new UsageError("--get needs a file name or id");
    }
  }
  // With none of --seed, --get and --ui, the peer seeds again what its
  // state folder lists; main() says "nothing to do" if that is nothing.
  const seedsOnlySaved = get === null && v.seed.length === 0 && !v.ui &&
    !v.list;
  if (v.ui && v["no-seed"]) {
    throw new UsageError("--no-seed cannot be used with --ui");
  }
  if (v["no-seed"] && get === null) {
    throw new UsageError("--no-seed only makes sense with --get");
  }
  return {
    help: v.help,
    trackerHost: tracker.host,
    trackerPort: tracker.port,
    seeds: v.seed.map((path) => resolve(cwd, path)),
    get,
    outDir: resolve(cwd, v.out),
    serve: !v["no-seed"],
    host: v.host,
    port,
    giveUpAfterMs: giveUp * 1000,
    logLevel,
    logFormat,
    json: v.json,
    version: v.version,
    ui: v.ui,
    uiPort,
    maxUploadBytesPerSecond,
    maxDownloadBytesPerSecond,
    uploadSlots,
    maxConnsPerIp,
    partialSeeding: !v["no-partial"],
    verify: v.verify,
    seedsOnlySaved,
    list: v.list ? positionals[0] ?? "" : null,
  };
}
