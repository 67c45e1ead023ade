// deno-lint-ignore-file no-console
/**
 * BitTorrent interop speed (issue 17), on loopback, one v2 torrent (512 KiB
 * pieces, written by Shoal's `--make-torrent`), interleaved runs:
 *
 * - `lt-from-shoal`: a libtorrent leecher (bench/lt_client.py) from N Shoal
 *   seeders, against `lt-from-lt`: the same leecher from N libtorrent
 *   seeders. Target: Shoal seeders serve it at least as fast.
 * - `lt-plain-from-shoal`: the same leecher with encryption off, from the
 *   Shoal seeders. libtorrent opens a connection with an encrypted (MSE)
 *   handshake when encryption is allowed (its default, qBittorrent's); a
 *   peer that does not answer it is asked again in plain text at its next
 *   connection tick, up to a second later. Shoal answers MSE
 *   (peer/bt/accept_mse.ts): the difference between the two is what the
 *   handshake costs now (about 1 s before Shoal answered it).
 * - `shoal-from-lt`: a Shoal leecher as a user starts it (`deno task peer
 *   --get FILE.torrent --no-seed`) from the same N libtorrent seeders,
 *   against `lt-from-lt`. Target: Shoal at least 1.5x faster.
 * - `shoal-from-lt-plain`: the same Shoal leecher from N libtorrent seeders
 *   with encryption off, which close a connection that does not open with the
 *   BitTorrent handshake at once, listed without the BitTorrent flag. A Shoal
 *   leecher opens with Shoal's handshake to a peer not known to speak
 *   BitTorrent, and asks again in BitTorrent when it is closed at once, or
 *   after 5 s of silence (peer/download/protocol_fallback.ts; libtorrent
 *   with encryption allowed, its default, stays silent): the difference
 *   between the two is what an unflagged peer list costs.
 *
 * libtorrent leechers are given their peers directly (connect_peer). The
 * Shoal leecher asks a Shoal tracker, as in a user's swarm: for
 * `shoal-from-lt`, the libtorrent seeders announce themselves there over
 * BEP 15 (lt_client.py with a tracker URL), so its peer list flags them as
 * BitTorrent clients and the leecher speaks BitTorrent to them at once. For
 * `shoal-from-lt-plain`, this bench registers the plain seeders with Shoal's
 * REGISTER instead (peers whose protocol the tracker does not know, as the
 * DHT finds them): the leecher opens in Shoal and falls back, at once since
 * they close the connection. Every download is checked (size and SHA-256)
 * after the clock stops.
 *
 * Run alone: `deno run -A bench/bt_swarm.ts --size 256M --runs 3`.
 *
 * @module
 */
import {
  LT_CLIENT,
  PYTHON,
  REPO_DIR,
  SEEDER_READY_MS,
  settleCtime,
  shoalMakeTorrent,
} from "./_setup.ts";
import { benchArgs } from "./_cli.ts";
import { dirname, join } from "node:path";
import { fromHex } from "@shoal/protocol";
import { TrackerClient } from "../peer/tracker_client/client.ts";
import {
  type BenchFile,
  checkDownload,
  makeFile,
  removeDir,
} from "./_files.ts";
import {
  type BenchProcess,
  cpuOf,
  freeTcpPort,
  freeUdpPort,
  machineBusy,
  runToEnd,
  sleep,
  spawnProcess,
  stopAll,
  which,
} from "./_proc.ts";
import { leecherTaskArgs, seederArgs, trackerArgs } from "./_shoal_args.ts";
import { leecherPhases, parseEvent } from "./_phases.ts";
import { waitShoalPeers } from "./_shoal_probe.ts";
import {
  parseSize,
  renderTable,
  sizeLabel,
  summarize,
  type Summary,
} from "./_stats.ts";
import { hostReclaimed, warmFreeMemory } from "./_vm_memory.ts";
import { roundOrder } from "./_round_order.ts";

/** The downloads compared (see the module comment). */
export const BT_TOOLS = [
  "lt-from-shoal",
  "lt-plain-from-shoal",
  "lt-from-lt",
  "shoal-from-lt",
  "shoal-from-lt-plain",
] as const;
/** One of {@linkcode BT_TOOLS}. */
export type BtTool = typeof BT_TOOLS[number];

