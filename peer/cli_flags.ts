/**
 * The peer's command-line flags: parsing and checking, nothing else.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import {
  type FileQuery,
  fromHex,
  isMagnetLink,
  parseMagnet,
  ProtocolError,
} from "@shoal/protocol";
import { LOG_FORMATS, type LogFormat } from "../logging.ts";
import { MAX_CONNECTIONS_PER_ADDRESS } from "./swarm/address_limit.ts";
import { isTorrentPath, torrentOutPath } from "./torrent_paths.ts";

/** The DHT routers BitTorrent clients join through (`--dht-bootstrap`). */
export const DEFAULT_DHT_BOOTSTRAP: readonly string[] = [
  "router.bittorrent.com:6881",
  "dht.transmissionbt.com:6881",
  "router.utorrent.com:6881",
];

/** The peer's usage text. */
export const PEER_USAGE = `Usage:
  shoal peer --tracker HOST:PORT --seed FILE [--seed FILE ...] [--port 0]
  shoal peer --tracker HOST:PORT --get NAME|ID [--out downloads] [--no-seed]
                                  [--only GLOB ...]
  shoal peer --get FILE.torrent|MAGNET [--out downloads] [--no-seed]
  shoal peer --get WHAT --files [--only GLOB ...]
  shoal peer --seed FILE [--dht-bootstrap HOST:PORT]  (no tracker: the DHT only)
  shoal peer --make-torrent FILE|DIR [--tracker HOST:PORT] [--torrent-out PATH]
  shoal peer --tracker HOST:PORT --list [QUERY] [--json]
  shoal peer --tracker HOST:PORT --ui [--ui-port 8080] [--out downloads]
(in the clone, "deno task peer" does the same as "shoal peer")

Shares files with other Shoal peers, found through trackers and the
BitTorrent DHT (Mainline, BEP 5).

Options:
  --tracker ADDRESS     a tracker: HOST:PORT, [IPv6]:PORT or what the tracker
                        prints, udp://HOST:PORT; repeat for several (the peer
                        registers with all and asks all; any may be down).
                        Default: the udp:// trackers a .torrent or magnet link
                        names, else 127.0.0.1:6969; but none with the DHT on
                        when seeding or getting by id, magnet or .torrent
                        (the DHT finds peers by id; names need a tracker).
                        A link naming only http:// or wss:// trackers needs
                        --tracker or the DHT
  --no-dht              do not join the DHT (then a tracker is needed)
  --dht-port PORT       UDP port of the DHT node (default 0: any free port)
  --dht-bootstrap LIST  HOST:PORT[,HOST:PORT...] to join the DHT through
                        (default ${DEFAULT_DHT_BOOTSTRAP.join(",")});
                        the nodes met are saved in OUT/.shoal/dht.json and
                        reused after a restart
  --no-pex              do not exchange peers with connected peers (PEX,
                        BEP 11 ut_pex with BitTorrent clients)
  --seed FILE           share FILE (repeat for several files); prints its
                        magnet link. A folder is shared as one multi-file
                        torrent (BitTorrent clients download it; links and
                        hidden entries left out, each said on a line)
  --get WHAT            download a file or folder: by name (case aside when
                        only one file has it), by its id or the first 8 or
                        more hex digits of it, by magnet link (quote it in
                        the shell), or from a .torrent file (a path ending
                        in .torrent). A folder is written as OUT/NAME/...
                        once every file in it is checked
  --only GLOB           with --get of a folder: fetch only the files whose
                        path below it (/-separated) matches GLOB (* and ?
                        within a name, ** across folders; a folder's path
                        takes all its files); repeat for several
  --files               with --get: print the files of the file or folder
                        (size and path; with --only, those it picks) and
                        exit without downloading. From a .torrent, nothing
                        is asked of any peer
  --make-torrent FILE   hash FILE, write FILE's name + .torrent in the current
                        folder, print its magnet link and exit (an existing
                        .torrent is never overwritten); with --tracker, the
                        torrent and link name that tracker. A folder gives
                        one multi-file torrent of its files (links and
                        hidden entries left out, each said on a line)
  --torrent-out PATH    where --make-torrent writes the .torrent instead
  --list [QUERY]        print the files the tracker knows (name, size, peers,
                        short id), or those whose name contains QUERY (the
                        first tracker that answers)
  --out DIR             download folder; the peer keeps its state in DIR/.shoal
                        (default downloads)
  --no-seed             exit once the download is checked, without seeding it
  --verify              read the finished file back from disk and check it again
                        before it is moved into place (for a failing disk)
  --host ADDRESS        address to serve other peers on (default ::, IPv6 and
                        IPv4 together; 0.0.0.0 for IPv4 only)
  --port PORT           TCP port to serve other peers on (default 0: any free port)
  --ui                  serve the web page on http://127.0.0.1:PORT and print its
                        address (with a token kept in OUT/.shoal, so a bookmark
                        keeps working); runs until Ctrl+C
  --ui-port PORT        port for the web page (default 8080; 0: any free port)
  --give-up-after SECS  fail a download after this long with no progress (default 60)
  --max-upload RATE     upload at most RATE bytes per second (e.g. 20M; default none)
  --max-download RATE   download at most RATE bytes per second (default none)
  --upload-slots N      peers served at once, one of them rotated (default 5)
                        (limits and slots set on the web page are kept in
                        OUT/.shoal and used again at the next start, unless
                        given here)
  --report-every SECS   how often a seeder prints what it uploaded, when that
                        grew (default 60; it also says so when it stops)
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
file, 7 tracker unreachable, 8 bad .torrent file or magnet link.`;

