// deno-lint-ignore-file no-console
/**
 * Seeding a new file: how long a Shoal seeder takes to hash it, beside
 * `openssl dgst -sha256` of the same file in the same run (issue 16).
 *
 * Each run times, taking turns, `openssl dgst -sha256 FILE` and a seeder
 * started as a user starts one, `deno task peer --seed FILE --out NEW
 * --json` (a fresh `--out`, so nothing is remembered), from its spawn to
 * its "seeding" and "serving" events. Its `hashing` events (one per 64 MiB
 * hashed) give its hashing rate, and so when the hashing began: the time
 * before that is start-up (the task runner, the launcher, the peer, the
 * manifest worker). The file is in the page cache for both.
 *
 * Run alone: `deno run -A bench/seed_hash.ts --size 1G --runs 3`.
 *
 * @module
 */
import { REPO_DIR, settleCtime } from "./_setup.ts";
import { benchArgs } from "./_cli.ts";
import { join, resolve } from "node:path";
import { type BenchFile, makeFile } from "./_files.ts";
import { freeUdpPort, spawnProcess, stopAll } from "./_proc.ts";
import { seederTaskArgs, trackerArgs } from "./_shoal_args.ts";
import {
  mib,
  parseSize,
  ratio,
  renderTable,
  sizeLabel,
  summarize,
} from "./_stats.ts";

/** Options for {@linkcode runSeedHash}. */
export interface SeedHashOptions {
  /** File size, bytes. */
  size: number;
  /** Runs of each. */
  runs: number;
  /** Work folder: the file, seeders' folders, logs. */
  workDir: string;
  /** The Shoal checkout whose tracker/ and peer/ run. @default {this one} */
  repoDir?: string;
}

/** One run of the seeder. */
export interface SeedSample {
  /** Spawn to the "seeding" event: start-up and hashing, seconds. */
  toSeeding: number;
  /** Spawn to the "serving" event (registered with the tracker), seconds. */
  toServing: number;
  /**
   * Hashing, seconds: from when it began (extrapolated back from the
   * `hashing` events at their rate) to the "seeding" event. Null for a file
   * under 128 MiB (fewer than two events).
   */
  hashing: number | null;
  /** Spawn to the hashing's start, seconds (null as `hashing`). */
  startup: number | null;
  /** Peak RSS of the seeder peer (the largest process of the task), bytes. */
  peerPeak: number | null;
}

/** What {@linkcode runSeedHash} measured. */
export interface SeedHashResult {
  size: number;
  /** Seconds of each `openssl dgst -sha256` run. */
  openssl: number[];
  /** Each seeder run. */
  shoal: SeedSample[];
  errors: string[];
}

const log = (line: string) => console.error(`[seed-hash] ${line}`);

interface Timed {
  event: Record<string, unknown>;
  atMs: number;
}

/**
 * Hashing time and its start, from a seeder's `hashing` events and its
 * "seeding" event (pure).
 *
 * @param hashing (bytes hashed, ms from spawn) of each `hashing` event
 * @param seedingMs ms from spawn to the "seeding" event
 * @returns seconds of hashing and of start-up, or null with fewer than two events
 * @example
 * ```ts
 * import { hashingSpan } from "./seed_hash.ts";
 * hashingSpan([{ bytes: 100, atMs: 600 }, { bytes: 200, atMs: 700 }], 900);
 * // { hashing: 0.4, startup: 0.5 }
 * ```
 */
export function hashingSpan(
  hashing: readonly { bytes: number; atMs: number }[],
  seedingMs: number,
): { hashing: number; startup: number } | null {
  const first = hashing[0];
  const last = hashing.at(-1);
  if (!first || !last || last.atMs <= first.atMs || last.bytes <= first.bytes) {
    return null;
  }
  const bytesPerMs = (last.bytes - first.bytes) / (last.atMs - first.atMs);
  const startMs = Math.max(0, first.atMs - first.bytes / bytesPerMs);
  return { hashing: (seedingMs - startMs) / 1000, startup: startMs / 1000 };
}

async function timeOpenssl(file: BenchFile): Promise<number> {
  const p = spawnProcess("openssl", "openssl", {
    args: ["dgst", "-sha256", "-r", file.path],
  });
  const status = await p.waitExit(300_000);
  await p.stop();
  const hex = p.lines.join("\n").match(/^([0-9a-f]{64})/m)?.[1];
  if (status?.code !== 0 || hex !== file.sha256) {
    throw new Error(`openssl dgst failed or disagreed:\n${p.tail()}`);
  }
  return p.elapsedMs! / 1000;
}