/** Options for {@linkcode runBtSwarmBench}. */
export interface BtSwarmOptions {
  /** File size, bytes. */
  size: number;
  /** Seeders of each kind. */
  seeders: number;
  /** Interleaved runs. */
  runs: number;
  /** The downloads to time. */
  only: readonly BtTool[];
  /** Folder for the file, torrents, seeders' state, downloads and logs. */
  workDir: string;
  /** The Shoal checkout whose tracker/ and peer/ run. @default {this one} */
  repoDir?: string;
  /** Fill and free memory before each run, as bench/swarm.ts does. @default {true} */
  warm?: boolean;
}

/** One timed download. */
export interface BtSample {
  /** Seconds from the leecher's spawn to its exit, the file complete and checked by it. */
  seconds: number;
  /** libtorrent's own time from adding the torrent to the last piece. */
  selfSeconds?: number;
  /**
   * Shoal leecher: seconds from its spawn to its "downloading" event (the
   * task runner, the launcher, loading the peer, the tracker's answer, the
   * manifest and the part file).
   */
  setupSeconds?: number;
  /**
   * What each peer sent, by "host:port": chunks (Shoal's `done` line) or
   * bytes (libtorrent's peer list, sampled: a lower bound).
   */
  fromPeers: Record<string, number>;
  /** CPU seconds (user + system) the leecher used (for `deno task`, the tree). */
  leecherCpuSeconds: number;
  /** CPU seconds the seeders used during the run, added up. */
  seedersCpuSeconds: number;
  /** Share of the machine's CPU busy during the run (1 = all cores). */
  machineBusy?: number;
  /**
   * Bytes of free memory this VM handed back to its host during the run
   * (bench/_vm_memory.ts): a run whose writes land on such pages is slower.
   */
  hostReclaimed?: number;
}

/** All runs of one download. */
export interface BtCase {
  tool: BtTool;
  samples: BtSample[];
  errors: string[];
  skipped?: string;
}

/** The whole benchmark's result. */
export interface BtSwarmResult {
  size: number;
  seeders: number;
  runs: number;
  cases: BtCase[];
  /** The load average (1, 5, 15 min) before the first run. */
  loadBefore: number[] | null;
}

const log = (line: string) => console.error(`[bt-swarm] ${line}`);

/** The load average, or null off Linux. */
export function loadAverage(): number[] | null {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(
      Number,
    );
  } catch {
    return null;
  }
}

function timeoutMs(size: number): number {
  // Generous: 10 MB/s plus start-up and the fallback wait.
  return Math.max(60_000, 20_000 + size / 10_000);
}

/** Why the benchmark cannot run here, or null. */
export async function btMissing(): Promise<string | null> {
  if (!which(PYTHON)) return `${PYTHON} not found`;
  const r = await runToEnd(PYTHON, ["-c", "import libtorrent"], 20_000);
  return r.code === 0 ? null : "python3-libtorrent cannot be imported";
}

// ---- the swarm -------------------------------------------------------------

/** Seeders and trackers, started once and shared by every run. */
interface Swarm {
  torrentPath: string;
  fileId: string;
  /** TCP ports of the Shoal seeders. */
  shoalPorts: number[];
  /** TCP ports of the libtorrent seeders (encryption allowed). */
  ltPorts: number[];
  /** TCP ports of the libtorrent seeders with encryption off. */
  plainPorts: number[];
  /** The Shoal tracker listing the libtorrent seeders. */
  ltTrackerPort: number;
  /** The Shoal tracker listing the plain libtorrent seeders. */
  plainTrackerPort: number;
  shoalSeeds: BenchProcess[];
  ltSeeds: BenchProcess[];
  plainSeeds: BenchProcess[];
  trackers: BenchProcess[];
}

async function makeTorrent(
  file: BenchFile,
  workDir: string,
  repoDir: string,
): Promise<{ path: string; id: string }> {
  // Not NAME.torrent: bench/swarm.ts keeps its v1 torrent there.
  const path = join(workDir, "files", `${file.name}.v2.torrent`);
  const { id } = await shoalMakeTorrent(file.path, path, repoDir);
  return { path, id };
}

