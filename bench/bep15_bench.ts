// deno-lint-ignore-file no-console
/**
 * The BitTorrent tracker benchmark: the same BEP 15 load (bench/bep15_load.ts,
 * its own process) against the Shoal tracker, started as a user does, and
 * against opentracker (Debian's `opentracker`), in the same run, rounds
 * interleaved. 100,000 clients over 10,000 infohashes by default; reports
 * answers per second of each and their ratio (issue 17 asks for at least
 * 0.8x opentracker's).
 *
 * Run alone: `deno run -A bench/bep15_bench.ts [--quick] [--peers 100000]
 * [--infohashes 10000] [--seconds 10] [--runs 1]`.
 *
 * @module
 */
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { encodeBep15Request, parseBep15Reply } from "@shoal/protocol";
import { REPO_DIR } from "./_setup.ts";
import { spawnOpentracker } from "./_bt.ts";
import { benchArgs } from "./_cli.ts";
import { trackerArgs } from "./_shoal_args.ts";
import {
  type BenchProcess,
  freeTcpUdpPort,
  freeUdpPort,
  sleep,
  spawnProcess,
  stopAll,
  which,
} from "./_proc.ts";
import { renderTable, summarize } from "./_stats.ts";
import type { Bep15LoadReport } from "./bep15_load.ts";
import { loopbackUdp } from "./_udp.ts";

/** The trackers compared. */
export const BEP15_TARGETS = ["shoal", "opentracker"] as const;
/** One of {@linkcode BEP15_TARGETS}. */
export type Bep15Target = typeof BEP15_TARGETS[number];

/** Options for {@linkcode runBep15Bench}. */
export interface Bep15BenchOptions {
  /** BitTorrent clients announced. @default {100_000} */
  peers: number;
  /** Infohashes they announce. @default {10_000} */
  infohashes: number;
  /** Seconds of timed announces. @default {10} */
  seconds: number;
  /** Announces in flight. @default {32} */
  concurrency: number;
  /** Rounds of (shoal, opentracker). @default {1} */
  runs: number;
  /** Folder for logs and opentracker's whitelist. */
  workDir: string;
  /** The Shoal checkout whose tracker/ runs. @default {this one} */
  repoDir?: string;
}

/** Reports of every round, per tracker. */
export interface Bep15BenchResult {
  shoal: Bep15LoadReport[];
  opentracker: Bep15LoadReport[];
  errors: string[];
  skipped: string | null;
}

const log = (line: string) => console.error(`[bep15] ${line}`);

/** Waits until a UDP tracker answers a BEP 15 connect. */
async function waitConnect(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const { socket, to } = loopbackUdp(port);
  try {
    while (performance.now() < deadline) {
      await socket.send(
        encodeBep15Request({ action: "connect", txid: 5 }),
        to,
      );
      const got = await Promise.race([
        socket.receive(),
        sleep(200).then(() => null),
      ]);
      if (got && parseBep15Reply(got[0]).action === "connect") return;
    }
  } finally {
    socket.close();
  }
  throw new Error(`No BEP 15 answer on UDP port ${port} after ${timeoutMs} ms`);
}

async function startTarget(
  target: Bep15Target,
  options: Bep15BenchOptions,
  round: number,
): Promise<{ proc: BenchProcess; port: number }> {
  const logs = join(options.workDir, "logs");
  if (target === "shoal") {
    const port = freeUdpPort();
    const proc = spawnProcess("shoal tracker", Deno.execPath(), {
      args: trackerArgs(port),
      cwd: options.repoDir ?? REPO_DIR,
      logPath: join(logs, `bep15-shoal-${round}.log`),
    });
    await proc.waitForLine(/listening on udp/, 20_000);
    return { proc, port };
  }
  const port = freeTcpUdpPort();
  const proc = await spawnOpentracker({
    port,
    dir: options.workDir,
    whitelist: "bep15-whitelist",
    name: "opentracker",
    logPath: join(logs, `bep15-opentracker-${round}.log`),
    ready: () => waitConnect(port, 10_000),
  });
  return { proc, port };
}