async function timeSeeder(
  file: BenchFile,
  trackerPort: number,
  options: SeedHashOptions,
  run: number,
): Promise<SeedSample> {
  const out = join(options.workDir, "seed-hash", `run-${run}`);
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const timed: Timed[] = [];
  const seeder = spawnProcess("shoal seeder", Deno.execPath(), {
    args: seederTaskArgs(trackerPort, file.path, out),
    cwd: options.repoDir ?? REPO_DIR,
    logPath: join(options.workDir, "logs", `seed-hash-${run}.log`),
    tree: true,
    onLine: (line, atMs) => {
      if (!line.startsWith("{")) return;
      try {
        timed.push({ event: JSON.parse(line), atMs });
      } catch {
        // Not an event.
      }
    },
  });
  try {
    await seeder.waitForLine(/"type":"serving"/, 300_000);
    const at = (type: string) => timed.find((t) => t.event.type === type);
    const seeding = at("seeding")!;
    const serving = at("serving")!;
    const span = hashingSpan(
      timed.filter((t) => t.event.type === "hashing").map((t) => ({
        bytes: Number(t.event.bytes),
        atMs: t.atMs,
      })),
      seeding.atMs,
    );
    return {
      toSeeding: seeding.atMs / 1000,
      toServing: serving.atMs / 1000,
      hashing: span?.hashing ?? null,
      startup: span?.startup ?? null,
      peerPeak: seeder.peakBytes || null,
    };
  } finally {
    await seeder.stop();
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}

/**
 * Times hashing a new file: openssl and a Shoal seeder, taking turns.
 *
 * @param options size, runs, folders
 * @returns every run's figures
 */
export async function runSeedHash(
  options: SeedHashOptions,
): Promise<SeedHashResult> {
  await Deno.mkdir(join(options.workDir, "logs"), { recursive: true });
  const file = await makeFile(options.workDir, options.size);
  // As a file written a while ago: a seeder waits for a newer one's ctime.
  await settleCtime(file.path);
  const result: SeedHashResult = {
    size: file.size,
    openssl: [],
    shoal: [],
    errors: [],
  };
  const trackerPort = freeUdpPort();
  const tracker = spawnProcess("shoal tracker", Deno.execPath(), {
    args: trackerArgs(trackerPort),
    cwd: options.repoDir ?? REPO_DIR,
    logPath: join(options.workDir, "logs", "seed-hash-tracker.log"),
  });
  try {
    await tracker.waitForLine(/tracker listening/, 20_000);
    for (let run = 0; run < options.runs; run++) {
      const steps = [
        async () => {
          const s = await timeOpenssl(file);
          result.openssl.push(s);
          log(`run ${run + 1}: openssl ${s.toFixed(2)} s`);
        },
        async () => {
          const s = await timeSeeder(file, trackerPort, options, run);
          result.shoal.push(s);
          log(
            `run ${run + 1}: shoal hashing ${s.hashing?.toFixed(2)} s, ` +
              `seeding after ${s.toSeeding.toFixed(2)} s, serving after ${
                s.toServing.toFixed(2)
              } s, peer ${mib(s.peerPeak)}`,
          );
        },
      ];
      // Taking turns: neither always goes first.
      if (run % 2 === 1) steps.reverse();
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          const message = error instanceof Error
            ? error.message
            : String(error);
          result.errors.push(message.split("\n")[0]!);
          log(`run ${run + 1} failed: ${message}`);
        }
      }
    }
  } finally {
    await tracker.stop();
  }
  return result;
}

/**
 * The result as a text table: medians (min-max), each against openssl.
 *
 * @param result what {@linkcode runSeedHash} measured
 * @returns the table
 */
export function seedHashTable(result: SeedHashResult): string {
  const openssl = summarize(result.openssl);
  const row = (what: string, values: (number | null)[], rate = true) => {
    const s = summarize(values);
    if (!s) return [what, "-", "-", "-"];
    return [
      what,
      `${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`,
      ratio(s.median, openssl?.median),
      rate ? (result.size / s.median / 1e6).toFixed(0) : "",
    ];
  };
  const peak = summarize(result.shoal.map((s) => s.peerPeak));
  return renderTable(
    [
      `seeding a new ${sizeLabel(result.size)} file`,
      "s (min-max)",
      "vs openssl",
      "MB/s",
    ],
    [
      row("openssl dgst -sha256", result.openssl),
      row("shoal: hashing", result.shoal.map((s) => s.hashing)),
      row(
        "shoal: start-up before hashing",
        result.shoal.map((s) => s.startup),
        false,
      ),
      row('shoal: spawn to "seeding"', result.shoal.map((s) => s.toSeeding)),
      row('shoal: spawn to "serving"', result.shoal.map((s) => s.toServing)),
      [
        "shoal: seeder peak RSS (max)",
        peak ? mib(peak.max) : "-",
        "",
        "",
      ],
    ],
  );
}

const USAGE = `Usage: deno run -A bench/seed_hash.ts [options]

Times hashing a new file: openssl dgst -sha256 FILE against a Shoal seeder
started as a user starts one (deno task peer --seed FILE --out NEW --json),
taking turns. Prints a table, then one JSON line.

Options:
  --size SIZE   file size (default 1G)
  --runs N      runs of each (default 3)
  --repo DIR    the Shoal checkout whose tracker and peer run (default this one)
  --dir DIR     work folder (default a new temp folder, removed at the end)
  --help        print this help`;

if (import.meta.main) {
  const values = benchArgs(Deno.args, {
    size: { type: "string", default: "1G" },
    runs: { type: "string", default: "3" },
    repo: { type: "string" },
    dir: { type: "string" },
  }, USAGE);
  if (!values) Deno.exit(0);
  const workDir = values.dir ??
    await Deno.makeTempDir({ prefix: "shoal-seed-hash-" });
  try {
    const result = await runSeedHash({
      size: parseSize(values.size),
      runs: Number(values.runs),
      workDir,
      ...(values.repo ? { repoDir: resolve(values.repo) } : {}),
    });
    console.log(seedHashTable(result));
    console.log(JSON.stringify({ bench: "seed-hash", ...result }));
  } finally {
    await stopAll();
    if (!values.dir) await Deno.remove(workDir, { recursive: true });
  }
}