/** libtorrent seeders live as long as the bench (lt_client.py's default is 300 s). */
const LT_SEED_SECONDS = 86_400;

function startLtSeeders(
  kind: "seed" | "seed-plain",
  count: number,
  torrentPath: string,
  file: BenchFile,
  logs: string,
  trackerUrl = "",
): { procs: BenchProcess[]; ports: number[] } {
  const procs: BenchProcess[] = [];
  const ports: number[] = [];
  for (let k = 0; k < count; k++) {
    const port = freeTcpPort();
    ports.push(port);
    procs.push(spawnProcess(`libtorrent ${kind} ${k}`, PYTHON, {
      args: [
        LT_CLIENT,
        kind,
        torrentPath,
        dirname(file.path),
        String(port),
        String(LT_SEED_SECONDS),
        trackerUrl,
      ],
      logPath: join(logs, `lt-${kind}-${k}.log`),
    }));
  }
  return { procs, ports };
}

/** A Shoal tracker for BitTorrent clients to announce to (BEP 15). */
async function startTracker(
  label: string,
  repoDir: string,
  logs: string,
): Promise<{ port: number; proc: BenchProcess }> {
  const port = freeUdpPort();
  const proc = spawnProcess(`shoal tracker (${label})`, Deno.execPath(), {
    args: [...trackerArgs(port), "--peer-ttl", "86400"],
    cwd: repoDir,
    logPath: join(logs, `tracker-${label}.log`),
  });
  await proc.waitForLine(/tracker listening/, 20_000);
  return { port, proc };
}

/**
 * Waits until the tracker lists `count` peers of the file, each flagged as
 * a BitTorrent client (heard over BEP 15), as the leecher will ask.
 */
async function waitBtPeers(
  port: number,
  fileId: string,
  count: number,
  timeoutMs: number,
): Promise<void> {
  const client = await TrackerClient.open({ host: "127.0.0.1", port });
  try {
    const deadline = performance.now() + timeoutMs;
    let seen = 0;
    while (performance.now() < deadline) {
      const reply = await client.request({ id: fromHex(fileId)! });
      seen = reply.kind === "peers"
        ? reply.peers.filter((p) => p.bittorrent).length
        : 0;
      if (seen >= count) return;
      await sleep(200);
    }
    throw new Error(
      `the tracker lists ${seen} of ${count} libtorrent seeders as BitTorrent peers`,
    );
  } finally {
    await client.close();
  }
}

/**
 * A Shoal tracker that lists `ports` on 127.0.0.1 as seeders of the file,
 * registered by this bench with Shoal's REGISTER: peers whose protocol the
 * tracker does not know.
 */
async function trackerListing(
  label: string,
  ports: readonly number[],
  file: { id: string; name: string; size: number },
  repoDir: string,
  logs: string,
): Promise<{ port: number; proc: BenchProcess }> {
  // Registered once: they must not expire during the runs (--peer-ttl).
  const { port, proc } = await startTracker(label, repoDir, logs);
  const client = await TrackerClient.open({ host: "127.0.0.1", port });
  try {
    for (const seederPort of ports) {
      await client.register(
        crypto.getRandomValues(new Uint8Array(16)),
        seederPort,
        [{
          id: fromHex(file.id)!,
          name: file.name,
          size: file.size,
          chunkCount: Math.ceil(file.size / (512 * 1024)),
          complete: true,
        }],
      );
    }
  } finally {
    await client.close();
  }
  await waitShoalPeers(port, file.name, ports.length, 10_000);
  return { port, proc };
}

