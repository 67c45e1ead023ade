// deno-lint-ignore-file no-console
/**
 * The tracker benchmark: starts the Shoal tracker as a user does, runs the
 * load generator (bench/tracker_load.ts) against it in its own process, then
 * the same load against a bare Deno UDP echo loop (bench/udp_echo.ts), and
 * compares them.
 *
 * Run alone: `deno run -A bench/tracker_bench.ts [--peers 100000] [--seconds 10]`.
 *
 * @module
 */
import { REPO_DIR } from "./_setup.ts";
import { benchArgs } from "./_cli.ts";
import { join } from "node:path";
import { trackerArgs } from "./_shoal_args.ts";
import { freeUdpPort, spawnProcess, stopAll } from "./_proc.ts";
import { renderTable, summarize } from "./_stats.ts";
import type { LoadReport } from "./tracker_load.ts";

/** Options for {@linkcode runTrackerBench}. */
export interface TrackerBenchOptions {
  /** Registered peers. @default {100_000} */
  peers: number;
  /** Files they hold. @default {10_000} */
  files: number;
  /** Seconds of REQUEST/KEEPALIVE load. @default {10} */
  seconds: number;
  /** Requests in flight. @default {32} */
  concurrency: number;
  /** Rounds of (tracker, echo). @default {1} */
  runs: number;
  /** Folder for logs. */
  workDir: string;
  /** The Shoal checkout whose tracker/ runs. @default {this one} */
  repoDir?: string;
}

/** Reports of every round, per target. */
export interface TrackerBenchResult {
  tracker: LoadReport[];
  echo: LoadReport[];
  errors: string[];
}

const log = (line: string) => console.error(`[tracker] ${line}`);

async function loadAgainst(
  mode: "tracker" | "echo",
  options: TrackerBenchOptions,
  round: number,
): Promise<LoadReport> {
  const deno = Deno.execPath();
  const port = freeUdpPort();
  const logs = join(options.workDir, "logs");
  await Deno.mkdir(logs, { recursive: true });
  const target = mode === "tracker"
    ? spawnProcess("shoal tracker", deno, {
      args: trackerArgs(port),
      cwd: options.repoDir ?? REPO_DIR,
      logPath: join(logs, `load-tracker-${round}.log`),
    })
    : spawnProcess("udp echo", deno, {
      args: [
        "run",
        "--allow-net",
        "bench/udp_echo.ts",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
      ],
      cwd: REPO_DIR,
      logPath: join(logs, `load-echo-${round}.log`),
    });
  try {
    await target.waitForLine(/listening on udp/, 20_000);
    const generator = spawnProcess(`load vs ${mode}`, deno, {
      args: [
        "run",
        "--allow-all",
        "bench/tracker_load.ts",
        "--target",
        `127.0.0.1:${port}`,
        "--pid",
        String(target.pid),
        "--mode",
        mode,
        "--peers",
        String(options.peers),
        "--files",
        String(options.files),
        "--seconds",
        String(options.seconds),
        "--concurrency",
        String(options.concurrency),
      ],
      cwd: REPO_DIR,
      logPath: join(logs, `load-generator-${mode}-${round}.log`),
    });
    try {
      const status = await generator.waitExit(
        120_000 + options.seconds * 1000 + options.peers,
      );
      if (status?.code !== 0) {
        throw new Error(
          `load generator against ${mode} ${
            status ? `exited with ${status.code}` : "timed out"
          }:\n${generator.tail()}`,
        );
      }
      const line = generator.lines.findLast((l) => l.startsWith("{"));
      if (!line) {
        throw new Error(`load generator printed no JSON:\n${generator.tail()}`);
      }
      return JSON.parse(line) as LoadReport;
    } finally {
      await generator.stop();
    }
  } finally {
    await target.stop();
  }
}

/**
 * Runs `runs` rounds of (tracker, echo) and returns every report.
 *
 * @param options peers, files, seconds, concurrency, rounds, log folder
 */
export async function runTrackerBench(
  options: TrackerBenchOptions,
): Promise<TrackerBenchResult> {
  const result: TrackerBenchResult = { tracker: [], echo: [], errors: [] };
  try {
    for (let round = 0; round < options.runs; round++) {
      for (const mode of ["tracker", "echo"] as const) {
        try {
          const report = await loadAgainst(mode, options, round);
          result[mode].push(report);
          log(
            `${mode} round ${
              round + 1
            }: ${report.load.answersPerSecond}/s, p50 ${report.load.p50Ms} ms, p99 ${report.load.p99Ms} ms, registered ${report.register.ok}/${report.peers} (${report.register.perSecond}/s), RSS ${report.target.rssAfterLoadKiB} KiB`,
          );
        } catch (error) {
          const message = error instanceof Error
            ? error.message
            : String(error);
          result.errors.push(message.split("\n")[0]!);
          log(`${mode} round ${round + 1} failed: ${message}`);
        }
      }
    }
  } finally {
    await stopAll();
  }
  return result;
}

