// deno-lint-ignore-file no-console
/**
 * `deno task bench`: the swarm benchmark (Shoal against the floor, aria2c and
 * libtorrent on loopback) and the tracker load benchmark (Shoal's tracker
 * against a bare UDP echo loop), BitTorrent announces (BEP 15) to Shoal's
 * tracker against opentracker (bench/bep15_bench.ts), Merkle hashing against plain SHA-256
 * (bench/merkle_hash.ts), the under-attack table (bench/under_attack.ts:
 * an honest download quiet and beside each denial-of-service attack of
 * issue 21), discovery (bench/dht.ts: DHT lookups over hundreds of loopback
 * nodes, time to the first peer through the DHT and through a tracker, the
 * DHT's cost in an idle seeder), BitTorrent interop (bench/bt_swarm.ts:
 * libtorrent leechers from Shoal and from libtorrent seeders, a Shoal
 * leecher from libtorrent seeders), many small files (bench/small_files.ts:
 * 10,000 files of 1-8 KiB against one file of the same size), then, with `--fuzz`, bench/fuzz.ts when it
 * exists. Tables go to stdout, followed by one JSON line; progress goes to
 * stderr. See docs/PERFORMANCE.md.
 *
 * @module
 */
import { REPO_DIR } from "./_setup.ts";
import { benchArgs } from "./_cli.ts";
import { join, resolve } from "node:path";
import { stopAll, withTimeout } from "./_proc.ts";
import { runFlashCrowd } from "./flash_crowd.ts";
import { runMerkleHash } from "./merkle_hash.ts";
import { runUnderAttack } from "./under_attack.ts";
import { runDhtBench } from "./dht.ts";
import { runBtSwarm } from "./bt_swarm.ts";
import { runSmallFilesBench } from "./small_files.ts";
import {
  runSeedHash,
  type SeedHashResult,
  seedHashTable,
} from "./seed_hash.ts";
import { phasesTable, swarmTargets, targetsTable } from "./_swarm_report.ts";
import { parseSize, sizeLabel } from "./_stats.ts";
import {
  type CaseResult,
  parseTools,
  runSwarmBench,
  summarizeCase,
  swarmTable,
  TOOLS,
} from "./swarm.ts";
import {
  type Bep15BenchResult,
  bep15Table,
  runBep15Bench,
  summarizeBep15,
} from "./bep15_bench.ts";
import {
  runTrackerBench,
  summarizeTracker,
  type TrackerBenchResult,
  trackerTable,
} from "./tracker_bench.ts";

const USAGE = `Usage: deno task bench [options] [-- FUZZ_ARGS...]

Options:
  --sizes LIST          file sizes (default 256M,1G)
  --seeders LIST        seeder counts (default 1,3)
  --runs N              interleaved runs per case (default 3)
  --only LIST           tools: ${TOOLS.join(",")} (default all)
  --quick               smoke test: 32M, seeders 1,3, 1 run; tracker 10,000 peers
                        for 3 s; BEP 15 10,000 clients over 1,000 infohashes for
                        3 s; Merkle hashing --quick; under attack 16M, 1 run
  --no-swarm            skip the swarm benchmark
  --no-seed-hash        skip seeding a new file (Shoal's hashing against
                        openssl dgst -sha256, --runs runs)
  --seed-hash-size SIZE its file size (default 1G; --quick 128M)
  --no-tracker          skip the tracker load benchmark
  --no-bep15            skip BitTorrent announces (BEP 15) to the Shoal tracker
                        against opentracker (bench/bep15_bench.ts)
  --bep15-peers N       BitTorrent clients announced (default 100000)
  --bep15-infohashes N  infohashes they announce (default 10000)
  --bep15-seconds S     seconds of timed announces (default 10)
  --no-merkle           skip the Merkle hashing table (bench/merkle_hash.ts:
                        chunk hashes against plain SHA-256; about 40 s)
  --no-attack           skip the under-attack table (64 MiB quiet and beside
                        each attack of issue 21, 3 runs; about 2 minutes)
  --attack-only LIST    under attack: only these attacks (5,6,7,8,9,9bt) besides quiet
  --no-bt               skip BitTorrent interop (bench/bt_swarm.ts: a libtorrent
                        leecher from 3 Shoal and from 3 libtorrent seeders, a
                        Shoal leecher from the 3 libtorrent seeders; v2 torrent;
                        --runs runs)
  --bt-size SIZE        its file size (default 256M; --quick 32M)
  --no-small-files      skip many small files (bench/small_files.ts: 10,000
                        files of 1-8 KiB against one file of the same size;
                        making the torrent, libtorrent from Shoal and from
                        libtorrent, Shoal from Shoal; --quick 1,000 files)
  --no-discovery        skip the discovery tables (bench/dht.ts: DHT lookups
                        over 100 and 300 loopback nodes, time to first peer,
                        an idle seeder's DHT cost over a minute, a transfer
                        with the DHT off and on; about 2 minutes)
  --tracker-peers N     registered peers (default 100000)
  --tracker-files N     files they hold (default 10000)
  --tracker-seconds S   seconds of REQUEST/KEEPALIVE load (default 10)
  --tracker-runs N      rounds of (tracker, echo) (default 1)
  --concurrency N       tracker requests in flight (default 32)
  --flash-crowd         also run the flash-crowd benchmark (bench/flash_crowd.ts:
                        20 leechers, 256 MiB, one seeder at 20 MB/s; partial
                        seeding on and off; takes about 3 minutes)
  --fuzz                also run bench/fuzz.ts (if present) with FUZZ_ARGS
  --fuzz-timeout S      stop the fuzzer after S seconds (default 1800)
  --repo DIR            the Shoal checkout whose tracker/ and peer/ run (default
                        this one; e.g. a \`git archive\` snapshot, so edits in
                        progress do not change the code under test mid-run)
  --dir DIR             work folder (default a new temp folder, removed at the end)
  --keep                keep the work folder (files, torrents, logs)
  --help                print this help`;