async function startSwarm(
  file: BenchFile,
  options: BtSwarmOptions,
): Promise<Swarm> {
  const repoDir = options.repoDir ?? REPO_DIR;
  const logs = join(options.workDir, "logs");
  const uses = (...tools: BtTool[]) =>
    tools.some((tool) => options.only.includes(tool));
  log(`${sizeLabel(file.size)}: making the torrent`);
  const torrent = await makeTorrent(file, options.workDir, repoDir);
  // A Shoal seeder re-hashes a file whose ctime is younger than 2 s.
  await settleCtime(file.path);
  const swarm: Swarm = {
    torrentPath: torrent.path,
    fileId: torrent.id,
    shoalPorts: [],
    ltPorts: [],
    plainPorts: [],
    ltTrackerPort: 0,
    plainTrackerPort: 0,
    shoalSeeds: [],
    ltSeeds: [],
    plainSeeds: [],
    trackers: [],
  };
  const meta = { id: torrent.id, name: file.name, size: file.size };
  if (uses("lt-from-shoal", "lt-plain-from-shoal")) {
    // Its own tracker: the Shoal seeders need one to start.
    const trackerPort = freeUdpPort();
    const tracker = spawnProcess("shoal tracker (shoal)", Deno.execPath(), {
      args: trackerArgs(trackerPort),
      cwd: repoDir,
      logPath: join(logs, "tracker-shoal.log"),
    });
    swarm.trackers.push(tracker);
    await tracker.waitForLine(/tracker listening/, 20_000);
    const seeds: BenchProcess[] = [];
    for (let k = 0; k < options.seeders; k++) {
      const out = join(options.workDir, "shoal-seed", String(k));
      await Deno.mkdir(out, { recursive: true });
      seeds.push(spawnProcess(`shoal seeder ${k}`, Deno.execPath(), {
        args: seederArgs(trackerPort, file.path, out),
        cwd: repoDir,
        logPath: join(logs, `shoal-seeder-${k}.log`),
      }));
    }
    swarm.shoalSeeds.push(...seeds);
    log(`${sizeLabel(file.size)}: ${options.seeders} Shoal seeders hashing`);
    const ports = await Promise.all(
      seeds.map((s) =>
        s.waitForLine(/serving peers on port (\d+)/, SEEDER_READY_MS)
      ),
    );
    swarm.shoalPorts = ports.map((m) => Number(m[1]));
  }
  if (uses("lt-from-lt", "shoal-from-lt")) {
    // They announce to a Shoal tracker over BEP 15, as in a user's swarm.
    const t = await startTracker("lt", repoDir, logs);
    swarm.ltTrackerPort = t.port;
    swarm.trackers.push(t.proc);
    const lt = startLtSeeders(
      "seed",
      options.seeders,
      torrent.path,
      file,
      logs,
      `udp://127.0.0.1:${t.port}/announce`,
    );
    swarm.ltSeeds = lt.procs;
    swarm.ltPorts = lt.ports;
  }
  if (uses("shoal-from-lt-plain")) {
    const plain = startLtSeeders(
      "seed-plain",
      options.seeders,
      torrent.path,
      file,
      logs,
    );
    swarm.plainSeeds = plain.procs;
    swarm.plainPorts = plain.ports;
  }
  await Promise.all(
    [...swarm.ltSeeds, ...swarm.plainSeeds].map((s) =>
      s.waitForLine(/^seeding$/, SEEDER_READY_MS)
    ),
  );
  if (swarm.ltTrackerPort) {
    await waitBtPeers(swarm.ltTrackerPort, torrent.id, options.seeders, 30_000);
  }
  if (uses("shoal-from-lt-plain")) {
    const t = await trackerListing(
      "lt-plain",
      swarm.plainPorts,
      meta,
      repoDir,
      logs,
    );
    swarm.plainTrackerPort = t.port;
    swarm.trackers.push(t.proc);
  }
  return swarm;
}

// ---- one run of each download ----------------------------------------------

