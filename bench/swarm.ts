// deno-lint-ignore-file no-console
/**
 * The swarm benchmark: a real swarm on loopback as separate processes
 * (tracker, N seeders, one leecher, started as a user starts them), timed
 * from the leecher's start to a checked file in place, with peak RSS of the
 * leecher, a seeder and the tracker. In the same run and on the same file:
 * the floor (one socat TCP copy, then `openssl dgst -sha256`), the same
 * with the copy flushed to disk before it is hashed (`sync --data`: as sure
 * to be on disk as Shoal's file), aria2c and libtorrent through opentracker
 * with 512 KiB pieces. Runs are interleaved.
 *
 * Run alone: `deno run -A bench/swarm.ts --sizes 256M --seeders 1 --runs 1`.
 *
 * @module
 */
import {
  LT_CLIENT,
  PYTHON,
  REPO_DIR,
  SEEDER_READY_MS,
  settleCtime,
} from "./_setup.ts";
import { benchArgs } from "./_cli.ts";
import { dirname, join } from "node:path";
import { infoHashOf, spawnOpentracker, waitSeeders } from "./_bt.ts";
import { concatBytes } from "./_bytes.ts";
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
  freeTcpUdpPort,
  freeUdpPort,
  machineBusy,
  runToEnd,
  spawnProcess,
  stopAll,
  waitTcpListening,
  which,
} from "./_proc.ts";
import { waitShoalPeers } from "./_shoal_probe.ts";
import { hostReclaimed, warmFreeMemory } from "./_vm_memory.ts";

import {
  leecherArgs,
  leecherTaskArgs,
  seederArgs,
  trackerArgs,
} from "./_shoal_args.ts";
import { leecherPhases, type Phases, type TimedLine } from "./_phases.ts";
import { roundOrder } from "./_round_order.ts";
import {
  mib,
  parseSize,
  ratio,
  renderTable,
  sizeLabel,
  summarize,
  type Summary,
} from "./_stats.ts";

/**
 * The programs compared: "shoal" is the leecher as a user starts it
 * (`deno task peer`), "shoal-run" the same peer started directly,
 * "floor-synced" the floor with its copy flushed to disk before the hash.
 */
export const TOOLS = [
  "floor",
  "floor-synced",
  "shoal",
  "shoal-run",
  "aria2",
  "libtorrent",
] as const;
/** One of {@linkcode TOOLS}. */
export type Tool = typeof TOOLS[number];

/** Time the tracker may take to list every seeder. */
const REGISTERED_MS = 20_000;

/** Options for {@linkcode runSwarmBench}. */
export interface SwarmOptions {
  /** File sizes in bytes. @default {[256 MiB, 1 GiB]} */
  sizes: number[];
  /** Seeder counts. @default {[1, 3]} */
  seeders: number[];
  /** Interleaved runs per case. @default {3} */
  runs: number;
  /** Tools to run. @default {every tool} */
  only: readonly Tool[];
  /** Folder for files, seeders' state, downloads and logs. */
  workDir: string;
  /** The Shoal checkout whose tracker/ and peer/ run. @default {this one} */
  repoDir?: string;
}

/** One timed download. */
export interface Sample {
  /** Seconds from the leecher's start to a checked file in place. */
  seconds: number;
  /**
   * Which round of the sitting (from 0): in a round every tool downloads
   * once, back to back, so the samples of one round ran within seconds of
   * each other.
   */
  round?: number;
  /**
   * Peak RSS of the leecher (VmHWM), bytes; for `deno task peer`, of its
   * largest process, the peer.
   */
  leecherPeak: number | null;
  /** For `deno task peer`: the task runner's, the launcher's and the peer's peaks added up. */
  leecherTreePeak?: number;
  /** For Shoal: where the time went, from its `--json` events. */
  phases?: Phases;
  /** Highest peak RSS among the seeders during this run, bytes. */
  seederPeak: number | null;
  /** Peak RSS of the tracker during this run, bytes. */
  trackerPeak: number | null;
  /** What the tool itself reported as its own time, seconds. */
  selfSeconds?: number;
  /** CPU seconds (user + system) the leecher used. */
  leecherCpuSeconds?: number;
  /** CPU seconds all the seeders used during the run, added up. */
  seedersCpuSeconds?: number;
  /**
   * Share of the whole machine's CPU busy during the run (every process,
   * ours included; 1 = all cores busy). High values with slow times mean
   * something else was running.
   */
  machineBusy?: number;
  /**
   * Bytes of free memory the guest handed back to the host during the run
   * (see `_vm_memory.ts`); absent where not counted.
   */
  hostReclaimed?: number;
}

