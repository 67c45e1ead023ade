/**
 * `deno task peer` runs this tiny launcher, not the peer itself. It reads
 * the file paths on the command line (`--seed FILE`, `--out DIR`) and starts
 * `peer/main.ts` in a new Deno process with exactly the permissions those
 * paths need:
 *
 * - `--allow-net` (any peer may be anywhere),
 * - `--allow-read` of the seeded files, the download folder, a `.torrent`
 *   given to `--get`, and Shoal's own source (the worker modules are loaded
 *   at run time),
 * - `--allow-write` of the download folder only,
 * - for `--make-torrent FILE`: read of FILE (and Shoal's source) and write
 *   of the one `.torrent` path it writes, nothing else,
 * - `--allow-env` of `INIT_CWD`, `HOME` and `NO_COLOR`, and `--ignore-env`
 *   of `DEBUG` (the DHT library's `debug` module asks for it, and for the
 *   list of variables, which then holds only the three granted: see
 *   docs/SECURITY.md, "The DHT"),
 * - no `--allow-run`, no `--allow-ffi`, no `--allow-sys`, no prompts.
 *
 * A compromised peer process can then read nothing but what it shares and
 * its own folder. Paths reached through symbolic links are granted as given
 * and as they really are. The launcher itself may read (to resolve those
 * links), read `INIT_CWD` and run Deno; it writes nothing and opens no
 * socket.
 *
 * @module
 */
import {
  joinPath,
  lastComponent,
  parentPath,
  resolvePath,
} from "./plain_path.ts";
import { isTorrentPath, torrentOutPath } from "./torrent_paths.ts";

/** Shoal's root folder (the one with deno.json). */
const ROOT = parentPath(import.meta.dirname!);

/**
 * The V8 settings the peer runs with. Each isolate's young generation is
 * capped at 1 MiB (V8 grows it to 16 MiB when much survives a scavenge): the
 * leecher's isolates stay 4-7 MiB smaller, with no measurable cost in speed.
 * `--expose-gc` gives each isolate V8's full collector as a global, which
 * the peer runs at a steady pace (gc_schedule.ts); without it the peer finds
 * the collector through `node:vm`, at about 20 ms of each worker's start.
 * V8 flags are per process and read before any code runs, so they go on the
 * command line; the benchmarks and the demo start the peer with them too
 * (docs/PERFORMANCE.md). The launcher runs with them as well (the `peer` and
 * `install` tasks): V8 refuses code cached under other flags, so a launcher
 * without them made the peer compile again, at every start, the modules the
 * two share, and wrote them back to Deno's cache (about 10-20 ms).
 */
export const PEER_V8_FLAGS = "--v8-flags=--max-semi-space-size=1,--expose-gc";

/**
 * Signals this soon after the first are echoes of the same keypress (a
 * terminal signals the whole process group; deno task and this launcher
 * pass it on too), here and in the peer (peer/cli.ts).
 */
export const SIGNAL_ECHO_MS = 1_000;

/** Environment variables the peer may read. */
export const PEER_ENV = ["INIT_CWD", "HOME", "NO_COLOR"] as const;

/**
 * Environment variables the peer is told are unset when it asks. The DHT
 * library's `debug` module reads `DEBUG` and lists the variables at load;
 * with `--ignore-env=DEBUG` the first reads as unset and the list holds
 * only {@linkcode PEER_ENV}, so the peer needs no wider `--allow-env`.
 */
export const PEER_IGNORED_ENV = ["DEBUG"] as const;

/**
 * The `deno run` arguments that start the peer with least privilege.
 *
 * @param args the user's peer flags, passed on unchanged
 * @param cwd the folder relative paths start from
 * @param options Shoal's root folder
 * @returns every argument after the deno binary
 * @example
 * ```ts
 * import { peerRunArgs } from "./launch.ts";
 * peerRunArgs(["--seed", "a.iso"], "/home/me");
 * // ["run", "--no-prompt", "--allow-net", "--allow-read=/home/me/a.iso,...", ...]
 * ```
 */