/** Medians of the figures of each target. */
export function summarizeTracker(result: TrackerBenchResult) {
  const pick = (reports: LoadReport[]) => ({
    answersPerSecond: summarize(reports.map((r) => r.load.answersPerSecond)),
    p50Ms: summarize(reports.map((r) => r.load.p50Ms)),
    p99Ms: summarize(reports.map((r) => r.load.p99Ms)),
    p999Ms: summarize(reports.map((r) => r.load.p999Ms)),
    timeouts: summarize(reports.map((r) => r.load.timeouts)),
    registerPerSecond: summarize(reports.map((r) => r.register.perSecond)),
    registered: summarize(reports.map((r) => r.register.ok)),
    rssKiB: summarize(reports.map((r) => r.target.rssAfterLoadKiB)),
    peakKiB: summarize(reports.map((r) => r.target.peakKiB)),
    bytesPerPeer: summarize(reports.map((r) => r.target.bytesPerPeer)),
    bytesPerPeerFromStart: summarize(
      reports.map((r) => r.target.bytesPerPeerFromStart ?? null),
    ),
  });
  return { tracker: pick(result.tracker), echo: pick(result.echo) };
}

/** The comparison as a text table (tracker / echo ratios). */
export function trackerTable(result: TrackerBenchResult): string {
  const s = summarizeTracker(result);
  const f = (x: { median: number } | null, digits = 0) =>
    x ? x.median.toFixed(digits) : "-";
  const r = (a: { median: number } | null, b: { median: number } | null) =>
    a && b && b.median ? `${(a.median / b.median).toFixed(2)}x` : "-";
  const peers = result.tracker[0]?.peers ?? result.echo[0]?.peers ?? 0;
  const rows = [
    [
      "answers/s",
      f(s.tracker.answersPerSecond),
      f(s.echo.answersPerSecond),
      r(s.tracker.answersPerSecond, s.echo.answersPerSecond),
    ],
    [
      "p50 ms",
      f(s.tracker.p50Ms, 2),
      f(s.echo.p50Ms, 2),
      r(s.tracker.p50Ms, s.echo.p50Ms),
    ],
    [
      "p99 ms",
      f(s.tracker.p99Ms, 2),
      f(s.echo.p99Ms, 2),
      r(s.tracker.p99Ms, s.echo.p99Ms),
    ],
    [
      "p99.9 ms",
      f(s.tracker.p999Ms, 2),
      f(s.echo.p999Ms, 2),
      r(s.tracker.p999Ms, s.echo.p999Ms),
    ],
    ["timeouts", f(s.tracker.timeouts), f(s.echo.timeouts), ""],
    [
      "register+connect/s",
      f(s.tracker.registerPerSecond),
      f(s.echo.registerPerSecond),
      r(s.tracker.registerPerSecond, s.echo.registerPerSecond),
    ],
    [`registered of ${peers}`, f(s.tracker.registered), "-", ""],
    [
      "RSS after load MiB",
      s.tracker.rssKiB ? (s.tracker.rssKiB.median / 1024).toFixed(0) : "-",
      s.echo.rssKiB ? (s.echo.rssKiB.median / 1024).toFixed(0) : "-",
      r(s.tracker.rssKiB, s.echo.rssKiB),
    ],
    [
      "peak RSS MiB",
      s.tracker.peakKiB ? (s.tracker.peakKiB.median / 1024).toFixed(0) : "-",
      s.echo.peakKiB ? (s.echo.peakKiB.median / 1024).toFixed(0) : "-",
      r(s.tracker.peakKiB, s.echo.peakKiB),
    ],
    // The echo stores nothing: its figures show what the measure itself adds.
    [
      "bytes per registered peer",
      f(s.tracker.bytesPerPeer),
      f(s.echo.bytesPerPeer),
      "",
    ],
    [
      "...counted from start",
      f(s.tracker.bytesPerPeerFromStart),
      f(s.echo.bytesPerPeerFromStart),
      "",
    ],
  ];
  return renderTable([
    "tracker load",
    "shoal tracker",
    "udp echo",
    "tracker/echo",
  ], rows);
}

if (import.meta.main) {
  const values = benchArgs(
    Deno.args,
    {
      peers: { type: "string", default: "100000" },
      files: { type: "string", default: "10000" },
      seconds: { type: "string", default: "10" },
      concurrency: { type: "string", default: "32" },
      runs: { type: "string", default: "1" },
    },
    `Usage: deno run -A bench/tracker_bench.ts [options]

Registers --peers peers over --files files with the real protocol, then keeps
--concurrency requests in flight for --seconds against the tracker and against
a bare UDP echo loop, and prints answers/s, latency and bytes per peer.

Options:
  --peers N        peers to register (default 100000)
  --files N        files they hold (default 10000)
  --seconds N      seconds of REQUEST + KEEPALIVE load (default 10)
  --concurrency N  requests in flight (default 32)
  --runs N         load rounds (default 1)
  --help           print this help and exit`,
  );
  if (!values) Deno.exit(0);
  const workDir = await Deno.makeTempDir({ prefix: "shoal-tracker-bench-" });
  const result = await runTrackerBench({
    peers: Number(values.peers),
    files: Number(values.files),
    seconds: Number(values.seconds),
    concurrency: Number(values.concurrency),
    runs: Number(values.runs),
    workDir,
  });
  console.log(trackerTable(result));
  console.log(JSON.stringify(result));
  await Deno.remove(workDir, { recursive: true });
}
