/**
 * `deno task demo`: a whole swarm on loopback in one command. Starts a
 * tracker, three seeders of a generated file and a leecher, each as its own
 * process started the way a user starts them; shows the leecher's progress;
 * checks the result with SHA-256 and cleans up.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  PEER_RUN_FLAGS,
  trackerArgs,
  withoutPublicDht,
} from "../bench/_shoal_args.ts";
import { formatBytes } from "../peer/progress.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const USAGE = `Usage: deno task demo [--size MB] [--seeders N] [--keep]

Runs a tracker, N seeders of a generated file and a leecher on 127.0.0.1,
shows the download and checks the result. Ctrl+C stops them all and removes
the temporary folder.

Options:
  --size MB      size of the generated file in MB, more than 0 (default 64);
                 12,345 bytes are added so that the last chunk is a short one
  --seeders N    number of seeders, 1 to 16 (default 3)
  --keep         keep the temporary folder and print where it is
  -h, --help     print this help and exit

Exit codes: 0 the download is identical, 1 it is not or a step failed,
2 bad command line, 130 stopped by Ctrl+C (143 by SIGTERM)`;

/** Most seeders the demo starts (each is a process). */
const MAX_SEEDERS = 16;

/** How long the children get to stop after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** The demo's checked command line. */
interface Options {
  sizeMb: number;
  seeders: number;
  keep: boolean;
  help: boolean;
}

/** Ends the demo's steps early: SIGINT or SIGTERM arrived. */
class Stopped extends Error {
  /** The signal that stopped the demo. */
  readonly signal: Deno.Signal;
  constructor(signal: Deno.Signal) {
    super(`stopped by ${signal}`);
    this.signal = signal;
  }
}

interface Child {
  process: Deno.ChildProcess;
  lines: string[];
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

function start(args: string[], inherit = false): Child {
  const process = new Deno.Command(Deno.execPath(), {
    // The demo stays on loopback: its peers do not join the public DHT.
    args: withoutPublicDht(args),
    cwd: ROOT,
    stdin: "null",
    stdout: inherit ? "inherit" : "piped",
    stderr: inherit ? "inherit" : "piped",
  }).spawn();
  const lines: string[] = [];
  const listeners: (() => void)[] = [];
  if (!inherit) {
    (async () => {
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of process.stdout) {
        pending += decoder.decode(chunk, { stream: true });
        const parts = pending.split("\n");
        pending = parts.pop()!;
        lines.push(...parts);
        for (const listener of listeners) listener();
      }
    })();
    process.stderr.cancel();
  }
  return {
    process,
    lines,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const line of lines) {
            const match = line.match(pattern);
            if (match) {
              clearTimeout(timer);
              resolve(match);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        if (!check()) listeners.push(check);
      });
    },
  };
}

async function makeDemoFile(
  path: string,
  bytes: number,
  stop: AbortSignal,
): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const piece = new Uint8Array(65_536);
  let left = bytes;
  while (left > 0) {
    // Writing 1.5 GB takes seconds: Ctrl+C should not wait for it.
    stop.throwIfAborted();
    const part = piece.subarray(0, Math.min(left, piece.byteLength));
    crypto.getRandomValues(part);
    hash.update(part);
    let written = 0;
    while (written < part.byteLength) {
      written += await file.write(part.subarray(written));
    }
    left -= part.byteLength;
  }
  return hash.digest("hex");
}

async function hashFile(path: string, stop: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    stop.throwIfAborted();
    hash.update(chunk);
  }
  return hash.digest("hex");
}