async function ltLeech(
  tool: "lt-from-shoal" | "lt-plain-from-shoal" | "lt-from-lt",
  swarm: Swarm,
  file: BenchFile,
  workDir: string,
  run: number,
): Promise<BtSample> {
  const out = join(workDir, "dl", tool);
  await removeDir(out);
  await Deno.mkdir(out, { recursive: true });
  const fromShoal = tool !== "lt-from-lt";
  const ports = fromShoal ? swarm.shoalPorts : swarm.ltPorts;
  const seeds = fromShoal ? swarm.shoalSeeds : swarm.ltSeeds;
  const seedersCpu = cpuOf(seeds);
  const limit = timeoutMs(file.size);
  const leecher = spawnProcess(`${tool} leecher`, PYTHON, {
    args: [
      LT_CLIENT,
      tool === "lt-plain-from-shoal" ? "leech-plain" : "leech",
      swarm.torrentPath,
      out,
      String(freeTcpPort()),
      String(Math.ceil(limit / 1000)),
      ports.map((port) => `127.0.0.1:${port}`).join(","),
    ],
    logPath: join(workDir, "logs", `${tool}-${run}.log`),
  });
  try {
    const status = await leecher.waitExit(limit + 5_000);
    if (status?.code !== 0) {
      throw new Error(
        `libtorrent leecher ${
          status ? `exited with ${status.code}` : "timed out"
        }:\n${leecher.tail()}`,
      );
    }
    const seconds = leecher.elapsedMs! / 1000;
    await checkDownload(join(out, file.name), file);
    const text = leecher.lines.join("\n");
    const self = text.match(/done in ([\d.]+)s/);
    const fromPeers: Record<string, number> = {};
    for (const m of text.matchAll(/^from (\S+) (\d+) /gm)) {
      fromPeers[m[1]!] = Number(m[2]);
    }
    return {
      seconds,
      ...(self ? { selfSeconds: Number(self[1]) } : {}),
      fromPeers,
      leecherCpuSeconds: leecher.cpuSeconds,
      seedersCpuSeconds: cpuOf(seeds) - seedersCpu,
    };
  } finally {
    await leecher.stop();
    await removeDir(out);
  }
}

async function shoalLeech(
  tool: "shoal-from-lt" | "shoal-from-lt-plain",
  swarm: Swarm,
  file: BenchFile,
  options: BtSwarmOptions,
  run: number,
): Promise<BtSample> {
  const out = join(options.workDir, "dl", tool);
  await removeDir(out);
  await Deno.mkdir(out, { recursive: true });
  const plain = tool === "shoal-from-lt-plain";
  const seeds = plain ? swarm.plainSeeds : swarm.ltSeeds;
  const seedersCpu = cpuOf(seeds);
  const timed: { line: string; atMs: number }[] = [];
  const leecher = spawnProcess(`${tool} leecher`, Deno.execPath(), {
    // As a user starts it, with the .torrent; the tracker lists the seeders.
    args: leecherTaskArgs(
      plain ? swarm.plainTrackerPort : swarm.ltTrackerPort,
      swarm.torrentPath,
      out,
    ),
    cwd: options.repoDir ?? REPO_DIR,
    tree: true,
    logPath: join(options.workDir, "logs", `${tool}-${run}.log`),
    onLine: (line, atMs) => {
      if (line.startsWith("{")) timed.push({ line, atMs });
    },
  });
  try {
    const status = await leecher.waitExit(timeoutMs(file.size));
    if (status?.code !== 0) {
      throw new Error(
        `Shoal leecher ${
          status ? `exited with ${status.code}` : "timed out"
        }:\n${leecher.tail()}`,
      );
    }
    const seconds = leecher.elapsedMs! / 1000;
    const done = timed.map((t) => parseEvent(t.line)).find((e) =>
      e?.type === "done"
    );
    if (done?.fileId !== swarm.fileId) {
      throw new Error(
        `Shoal leecher reported file id ${done?.fileId}, the torrent ${swarm.fileId}`,
      );
    }
    await checkDownload(join(out, file.name), file);
    const phases = leecherPhases(timed, leecher.elapsedMs!);
    return {
      seconds,
      ...(typeof done.seconds === "number"
        ? { selfSeconds: done.seconds }
        : {}),
      ...(phases ? { setupSeconds: phases.startup + phases.lookup } : {}),
      fromPeers: (done.chunksByPeer ?? {}) as Record<string, number>,
      leecherCpuSeconds: leecher.members.reduce(
        (sum, m) => sum + m.cpuSeconds,
        0,
      ),
      seedersCpuSeconds: cpuOf(seeds) - seedersCpu,
    };
  } finally {
    await leecher.stop();
    await removeDir(out);
  }
}

// ---- the benchmark ---------------------------------------------------------

/**
 * Starts the seeders once, then `runs` rounds in which each download runs
 * once (in {@linkcode roundOrder}'s order).
 *
 * @param options size, seeders, runs, downloads, work folder
 * @returns every sample
 */