/** Log levels the peer accepts. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/**
 * The default tracker, when neither `--tracker` nor a link names one and the
 * DHT is off (or a name must be looked up: only trackers index names).
 */
export const DEFAULT_TRACKER = "127.0.0.1:6969";

/** Most trackers, and most DHT bootstrap nodes, one command line may name. */
export const MAX_LISTED_ADDRESSES = 16;
/** Upload slots when --upload-slots is not given. */
const DEFAULT_UPLOAD_SLOTS = "5";

/** The options that may be given more than once (each adds one more). */
const REPEATABLE = new Set(["tracker", "seed", "only"]);

/** A host and port: a tracker or a DHT node. */
export interface HostPort {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** Port, 1 to 65535. */
  port: number;
}

/**
 * What `--get` names: a file by name or id, a magnet link, or a `.torrent`
 * file (an absolute path).
 */
export type GetTarget =
  | { kind: "query"; query: FileQuery }
  | { kind: "magnet"; link: string }
  | { kind: "torrent"; path: string };

/** Checked peer flags. */
export interface PeerFlags {
  help: boolean;
  /** `--tracker`, each once, in order; empty when none was given. */
  trackers: HostPort[];
  /** True when `--tracker` was given (it wins over a link's trackers). */
  trackerGiven: boolean;
  /** Join the DHT (no `--no-dht`). */
  dht: boolean;
  /** Exchange peers with connected peers (no `--no-pex`). */
  pex: boolean;
  /** `--dht-port` (0: any free port). */
  dhtPort: number;
  /** `--dht-bootstrap`, or the public routers. */
  dhtBootstrap: HostPort[];
  seeds: string[];
  get: GetTarget | null;
  /** `--only`, each glob as given; empty when none was given. */
  only: string[];
  /** `--files`: list the files of `get` and exit. */
  files: boolean;
  /** `--make-torrent FILE|DIR`: the file or folder (absolute), or null. */
  makeTorrent: string | null;
  /** Where `--make-torrent` writes the `.torrent` (absolute), or null. */
  torrentOut: string | null;
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
  /** How often a seeder says what it uploaded (when it grew). */
  reportEveryMs: number;
  /** The limits given on the command line (they win over the page's saved ones). */
  limitsGiven: (
    | "maxUploadBytesPerSecond"
    | "maxDownloadBytesPerSecond"
    | "uploadSlots"
  )[];
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
 * @param flag the flag it came with, for the message
 * @returns host and port
 * @throws {UsageError} when it is not an address with a port
 * @example
 * ```ts
 * import { parseHostPort } from "./cli_flags.ts";
 * parseHostPort("udp://[::1]:6969/announce"); // { host: "::1", port: 6969 }
 * ```
 */
export function parseHostPort(text: string, flag = "--tracker"): HostPort {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme && scheme[1]!.toLowerCase() !== "udp") {
    throw new UsageError(
      `${flag} "${text}": ${
        flag === "--tracker" ? "Shoal trackers speak" : "the DHT speaks"
      } UDP; give udp://HOST:PORT or HOST:PORT`,
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
      `${flag} "${text}" is not HOST:PORT (for example 127.0.0.1:6969 or udp://host.example:6969)${hint}`,
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
      tokens: true,
      options: {
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", short: "V", default: false },
        json: { type: "boolean", default: false },
        "log-format": { type: "string", default: "text" },
        tracker: { type: "string", multiple: true },
        "no-dht": { type: "boolean", default: false },
        "no-pex": { type: "boolean", default: false },
        "dht-port": { type: "string" },
        "dht-bootstrap": { type: "string" },
        seed: { type: "string", multiple: true, default: [] },
        get: { type: "string" },
        only: { type: "string", multiple: true, default: [] },
        files: { type: "boolean", default: false },
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
        "upload-slots": { type: "string" },
        "report-every": { type: "string", default: "60" },
        "max-conns-per-ip": {
          type: "string",
          default: String(MAX_CONNECTIONS_PER_ADDRESS),
        },
        "no-partial": { type: "boolean", default: false },
        list: { type: "boolean", default: false },
        "make-torrent": { type: "string" },
        "torrent-out": { type: "string" },
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
  // parseArgs keeps the last of a repeated option: say so, never drop one.
  const given = new Map<string, number>();
  for (const token of parsed.tokens ?? []) {
    // A repeated switch (--json --json) asks for the same thing: no harm.
    if (token.kind !== "option" || token.value === undefined) continue;
    if (REPEATABLE.has(token.name)) continue;
    const count = (given.get(token.name) ?? 0) + 1;
    given.set(token.name, count);
    if (count === 2) {
      throw new UsageError(
        token.name === "get"
          ? "--get takes one file, given twice here: run one peer per download, or use the web page (--ui)"
          : `--${token.name} is given twice; give it once`,
      );
    }
  }
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
  const makeTorrent = v["make-torrent"];
  if (
    makeTorrent !== undefined &&
    (v.seed.length > 0 || v.get !== undefined || v.ui || v.list ||
      v["no-seed"])
  ) {
    throw new UsageError(
      "--make-torrent only writes a .torrent and exits: run it without --seed, --get, --list, --ui or --no-seed",
    );
  }
  if (makeTorrent === "") {
    throw new UsageError("--make-torrent needs a file to describe");
  }
  if (v["torrent-out"] !== undefined && makeTorrent === undefined) {
    throw new UsageError("--torrent-out only makes sense with --make-torrent");
  }
  const trackers = uniqueAddresses(
    (v.tracker ?? []).map((text) => parseHostPort(text)),
    "--tracker",
  );
  if (v["no-dht"] && (v["dht-port"] ?? v["dht-bootstrap"]) !== undefined) {
    throw new UsageError(
      "--no-dht turns the DHT off: drop --dht-port and --dht-bootstrap, or --no-dht",
    );
  }
  const dhtPortText = v["dht-port"] ?? "0";
  const dhtPort = Number(dhtPortText);
  if (!/^\d+$/.test(dhtPortText) || dhtPort > 65_535) {
    throw new UsageError(
      `--dht-port "${dhtPortText}" is not a port number (0 to 65535)`,
    );
  }
  const dhtBootstrap = uniqueAddresses(
    (v["dht-bootstrap"]?.split(",") ?? [...DEFAULT_DHT_BOOTSTRAP])
      .map((text) => parseHostPort(text.trim(), "--dht-bootstrap")),
    "--dht-bootstrap",
  );
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
  const uploadSlots = Number(v["upload-slots"] ?? DEFAULT_UPLOAD_SLOTS);
  if (!Number.isInteger(uploadSlots) || uploadSlots < 1 || uploadSlots > 100) {
    throw new UsageError(
      `--upload-slots "${
        v["upload-slots"]
      }" is not a whole number from 1 to 100`,
    );
  }
  const reportEvery = Number(v["report-every"]);
  if (
    !Number.isInteger(reportEvery) || reportEvery < 1 || reportEvery > 86_400
  ) {
    throw new UsageError(
      `--report-every "${
        v["report-every"]
      }" is not a whole number of seconds from 1 to 86400`,
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
  let get: GetTarget | null = null;
  if (v.get !== undefined) {
    if (v.get.length === 0) {
      throw new UsageError(
        "--get needs a file name, an id, a magnet link or a .torrent file",
      );
    }
    get = getTarget(v.get, cwd);
  }
  // With none of --seed, --get and --ui, the peer seeds again what its
  // state folder lists; main() says "nothing to do" if that is nothing.
  const seedsOnlySaved = get === null && v.seed.length === 0 && !v.ui &&
    !v.list && makeTorrent === undefined;
  if (v.ui && v["no-seed"]) {
    throw new UsageError("--no-seed cannot be used with --ui");
  }
  if (v.out.length === 0) {
    throw new UsageError("--out needs a folder to download into");
  }
  if (v.only.length > 0 && get === null) {
    throw new UsageError("--only only makes sense with --get of a folder");
  }
  if (v.only.some((glob) => glob.length === 0)) {
    throw new UsageError("--only needs a path or glob below the folder");
  }
  if (v["no-seed"] && get === null) {
    throw new UsageError("--no-seed only makes sense with --get");
  }
  if (v.files && (get === null || v.ui || v.seed.length > 0)) {
    throw new UsageError(
      "--files lists what --get would fetch and exits: run it with --get, without --seed or --ui",
    );
  }
  // A magnet link's trackers are known now; a .torrent's once it is read.
  if (get?.kind === "magnet" && trackers.length === 0 && v["no-dht"]) {
    const problem = unusableLinkTrackers(
      { trackers, dht: false },
      magnetTrackers(get.link),
      "the magnet link",
    );
    if (problem) throw new UsageError(problem);
  }
  return {
    help: v.help,
    trackers,
    trackerGiven: trackers.length > 0,
    dht: !v["no-dht"],
    pex: !v["no-pex"],
    dhtPort,
    dhtBootstrap,
    // The same file twice is shared once.
    seeds: [...new Set(v.seed.map((path) => resolve(cwd, path)))],
    get,
    only: v.only,
    files: v.files,
    outDir: resolve(cwd, v.out),
    serve: !v["no-seed"] && !v.files,
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
    reportEveryMs: reportEvery * 1000,
    limitsGiven: [
      ...(v["max-upload"] !== undefined
        ? ["maxUploadBytesPerSecond" as const]
        : []),
      ...(v["max-download"] !== undefined
        ? ["maxDownloadBytesPerSecond" as const]
        : []),
      ...(v["upload-slots"] !== undefined ? ["uploadSlots" as const] : []),
    ],
    maxConnsPerIp,
    partialSeeding: !v["no-partial"],
    verify: v.verify,
    seedsOnlySaved,
    list: v.list ? positionals[0] ?? "" : null,
    makeTorrent: makeTorrent === undefined ? null : resolve(cwd, makeTorrent),
    torrentOut: makeTorrent === undefined
      ? null
      : torrentOutPath(makeTorrent, v["torrent-out"], cwd),
  };
}

/** Each address once, in order; at most {@linkcode MAX_LISTED_ADDRESSES}. */
function uniqueAddresses(list: HostPort[], flag: string): HostPort[] {
  const seen = new Map<string, HostPort>();
  for (const address of list) {
    seen.set(`${address.host.toLowerCase()}|${address.port}`, address);
  }
  if (seen.size > MAX_LISTED_ADDRESSES) {
    throw new UsageError(
      `${flag}: ${seen.size} addresses is too many (at most ${MAX_LISTED_ADDRESSES})`,
    );
  }
  return [...seen.values()];
}

/** Reads a `--get` value: a magnet link, a `.torrent` path, an id or a name. */
function getTarget(text: string, cwd: string): GetTarget {
  // Pasted links often come with spaces around them.
  if (isMagnetLink(text.trim())) return { kind: "magnet", link: text.trim() };
  if (isTorrentPath(text)) return { kind: "torrent", path: resolve(cwd, text) };
  const id = /^[0-9a-fA-F]{64}$/.test(text) ? fromHex(text) : null;
  return { kind: "query", query: id ? { id } : { name: text } };
}

/**
 * The URL a `.torrent` or magnet link names a Shoal tracker by.
 *
 * @param host the tracker's host (an IPv6 address is put in brackets)
 * @param port its UDP port
 * @returns `udp://HOST:PORT/announce`
 * @example
 * ```ts
 * import { trackerUrl } from "./cli_flags.ts";
 * trackerUrl("::1", 6969); // "udp://[::1]:6969/announce"
 * ```
 */
export function trackerUrl(host: string, port: number): string {
  return `udp://${host.includes(":") ? `[${host}]` : host}:${port}/announce`;
}

/**
 * The trackers in a list that a Shoal peer can reach (`udp://HOST:PORT`,
 * as {@linkcode parseHostPort} reads it), each once, at most
 * {@linkcode MAX_LISTED_ADDRESSES}; `http://` and `wss://` trackers and
 * unreadable entries are skipped.
 *
 * @param urls tracker URLs from a `.torrent` or magnet link (untrusted)
 * @returns hosts and ports, in the link's order
 * @example
 * ```ts
 * import { udpTrackers } from "./cli_flags.ts";
 * udpTrackers(["https://t.example/announce", "udp://t.example:6969/announce"]);
 * // [{ host: "t.example", port: 6969 }]
 * ```
 */
export function udpTrackers(urls: readonly string[]): HostPort[] {
  const found = new Map<string, HostPort>();
  for (const url of urls) {
    if (found.size >= MAX_LISTED_ADDRESSES) break;
    if (!/^udp:\/\//i.test(url)) continue;
    try {
      const address = parseHostPort(url);
      found.set(`${address.host.toLowerCase()}|${address.port}`, address);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
    }
  }
  return [...found.values()];
}

/** The tracker URLs a magnet link names; none when it cannot be read (said later). */
function magnetTrackers(link: string): string[] {
  try {
    return parseMagnet(link).trackers;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return [];
  }
}

/**
 * Why a run cannot find peers for a link: the DHT is off, no `--tracker` is
 * given, and the link names trackers but none Shoal can use (only
 * `udp://`). Null when it can; falling back on the default tracker would
 * ask one the user never named.
 *
 * @param flags `--tracker` and whether the DHT is on
 * @param linkTrackers tracker URLs of the `.torrent` or magnet link (untrusted)
 * @param what the link, for the message ("the magnet link", a path)
 * @returns one line saying what to do, or null
 * @example
 * ```ts
 * import { unusableLinkTrackers } from "./cli_flags.ts";
 * unusableLinkTrackers({ trackers: [], dht: false }, ["http://t.example/a"], "the magnet link");
 * // "the magnet link names only http:// trackers; Shoal speaks udp:// trackers: give --tracker ..."
 * ```
 */
export function unusableLinkTrackers(
  flags: Pick<PeerFlags, "trackers" | "dht">,
  linkTrackers: readonly string[],
  what: string,
): string | null {
  if (flags.trackers.length > 0 || flags.dht || linkTrackers.length === 0) {
    return null;
  }
  if (udpTrackers(linkTrackers).length > 0) return null;
  // Only the schemes are shown: the URLs are the link's, untrusted.
  const schemes = [
    ...new Set(
      linkTrackers.map((url) =>
        /^([a-z][a-z0-9+.-]{0,15}):\/\//i.exec(url)?.[1]?.toLowerCase() ?? ""
      ),
    ),
  ];
  const named = schemes.includes("udp") || schemes.includes("")
    ? "no tracker Shoal can read"
    : `only ${
      schemes.slice(0, 3).map((s) => `${s}://`).join(" and ")
    } trackers`;
  return `${what} names ${named}; Shoal speaks udp:// trackers: give --tracker HOST:PORT, or leave the DHT on (drop --no-dht) to find peers by the file's id`;
}

/**
 * The trackers a peer uses: those `--tracker` names; else those the link
 * names; else the default one, unless the DHT is on and no tracker's index
 * of names is needed (seeding, or getting a file by id, magnet link or
 * `.torrent`: the DHT finds peers by id), or the link names only trackers
 * Shoal cannot use (see {@linkcode unusableLinkTrackers}: none then, never
 * the default one the user did not name).
 *
 * @param flags `--tracker`, whether the DHT is on, and what the run does
 * @param linkTrackers tracker URLs of the `.torrent` or magnet link, if any
 * @returns the trackers, possibly none
 * @example
 * ```ts
 * import { chooseTrackers } from "./cli_flags.ts";
 * chooseTrackers({ trackers: [], dht: false, get: null, list: null, ui: false }, []);
 * // [{ host: "127.0.0.1", port: 6969 }]
 * chooseTrackers({ trackers: [], dht: true, get: null, list: null, ui: false }, []); // []
 * ```
 */
export function chooseTrackers(
  flags: Pick<PeerFlags, "trackers" | "dht" | "get" | "list" | "ui">,
  linkTrackers: readonly string[],
): HostPort[] {
  if (flags.trackers.length > 0) return flags.trackers;
  const fromLink = udpTrackers(linkTrackers);
  if (fromLink.length > 0) return fromLink;
  if (unusableLinkTrackers(flags, linkTrackers, "") !== null) return [];
  const byName = flags.get?.kind === "query" && "name" in flags.get.query;
  const needsIndex = byName || flags.list !== null || flags.ui;
  return flags.dht && !needsIndex ? [] : [parseHostPort(DEFAULT_TRACKER)];
}