async function loadAgainst(
  target: Bep15Target,
  options: Bep15BenchOptions,
  hashes: string,
  round: number,
): Promise<Bep15LoadReport> {
  const { proc, port } = await startTarget(target, options, round);
  try {
    const generator = spawnProcess(`bep15 load vs ${target}`, Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "bench/bep15_load.ts",
        "--target",
        `127.0.0.1:${port}`,
        "--hashes",
        hashes,
        "--pid",
        String(proc.pid),
        "--peers",
        String(options.peers),
        "--seconds",
        String(options.seconds),
        "--concurrency",
        String(options.concurrency),
      ],
      cwd: REPO_DIR,
      logPath: join(
        options.workDir,
        "logs",
        `bep15-load-${target}-${round}.log`,
      ),
    });
    try {
      const status = await generator.waitExit(
        120_000 + options.seconds * 1000 + options.peers,
      );
      if (status?.code !== 0) {
        throw new Error(
          `load generator against ${target} ${
            status ? `exited with ${status.code}` : "timed out"
          }:\n${generator.tail()}`,
        );
      }
      const line = generator.lines.findLast((l) => l.startsWith("{"));
      if (!line) {
        throw new Error(`load generator printed no JSON:\n${generator.tail()}`);
      }
      return JSON.parse(line) as Bep15LoadReport;
    } finally {
      await generator.stop();
    }
  } finally {
    await proc.stop();
  }
}

/**
 * Runs `runs` rounds of (Shoal tracker, opentracker) under the same load.
 *
 * @param options load size, rounds and work folder
 * @returns every report, or why the comparison was skipped
 */
export async function runBep15Bench(
  options: Bep15BenchOptions,
): Promise<Bep15BenchResult> {
  const result: Bep15BenchResult = {
    shoal: [],
    opentracker: [],
    errors: [],
    skipped: null,
  };
  const targets: Bep15Target[] = ["shoal"];
  if (which("opentracker")) targets.push("opentracker");
  else {
    result.skipped =
      "opentracker is not installed (apt-get install opentracker): Shoal measured alone";
    log(result.skipped);
  }
  await Deno.mkdir(join(options.workDir, "logs"), { recursive: true });
  // One list of infohashes for both: opentracker's whitelist, and the
  // generator's input. The folder must be readable once it drops root.
  const hex = Array.from(
    { length: options.infohashes },
    () => randomBytes(20).toString("hex"),
  ).join("\n") + "\n";
  const hashes = join(options.workDir, "bep15-whitelist");
  await Deno.writeTextFile(hashes, hex);
  await Deno.chmod(options.workDir, 0o755);
  await Deno.chmod(hashes, 0o644);
  try {
    for (let round = 0; round < options.runs; round++) {
      for (const target of targets) {
        try {
          const report = await loadAgainst(target, options, hashes, round);
          result[target].push(report);
          log(
            `${target} round ${
              round + 1
            }: ${report.load.answersPerSecond} announces/s, p50 ${report.load.p50Ms} ms, p99 ${report.load.p99Ms} ms, announced ${report.announce.ok}/${report.peers} (${report.announce.perSecond}/s), ${report.load.peersPerAnswer} peers an answer`,
          );
        } catch (error) {
          const message = error instanceof Error
            ? error.message
            : String(error);
          result.errors.push(message.split("\n")[0]!);
          log(`${target} round ${round + 1} failed: ${message}`);
        }
      }
    }
  } finally {
    await stopAll();
  }
  return result;
}

/** Medians of the figures of each tracker. */
export function summarizeBep15(result: Bep15BenchResult) {
  const pick = (reports: Bep15LoadReport[]) => ({
    answersPerSecond: summarize(reports.map((r) => r.load.answersPerSecond)),
    p50Ms: summarize(reports.map((r) => r.load.p50Ms)),
    p99Ms: summarize(reports.map((r) => r.load.p99Ms)),
    timeouts: summarize(reports.map((r) => r.load.timeouts)),
    errors: summarize(reports.map((r) => r.load.errors)),
    announcePerSecond: summarize(reports.map((r) => r.announce.perSecond)),
    announced: summarize(reports.map((r) => r.announce.ok)),
    peersPerAnswer: summarize(reports.map((r) => r.load.peersPerAnswer)),
    rssKiB: summarize(reports.map((r) => r.target.rssAfterLoadKiB)),
  });
  const shoal = pick(result.shoal);
  const opentracker = pick(result.opentracker);
  const ratio = shoal.answersPerSecond && opentracker.answersPerSecond
    ? shoal.answersPerSecond.median / opentracker.answersPerSecond.median
    : null;
  return { shoal, opentracker, ratio };
}

