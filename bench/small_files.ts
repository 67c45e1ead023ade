// deno-lint-ignore-file no-console
/**
 * Many small files (issue 19): a folder of 10,000 files of 1 to 8 KiB in 100
 * sub-folders, against one file of the same total size, on loopback, runs
 * interleaved. Each row times, from spawn to exit:
 *
 * - `make-torrent`: Shoal's `--make-torrent` (process start included), and
 *   libtorrent's `create_torrent(..., v2_only)` with `set_piece_hashes`.
 * - `lt-from-shoal`: a libtorrent leecher (bench/lt_client.py) from one
 *   Shoal seeder of the folder (or file), given its address.
 * - `lt-from-lt`: the same leecher from one libtorrent seeder.
 * - `shoal-from-shoal`: a Shoal leecher as a user starts it (`deno task
 *   peer --get NAME --no-seed`) from the Shoal seeder, through a Shoal
 *   tracker.
 *
 * Every download is compared with the source, file by file, after the clock
 * stops. A row a tool cannot do says why instead of a time.
 *
 * Run alone: `deno run -A bench/small_files.ts [--files 10000] [--runs 3]`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { benchArgs } from "./_cli.ts";
import { LT_CLIENT, PYTHON, REPO_DIR, shoalMakeTorrent } from "./_setup.ts";
import {
  type BenchProcess,
  freeTcpPort,
  freeUdpPort,
  runToEnd,
  spawnProcess,
  stopAll,
} from "./_proc.ts";
import { leecherTaskArgs, seederArgs, trackerArgs } from "./_shoal_args.ts";
import { btMissing } from "./bt_swarm.ts";
import { renderTable, summarize, type Summary } from "./_stats.ts";

const PIECE_BYTES = 512 * 1024;
const TIMEOUT_MS = 300_000;

/** The rows, in the order they are printed. */
export const SMALL_FILES_ROWS = [
  "make-torrent shoal",
  "make-torrent libtorrent",
  "lt-from-shoal",
  "lt-from-lt",
  "shoal-from-shoal",
] as const;
type Row = typeof SMALL_FILES_ROWS[number];
type Shape = "folder" | "file";

/** Options for {@linkcode runSmallFiles}. */
export interface SmallFilesOptions {
  /** Files in the folder. @default {10000} */
  files?: number;
  /** Interleaved runs. @default {3} */
  runs?: number;
  /** Folder for the data, torrents, seeders' state, downloads and logs. */
  workDir: string;
}

/** Seconds of each run of one row, for the folder and for the one file. */
export interface SmallFilesRow {
  row: Row;
  folder: number[];
  file: number[];
  /** Why a shape has no times (a tool missing, a failure). */
  problems: Partial<Record<Shape, string>>;
}

/** The benchmark's result. */
export interface SmallFilesResult {
  files: number;
  totalBytes: number;
  runs: number;
  rows: SmallFilesRow[];
}

const log = (line: string) => console.error(`[small-files] ${line}`);

/** 1 to 8 KiB, spread over the range, the same for every run. */
function sizeOf(index: number): number {
  return 1024 + (index * 7_919) % (7 * 1024 + 1);
}

/** Writes the folder `many` and the file `one.bin` of the same total size. */
async function makeData(
  dataDir: string,
  count: number,
): Promise<{ folder: string; file: string; paths: string[]; total: number }> {
  const folder = join(dataDir, "many");
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  const paths: string[] = [];
  let total = 0;
  const bytes = new Uint8Array(8 * 1024);
  for (let i = 0; i < count; i++) {
    const path = join(
      `d${String(i % 100).padStart(2, "0")}`,
      `f${String(i).padStart(5, "0")}.bin`,
    );
    if (i < 100) {
      await Deno.mkdir(dirname(join(folder, path)), { recursive: true });
    }
    const size = sizeOf(i);
    crypto.getRandomValues(bytes.subarray(0, size));
    await Deno.writeFile(join(folder, path), bytes.subarray(0, size));
    paths.push(path);
    total += size;
  }
  const file = join(dataDir, "one.bin");
  const block = new Uint8Array(1024 * 1024);
  using out = await Deno.open(file, { write: true, create: true });
  for (let done = 0; done < total; done += block.byteLength) {
    crypto.getRandomValues(block.subarray(0, 65_536));
    const n = Math.min(block.byteLength, total - done);
    for (let at = 0; at < n;) at += await out.write(block.subarray(at, n));
  }
  return { folder, file, paths, total };
}

/** Throws unless every file below `got` is the same as below `want`. */
async function assertSameTree(
  got: string,
  want: string,
  paths: readonly string[],
): Promise<void> {
  for (const path of paths) {
    const [a, b] = await Promise.all([
      Deno.readFile(join(got, path)),
      Deno.readFile(join(want, path)),
    ]);
    if (a.length !== b.length || !a.every((byte, i) => byte === b[i])) {
      throw new Error(`${join(got, path)} differs from ${join(want, path)}`);
    }
  }
}