export async function runBtSwarmBench(
  options: BtSwarmOptions,
): Promise<BtSwarmResult> {
  const cases: BtCase[] = options.only.map((tool) => ({
    tool,
    samples: [],
    errors: [],
  }));
  const result: BtSwarmResult = {
    size: options.size,
    seeders: options.seeders,
    runs: options.runs,
    cases,
    loadBefore: null,
  };
  const missing = await btMissing();
  if (missing) {
    log(`skipped: ${missing}`);
    for (const c of cases) c.skipped = missing;
    return result;
  }
  await Deno.mkdir(join(options.workDir, "logs"), { recursive: true });
  const file = await makeFile(options.workDir, options.size);
  let swarm: Swarm | null = null;
  try {
    swarm = await startSwarm(file, options);
    result.loadBefore = loadAverage();
    log(`load average before the runs: ${result.loadBefore?.join(" ")}`);
    for (let run = 0; run < options.runs; run++) {
      const order = roundOrder(cases, run);
      for (const c of order) {
        try {
          if (options.warm ?? true) {
            await warmFreeMemory(dirname(file.path), file.size);
          }
          const busy = machineBusy();
          const reclaimed = hostReclaimed();
          const sample = c.tool === "shoal-from-lt" ||
              c.tool === "shoal-from-lt-plain"
            ? await shoalLeech(c.tool, swarm, file, options, run)
            : await ltLeech(c.tool, swarm, file, options.workDir, run);
          const share = busy.stop();
          if (share !== null) sample.machineBusy = share;
          const handedBack = reclaimed.stop();
          if (handedBack !== null) sample.hostReclaimed = handedBack;
          c.samples.push(sample);
          log(
            `${sizeLabel(file.size)} run ${
              run + 1
            }/${options.runs} ${c.tool}: ${sample.seconds.toFixed(2)} s${
              sample.setupSeconds === undefined
                ? ""
                : `, set-up ${sample.setupSeconds.toFixed(2)} s`
            }, from ${JSON.stringify(sample.fromPeers)}, busy ${
              ((sample.machineBusy ?? NaN) * 100).toFixed(0)
            }%${
              sample.hostReclaimed
                ? `, host took back ${
                  (sample.hostReclaimed / 2 ** 20).toFixed(0)
                } MiB`
                : ""
            }`,
          );
        } catch (error) {
          const message = error instanceof Error
            ? error.message
            : String(error);
          c.errors.push(message.split("\n")[0]!);
          log(`${c.tool} run ${run + 1} failed: ${message}`);
        }
      }
    }
  } finally {
    if (swarm) {
      await Promise.all(
        [
          ...swarm.shoalSeeds,
          ...swarm.ltSeeds,
          ...swarm.plainSeeds,
          ...swarm.trackers,
        ].map((p) => p.stop()),
      );
    }
  }
  return result;
}

function seconds(c: BtCase | undefined): Summary | null {
  return c ? summarize(c.samples.map((s) => s.seconds)) : null;
}

/** The targets of issue 17, from the medians. */
export function btTargets(result: BtSwarmResult) {
  const by = (tool: BtTool) => result.cases.find((c) => c.tool === tool);
  const ltFromShoal = seconds(by("lt-from-shoal"))?.median ?? null;
  const ltPlainFromShoal = seconds(by("lt-plain-from-shoal"))?.median ?? null;
  const ltFromLt = seconds(by("lt-from-lt"))?.median ?? null;
  const shoalFromLt = seconds(by("shoal-from-lt"))?.median ?? null;
  const plain = seconds(by("shoal-from-lt-plain"))?.median ?? null;
  const speedup = (slow: number | null, fast: number | null) =>
    slow !== null && fast !== null ? slow / fast : null;
  return {
    /** libtorrent's time from libtorrent seeders / from Shoal seeders; target >= 1. */
    shoalSeedersVsLt: speedup(ltFromLt, ltFromShoal),
    /** The same with the libtorrent leecher's encryption off (no MSE retry). */
    shoalSeedersVsLtNoRetry: speedup(ltFromLt, ltPlainFromShoal),
    /** Seconds libtorrent's MSE retry costs it with Shoal seeders (median difference). */
    mseRetrySeconds: ltFromShoal !== null && ltPlainFromShoal !== null
      ? ltFromShoal - ltPlainFromShoal
      : null,
    /** libtorrent leecher's time / Shoal leecher's, same libtorrent seeders; target >= 1.5. */
    shoalLeecherVsLt: speedup(ltFromLt, shoalFromLt),
    /** The same, from seeders listed without the BitTorrent flag (Shoal's handshake first, refused at once). */
    shoalLeecherVsLtNoWait: speedup(ltFromLt, plain),
    /** Seconds an unflagged peer list costs the Shoal leecher (median difference). */
    fallbackSeconds: shoalFromLt !== null && plain !== null
      ? plain - shoalFromLt
      : null,
  };
}