export function peerRunArgs(
  args: string[],
  cwd: string,
  options: {
    root?: string;
    /** Resolves symbolic links. @default {realPathOf} */
    realPath?: (path: string) => string;
  } = {},
): string[] {
  const root = options.root ?? ROOT;
  // Lenient: the peer itself reports bad flags; here only paths matter.
  const values = pathFlags(args);
  const real = options.realPath ?? realPathOf;
  // Each path as given and as it really is: Deno checks some calls (the
  // stat of an open file) against the real path, past symbolic links.
  const withReal = (path: string) => [...new Set([path, real(path)])];
  const seeds = values.seed.flatMap((seed) => withReal(resolvePath(cwd, seed)));
  const source = [resolvePath(root, "peer"), resolvePath(root, "protocol")];
  const makeTorrent = values["make-torrent"];
  const get = values.get;
  const torrent = get !== null && isTorrentPath(get)
    ? withReal(resolvePath(cwd, get))
    : [];
  // --make-torrent reads one file and writes one: no download folder.
  const writable = makeTorrent !== null
    ? withReal(
      torrentOutPath(
        makeTorrent,
        values["torrent-out"] ?? undefined,
        cwd,
      ),
    )
    : withReal(resolvePath(cwd, values.out ?? "downloads"));
  const read = makeTorrent !== null
    // Read of the .torrent path too: an existing one is refused before hashing.
    ? [...withReal(resolvePath(cwd, makeTorrent)), ...writable, ...source]
    : [...seeds, ...torrent, ...writable, ...source];
  // Commas separate entries in a Deno permission list: a path with a comma
  // cannot be granted precisely, so it is refused rather than widened.
  for (const path of [...read, ...writable]) {
    if (path.includes(",")) {
      throw new RangeError(
        `Cannot grant access to "${path}": the path contains a comma; rename it or use plain deno run`,
      );
    }
  }
  return [
    "run",
    "--no-prompt",
    PEER_V8_FLAGS,
    "--allow-net",
    `--allow-read=${read.join(",")}`,
    `--allow-write=${writable.join(",")}`,
    `--allow-env=${PEER_ENV.join(",")}`,
    `--ignore-env=${PEER_IGNORED_ENV.join(",")}`,
    joinPath(root, "peer", "main.ts"),
    ...args,
  ];
}

/** The flags that name paths, as the launcher reads them. */
interface PathFlags {
  seed: string[];
  out: string | null;
  get: string | null;
  "make-torrent": string | null;
  "torrent-out": string | null;
}

/**
 * Reads the path flags the way `node:util`'s lenient `parseArgs` does (the
 * peer reports anything malformed): `--flag value` (whatever the value) or
 * `--flag=value`, the last one wins except for `--seed`, which adds; other
 * flags, short ones and words are passed over; `--` ends the flags.
 *
 * @param args the user's peer flags
 * @returns the values found
 * @example
 * ```ts
 * import { pathFlags } from "./launch.ts";
 * pathFlags(["--seed", "a.iso", "--out=dl"]).out; // "dl"
 * ```
 */
export function pathFlags(args: readonly string[]): PathFlags {
  const found: PathFlags = {
    seed: [],
    out: null,
    get: null,
    "make-torrent": null,
    "torrent-out": null,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("--")) continue;
    const equals = arg.indexOf("=");
    const name = arg.slice(2, equals < 0 ? undefined : equals);
    if (!(name in found)) continue;
    let value: string | undefined;
    if (equals >= 0) value = arg.slice(equals + 1);
    else if (i + 1 < args.length) value = args[++i];
    // A flag with no value left names no path (and wins, if last).
    if (name === "seed") {
      if (value !== undefined) found.seed.push(value);
    } else found[name as Exclude<keyof PathFlags, "seed">] = value ?? null;
  }
  return found;
}

/**
 * The path with every symbolic link resolved, for a path that may not exist
 * yet (`--out` before the first download): its nearest existing folder is
 * resolved and the rest appended. Unchanged when nothing can be resolved.
 *
 * @param path an absolute path
 * @returns the real path
 * @example
 * ```ts
 * import { realPathOf } from "./launch.ts";
 * realPathOf("/tmp/link-to-data/new-folder"); // "/srv/data/new-folder"
 * ```
 */
