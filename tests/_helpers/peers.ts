/**
 * Test helpers for real peer processes: start them the way a user does,
 * wait for the lines they print, and make files to share.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { withoutPublicDht } from "../../bench/_shoal_args.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The peer CLI script. */
export const PEER_MAIN = join(ROOT, "peer/main.ts");
/** The tracker CLI script. */
export const TRACKER_MAIN = join(ROOT, "tracker/main.ts");

/** A running child process whose stdout lines are collected. */
export interface RunningProcess {
  /** The child. */
  child: Deno.ChildProcess;
  /** Lines printed on stdout so far. */
  lines: string[];
  /** Resolves with the first stdout line matching `pattern`, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL (a crash). */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number>;
  /** Waits for the exit (bounded) and returns code and both outputs. */
  done(
    timeoutMs?: number,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * Starts `deno run` on a script with the given flags, from `cwd`.
 *
 * @param script the script to run
 * @param args its flags
 * @param options working folder and permissions
 */
export function spawnDeno(
  script: string,
  args: string[],
  options: {
    cwd?: string;
    permissions?: string[];
    env?: Record<string, string>;
  } = {},
): RunningProcess {
  return spawnDenoWith([
    "run",
    ...(options.permissions ?? ["--allow-all"]),
    script,
    ...args,
  ], options);
}

/** A tracker for the peer helpers; null for none (a DHT-only peer). */
export type TrackerArg = { host: string; port: number } | null;

/** `--tracker HOST:PORT`, or nothing for no tracker. */
function trackerFlags(tracker: TrackerArg): string[] {
  return tracker ? ["--tracker", `${tracker.host}:${tracker.port}`] : [];
}

/**
 * Runs the peer CLI against `tracker` (`--tracker HOST:PORT ...args`). Its
 * DHT is off unless `args` give `--dht-bootstrap` (see spawnDenoWith).
 */
export function spawnPeer(
  tracker: TrackerArg,
  args: string[],
  options: Parameters<typeof spawnDeno>[2] = {},
): RunningProcess {
  return spawnDeno(PEER_MAIN, [...trackerFlags(tracker), ...args], options);
}

/** Runs the peer CLI against `tracker` (as {@linkcode spawnPeer}) to its exit. */
export function runPeer(
  tracker: TrackerArg,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return spawnPeer(tracker, args).done(60_000);
}

/**
 * Starts the deno binary with these arguments (for `deno task`). A peer
 * started without `--no-dht` or `--dht-bootstrap` gets `--no-dht`: tests
 * never reach the public DHT routers (bench/_shoal_args.ts
 * `withoutPublicDht`); a DHT test gives `--dht-bootstrap 127.0.0.1:PORT`.
 *
 * @param args every argument after the binary
 * @param options working folder and extra environment
 */
export function spawnDenoWith(
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    clearEnv?: boolean;
    /** The executable to run instead of deno (a compiled binary). */
    binary?: string;
    /**
     * Start it as the leader of a new process group, as a shell starts a
     * command: `Deno.kill(-child.pid, "SIGINT")` then reaches it and every
     * process it started, as a terminal's Ctrl+C does.
     */
    processGroup?: boolean;
  } = {},
): RunningProcess {
  const group = options.processGroup ?? false;
  const binary = options.binary ?? Deno.execPath();
  const child = new Deno.Command(binary, {
    args: withoutPublicDht(args, binary),
    detached: group,
    cwd: options.cwd ?? ROOT,
    clearEnv: options.clearEnv ?? false,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", ...(options.env ?? {}) },
  }).spawn();
  const lines: string[] = [];
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] =
    [];
  const readOut = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        for (const waiter of [...waiters]) {
          const match = line.match(waiter.pattern);
          if (match) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(match);
          }
        }
      }
    }
    if (pending) lines.push(pending);
  })();
  const readErr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
    }
  })();
  let exited = false;
  const killAll = (signal: Deno.Signal) => {
    try {
      if (group) Deno.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Gone already.
    }
  };
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const finish = async (timeoutMs: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((
      resolve,
    ) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const result = await Promise.race([status, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      killAll("SIGKILL");
      await status;
      await Promise.all([readOut, readErr]);
      throw new Error(
        `Process did not exit within ${timeoutMs} ms; stdout:\n${
          lines.join("\n")
        }\nstderr:\n${stderr}`,
      );
    }
    await Promise.all([readOut, readErr]);
    return { code: result.code, stdout: lines.join("\n"), stderr };
  };
  return {
    child,
    lines,
    waitFor(pattern, timeoutMs = 20_000) {
      for (const line of lines) {
        const match = line.match(pattern);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `No line matching ${pattern} within ${timeoutMs} ms; stdout:\n${
                lines.join("\n")
              }\nstderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        status.then(() => {
          // The process ended without printing the line: fail now, not at the timeout.
          setTimeout(() => {
            clearTimeout(timer);
            reject(
              new Error(
                `Process exited before printing ${pattern}; stdout:\n${
                  lines.join("\n")
                }\nstderr:\n${stderr}`,
              ),
            );
          }, 50);
        });
      });
    },
    async kill() {
      if (!exited || group) killAll("SIGKILL");
      await finish(10_000);
    },
    async stop() {
      if (!exited) child.kill("SIGTERM");
      return (await finish(10_000)).code;
    },
    done(timeoutMs = 60_000) {
      return finish(timeoutMs);
    },
  };
}

/**
 * Starts `--get NAME|ID --no-seed` as a user would.
 *
 * @param tracker the tracker
 * @param query a file name or 64-hex-digit id
 * @param outDir the download folder
 * @param giveUpAfterSeconds `--give-up-after`, or null for the default
 * @param extraArgs more flags
 */
export function spawnLeecher(
  tracker: TrackerArg,
  query: string,
  outDir: string,
  giveUpAfterSeconds: number | null = 20,
  extraArgs: string[] = [],
): RunningProcess {
  const giveUp = giveUpAfterSeconds === null
    ? []
    : ["--give-up-after", String(giveUpAfterSeconds)];
  return spawnPeer(tracker, [
    "--get",
    query,
    "--out",
    outDir,
    "--no-seed",
    ...giveUp,
    ...extraArgs,
  ]);
}

/**
 * A peer that downloads `query` slowly (256 KB/s, `--json`), listening on
 * 127.0.0.1 and serving what it has meanwhile: a swarm member that stays
 * connected to its peers for a while.
 *
 * @param extraArgs more flags
 */
export function spawnSlowLeecher(
  tracker: TrackerArg,
  query: string,
  outDir: string,
  extraArgs: string[] = [],
): RunningProcess {
  return spawnPeer(tracker, [
    "--get",
    query,
    "--out",
    outDir,
    "--host",
    "127.0.0.1",
    "--json",
    "--max-download",
    "256K",
    ...extraArgs,
  ]);
}

/**
 * Runs `--get NAME|ID --no-seed` as a user would and waits for the exit.
 *
 * @param tracker the tracker
 * @param query a file name or 64-hex-digit id
 * @param outDir the download folder
 * @param options `--give-up-after` seconds and the wait for the exit
 */
export function getFile(
  tracker: { host: string; port: number },
  query: string,
  outDir: string,
  options: { giveUpAfterSeconds?: number; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return spawnLeecher(tracker, query, outDir, options.giveUpAfterSeconds)
    .done(options.timeoutMs ?? 60_000);
}

/**
 * The JSON lines of a `--json` run's output (its events on stdout, its logs
 * on stderr), one a line; a line that is not JSON fails the test (such a
 * run prints nothing else there).
 */
export function jsonEvents(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line);
    } catch (cause) {
      throw new Error(`Not a JSON line: ${JSON.stringify(line)}`, { cause });
    }
  });
}

/**
 * The `done` event a `--json` leecher printed (where its chunks came from,
 * by "host:port", and whatever more the caller reads, typed by `T`); fails
 * the test when there is none.
 */
export function doneEvent<
  T extends object = { chunksByPeer: Record<string, number> },
>(stdout: string): T {
  const done = stdout.split("\n").map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      return null; // a line that is not an event
    }
  }).find((event) => event?.type === "done");
  assert.ok(done, stdout);
  return done;
}

/**
 * Stops a `--json` leecher once it printed a line matching `seen`: sends it
 * `signal` (to its whole process group with `group`, as a terminal's Ctrl+C
 * does) and waits for its exit, which must be 0 with a last event "stopped".
 *
 * @returns the line seen, the run's exit and outputs, and its events
 */
export async function stopOnceSeen(
  leecher: RunningProcess,
  seen: RegExp,
  options: { signal?: Deno.Signal; group?: boolean; timeoutMs?: number } = {},
): Promise<{
  line: string;
  result: { code: number; stdout: string; stderr: string };
  events: Record<string, unknown>[];
}> {
  const { input: line } = await leecher.waitFor(
    seen,
    options.timeoutMs ?? 30_000,
  );
  const signal = options.signal ?? "SIGTERM";
  if (options.group) Deno.kill(-leecher.child.pid, signal);
  else leecher.child.kill(signal);
  const result = await leecher.done(15_000);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const events = jsonEvents(result.stdout);
  assert.equal(events.at(-1)?.type, "stopped", result.stdout);
  return { line: line!, result, events };
}

/** A TCP port free on 127.0.0.1 now (for a process that must be told one). */
export function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return (listener.addr as Deno.NetAddr).port;
}

/** A seeder process, ready once it printed its port. */
export async function startSeeder(
  tracker: TrackerArg,
  files: string[],
  outDir: string,
  extraArgs: string[] = [],
): Promise<RunningProcess & { port: number }> {
  const args = [
    ...trackerFlags(tracker),
    "--out",
    outDir,
    ...extraArgs,
  ];
  for (const file of files) args.push("--seed", file);
  const process = spawnDeno(PEER_MAIN, args);
  const match = await process.waitFor(/serving peers on port (\d+)/);
  return Object.assign(process, { port: Number(match[1]) });
}

/**
 * Writes `size` pseudo-random bytes (from `seed`, see {@linkcode makeFile})
 * to `path` and starts a seeder of that file, its state in the folder
 * `options.out` ("s" unless given) beside it.
 *
 * @param options the state folder's name and more seeder flags
 */
export async function seedNewFile(
  tracker: TrackerArg,
  path: string,
  size: number,
  seed: number,
  options: { out?: string; args?: string[] } = {},
): Promise<RunningProcess & { port: number }> {
  await makeFile(path, size, seed);
  return await startSeeder(
    tracker,
    [path],
    join(dirname(path), options.out ?? "s"),
    options.args,
  );
}

/**
 * Writes `size` pseudo-random bytes (seeded, so reruns make the same file)
 * in pieces, never holding the whole file.
 */
export async function makeFile(
  path: string,
  size: number,
  seed = 1,
): Promise<void> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const piece = new Uint8Array(1024 * 1024);
  let state = seed >>> 0 || 1;
  let left = size;
  while (left > 0) {
    const n = Math.min(left, piece.byteLength);
    for (let i = 0; i < n; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      piece[i] = state & 0xff;
    }
    let written = 0;
    while (written < n) written += await file.write(piece.subarray(written, n));
    left -= n;
  }
}

/**
 * Runs `binary` with `args` to its exit, stdin closed, and returns its exit
 * code and output.
 */
export async function runToExit(
  binary: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(binary, {
    // A peer never reaches the public DHT from a test (see spawnDenoWith).
    args: withoutPublicDht(args, binary),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    ...options,
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** SHA-256 of a file, hex, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  // The readable closes the file when it ends.
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Asserts that the file at `path` holds the same bytes as the file at `source`. */
export async function assertSameFile(
  path: string,
  source: string,
): Promise<void> {
  assert.equal(await sha256File(path), await sha256File(source));
}

/** Asserts that the file at `path` has the SHA-256 `hex`. */
export async function assertFileHash(path: string, hex: string): Promise<void> {
  assert.equal(await sha256File(path), hex);
}

/** A fresh temporary folder, removed by the returned disposer. */
export async function tempDir(
  prefix = "shoal-test-",
): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * The part files of the downloads in progress in a download folder (they
 * live in its state folder, `OUT/.shoal/parts/`), as absolute paths.
 */
export async function partFilesIn(outDir: string): Promise<string[]> {
  const folder = join(outDir, ".shoal", "parts");
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.name.endsWith(".part")) found.push(join(folder, entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}