const fmt = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? "-" : x.toFixed(digits);

/** The samples as a text table: medians (min-max). */
export function btSwarmTable(result: BtSwarmResult): string {
  const header = [
    "download",
    "runs",
    "time s (min-max)",
    "MB/s",
    "set-up s",
    "leecher CPU s",
    "seeders CPU s",
    "peers that sent",
    "busy",
  ];
  const rows = result.cases.map((c) => {
    if (c.skipped || c.samples.length === 0) {
      return [
        c.tool,
        "0",
        c.skipped ?? `failed: ${c.errors[0] ?? "?"}`,
        ...Array(6).fill(""),
      ];
    }
    const s = seconds(c)!;
    const setup = summarize(c.samples.map((x) => x.setupSeconds ?? null));
    const senders = summarize(
      c.samples.map((x) =>
        Object.values(x.fromPeers).filter((n) => n > 0).length
      ),
    );
    const busy = summarize(c.samples.map((x) => x.machineBusy ?? null));
    return [
      c.tool,
      `${c.samples.length}${
        c.errors.length ? ` (${c.errors.length} failed)` : ""
      }`,
      `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})`,
      (result.size / s.median / 1e6).toFixed(0),
      setup ? fmt(setup.median) : "-",
      fmt(summarize(c.samples.map((x) => x.leecherCpuSeconds))?.median),
      fmt(summarize(c.samples.map((x) => x.seedersCpuSeconds))?.median),
      senders ? `${senders.min}-${senders.max} of ${result.seeders}` : "-",
      busy ? `${(busy.median * 100).toFixed(0)}%` : "-",
    ];
  });
  return renderTable(header, rows);
}

/** The targets as a text table. */
export function btTargetsTable(result: BtSwarmResult): string {
  const t = btTargets(result);
  const row = (
    what: string,
    value: number | null,
    target: number | null,
  ): string[] => [
    what,
    value === null ? "-" : `${value.toFixed(2)}x`,
    target === null ? "-" : `>= ${target.toFixed(1)}x`,
    value === null || target === null ? "-" : value >= target ? "yes" : "NO",
  ];
  return renderTable([
    "target (time ratio, medians)",
    "measured",
    "target",
    "met",
  ], [
    row(
      `libtorrent leecher: ${result.seeders} libtorrent seeders / ${result.seeders} Shoal seeders`,
      t.shoalSeedersVsLt,
      1,
    ),
    row(
      `the same, the libtorrent leecher's encryption off (no MSE retry)`,
      t.shoalSeedersVsLtNoRetry,
      null,
    ),
    [
      "libtorrent's MSE retry's cost (lt-from-shoal - lt-plain-from-shoal)",
      t.mseRetrySeconds === null ? "-" : `${t.mseRetrySeconds.toFixed(2)} s`,
      "-",
      "-",
    ],
    row(
      `${result.seeders} libtorrent seeders: libtorrent leecher / Shoal leecher`,
      t.shoalLeecherVsLt,
      1.5,
    ),
    row(
      `the same, seeders listed without the BitTorrent flag (plain: Shoal's handshake refused at once)`,
      t.shoalLeecherVsLtNoWait,
      null,
    ),
    [
      "cost of an unflagged list (shoal-from-lt-plain - shoal-from-lt)",
      t.fallbackSeconds === null ? "-" : `${t.fallbackSeconds.toFixed(2)} s`,
      "-",
      "-",
    ],
  ]);
}