const LT_MAKE = `
import sys, libtorrent as lt
fs = lt.file_storage()
lt.add_files(fs, sys.argv[1])
t = lt.create_torrent(fs, ${PIECE_BYTES}, flags=lt.create_torrent.v2_only)
lt.set_piece_hashes(t, sys.argv[2])
open(sys.argv[3], "wb").write(lt.bencode(t.generate()))
`;

async function ltTorrent(source: string, out: string): Promise<number> {
  const made = await runToEnd(
    PYTHON,
    ["-c", LT_MAKE, source, dirname(source), out],
    TIMEOUT_MS,
  );
  if (made.code !== 0) throw new Error(`libtorrent: ${made.output}`);
  return made.seconds;
}

/** Seeders of the folder and the file, started once for every run. */
interface Seeders {
  shoalPort: number;
  ltPort: Record<Shape, number>;
  trackerPort: number;
  procs: BenchProcess[];
}

async function startSeeders(
  sources: Record<Shape, string>,
  torrents: Record<Shape, string>,
  workDir: string,
): Promise<Seeders> {
  const logs = join(workDir, "logs");
  await Deno.mkdir(logs, { recursive: true });
  const trackerPort = freeUdpPort();
  const tracker = spawnProcess("shoal tracker", Deno.execPath(), {
    args: trackerArgs(trackerPort),
    cwd: REPO_DIR,
    logPath: join(logs, "tracker.log"),
  });
  await tracker.waitForLine(/tracker listening/, 20_000);
  const shoal = spawnProcess("shoal seeder", Deno.execPath(), {
    args: [
      ...seederArgs(trackerPort, sources.folder, join(workDir, "seed")),
      "--seed",
      sources.file,
    ],
    cwd: REPO_DIR,
    logPath: join(logs, "shoal-seeder.log"),
  });
  const port = await shoal.waitForLine(
    /serving peers on port (\d+)/,
    TIMEOUT_MS,
  );
  const procs = [tracker, shoal];
  const ltPort = { folder: 0, file: 0 };
  for (const shape of ["folder", "file"] as const) {
    ltPort[shape] = freeTcpPort();
    const seeder = spawnProcess(`libtorrent seeder (${shape})`, PYTHON, {
      args: [
        LT_CLIENT,
        "seed",
        torrents[shape],
        dirname(sources[shape]),
        String(ltPort[shape]),
        "86400",
      ],
      logPath: join(logs, `lt-seed-${shape}.log`),
    });
    procs.push(seeder);
    await seeder.waitForLine(/^seeding$/, TIMEOUT_MS);
  }
  return { shoalPort: Number(port[1]), ltPort, trackerPort, procs };
}

async function ltLeech(
  torrent: string,
  port: number,
  out: string,
  logPath: string,
): Promise<number> {
  const leecher = spawnProcess("libtorrent leecher", PYTHON, {
    args: [
      LT_CLIENT,
      "leech",
      torrent,
      out,
      String(freeTcpPort()),
      String(TIMEOUT_MS / 1000),
      `127.0.0.1:${port}`,
    ],
    logPath,
  });
  const status = await leecher.waitExit(TIMEOUT_MS + 5_000);
  if (status?.code !== 0) {
    throw new Error(`libtorrent leecher failed:\n${leecher.tail()}`);
  }
  return leecher.elapsedMs! / 1000;
}

async function shoalLeech(
  name: string,
  trackerPort: number,
  out: string,
  logPath: string,
): Promise<number> {
  const leecher = spawnProcess("shoal leecher", Deno.execPath(), {
    args: leecherTaskArgs(trackerPort, name, out),
    cwd: REPO_DIR,
    logPath,
  });
  const status = await leecher.waitExit(TIMEOUT_MS);
  if (status?.code !== 0) {
    const last = leecher.lines.findLast((line) => line.includes('"error"'));
    throw new Error(
      `exit ${status?.code ?? "none"}: ${last ?? leecher.tail()}`,
    );
  }
  return leecher.elapsedMs! / 1000;
}

/**
 * Runs the benchmark.
 *
 * @param options files, runs and the work folder
 * @returns seconds per row, run and shape
 */