/** The comparison as a text table. */
export function bep15Table(result: Bep15BenchResult): string {
  const s = summarizeBep15(result);
  const f = (x: { median: number } | null, digits = 0) =>
    x ? x.median.toFixed(digits) : "-";
  const r = (a: { median: number } | null, b: { median: number } | null) =>
    a && b && b.median ? `${(a.median / b.median).toFixed(2)}x` : "-";
  const peers = result.shoal[0]?.peers ?? result.opentracker[0]?.peers ?? 0;
  const rows = [
    [
      "announces/s",
      f(s.shoal.answersPerSecond),
      f(s.opentracker.answersPerSecond),
      r(s.shoal.answersPerSecond, s.opentracker.answersPerSecond),
    ],
    [
      "p50 ms",
      f(s.shoal.p50Ms, 2),
      f(s.opentracker.p50Ms, 2),
      r(s.shoal.p50Ms, s.opentracker.p50Ms),
    ],
    [
      "p99 ms",
      f(s.shoal.p99Ms, 2),
      f(s.opentracker.p99Ms, 2),
      r(s.shoal.p99Ms, s.opentracker.p99Ms),
    ],
    ["timeouts", f(s.shoal.timeouts), f(s.opentracker.timeouts), ""],
    ["error replies", f(s.shoal.errors), f(s.opentracker.errors), ""],
    [
      "first announces/s",
      f(s.shoal.announcePerSecond),
      f(s.opentracker.announcePerSecond),
      r(s.shoal.announcePerSecond, s.opentracker.announcePerSecond),
    ],
    [
      `announced of ${peers}`,
      f(s.shoal.announced),
      f(s.opentracker.announced),
      "",
    ],
    [
      "peers in an answer",
      f(s.shoal.peersPerAnswer),
      f(s.opentracker.peersPerAnswer),
      "",
    ],
    [
      "RSS after load MiB",
      s.shoal.rssKiB ? (s.shoal.rssKiB.median / 1024).toFixed(0) : "-",
      s.opentracker.rssKiB
        ? (s.opentracker.rssKiB.median / 1024).toFixed(0)
        : "-",
      r(s.shoal.rssKiB, s.opentracker.rssKiB),
    ],
  ];
  return renderTable(
    ["BEP 15 load", "shoal tracker", "opentracker", "shoal/opentracker"],
    rows,
  );
}

if (import.meta.main) {
  const values = benchArgs(
    Deno.args,
    {
      quick: { type: "boolean", default: false },
      peers: { type: "string" },
      infohashes: { type: "string" },
      seconds: { type: "string" },
      concurrency: { type: "string", default: "32" },
      runs: { type: "string", default: "1" },
    },
    `Usage: deno run -A bench/bep15_bench.ts [options]

Announces --peers BitTorrent clients over --infohashes infohashes (BEP 15),
then keeps --concurrency announces in flight for --seconds, against the Shoal
tracker and against opentracker in the same run, and prints announces/s,
latency and their ratio.

Options:
  --quick          10,000 clients over 1,000 infohashes for 3 s
  --peers N        clients (default 100000)
  --infohashes N   infohashes (default 10000)
  --seconds N      seconds of timed announces (default 10)
  --concurrency N  announces in flight (default 32)
  --runs N         rounds of (shoal, opentracker) (default 1)
  --help           print this help and exit`,
  );
  if (!values) Deno.exit(0);
  const quick = values.quick;
  const workDir = await Deno.makeTempDir({ prefix: "shoal-bep15-bench-" });
  const result = await runBep15Bench({
    peers: Number(values.peers ?? (quick ? 10_000 : 100_000)),
    infohashes: Number(values.infohashes ?? (quick ? 1_000 : 10_000)),
    seconds: Number(values.seconds ?? (quick ? 3 : 10)),
    concurrency: Number(values.concurrency),
    runs: Number(values.runs),
    workDir,
  });
  console.log(bep15Table(result));
  const summary = summarizeBep15(result);
  if (summary.ratio !== null) {
    console.log(
      `\nShoal tracker / opentracker: ${
        summary.ratio.toFixed(2)
      }x announces per second (target: at least 0.80x)`,
    );
  }
  console.log(JSON.stringify({ ...result, summary }));
  await Deno.remove(workDir, { recursive: true });
}