/** Parses "lt-from-lt,shoal-from-lt"; throws on an unknown name. */
export function parseBtTools(text: string): BtTool[] {
  const tools = text.split(",").map((t) => t.trim()).filter(Boolean);
  for (const t of tools) {
    if (!(BT_TOOLS as readonly string[]).includes(t)) {
      throw new RangeError(
        `Cannot parse --only: "${t}" is not one of ${BT_TOOLS.join(", ")}`,
      );
    }
  }
  return BT_TOOLS.filter((t) => tools.includes(t));
}

const USAGE = `Usage: deno run -A bench/bt_swarm.ts [options]

BitTorrent interop speed on loopback (issue 17), one v2 torrent:
  lt-from-shoal        libtorrent leecher from N Shoal seeders
  lt-plain-from-shoal  the same leecher with encryption off: no MSE retry
  lt-from-lt           the same leecher from N libtorrent seeders
  shoal-from-lt        Shoal leecher (deno task peer --get X.torrent --no-seed)
                       from N libtorrent seeders that announce to its Shoal
                       tracker over BEP 15 (listed as BitTorrent clients)
  shoal-from-lt-plain  the same from libtorrent seeders with encryption off,
                       registered by the bench in Shoal (protocol unknown):
                       Shoal's handshake first, refused at once
Prints the table, the targets, then one JSON line.

Options:
  --size SIZE     file size (default 256M; --quick 32M)
  --seeders N     seeders of each kind (default 3)
  --runs N        interleaved runs (default 3; --quick 1)
  --only LIST     downloads: ${BT_TOOLS.join(",")} (default all)
  --quick         32M, 1 run, no memory warming between runs
  --dir DIR       work folder (default a new temp folder, removed at the end)
  --repo DIR      the Shoal checkout whose tracker/ and peer/ run
  --help          print this help`;

/**
 * Runs the benchmark from command-line arguments, prints its tables and one
 * JSON line.
 *
 * @param args options (see the usage text)
 * @returns the exit code
 */
export async function runBtSwarm(args: string[]): Promise<number> {
  const values = benchArgs(args, {
    size: { type: "string" },
    seeders: { type: "string", default: "3" },
    runs: { type: "string" },
    only: { type: "string", default: BT_TOOLS.join(",") },
    quick: { type: "boolean", default: false },
    dir: { type: "string" },
    repo: { type: "string" },
  }, USAGE);
  if (!values) return 0;
  const quick = values.quick;
  const size = parseSize(values.size ?? (quick ? "32M" : "256M"));
  const seeders = Number(values.seeders);
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  if (!(Number.isInteger(seeders) && seeders >= 1 && seeders <= 8)) {
    console.error(`bt bench: --seeders takes 1 to 8, not ${values.seeders}`);
    return 2;
  }
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= 50)) {
    console.error(`bt bench: --runs takes 1 to 50, not ${values.runs}`);
    return 2;
  }
  const workDir = values.dir ??
    await Deno.makeTempDir({ prefix: "shoal-bt-bench-" });
  await Deno.mkdir(workDir, { recursive: true });
  let result: BtSwarmResult;
  try {
    result = await runBtSwarmBench({
      size,
      seeders,
      runs,
      only: parseBtTools(values.only),
      workDir,
      warm: !quick,
      ...(values.repo ? { repoDir: values.repo } : {}),
    });
  } finally {
    await stopAll();
    if (!values.dir) await removeDir(workDir);
  }
  console.log(
    `\nBitTorrent interop on loopback: ${
      sizeLabel(size)
    }, v2 torrent, 512 KiB pieces, ${seeders} seeders of each kind; ` +
      `median of ${runs} interleaved runs (min-max); load average before: ${
        result.loadBefore?.join(" ") ?? "?"
      }\n`,
  );
  console.log(btSwarmTable(result));
  console.log("");
  console.log(btTargetsTable(result));
  console.log(JSON.stringify({
    bench: "bt-swarm",
    date: new Date().toISOString(),
    targets: btTargets(result),
    result,
  }));
  return result.cases.some((c) => c.samples.length === 0 && !c.skipped) ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await runBtSwarm(Deno.args));
}