/** A path as one shell word, quoted only when it needs it. */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text)
    ? text
    : `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Reads the demo's command line.
 *
 * @throws {RangeError} with a one-line reason
 */
function parseOptions(args: string[]): Options {
  // node:util calls "--seeders -1" ambiguous (a value, or a short flag?):
  // after --size or --seeders it is a value, for the range checks below.
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    const next = args[i + 1];
    const takesValue = word === "--size" || word === "--seeders";
    if (takesValue && next?.startsWith("--")) {
      throw new RangeError(`Option '${word} <value>' argument missing`);
    } else if (takesValue && next?.startsWith("-")) {
      words.push(`${word}=${next}`);
      i++;
    } else {
      words.push(word);
    }
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: words,
      options: {
        size: { type: "string", default: "64" },
        seeders: { type: "string", default: "3" },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (error) {
    // node:util goes on with advice about "--"; keep the first sentence.
    const message = error instanceof Error ? error.message : String(error);
    throw new RangeError(message.split(/\.\s/)[0]!);
  }
  const sizeMb = Number(values.size);
  // Decimals only: Number() also takes "", "0x10" and "Infinity".
  if (
    !/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(values.size) ||
    !(sizeMb > 0 && isFinite(sizeMb))
  ) {
    throw new RangeError(
      `--size "${values.size}" is not a number of MB more than 0`,
    );
  }
  const seeders = Number(values.seeders);
  if (
    !/^\d+$/.test(values.seeders) || seeders < 1 || seeders > MAX_SEEDERS
  ) {
    throw new RangeError(
      `--seeders "${values.seeders}" is not a whole number from 1 to ${MAX_SEEDERS}`,
    );
  }
  return { sizeMb, seeders, keep: values.keep, help: values.help };
}

/** `promise`, or a rejection with the stop's reason as soon as it comes. */
function orStop<T>(promise: Promise<T>, stop: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onStop = () => reject(stop.reason);
    if (stop.aborted) return onStop();
    stop.addEventListener("abort", onStop, { once: true });
    promise.then(resolve, reject).finally(() =>
      stop.removeEventListener("abort", onStop)
    );
  });
}

/** Stops every child: SIGTERM, then SIGKILL for those it does not end. */
async function stopAll(children: Child[]): Promise<void> {
  for (const child of children) {
    try {
      child.process.kill("SIGTERM");
    } catch {
      // Already exited.
    }
  }
  const statuses = Promise.all(children.map((child) => child.process.status));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = await Promise.race([
    statuses.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  if (late) {
    for (const child of children) {
      try {
        child.process.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }
  }
  await statuses;
}

/** The demo's steps, in `dir`; every child it starts goes into `children`. */
async function run(
  options: Options,
  dir: string,
  children: Child[],
  stop: AbortSignal,
): Promise<number> {
  // A size that is not a multiple of 512 KiB, to show the short last chunk.
  const bytes = Math.round(options.sizeMb * 1e6) + 12_345;
  const source = join(dir, "demo.bin");
  console.log(`1. a test file: ${shellWord(source)} (${formatBytes(bytes)})`);
  const expected = await makeDemoFile(source, bytes, stop);

  const tracker = start([...trackerArgs(0), "--log-level", "warning"]);
  children.push(tracker);
  const [, port] = await orStop(
    tracker.waitFor(/udp:\/\/127\.0\.0\.1:(\d+)/, 10_000),
    stop,
  );
  console.log(
    `2. tracker:  deno task tracker --host 127.0.0.1 --port ${port}`,
  );

  const peerFlags = [...PEER_RUN_FLAGS, "peer/main.ts"];
  const seeders = Array.from(
    { length: options.seeders },
    (_, i) =>
      start([
        ...peerFlags,
        "--tracker",
        `127.0.0.1:${port}`,
        "--seed",
        source,
        "--out",
        join(dir, `seeder${i + 1}`),
        // The demo stays on loopback: no public DHT.
        "--no-dht",
      ]),
  );
  children.push(...seeders);
  const ports = await orStop(
    Promise.all(
      seeders.map((s) => s.waitFor(/serving peers on port (\d+)/, 60_000)),
    ),
    stop,
  );
  console.log(
    `3. seeders:  deno task peer --tracker 127.0.0.1:${port} --seed ${
      shellWord(source)
    } --out ${shellWord(join(dir, "seeder1"))} --no-dht`,
  );
  console.log(
    `   (${
      options.seeders === 1 ? "1 seeder" : `${options.seeders} seeders`
    }, ` +
      `each with its own --out, on TCP ports ${
        ports.map((m) => m[1]).join(", ")
      })`,
  );

  const out = join(dir, "downloads");
  console.log(
    `4. leecher:  deno task peer --tracker 127.0.0.1:${port} --get demo.bin --out ${
      shellWord(out)
    } --no-seed --no-dht`,
  );
  const leecher = start([
    ...peerFlags,
    "--tracker",
    `127.0.0.1:${port}`,
    "--get",
    "demo.bin",
    "--out",
    out,
    "--no-seed",
    "--no-dht",
  ], true);
  children.push(leecher);
  const status = await orStop(leecher.process.status, stop);
  if (!status.success) {
    console.error(`error: the leecher failed with exit code ${status.code}`);
    return 1;
  }
  const actual = await hashFile(join(out, "demo.bin"), stop);
  const same = actual === expected;
  console.log(
    `5. check:    sha256sum ${shellWord(source)} ${
      shellWord(join(out, "demo.bin"))
    }`,
  );
  console.log(`   SHA-256 of the original:   ${expected}`);
  console.log(`   SHA-256 of the download:   ${actual}`);
  console.log(
    same
      ? "   identical: the swarm works."
      : "   DIFFERENT: something is wrong.",
  );
  return same ? 0 : 1;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    console.error(`error: ${error.message}; see --help`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  // SIGINT or SIGTERM ends the steps; the cleanup below still runs. Later
  // signals are ignored: one Ctrl+C reaches the demo more than once (the
  // terminal signals the whole process group, and deno task passes it on),
  // and the cleanup is bounded.
  const stop = new AbortController();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) {
    Deno.addSignalListener(signal, () => {
      if (!stop.signal.aborted) stop.abort(new Stopped(signal));
    });
  }

  const dir = await Deno.makeTempDir({ prefix: "shoal-demo-" });
  const children: Child[] = [];
  let code = 1;
  let failure: { error: unknown } | null = null;
  try {
    code = await run(options, dir, children, stop.signal);
  } catch (error) {
    failure = { error };
  }
  await stopAll(children);
  if (!options.keep) await Deno.remove(dir, { recursive: true });
  // A step that failed because Ctrl+C stopped the children too is the stop.
  if (stop.signal.aborted) {
    const { signal } = stop.signal.reason as Stopped;
    console.error(
      `stopped by ${signal}; ${options.keep ? "kept" : "removed"} ${
        shellWord(dir)
      }`,
    );
    return signal === "SIGTERM" ? 143 : 130;
  }
  if (failure) throw failure.error;
  if (options.keep) console.log(`kept ${shellWord(dir)}`);
  return code;
}

if (import.meta.main) Deno.exit(await main());