export async function runSmallFiles(
  options: SmallFilesOptions,
): Promise<SmallFilesResult> {
  const count = options.files ?? 10_000;
  const runs = options.runs ?? 3;
  const rows = SMALL_FILES_ROWS.map((row): SmallFilesRow => ({
    row,
    folder: [],
    file: [],
    problems: {},
  }));
  const rowOf = (row: Row) => rows.find((r) => r.row === row)!;
  const missing = await btMissing();
  log(`writing ${count} files of 1-8 KiB and one file of the same size`);
  const data = await makeData(join(options.workDir, "data"), count);
  const sources = { folder: data.folder, file: data.file };
  const torrents = {
    folder: join(options.workDir, "many.torrent"),
    file: join(options.workDir, "one.torrent"),
  };
  const ltTorrents = {
    folder: join(options.workDir, "many.lt.torrent"),
    file: join(options.workDir, "one.lt.torrent"),
  };
  for (let run = 0; run < runs; run++) {
    for (const shape of ["folder", "file"] as const) {
      rowOf("make-torrent shoal")[shape].push(
        (await shoalMakeTorrent(sources[shape], torrents[shape])).seconds,
      );
      if (!missing) {
        rowOf("make-torrent libtorrent")[shape].push(
          await ltTorrent(sources[shape], ltTorrents[shape]),
        );
      }
    }
  }
  if (missing) {
    for (
      const row of [
        "make-torrent libtorrent",
        "lt-from-shoal",
        "lt-from-lt",
      ] as const
    ) {
      rowOf(row).problems = { folder: missing, file: missing };
    }
  }
  log("starting a Shoal seeder and libtorrent seeders");
  const seeders = await startSeeders(sources, torrents, options.workDir);
  try {
    for (let run = 0; run < runs; run++) {
      for (const shape of ["folder", "file"] as const) {
        const name = shape === "folder" ? "many" : "one.bin";
        const check = (out: string) =>
          shape === "folder"
            ? assertSameTree(join(out, "many"), data.folder, data.paths)
            : assertSameTree(out, dirname(data.file), ["one.bin"]);
        const timed = async (
          row: Row,
          leech: (out: string) => Promise<number>,
        ) => {
          const entry = rowOf(row);
          if (entry.problems[shape]) return;
          const out = join(options.workDir, "dl", `${row}-${shape}-${run}`);
          await Deno.mkdir(out, { recursive: true });
          try {
            entry[shape].push(await leech(out));
            await check(out);
          } catch (error) {
            entry.problems[shape] = (error as Error).message.split("\n")[0] ??
              "failed";
          } finally {
            await Deno.remove(out, { recursive: true }).catch(() => {});
          }
        };
        const logPath = (row: string) =>
          join(options.workDir, "logs", `${row}-${shape}-${run}.log`);
        log(`run ${run + 1}/${runs}: ${shape}`);
        await timed(
          "lt-from-shoal",
          (out) =>
            ltLeech(
              torrents[shape],
              seeders.shoalPort,
              out,
              logPath("lt-from-shoal"),
            ),
        );
        await timed(
          "lt-from-lt",
          (out) =>
            ltLeech(
              torrents[shape],
              seeders.ltPort[shape],
              out,
              logPath("lt-from-lt"),
            ),
        );
        await timed(
          "shoal-from-shoal",
          (out) =>
            shoalLeech(
              name,
              seeders.trackerPort,
              out,
              logPath("shoal-from-shoal"),
            ),
        );
      }
    }
  } finally {
    await Promise.all(seeders.procs.map((p) => p.stop(2_000)));
  }
  return { files: count, totalBytes: data.total, runs, rows };
}

function cell(summary: Summary | null): string {
  return summary ? `${summary.median.toFixed(2)} s` : "-";
}

/**
 * The result as a table: median seconds for the folder and the file, and
 * their ratio.
 *
 * @param result what {@linkcode runSmallFiles} returned
 * @returns the table, a title line first
 */
export function smallFilesTable(result: SmallFilesResult): string {
  const rows = result.rows.map((row) => {
    const folder = row.folder.length ? summarize(row.folder) : null;
    const file = row.file.length ? summarize(row.file) : null;
    const ratio = folder && file
      ? `${(folder.median / file.median).toFixed(2)}x`
      : "-";
    const notes = Object.entries(row.problems).map(([shape, problem]) =>
      `${shape}: ${problem.length > 90 ? `${problem.slice(0, 89)}…` : problem}`
    );
    return [row.row, cell(folder), cell(file), ratio, notes.join("; ")];
  });
  return [
    `Small files: ${result.files.toLocaleString("en-US")} files of 1-8 KiB (${
      (result.totalBytes / 1024 / 1024).toFixed(1)
    } MiB) against one file of the same size, median of ${result.runs} runs`,
    renderTable(["", "folder", "one file", "folder/file", "note"], rows),
  ].join("\n");
}

/**
 * CLI entry, also run by `deno task bench`: prints the table and one JSON
 * line.
 *
 * @param args `[--files N] [--runs N] [--quick] [--dir DIR]`
 * @returns the exit status
 */
export async function runSmallFilesBench(args: string[]): Promise<number> {
  const values = benchArgs(
    args,
    {
      files: { type: "string" },
      runs: { type: "string" },
      quick: { type: "boolean", default: false },
      dir: { type: "string" },
    },
    "Usage: deno run -A bench/small_files.ts [--files N (10000)] [--runs N (3)] [--quick: 1,000 files, 1 run] [--dir DIR]",
  );
  if (!values) return 0;
  const workDir = values.dir ??
    await Deno.makeTempDir({ prefix: "shoal-small-files-" });
  try {
    const result = await runSmallFiles({
      files: Number(values.files ?? (values.quick ? 1_000 : 10_000)),
      runs: Number(values.runs ?? (values.quick ? 1 : 3)),
      workDir,
    });
    console.log(`\n${smallFilesTable(result)}`);
    console.log(JSON.stringify({ smallFiles: result }));
    return 0;
  } finally {
    await stopAll();
    if (!values.dir) await Deno.remove(workDir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await runSmallFilesBench(Deno.args));