/** All runs of one tool on one (size, seeders) case. */
export interface CaseResult {
  size: number;
  seeders: number;
  tool: Tool;
  samples: Sample[];
  errors: string[];
  skipped?: string;
}

interface Env {
  tool: Tool;
  runOnce(run: number): Promise<Sample>;
  close(): Promise<void>;
}

const log = (line: string) => console.error(`[swarm] ${line}`);

function leecherTimeoutMs(size: number): number {
  // Generous: 10 MB/s plus startup, at least two minutes.
  return Math.max(120_000, 20_000 + size / 10_000);
}

function maxPeak(procs: readonly BenchProcess[]): number | null {
  let peak: number | null = null;
  for (const p of procs) {
    p.samplePeak();
    if (p.peakBytes > 0) peak = Math.max(peak ?? 0, p.peakBytes);
  }
  return peak;
}

/** Checks a download's bytes (after the clock stopped): its size and SHA-256. */

// ---- Shoal -----------------------------------------------------------------

/** A Shoal tracker and seeders, shared by both ways of starting the leecher. */
interface ShoalSwarm {
  trackerPort: number;
  tracker: BenchProcess;
  seeds: BenchProcess[];
  /** The file's id, as the first seeder printed it. */
  fileId: string;
  close(): Promise<void>;
}

