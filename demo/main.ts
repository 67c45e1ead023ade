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
shows the download and checks the result.

Options:
  --size MB      size of the generated file in MB (default 64)
  --seeders N    number of seeders (default 3)
  --keep         keep the temporary folder
  --help         print this help and exit`;

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

async function makeDemoFile(path: string, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const piece = new Uint8Array(65_536);
  let left = bytes;
  while (left > 0) {
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

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** A path as one shell word, quoted only when it needs it. */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text)
    ? text
    : `'${text.replaceAll("'", "'\\''")}'`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      size: { type: "string", default: "64" },
      seeders: { type: "string", default: "3" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const sizeMb = Number(values.size);
  const seederCount = Number(values.seeders);
  if (!(sizeMb >= 0) || !(seederCount >= 1 && seederCount <= 16)) {
    console.error(
      "error: --size must be a number of MB and --seeders from 1 to 16; see --help",
    );
    return 2;
  }
  const dir = await Deno.makeTempDir({ prefix: "shoal-demo-" });
  const children: Child[] = [];
  try {
    // A size that is not a multiple of 512 KiB, to show the short last chunk.
    const bytes = Math.round(sizeMb * 1e6) + 12_345;
    const source = join(dir, "demo.bin");
    console.log(`1. a test file: ${shellWord(source)} (${formatBytes(bytes)})`);
    const expected = await makeDemoFile(source, bytes);

    const tracker = start([...trackerArgs(0), "--log-level", "warning"]);
    children.push(tracker);
    const [, port] = await tracker.waitFor(
      /udp:\/\/127\.0\.0\.1:(\d+)/,
      10_000,
    );
    console.log(
      `2. tracker:  deno task tracker --host 127.0.0.1 --port ${port}`,
    );

    const peerFlags = [...PEER_RUN_FLAGS, "peer/main.ts"];
    const seeders = Array.from(
      { length: seederCount },
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
    const ports = await Promise.all(
      seeders.map((s) => s.waitFor(/serving peers on port (\d+)/, 60_000)),
    );
    console.log(
      `3. seeders:  deno task peer --tracker 127.0.0.1:${port} --seed ${
        shellWord(source)
      } --out ${shellWord(join(dir, "seeder1"))} --no-dht`,
    );
    console.log(
      `   (${seederCount === 1 ? "1 seeder" : `${seederCount} seeders`}, ` +
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
    const status = await leecher.process.status;
    if (!status.success) {
      console.error(`error: the leecher failed with exit code ${status.code}`);
      return 1;
    }
    const actual = await hashFile(join(out, "demo.bin"));
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
  } finally {
    for (const child of children) {
      try {
        child.process.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await child.process.status;
    }
    if (!values.keep) await Deno.remove(dir, { recursive: true });
    else console.log(`kept ${dir}`);
  }
}

if (import.meta.main) Deno.exit(await main());
