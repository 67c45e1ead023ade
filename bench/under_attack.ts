// deno-lint-ignore-file no-console
/**
 * Under attack (issue 21): an honest download's time quiet, and beside each
 * denial-of-service attack of the issue (bench/_attacks.ts), in the same
 * run. Each row starts its own tracker and one real seeder of a random file,
 * lets the attack set up (before the seeder, so it can fill tables and be
 * listed first), starts the attack's flood once the seeder serves, then
 * times one `--get NAME --no-seed` leecher, from its spawn to its exit (so
 * Deno's start-up is included), and stops everything. Rounds take turns
 * through the rows; each row shows the median of its rounds. The target
 * is within 2x of quiet. Loopback only; every process is stopped at the end.
 *
 * ```sh
 * deno run -A bench/under_attack.ts                      # 64 MiB, 3 runs a row
 * deno run -A bench/under_attack.ts --runs 1 --size 8M --only quiet,9
 * ```
 *
 * @module
 */
import { benchArgs } from "./_cli.ts";
import { join, resolve } from "node:path";
import { chunkSizeFor, ManifestBuilder, toHex } from "@shoal/protocol";
import {
  type BenchProcess,
  freeUdpPort,
  spawnProcess,
  stopAll,
} from "./_proc.ts";
import { parseSize, renderTable, sizeLabel, summarize } from "./_stats.ts";
import { waitShoalPeers } from "./_shoal_probe.ts";
import { leecherArgs, seederArgs, trackerArgs } from "./_shoal_args.ts";
import { allAttacks, type Attack, type TargetFile } from "./_attacks.ts";

const USAGE = `Usage: deno run -A bench/under_attack.ts [options]

Times an honest download from one seeder on loopback, quiet and beside each
denial-of-service attack of issue 21, and prints a table and one JSON line.

Options:
  --size SIZE     file size (default 64M)
  --runs N        rounds through the rows, one download per row each; the
                  table shows each row's median (default 3)
  --only LIST     rows besides quiet: 5,6,7,8,9,9bt (default all; "quiet" allowed)
  --timeout S     stop a download after S seconds (default 120)
  --leecher-log-level LEVEL  the leechers' --log-level (their logs and the
                  others' are in DIR/logs, kept with --keep or --dir)
  --repo DIR      the Shoal checkout to run (default: this one)
  --dir PATH      work folder (default: a new temporary one, removed after)
  --keep          keep the work folder
  --help          print this help and exit`;

/** A work folder to remove if a signal stops the run. */
let tempWorkDir: string | null = null;
/** Set by a signal: start no more rows. */
let interrupted = false;

/** The target: each download within this factor of quiet. */
const TARGET_RATIO = 2;

/** One row of the table. */
export interface AttackRow {
  /** "quiet" or the attack's key. */
  key: string;
  /** What ran beside the downloads. */
  label: string;
  /** Seconds of each download that finished and checked. */
  seconds: number[];
  /** One line per download that did not ("exit 5", "no exit in 120 s"). */
  failures: string[];
  /** What the attack achieved (empty when quiet). */
  effect: string;
}

/** Random bytes: nothing for a file system or a cache to shortcut. */
async function makeFile(path: string, size: number): Promise<TargetFile> {
  const chunkSize = chunkSizeFor(size);
  if (chunkSize === null) throw new RangeError(`Cannot share ${size} bytes`);
  const builder = new ManifestBuilder(chunkSize, { expectedBytes: size });
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const block = new Uint8Array(1 << 20);
  for (let at = 0; at < size; at += block.byteLength) {
    const part = block.subarray(0, Math.min(block.byteLength, size - at));
    for (let i = 0; i < part.byteLength; i += 65_536) {
      crypto.getRandomValues(part.subarray(i, i + 65_536));
    }
    builder.update(part);
    for (let done = 0; done < part.byteLength;) {
      done += await file.write(part.subarray(done));
    }
  }
  const name = path.split("/").at(-1)!;
  const built = builder.finish(name);
  return {
    id: built.id,
    name,
    size,
    chunkCount: built.manifest.chunkCount,
    manifestBytes: built.bytes,
  };
}

/**
 * One round of one row: its own tracker, its seeder, the attack (if any)
 * and one download, all stopped after.
 */