export function realPathOf(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (let depth = 0; depth < 256; depth++) {
    try {
      return joinPath(Deno.realPathSync(existing), ...rest.reverse());
    } catch (error) {
      if (
        !(error instanceof Deno.errors.NotFound) &&
        !(error instanceof Deno.errors.NotADirectory)
      ) return path;
    }
    const parent = parentPath(existing);
    if (parent === existing) return path;
    rest.push(lastComponent(existing));
    existing = parent;
  }
  return path;
}

/**
 * Starts the peer with least privilege and waits for it, passing SIGINT,
 * SIGTERM and SIGHUP on.
 *
 * @param args the user's peer flags
 * @param options the folder relative paths start from
 *   (default: `INIT_CWD`, set by `deno task`, else the current folder)
 * @returns the peer's exit code
 */
export async function launch(
  args: string[],
  options: { cwd?: string } = {},
): Promise<number> {
  const cwd = options.cwd ?? Deno.env.get("INIT_CWD") ?? Deno.cwd();
  let runArgs: string[];
  try {
    runArgs = peerRunArgs(args, cwd);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // deno-lint-ignore no-console
    console.error(`error: ${error.message}`);
    return 2;
  }
  const child = new Deno.Command(denoCommand(), {
    args: runArgs,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
    env: { INIT_CWD: cwd },
  }).spawn();
  passSignalsOn(child);
  return exitCodeOf(await child.status);
}

/**
 * The exit code a shell shows for a child that ended: its own, or 128 plus
 * the signal's number when a signal ended it.
 *
 * @param status how the child ended
 * @returns the exit code to pass on
 * @example
 * ```ts
 * import { exitCodeOf } from "./launch.ts";
 * exitCodeOf({ success: false, code: 1, signal: "SIGINT" }); // 130
 * exitCodeOf({ success: false, code: 1, signal: "SIGHUP" }); // 129
 * ```
 */
export function exitCodeOf(status: Deno.CommandStatus): number {
  return status.signal
    ? 128 + (SIGNAL_NUMBERS[status.signal] ?? 15)
    : status.code;
}

/** The numbers of the signals a peer may end by (POSIX). */
const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
};

/**
 * The signals that stop a peer cleanly: Ctrl+C, `kill`, and a closed
 * terminal or SSH session (SIGHUP), which would otherwise end the launcher
 * and leave the peer running, orphaned.
 */
export const STOP_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * The deno running this launcher, if this run may start it; otherwise the
 * "deno" on PATH, which is what `--allow-run=deno` grants.
 *
 * @returns the command to run Deno with
 */
export function denoCommand(): string {
  return Deno.permissions.querySync({
      name: "run",
      command: Deno.execPath(),
    }).state === "granted"
    ? Deno.execPath()
    : "deno";
}

/**
 * Passes the {@linkcode STOP_SIGNALS} on to a child process, once per
 * keypress: a terminal's Ctrl+C reaches the child itself and, through deno
 * task and each launcher, more than once.
 *
 * @param child the process to pass signals on to
 */
export function passSignalsOn(child: Deno.ChildProcess): void {
  const lastForwardMs = new Map<Deno.Signal, number>();
  for (const signal of STOP_SIGNALS) {
    const handler = () => {
      const now = performance.now();
      if (now - (lastForwardMs.get(signal) ?? -Infinity) < SIGNAL_ECHO_MS) {
        return;
      }
      lastForwardMs.set(signal, now);
      try {
        child.kill(signal);
      } catch (error) {
        // The child has exited already: nothing to forward to.
        if (!(error instanceof TypeError)) throw error;
      }
    };
    // Never removed: the launcher exits as soon as the peer has, and with no
    // listener a late echo of Ctrl+C would kill it first (exit 130).
    Deno.addSignalListener(signal, handler);
  }
}

if (import.meta.main) {
  Deno.exit(await launch(Deno.args));
}