function machine() {
  let cpu = "unknown";
  let memGiB = 0;
  try {
    cpu =
      Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m)
        ?.[1] ?? cpu;
    const kb = Deno.readTextFileSync("/proc/meminfo").match(
      /^MemTotal:\s+(\d+)/m,
    )?.[1];
    memGiB = kb ? Math.round(Number(kb) / 1048576) : 0;
  } catch {
    // Not Linux: leave the defaults.
  }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memGiB,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
  };
}

async function runFuzz(args: string[], timeoutS: number): Promise<string> {
  const path = join(REPO_DIR, "bench", "fuzz.ts");
  try {
    await Deno.stat(path);
  } catch {
    console.error("[fuzz] bench/fuzz.ts does not exist yet: skipped");
    return "skipped: bench/fuzz.ts missing";
  }
  console.error(`[fuzz] running bench/fuzz.ts ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "bench/fuzz.ts", ...args],
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await withTimeout(child.status, timeoutS * 1000);
  if (!status) {
    child.kill("SIGTERM");
    if (!await withTimeout(child.status, 5_000)) {
      child.kill("SIGKILL");
      await withTimeout(child.status, 5_000);
    }
    return `stopped after ${timeoutS} s`;
  }
  return `exit ${status.code}`;
}

/** The commit of the code under test, and whether it has local changes. */
async function codeVersion(dir: string): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", dir, "describe", "--always", "--dirty"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && text ? text : `snapshot ${dir}`;
  } catch {
    return `snapshot ${dir}`;
  }
}

function swarmJson(results: readonly CaseResult[]) {
  return results.map((r) => ({
    size: r.size,
    sizeLabel: sizeLabel(r.size),
    seeders: r.seeders,
    tool: r.tool,
    ...(r.skipped ? { skipped: r.skipped } : {}),
    errors: r.errors,
    samples: r.samples,
    ...summarizeCase(r),
  }));
}

async function main(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  const fuzzArgs = dash >= 0 ? args.slice(dash + 1) : [];
  const values = benchArgs(dash >= 0 ? args.slice(0, dash) : args, {
    sizes: { type: "string" },
    seeders: { type: "string" },
    runs: { type: "string" },
    only: { type: "string", default: TOOLS.join(",") },
    quick: { type: "boolean", default: false },
    "no-swarm": { type: "boolean", default: false },
    "no-seed-hash": { type: "boolean", default: false },
    "seed-hash-size": { type: "string" },
    "no-tracker": { type: "boolean", default: false },
    "no-bep15": { type: "boolean", default: false },
    "bep15-peers": { type: "string" },
    "bep15-infohashes": { type: "string" },
    "bep15-seconds": { type: "string" },
    "no-merkle": { type: "boolean", default: false },
    "no-attack": { type: "boolean", default: false },
    "no-discovery": { type: "boolean", default: false },
    "no-bt": { type: "boolean", default: false },
    "no-small-files": { type: "boolean", default: false },
    "bt-size": { type: "string" },
    "attack-only": { type: "string" },
    "tracker-peers": { type: "string" },
    "tracker-files": { type: "string" },
    "tracker-seconds": { type: "string" },
    "tracker-runs": { type: "string", default: "1" },
    concurrency: { type: "string", default: "32" },
    fuzz: { type: "boolean", default: false },
    "flash-crowd": { type: "boolean", default: false },
    "fuzz-timeout": { type: "string", default: "1800" },
    dir: { type: "string" },
    repo: { type: "string" },
    keep: { type: "boolean", default: false },
  }, USAGE);
  if (!values) return 0;
  const quick = values.quick;
  const sizes = (values.sizes ?? (quick ? "32M" : "256M,1G")).split(",").map(
    parseSize,
  );
  const seeders = (values.seeders ?? "1,3").split(",").map(Number);
  if (seeders.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 16))) {
    throw new RangeError(
      `Cannot parse --seeders "${values.seeders}": expected 1..16`,
    );
  }
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  const only = parseTools(values.only);
  const trackerPeers = Number(
    values["tracker-peers"] ?? (quick ? 10_000 : 100_000),
  );
  const trackerFiles = Number(
    values["tracker-files"] ?? (quick ? 1_000 : 10_000),
  );
  const trackerSeconds = Number(values["tracker-seconds"] ?? (quick ? 3 : 10));
  const bep15Peers = Number(
    values["bep15-peers"] ?? (quick ? 10_000 : 100_000),
  );
  const bep15Infohashes = Number(
    values["bep15-infohashes"] ?? (quick ? 1_000 : 10_000),
  );
  const bep15Seconds = Number(values["bep15-seconds"] ?? (quick ? 3 : 10));

  const workDir = values.dir ??
    await Deno.makeTempDir({ prefix: "shoal-bench-" });
  await Deno.mkdir(workDir, { recursive: true });
  // opentracker drops root and must still read its folder.
  await Deno.chmod(workDir, 0o755);
  console.error(`[bench] work folder ${workDir}`);

  const onSignal = () => {
    console.error("[bench] interrupted: stopping every process");
    stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const repo = values.repo ? { repoDir: resolve(values.repo) } : {};
  const started = new Date();
  let swarm: CaseResult[] = [];
  let seedHash: SeedHashResult | null = null;
  let tracker: TrackerBenchResult | null = null;
  let bep15: Bep15BenchResult | null = null;
  let fuzz: string | null = null;
  try {
    if (!values["no-swarm"]) {
      swarm = await runSwarmBench({
        sizes,
        seeders,
        runs,
        only,
        workDir,
        ...repo,
      });
    }
    if (!values["no-seed-hash"]) {
      seedHash = await runSeedHash({
        size: parseSize(values["seed-hash-size"] ?? (quick ? "128M" : "1G")),
        runs,
        workDir,
        ...repo,
      });
    }
    if (!values["no-tracker"]) {
      tracker = await runTrackerBench({
        peers: trackerPeers,
        files: trackerFiles,
        seconds: trackerSeconds,
        concurrency: Number(values.concurrency),
        runs: Number(values["tracker-runs"]),
        workDir,
        ...repo,
      });
    }
    if (!values["no-bep15"]) {
      bep15 = await runBep15Bench({
        peers: bep15Peers,
        infohashes: bep15Infohashes,
        seconds: bep15Seconds,
        concurrency: Number(values.concurrency),
        runs: Number(values["tracker-runs"]),
        workDir,
        ...repo,
      });
    }
    if (!values["no-merkle"]) {
      // Prints its own table and JSON line.
      const code = await runMerkleHash(quick ? ["--quick"] : []);
      if (code !== 0) throw new Error(`merkle hashing: exit ${code}`);
    }
    if (!values["no-attack"]) {
      // Prints its own table and JSON line.
      const code = await runUnderAttack([
        ...(quick ? ["--runs", "1", "--size", "16M"] : []),
        ...(values["attack-only"] ? ["--only", values["attack-only"]] : []),
        ...(values.repo ? ["--repo", resolve(values.repo)] : []),
      ]);
      if (code !== 0) throw new Error(`under attack: exit ${code}`);
    }
    if (!values["no-bt"]) {
      // Prints its own tables and JSON line.
      const code = await runBtSwarm([
        "--size",
        values["bt-size"] ?? (quick ? "32M" : "256M"),
        "--runs",
        String(runs),
        "--dir",
        join(workDir, "bt"),
        ...(quick ? ["--quick"] : []),
        ...(values.repo ? ["--repo", resolve(values.repo)] : []),
      ]);
      if (code !== 0) throw new Error(`BitTorrent interop: exit ${code}`);
    }
    if (!values["no-small-files"]) {
      // Prints its own table and JSON line.
      const code = await runSmallFilesBench([
        "--dir",
        join(workDir, "small-files"),
        ...(quick ? ["--quick"] : []),
      ]);
      if (code !== 0) throw new Error(`small files: exit ${code}`);
    }
    if (!values["no-discovery"]) {
      // Prints its own tables and JSON line.
      const code = await runDhtBench(quick ? ["--quick"] : []);
      if (code !== 0) throw new Error(`discovery: exit ${code}`);
    }
    if (values["flash-crowd"]) {
      // Prints its own table and JSON line.
      await runFlashCrowd(
        values.quick
          ? ["--leechers", "6", "--size", "32M", "--rate", "8M"]
          : [],
      );
    }
    if (values.fuzz) {
      fuzz = await runFuzz(fuzzArgs, Number(values["fuzz-timeout"]));
    }
  } finally {
    await stopAll();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    if (!values.keep && !values.dir) {
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  }

  const info = machine();
  console.log(
    `\nShoal benchmark, ${started.toISOString()}, ${info.cpu}, ${info.cores} cores, ${info.memGiB} GiB, ${info.os}, deno ${info.deno}`,
  );
  if (swarm.length) {
    console.log(
      `\nSwarm on loopback: median of ${runs} interleaved runs (min-max); MB = 10^6 bytes; ` +
        `"vs shoal" = that tool's figure / Shoal's (time < 1 is faster than Shoal)\n`,
    );
    console.log(swarmTable(swarm));
    console.log(
      `\nTargets of issue 16 (Shoal as a user starts it, deno task peer; RSS: the highest peak over the runs)\n`,
    );
    console.log(targetsTable(swarm));
    console.log(
      `\nWhere Shoal's time went: seconds from spawn, cut at its --json events (median of each part)\n`,
    );
    console.log(phasesTable(swarm));
  }
  if (seedHash) {
    console.log(
      `\nSeeding a new file: median of ${runs} runs, taking turns with openssl\n`,
    );
    console.log(seedHashTable(seedHash));
    if (seedHash.errors.length) {
      console.log(`errors: ${seedHash.errors.join("; ")}`);
    }
  }
  if (tracker) {
    console.log(
      `\nTracker: ${trackerPeers} peers over ${trackerFiles} files, then ${trackerSeconds} s of REQUEST+KEEPALIVE with ${values.concurrency} in flight\n`,
    );
    console.log(trackerTable(tracker));
    if (tracker.errors.length) {
      console.log(`errors: ${tracker.errors.join("; ")}`);
    }
  }
  if (bep15) {
    console.log(
      `\nBitTorrent announces (BEP 15): ${bep15Peers} clients over ${bep15Infohashes} infohashes, then ${bep15Seconds} s of announces with ${values.concurrency} in flight\n`,
    );
    console.log(bep15Table(bep15));
    const ratio = summarizeBep15(bep15).ratio;
    if (ratio !== null) {
      console.log(
        `Shoal tracker / opentracker: ${
          ratio.toFixed(2)
        }x announces per second (target: at least 0.80x)`,
      );
    }
    if (bep15.skipped) console.log(bep15.skipped);
    if (bep15.errors.length) console.log(`errors: ${bep15.errors.join("; ")}`);
  }
  console.log(JSON.stringify({
    bench: "shoal",
    date: started.toISOString(),
    machine: info,
    options: { sizes, seeders, runs, only, quick },
    code: await codeVersion(values.repo ? resolve(values.repo) : REPO_DIR),
    swarm: swarmJson(swarm),
    targets: swarmTargets(swarm),
    seedHash,
    tracker: tracker
      ? {
        peers: trackerPeers,
        files: trackerFiles,
        seconds: trackerSeconds,
        summary: summarizeTracker(tracker),
        reports: tracker,
      }
      : null,
    bep15: bep15
      ? {
        peers: bep15Peers,
        infohashes: bep15Infohashes,
        seconds: bep15Seconds,
        summary: summarizeBep15(bep15),
        reports: bep15,
      }
      : null,
    fuzz,
  }));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