async function runRow(
  attack: Attack | null,
  options: {
    repo: string;
    workDir: string;
    source: string;
    file: TargetFile;
    round: number;
    timeoutMs: number;
    leecherArgs: string[];
  },
): Promise<AttackRow> {
  const { repo, workDir, file } = options;
  const key = attack?.key ?? "quiet";
  const run = options.round;
  const row: AttackRow = {
    key,
    label: attack?.label ?? "quiet",
    seconds: [],
    failures: [],
    effect: "",
  };
  const deno = Deno.execPath();
  const procs: BenchProcess[] = [];
  try {
    const trackerPort = freeUdpPort();
    const logs = join(workDir, "logs");
    await Deno.mkdir(logs, { recursive: true });
    const tracker = spawnProcess(`tracker ${key}`, deno, {
      args: trackerArgs(trackerPort),
      cwd: repo,
      logPath: join(logs, `tracker-${key}-${run}.log`),
    });
    procs.push(tracker);
    await tracker.waitForLine(/tracker listening/, 30_000);
    console.error(`[attack] ${row.label}: setting up`);
    await attack?.prepare(trackerPort, file);

    const seedOut = join(workDir, `seed-${key}-${run}`);
    await Deno.mkdir(seedOut, { recursive: true });
    const seeder = spawnProcess(`seeder ${key}`, deno, {
      args: seederArgs(trackerPort, options.source, seedOut),
      cwd: repo,
      logPath: join(logs, `seeder-${key}-${run}.log`),
    });
    procs.push(seeder);
    const seeding = await seeder.waitForLine(/ id ([0-9a-f]{64})/, 120_000);
    if (seeding[1] !== toHex(file.id)) {
      throw new Error(`The seeder's file id ${seeding[1]} is not the bench's`);
    }
    const serving = await seeder.waitForLine(
      /serving peers on port (\d+)/,
      60_000,
    );
    await waitShoalPeers(
      trackerPort,
      file.name,
      1 + (attack?.holders ?? 0),
      30_000,
    );
    await attack?.start(Number(serving[1]));

    {
      const out = join(workDir, `get-${key}-${run}`);
      await Deno.mkdir(out, { recursive: true });
      const leecher = spawnProcess(`leecher ${key} ${run}`, deno, {
        args: [
          ...leecherArgs(trackerPort, file.name, out),
          ...options.leecherArgs,
        ],
        cwd: repo,
        logPath: join(logs, `leecher-${key}-${run}.log`),
      });
      const status = await leecher.waitExit(options.timeoutMs);
      if (status === null) {
        await leecher.stop();
        row.failures.push(`no exit in ${options.timeoutMs / 1000} s`);
      } else if (status.code !== 0) {
        row.failures.push(`exit ${status.code}: ${leecher.tail(1)}`);
      } else {
        const size = (await Deno.stat(join(out, file.name))).size;
        if (size !== file.size) row.failures.push(`${size} bytes written`);
        else row.seconds.push(leecher.elapsedMs! / 1000);
      }
      console.error(
        `[attack] ${row.label}: round ${run + 1}: ${
          status?.code === 0
            ? `${(leecher.elapsedMs! / 1000).toFixed(2)} s`
            : row.failures.at(-1)
        }`,
      );
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
    row.effect = attack?.summary() ?? "";
    return row;
  } finally {
    await attack?.stop();
    for (const proc of procs.reverse()) await proc.stop();
  }
}

/** The table: median download time per row, its ratio to quiet, and the 2x target. */
export function attackTable(rows: readonly AttackRow[]): string {
  const quiet = summarize(rows.find((r) => r.key === "quiet")?.seconds ?? []);
  return renderTable(
    [
      "attack",
      "download s (min-max)",
      "vs quiet",
      `within ${TARGET_RATIO}x`,
      "failed",
      "what the attack got",
    ],
    rows.map((row) => {
      const s = summarize(row.seconds);
      const ratio = s && quiet ? s.median / quiet.median : null;
      return [
        row.label,
        s
          ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`
          : "-",
        ratio === null ? "-" : `${ratio.toFixed(2)}x`,
        ratio === null || row.failures.length
          ? "NO"
          : ratio <= TARGET_RATIO
          ? "yes"
          : "NO",
        String(row.failures.length),
        row.effect,
      ];
    }),
  );
}

/**
 * Runs the benchmark with command-line `args`; prints the table and a JSON line.
 *
 * @returns the exit code (0 once every row ran, whatever its figures)
 */
export async function runUnderAttack(args: string[]): Promise<number> {
  const values = benchArgs(args, {
    size: { type: "string", default: "64M" },
    runs: { type: "string", default: "3" },
    only: { type: "string" },
    timeout: { type: "string", default: "120" },
    "leecher-log-level": { type: "string" },
    repo: { type: "string" },
    dir: { type: "string" },
    keep: { type: "boolean", default: false },
  }, USAGE);
  if (!values) return 0;
  const size = parseSize(values.size);
  const runs = Number(values.runs);
  const timeoutS = Number(values.timeout);
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= 50)) {
    console.error(`under_attack: --runs takes 1 to 50, not ${values.runs}`);
    return 2;
  }
  if (!(timeoutS > 0)) {
    console.error(
      `under_attack: --timeout takes seconds, not ${values.timeout}`,
    );
    return 2;
  }
  const attacks = allAttacks();
  const keys = values.only?.split(",").filter((k) => k !== "quiet");
  const unknown = keys?.filter((k) => !attacks.some((a) => a.key === k));
  if (unknown?.length) {
    console.error(
      `under_attack: no attack ${unknown.join(",")}: choose from ${
        attacks.map((a) => a.key).join(",")
      }`,
    );
    return 2;
  }
  const chosen = (keys ? attacks.filter((a) => keys.includes(a.key)) : attacks)
    .map((a) => a.key);

  const repo = resolve(values.repo ?? join(import.meta.dirname!, ".."));
  const workDir = values.dir
    ? resolve(values.dir)
    : await Deno.makeTempDir({ prefix: "shoal-under-attack-" });
  if (!values.keep && !values.dir) tempWorkDir = workDir;
  await Deno.mkdir(workDir, { recursive: true });
  const rows: AttackRow[] = [];
  const started = new Date();
  try {
    const source = join(workDir, `honest-${sizeLabel(size)}.bin`);
    const file = await makeFile(source, size);
    const options = {
      repo,
      workDir,
      source,
      file,
      timeoutMs: timeoutS * 1000,
      leecherArgs: values["leecher-log-level"]
        ? ["--log-level", values["leecher-log-level"]]
        : [],
    };
    // Rounds take turns through the rows, so a busy spell of the machine
    // falls on every row alike rather than on one.
    for (let round = 0; round < runs; round++) {
      const fresh = allAttacks().filter((a) => chosen.includes(a.key));
      for (const attack of [null, ...fresh]) {
        if (interrupted) throw new Error("Interrupted");
        const got = await runRow(attack, { ...options, round });
        const row = rows.find((r) => r.key === got.key);
        if (!row) {
          rows.push(got);
          continue;
        }
        row.seconds.push(...got.seconds);
        row.failures.push(...got.failures);
        row.effect = got.effect;
      }
    }
  } finally {
    await stopAll();
    if (!values.keep && !values.dir) {
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  }
  console.log(
    `\nUnder attack (issue 21): ${sizeLabel(size)} from one seeder, ` +
      `--get --no-seed, seconds from spawn to exit, median of ${runs}; ` +
      `target within ${TARGET_RATIO}x of quiet\n`,
  );
  console.log(attackTable(rows));
  const quiet = summarize(rows[0]?.seconds ?? []);
  console.log(JSON.stringify({
    bench: "under_attack",
    date: started.toISOString(),
    size,
    runs,
    rows: rows.map((row) => {
      const s = summarize(row.seconds);
      const ratio = s && quiet ? s.median / quiet.median : null;
      return {
        ...row,
        median: s?.median ?? null,
        ratio,
        withinTarget: ratio !== null && row.failures.length === 0 &&
          ratio <= TARGET_RATIO,
      };
    }),
  }));
  return 0;
}

if (import.meta.main) {
  const onSignal = async () => {
    console.error("[attack] interrupted: stopping every process");
    interrupted = true;
    try {
      await stopAll();
      // A row may have started a process meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await stopAll();
      if (tempWorkDir) await Deno.remove(tempWorkDir, { recursive: true });
    } finally {
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.exit(await runUnderAttack(Deno.args));
}