async function startShoalSwarm(
  file: BenchFile,
  seeders: number,
  workDir: string,
  repoDir: string,
): Promise<ShoalSwarm> {
  const deno = Deno.execPath();
  const logs = join(workDir, "logs");
  const tag = `${sizeLabel(file.size)}x${seeders}`;
  const trackerPort = freeUdpPort();
  const tracker = spawnProcess("shoal tracker", deno, {
    args: trackerArgs(trackerPort),
    cwd: repoDir,
    logPath: join(logs, `shoal-tracker-${tag}.log`),
  });
  const seeds: BenchProcess[] = [];
  const close = async () => {
    await Promise.all([...seeds, tracker].map((p) => p.stop()));
  };
  try {
    await tracker.waitForLine(/tracker listening/, 20_000);
    for (let k = 0; k < seeders; k++) {
      const out = join(workDir, "shoal-seed", `${sizeLabel(file.size)}-${k}`);
      await Deno.mkdir(out, { recursive: true });
      seeds.push(spawnProcess(`shoal seeder ${k}`, deno, {
        args: seederArgs(trackerPort, file.path, out),
        cwd: repoDir,
        logPath: join(logs, `shoal-seeder-${tag}-${k}.log`),
      }));
    }
    const seeding = await Promise.all(
      seeds.map((s) =>
        s.waitForLine(/^seeding .* id ([0-9a-f]{64})/, SEEDER_READY_MS)
      ),
    );
    await Promise.all(
      seeds.map((s) => s.waitForLine(/serving peers on port/, SEEDER_READY_MS)),
    );
    await waitShoalPeers(trackerPort, file.name, seeders, REGISTERED_MS);
    return { trackerPort, tracker, seeds, fileId: seeding[0]![1]!, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A Shoal leecher per run against one swarm: "shoal" as a user starts it
 * (`deno task peer --get NAME --no-seed --json`: the task runner, the
 * launcher, then the peer with least privilege), "shoal-run" the peer alone
 * (`deno run -A peer/main.ts ...`), to show what the first two cost.
 */
function shoalEnv(
  tool: "shoal" | "shoal-run",
  swarm: ShoalSwarm,
  file: BenchFile,
  workDir: string,
  repoDir: string,
): Env {
  const deno = Deno.execPath();
  const tag = `${sizeLabel(file.size)}x${swarm.seeds.length}`;
  const viaTask = tool === "shoal";
  return {
    tool,
    close: swarm.close,
    async runOnce(run) {
      const out = join(workDir, "dl", tool);
      await removeDir(out);
      await Deno.mkdir(out, { recursive: true });
      for (const p of [swarm.tracker, ...swarm.seeds]) p.resetPeak();
      const seedersCpu = cpuOf(swarm.seeds);
      const timed: TimedLine[] = [];
      const leecher = spawnProcess(`${tool} leecher`, deno, {
        args: viaTask
          ? leecherTaskArgs(swarm.trackerPort, file.name, out)
          : [...leecherArgs(swarm.trackerPort, file.name, out), "--json"],
        cwd: repoDir,
        logPath: join(workDir, "logs", `${tool}-leecher-${tag}-${run}.log`),
        tree: viaTask,
        onLine: (line, atMs) => {
          if (line.startsWith("{")) timed.push({ line, atMs });
        },
      });
      try {
        const status = await leecher.waitExit(leecherTimeoutMs(file.size));
        if (!status) {
          throw new Error(`Shoal leecher timed out:\n${leecher.tail()}`);
        }
        if (status.code !== 0) {
          throw new Error(
            `Shoal leecher exited with ${status.code}:\n${leecher.tail()}`,
          );
        }
        const exitMs = leecher.elapsedMs!;
        const done = doneEvent(timed);
        if (done?.fileId !== swarm.fileId) {
          throw new Error(
            `Shoal leecher reported file id ${done?.fileId}, the seeders ${swarm.fileId}`,
          );
        }
        await checkDownload(join(out, file.name), file);
        // The peer is the launcher's child: the task runner's grandchild.
        const peerSeenMs = viaTask
          ? leecher.members.find((m) => m.depth === 2)?.seenMs
          : undefined;
        const phases = leecherPhases(timed, exitMs, peerSeenMs);
        return {
          seconds: exitMs / 1000,
          leecherPeak: leecher.peakBytes || null,
          ...(viaTask ? { leecherTreePeak: leecher.treePeakBytes } : {}),
          leecherCpuSeconds: leecher.cpuSeconds,
          seederPeak: maxPeak(swarm.seeds),
          seedersCpuSeconds: cpuOf(swarm.seeds) - seedersCpu,
          trackerPeak: maxPeak([swarm.tracker]),
          ...(typeof done.seconds === "number"
            ? { selfSeconds: done.seconds }
            : {}),
          ...(phases ? { phases } : {}),
        };
      } finally {
        await leecher.stop();
        await removeDir(out);
      }
    },
  };
}

/** The leecher's `done` event. */
function doneEvent(
  lines: readonly TimedLine[],
): { fileId?: unknown; seconds?: unknown } | null {
  for (const { line } of lines) {
    try {
      const event = JSON.parse(line);
      if (event?.type === "done") return event;
    } catch {
      // Not JSON: skipped.
    }
  }
  return null;
}

// ---- the floor: socat copy, then openssl SHA-256 ---------------------------

/**
 * The floor: a socat copy, then openssl. `synced` flushes the copy to disk
 * between the two (`sync --data`), as a Shoal leecher flushes its file
 * before the file takes its name; the plain floor leaves it in the page
 * cache for the kernel to write after the run.
 */
function floorEnv(file: BenchFile, workDir: string, synced: boolean): Env {
  const tool = synced ? "floor-synced" : "floor";
  return {
    tool,
    async close() {},
    async runOnce() {
      const out = join(workDir, "dl", tool);
      await removeDir(out);
      await Deno.mkdir(out, { recursive: true });
      const dest = join(out, file.name);
      const port = freeTcpPort();
      const receiver = spawnProcess("socat receiver", "socat", {
        args: [
          "-b",
          "1048576",
          "-u",
          `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`,
          `CREATE:${dest}`,
        ],
      });
      let sender: BenchProcess | null = null;
      try {
        await waitTcpListening(port, 10_000);
        const t0 = performance.now();
        sender = spawnProcess("socat sender", "socat", {
          args: [
            "-b",
            "1048576",
            "-u",
            `OPEN:${file.path},rdonly`,
            `TCP:127.0.0.1:${port}`,
          ],
        });
        const limit = leecherTimeoutMs(file.size);
        const [a, b] = await Promise.all([
          sender.waitExit(limit),
          receiver.waitExit(limit),
        ]);
        if (a?.code !== 0 || b?.code !== 0) {
          throw new Error(
            `socat failed: sender ${a?.code}, receiver ${b?.code}\n${sender.tail()}\n${receiver.tail()}`,
          );
        }
        let syncCpuSeconds = 0;
        if (synced) {
          const sync = spawnProcess("sync", "sync", { args: ["--data", dest] });
          const flushed = await sync.waitExit(limit);
          await sync.stop();
          if (flushed?.code !== 0) {
            throw new Error(`sync --data failed:\n${sync.tail()}`);
          }
          syncCpuSeconds = sync.cpuSeconds;
        }
        const hasher = spawnProcess("openssl", "openssl", {
          args: ["dgst", "-sha256", "-r", dest],
        });
        const hashed = await hasher.waitExit(limit);
        await hasher.stop();
        if (hashed?.code !== 0) {
          throw new Error(`openssl failed:\n${hasher.tail()}`);
        }
        const seconds = (performance.now() - t0) / 1000;
        const digest = { output: hasher.lines.join("\n") };
        const hex = digest.output.match(/^([0-9a-f]{64})/m)?.[1];
        if (hex !== file.sha256) {
          throw new Error(
            `Floor copy has SHA-256 ${hex}, expected ${file.sha256}`,
          );
        }
        return {
          seconds,
          leecherPeak: receiver.peakBytes || null,
          // The floor's "leecher" is the receiving socat plus openssl (and sync).
          leecherCpuSeconds: receiver.cpuSeconds + hasher.cpuSeconds +
            syncCpuSeconds,
          seederPeak: sender.peakBytes || null,
          trackerPeak: null,
        };
      } finally {
        await Promise.all([receiver.stop(), sender?.stop()]);
        await removeDir(out);
      }
    },
  };
}

// ---- BitTorrent clients through opentracker --------------------------------

/** Replaces the top-level "announce" of a .torrent and drops "announce-list". */
function withAnnounce(torrent: Uint8Array, url: string): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode("d")];
  const dec = new TextDecoder();
  // Reuse the info-hash parser's tokenizer through a tiny local walk.
  let i = 1;
  const skip = (j: number): number => {
    const c = torrent[j];
    if (c === 0x69) return torrent.indexOf(0x65, j) + 1;
    if (c === 0x6c || c === 0x64) {
      let k = j + 1;
      while (torrent[k] !== 0x65) k = skip(k);
      return k + 1;
    }
    const colon = torrent.indexOf(0x3a, j);
    return colon + 1 + Number(dec.decode(torrent.subarray(j, colon)));
  };
  while (torrent[i] !== 0x65) {
    const keyEnd = skip(i);
    const key = dec.decode(
      torrent.subarray(torrent.indexOf(0x3a, i) + 1, keyEnd),
    );
    const valueEnd = skip(keyEnd);
    if (key === "announce") {
      const u = enc.encode(url);
      parts.push(enc.encode(`8:announce${u.byteLength}:`), u);
    } else if (key !== "announce-list") {
      parts.push(torrent.subarray(i, valueEnd));
    }
    i = valueEnd;
  }
  parts.push(enc.encode("e"));
  return concatBytes(...parts);
}

/** A .torrent with 512 KiB pieces for `file`, made once by mktorrent. */
async function baseTorrent(
  file: BenchFile,
  workDir: string,
): Promise<Uint8Array> {
  const path = join(workDir, "files", `${file.name}.torrent`);
  try {
    return await Deno.readFile(path);
  } catch {
    // Make it below.
  }
  const r = await runToEnd("mktorrent", [
    "-l",
    "19",
    "-a",
    "udp://127.0.0.1:1/announce",
    "-o",
    path,
    file.path,
  ], 300_000);
  if (r.code !== 0) throw new Error(`mktorrent failed:\n${r.output}`);
  return await Deno.readFile(path);
}

interface OpenTracker {
  port: number;
  proc: BenchProcess;
  torrentPath: string;
  infoHash: string;
}

async function startOpentracker(
  file: BenchFile,
  workDir: string,
  label: string,
): Promise<OpenTracker> {
  // The port is free when picked but another process can take it before
  // opentracker binds it: a new port, a few times, rather than a lost case.
  for (let attempt = 1;; attempt++) {
    try {
      return await startOpentrackerOn(freeTcpUdpPort(), file, workDir, label);
    } catch (error) {
      const inUse = error instanceof Error && error.message.includes("in use");
      if (!inUse || attempt >= 3) throw error;
    }
  }
}

async function startOpentrackerOn(
  port: number,
  file: BenchFile,
  workDir: string,
  label: string,
): Promise<OpenTracker> {
  const torrent = await baseTorrent(file, workDir);
  const infoHash = infoHashOf(torrent);
  const dir = join(workDir, `ot-${label}`);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(join(dir, "whitelist"), `${infoHash}\n`);
  await Deno.chmod(join(dir, "whitelist"), 0o644);
  const torrentPath = join(dir, `${file.name}.torrent`);
  await Deno.writeFile(
    torrentPath,
    withAnnounce(torrent, `udp://127.0.0.1:${port}/announce`),
  );
  await Deno.chmod(torrentPath, 0o644);
  const proc = await spawnOpentracker({
    port,
    dir,
    whitelist: "whitelist",
    name: `opentracker ${label}`,
    logPath: join(
      workDir,
      "logs",
      `opentracker-${label}-${sizeLabel(file.size)}.log`,
    ),
    ready: () => waitSeeders(port, infoHash, 0, 10_000),
  });
  return { port, proc, torrentPath, infoHash };
}

/** Where BitTorrent client `tool`'s seeder `k` keeps its hard link of the file. */
function seedLinkDir(workDir: string, tool: "aria2" | "libtorrent", k: number) {
  return join(workDir, tool === "aria2" ? "aria2-seed" : "lt-seed", String(k));
}

/**
 * Makes every hard link the BitTorrent seeders will use before any seeder
 * starts, then waits until the file's ctime is old enough to vouch for its
 * bytes. Why: a new link moves the file's ctime, and a Shoal seeder that
 * sees the ctime move re-hashes the file in the background before it trusts
 * it again (peer/library/library.ts); links made between cases put that
 * re-hash, three seeders' worth, into Shoal's first timed run.
 */
async function prepareSeedLinks(
  file: BenchFile,
  workDir: string,
  tools: readonly Tool[],
  seeders: number,
): Promise<void> {
  for (const tool of tools) {
    if (tool !== "aria2" && tool !== "libtorrent") continue;
    for (let k = 0; k < seeders; k++) {
      await linkedCopy(file, seedLinkDir(workDir, tool, k));
    }
  }
  await settleCtime(file.path);
}

async function linkedCopy(file: BenchFile, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const target = join(dir, file.name);
  try {
    await Deno.stat(target);
  } catch {
    await Deno.link(file.path, target);
  }
}

function aria2Common(dir: string, workDir: string): string[] {
  return [
    "--enable-dht=true",
    `--dht-file-path=${
      join(workDir, "aria2-dht", `${crypto.randomUUID()}.dat`)
    }`,
    `--dht-listen-port=${freeUdpPort()}`,
    "--enable-dht6=false",
    "--interface=127.0.0.1",
    "--disable-ipv6=true",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    `--listen-port=${freeTcpPort()}`,
    "--summary-interval=0",
    "--console-log-level=warn",
    "--auto-save-interval=0",
    `--dir=${dir}`,
  ];
}

/** How to run one BitTorrent client as seeders and as the leecher. */
interface BtClient {
  tool: "aria2" | "libtorrent";
  /** Shown in logs and errors. */
  label: string;
  /** Log file prefix. */
  logName: string;
  command: string;
  seederArgs(torrentPath: string, dir: string): string[];
  leecherArgs(torrentPath: string, out: string, timeoutMs: number): string[];
  /** Extra wait past the leecher's own timeout. @default {0} */
  exitSlackMs?: number;
  /** The client's own time for the download, from its output, if it says. */
  selfSeconds?(lines: readonly string[]): number | null;
}

function aria2Client(workDir: string): BtClient {
  return {
    tool: "aria2",
    label: "aria2c leecher",
    logName: "aria2",
    command: "aria2c",
    seederArgs: (torrentPath, dir) => [
      ...aria2Common(dir, workDir),
      "--seed-ratio=0.0",
      "--bt-seed-unverified=true",
      "--check-integrity=false",
      torrentPath,
    ],
    leecherArgs: (torrentPath, out) => [
      ...aria2Common(out, workDir),
      "--seed-time=0",
      "--file-allocation=none",
      torrentPath,
    ],
  };
}

const LIBTORRENT_CLIENT: BtClient = {
  tool: "libtorrent",
  label: "libtorrent leecher",
  logName: "lt",
  command: PYTHON,
  seederArgs: (torrentPath, dir) => [
    LT_CLIENT,
    "seed",
    torrentPath,
    dir,
    String(freeTcpPort()),
    "100000",
  ],
  leecherArgs: (torrentPath, out, timeoutMs) => [
    LT_CLIENT,
    "leech",
    torrentPath,
    out,
    String(freeTcpPort()),
    String(Math.ceil(timeoutMs / 1000)),
  ],
  exitSlackMs: 5_000,
  selfSeconds(lines) {
    const done = lines.join("\n").match(/done in ([\d.]+)s/);
    return done ? Number(done[1]) : null;
  },
};

async function aria2Env(
  file: BenchFile,
  seeders: number,
  workDir: string,
): Promise<Env> {
  await Deno.mkdir(join(workDir, "aria2-dht"), { recursive: true });
  return await btClientEnv(aria2Client(workDir), file, seeders, workDir);
}

function libtorrentEnv(
  file: BenchFile,
  seeders: number,
  workDir: string,
): Promise<Env> {
  return btClientEnv(LIBTORRENT_CLIENT, file, seeders, workDir);
}

/** An opentracker, `seeders` seeders of one client, and a fresh leecher per run. */
async function btClientEnv(
  client: BtClient,
  file: BenchFile,
  seeders: number,
  workDir: string,
): Promise<Env> {
  const ot = await startOpentracker(file, workDir, client.tool);
  const seeds: BenchProcess[] = [];
  const close = async () => {
    await Promise.all([...seeds, ot.proc].map((p) => p.stop()));
  };
  const logPath = (role: string, n: number) =>
    join(
      workDir,
      "logs",
      `${client.logName}-${role}-${sizeLabel(file.size)}x${seeders}-${n}.log`,
    );
  try {
    for (let k = 0; k < seeders; k++) {
      const dir = seedLinkDir(workDir, client.tool, k);
      await linkedCopy(file, dir);
      seeds.push(
        spawnProcess(`${client.tool} seeder ${k}`, client.command, {
          args: client.seederArgs(ot.torrentPath, dir),
          logPath: logPath("seeder", k),
        }),
      );
    }
    await waitSeeders(ot.port, ot.infoHash, seeders, REGISTERED_MS);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    tool: client.tool,
    close,
    async runOnce(run) {
      const out = join(workDir, "dl", client.tool);
      await removeDir(out);
      await Deno.mkdir(out, { recursive: true });
      for (const p of [ot.proc, ...seeds]) p.resetPeak();
      const seedersCpu = cpuOf(seeds);
      const timeoutMs = leecherTimeoutMs(file.size);
      const leecher = spawnProcess(`${client.tool} leecher`, client.command, {
        args: client.leecherArgs(ot.torrentPath, out, timeoutMs),
        logPath: logPath("leecher", run),
      });
      try {
        const status = await leecher.waitExit(
          timeoutMs + (client.exitSlackMs ?? 0),
        );
        if (!status) {
          throw new Error(`${client.label} timed out:\n${leecher.tail()}`);
        }
        if (status.code !== 0) {
          throw new Error(
            `${client.label} exited with ${status.code}:\n${leecher.tail()}`,
          );
        }
        await checkDownload(join(out, file.name), file);
        const selfSeconds = client.selfSeconds?.(leecher.lines) ?? null;
        return {
          seconds: leecher.elapsedMs! / 1000,
          leecherPeak: leecher.peakBytes || null,
          leecherCpuSeconds: leecher.cpuSeconds,
          seederPeak: maxPeak(seeds),
          seedersCpuSeconds: cpuOf(seeds) - seedersCpu,
          trackerPeak: maxPeak([ot.proc]),
          ...(selfSeconds !== null ? { selfSeconds } : {}),
        };
      } finally {
        await leecher.stop();
        await removeDir(out);
      }
    },
  };
}

// ---- availability ----------------------------------------------------------

/** Why a tool cannot run here, or null when it can. */
export async function missingFor(tool: Tool): Promise<string | null> {
  const need = (programs: string[]) => {
    const missing = programs.filter((p) => !which(p));
    return missing.length ? `not installed: ${missing.join(", ")}` : null;
  };
  switch (tool) {
    case "shoal":
    case "shoal-run":
      return null;
    case "floor":
      return need(["socat", "openssl"]);
    case "floor-synced":
      return need(["socat", "openssl", "sync"]);
    case "aria2":
      return need(["aria2c", "opentracker", "mktorrent"]);
    case "libtorrent": {
      const missing = need(["opentracker", "mktorrent", PYTHON]);
      if (missing) return missing;
      try {
        await Deno.stat(LT_CLIENT);
      } catch {
        return `missing ${LT_CLIENT}`;
      }
      const r = await runToEnd(PYTHON, ["-c", "import libtorrent"], 20_000);
      return r.code === 0 ? null : "python3-libtorrent cannot be imported";
    }
  }
}

/** What the tools of one (size, seeders) case share: Shoal's swarm. */
interface CaseShared {
  shoal?: Promise<ShoalSwarm>;
}

async function startEnv(
  tool: Tool,
  file: BenchFile,
  seeders: number,
  options: SwarmOptions,
  shared: CaseShared,
): Promise<Env> {
  const workDir = options.workDir;
  const repoDir = options.repoDir ?? REPO_DIR;
  switch (tool) {
    case "shoal":
    case "shoal-run": {
      // Both leechers download from the same tracker and seeders.
      shared.shoal ??= startShoalSwarm(file, seeders, workDir, repoDir);
      return shoalEnv(tool, await shared.shoal, file, workDir, repoDir);
    }
    case "floor":
    case "floor-synced":
      return floorEnv(file, workDir, tool === "floor-synced");
    case "aria2":
      return await aria2Env(file, seeders, workDir);
    case "libtorrent":
      return await libtorrentEnv(file, seeders, workDir);
  }
}

// ---- the benchmark ---------------------------------------------------------

/**
 * Runs every (size, seeders) case: starts each tool's tracker and seeders,
 * then `runs` rounds in which every tool downloads the file once (in
 * {@linkcode roundOrder}'s order), then stops them.
 *
 * @param options sizes, seeder counts, runs, tools, work folder
 * @returns one result per (size, seeders, tool)
 */
export async function runSwarmBench(
  options: SwarmOptions,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const skipped = new Map<Tool, string>();
  for (const tool of options.only) {
    const why = await missingFor(tool);
    if (why) {
      skipped.set(tool, why);
      log(`skipping ${tool}: ${why}`);
    }
  }
  await Deno.mkdir(join(options.workDir, "logs"), { recursive: true });
  try {
    for (const size of options.sizes) {
      const file = await makeFile(options.workDir, size);
      await prepareSeedLinks(
        file,
        options.workDir,
        options.only.filter((tool) => !skipped.has(tool)),
        Math.max(...options.seeders),
      );
      for (const seeders of options.seeders) {
        const cases = new Map<Tool, CaseResult>();
        const envs: Env[] = [];
        const shared: CaseShared = {};
        for (const tool of options.only) {
          const result: CaseResult = {
            size,
            seeders,
            tool,
            samples: [],
            errors: [],
          };
          cases.set(tool, result);
          results.push(result);
          const why = skipped.get(tool);
          if (why) {
            result.skipped = why;
            continue;
          }
          try {
            log(`${sizeLabel(size)} x ${seeders}: starting ${tool}`);
            envs.push(await startEnv(tool, file, seeders, options, shared));
          } catch (error) {
            result.skipped = `setup failed: ${String(error).split("\n")[0]}`;
            log(`${tool}: ${error instanceof Error ? error.stack : error}`);
          }
        }
        try {
          for (let run = 0; run < options.runs; run++) {
            const order = roundOrder(envs, run);
            for (const env of order) {
              const result = cases.get(env.tool)!;
              try {
                await warmFreeMemory(dirname(file.path), size);
                const busy = machineBusy();
                const reclaimed = hostReclaimed();
                const sample = await env.runOnce(run);
                sample.round = run;
                const share = busy.stop();
                if (share !== null) sample.machineBusy = share;
                const handedBack = reclaimed.stop();
                if (handedBack !== null) sample.hostReclaimed = handedBack;
                result.samples.push(sample);
                log(
                  `${sizeLabel(size)} x ${seeders} run ${
                    run + 1
                  }/${options.runs} ${env.tool}: ${
                    sample.seconds.toFixed(2)
                  } s, leecher ${mib(sample.leecherPeak)} ${
                    sample.leecherCpuSeconds?.toFixed(2)
                  } CPU s, seeder ${mib(sample.seederPeak)}${
                    sample.seedersCpuSeconds === undefined
                      ? ""
                      : `, seeders ${sample.seedersCpuSeconds.toFixed(2)} CPU s`
                  }, machine busy ${
                    ((sample.machineBusy ?? NaN) * 100).toFixed(0)
                  }%`,
                );
              } catch (error) {
                const message = error instanceof Error
                  ? error.message
                  : String(error);
                result.errors.push(message.split("\n")[0]!);
                log(`${env.tool} run ${run + 1} failed: ${message}`);
              }
            }
          }
        } finally {
          for (const env of envs) await env.close();
        }
      }
    }
  } finally {
    await stopAll();
  }
  return results;
}

/** The figures of one result, summarised. */
export interface CaseSummary {
  seconds: Summary | null;
  mbPerSecond: Summary | null;
  leecherPeak: Summary | null;
  seederPeak: Summary | null;
  trackerPeak: Summary | null;
  leecherCpuSeconds: Summary | null;
  machineBusy: Summary | null;
}

/** Medians, minima and maxima of a result's samples. */
export function summarizeCase(result: CaseResult): CaseSummary {
  const s = result.samples;
  return {
    seconds: summarize(s.map((x) => x.seconds)),
    mbPerSecond: summarize(s.map((x) => result.size / x.seconds / 1e6)),
    leecherPeak: summarize(s.map((x) => x.leecherPeak)),
    seederPeak: summarize(s.map((x) => x.seederPeak)),
    trackerPeak: summarize(s.map((x) => x.trackerPeak)),
    leecherCpuSeconds: summarize(s.map((x) => x.leecherCpuSeconds ?? null)),
    machineBusy: summarize(s.map((x) => x.machineBusy ?? null)),
  };
}

/**
 * The results as a text table: medians with [min-max], each time's ratio
 * to the floor's, and each figure's ratio to Shoal's in the same case
 * (tool / Shoal).
 */
export function swarmTable(results: readonly CaseResult[]): string {
  const header = [
    "case",
    "tool",
    "runs",
    "time s (min-max)",
    "vs floor",
    "vs shoal",
    "MB/s",
    "vs shoal",
    "leecher RSS",
    "vs shoal",
    "seeder RSS",
    "vs shoal",
    "tracker RSS",
    "vs shoal",
    "leecher CPU s",
    "vs shoal",
    "busy",
  ];
  const rows: string[][] = [];
  const key = (r: CaseResult) => `${r.size}/${r.seeders}`;
  const shoal = new Map<string, CaseSummary>();
  const floor = new Map<string, CaseSummary>();
  for (const r of results) {
    if (r.tool === "shoal") shoal.set(key(r), summarizeCase(r));
    if (r.tool === "floor") floor.set(key(r), summarizeCase(r));
  }
  for (const r of results) {
    const label = `${sizeLabel(r.size)} x${r.seeders}`;
    if (r.skipped || r.samples.length === 0) {
      rows.push([
        label,
        r.tool,
        "0",
        r.skipped ?? `failed: ${r.errors[0] ?? "?"}`,
        ...Array(13).fill(""),
      ]);
      continue;
    }
    const s = summarizeCase(r);
    const b = shoal.get(key(r));
    const f = floor.get(key(r));
    const fails = r.errors.length ? ` (${r.errors.length} failed)` : "";
    rows.push([
      label,
      r.tool,
      `${r.samples.length}${fails}`,
      `${s.seconds!.median.toFixed(2)} (${s.seconds!.min.toFixed(2)}-${
        s.seconds!.max.toFixed(2)
      })`,
      ratio(s.seconds?.median, f?.seconds?.median),
      ratio(s.seconds?.median, b?.seconds?.median),
      s.mbPerSecond!.median.toFixed(0),
      ratio(s.mbPerSecond?.median, b?.mbPerSecond?.median),
      mib(s.leecherPeak?.median),
      ratio(s.leecherPeak?.median, b?.leecherPeak?.median),
      mib(s.seederPeak?.median),
      ratio(s.seederPeak?.median, b?.seederPeak?.median),
      mib(s.trackerPeak?.median),
      ratio(s.trackerPeak?.median, b?.trackerPeak?.median),
      s.leecherCpuSeconds ? s.leecherCpuSeconds.median.toFixed(2) : "-",
      ratio(s.leecherCpuSeconds?.median, b?.leecherCpuSeconds?.median),
      s.machineBusy ? `${(s.machineBusy.median * 100).toFixed(0)}%` : "-",
    ]);
  }
  return renderTable(header, rows);
}

/** Parses "shoal,floor" into tools; throws on an unknown name. */
export function parseTools(text: string): Tool[] {
  const tools = text.split(",").map((t) => t.trim()).filter(Boolean);
  for (const t of tools) {
    if (!(TOOLS as readonly string[]).includes(t)) {
      throw new RangeError(
        `Cannot parse --only: "${t}" is not one of ${TOOLS.join(", ")}`,
      );
    }
  }
  return TOOLS.filter((t) => tools.includes(t));
}

/** Parses "256M,1G". */
export function parseSizes(text: string): number[] {
  return text.split(",").map(parseSize);
}

const USAGE = `Usage: deno run -A bench/swarm.ts [options]

Times one leecher per tool and run on loopback: the floor (socat copy, then
openssl dgst -sha256), floor-synced (the same, with the copy flushed to
disk by sync --data before the hash), Shoal as a user starts it (deno task
peer --get NAME --no-seed), the same peer started directly (shoal-run),
aria2c and libtorrent, each with its own tracker and N seeders. Prints the
table, the targets of issue 16 and where Shoal's time went, then one JSON
line.

Options:
  --sizes LIST     file sizes (default 256M)
  --seeders LIST   seeder counts (default 1)
  --runs N         interleaved runs per case (default 1)
  --only LIST      tools: ${TOOLS.join(",")} (default all)
  --dir DIR        work folder (default a new temp folder, removed at the end)
  --help           print this help`;

if (import.meta.main) {
  const { phasesTable, swarmTargets, targetsTable } = await import(
    "./_swarm_report.ts"
  );
  const values = benchArgs(Deno.args, {
    sizes: { type: "string", default: "256M" },
    seeders: { type: "string", default: "1" },
    runs: { type: "string", default: "1" },
    only: { type: "string", default: TOOLS.join(",") },
    dir: { type: "string" },
  }, USAGE);
  if (!values) Deno.exit(0);
  const workDir = values.dir ??
    await Deno.makeTempDir({ prefix: "shoal-bench-" });
  await Deno.chmod(workDir, 0o755);
  const results = await runSwarmBench({
    sizes: parseSizes(values.sizes),
    seeders: values.seeders.split(",").map(Number),
    runs: Number(values.runs),
    only: parseTools(values.only),
    workDir,
  });
  console.log(swarmTable(results));
  console.log(`\nTargets (issue 16; RSS: the highest peak over the runs)\n`);
  console.log(targetsTable(results));
  console.log(
    `\nWhere Shoal's time went (seconds, median of each part over the runs)\n`,
  );
  console.log(phasesTable(results));
  console.log(JSON.stringify({
    bench: "swarm",
    date: new Date().toISOString(),
    targets: swarmTargets(results),
    results,
  }));
  if (!values.dir) await removeDir(workDir);
}
