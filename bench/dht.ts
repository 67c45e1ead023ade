// deno-lint-ignore-file no-console
/**
 * Discovery on loopback (issue 18; docs/SCALE.md):
 *
 * 1. Lookups over a DHT of a few hundred nodes: npm:bittorrent-dht nodes
 *    (the library the peers use) in this process, on 127.0.0.1; for each
 *    size, random keys announced by one node and looked up from another:
 *    time to the first peer, time to the lookup's end, nodes queried.
 * 2. Time from a leecher's start to its first peer: a real peer process
 *    (`--get ID --no-seed`) against a listener that stands for a seeder,
 *    found through the tracker alone, through the DHT alone (the DHT of
 *    part 1), and through both; Deno's start-up (`--version`) for scale.
 * 3. The DHT's cost in an idle seeder: two seeders of the same file, one
 *    with `--no-dht` and one in the DHT of part 1, side by side for a
 *    minute: resident memory and CPU time.
 * 4. Whether the DHT slows a transfer: one seeder, leechers with the DHT
 *    off and on (its worker starts during the transfer), interleaved.
 *
 * Nothing leaves 127.0.0.1: every peer is given `--no-dht` or a loopback
 * `--dht-bootstrap` (bench/_shoal_args.ts). Prints tables, then one JSON
 * line.
 *
 * @module
 */
import { benchArgs } from "./_cli.ts";
import { Buffer } from "node:buffer";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import DHT from "bittorrent-dht";
import { toHex } from "@shoal/protocol";
import { TrackerClient } from "../peer/tracker_client.ts";
import { PEER_V8_FLAGS } from "../peer/launch.ts";
import {
  freeUdpPort,
  readCpuTicks,
  readStatusKiB,
  sleep,
  spawnProcess,
  stopAll,
} from "./_proc.ts";
import {
  parseSize,
  quantile,
  renderTable,
  sizeLabel,
  summarize,
} from "./_stats.ts";
import { leecherArgs, seederArgs, trackerArgs } from "./_shoal_args.ts";

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
const DENO = Deno.execPath();

const USAGE = `Usage: deno run -A bench/dht.ts [options]

Options:
  --nodes LIST       DHT sizes for the lookup table (default 100,300)
  --lookups N        lookups per size (default 20)
  --runs N           leecher starts per discovery path (default 5)
  --idle-seconds S   idle seeders watched this long (default 60)
  --transfer SIZE    file for the transfer A/B (default 128M; 0 skips it)
  --quick            --nodes 50,100 --lookups 5 --runs 2 --idle-seconds 10
                     --transfer 32M
  --help             print this help`;

/** The part of bittorrent-dht's DHT this benchmark uses. */
interface DhtLibrary {
  listen(port: number, host: string, onListening: () => void): void;
  address(): { port: number };
  announce(infoHash: Buffer, port: number, cb: (error?: Error) => void): void;
  lookup(infoHash: Buffer, cb: (error?: Error, visited?: number) => void): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  off(event: string, listener: (...args: unknown[]) => void): void;
  once(event: string, listener: (...args: unknown[]) => void): void;
  destroy(cb: () => void): void;
}

/** A DHT of `n` nodes in this process; node 0 is everyone's bootstrap. */
async function startDht(n: number): Promise<DhtLibrary[]> {
  const nodes: DhtLibrary[] = [];
  const listen = async (bootstrap: string[] | false) => {
    const node = new DHT({ bootstrap } as never) as unknown as DhtLibrary;
    node.on("warning", () => {});
    await new Promise<void>((resolve) =>
      node.listen(0, "127.0.0.1", () => resolve())
    );
    nodes.push(node);
    return node;
  };
  const boot = await listen(false);
  const bootAddress = `127.0.0.1:${boot.address().port}`;
  // Joined in small batches, each through the bootstrap node and a random
  // earlier node, as a DHT grows.
  for (let i = 1; i < n; i += 20) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 20); j++) {
      const other = nodes[Math.floor(Math.random() * nodes.length)]!;
      const node = await listen([
        bootAddress,
        `127.0.0.1:${other.address().port}`,
      ]);
      batch.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          node.once("ready", () => {
            clearTimeout(timer);
            resolve();
          });
        }),
      );
    }
    await Promise.all(batch);
  }
  return nodes;
}

async function stopDht(nodes: readonly DhtLibrary[]): Promise<void> {
  await Promise.all(
    nodes.map((node) =>
      new Promise<void>((resolve) => node.destroy(() => resolve()))
    ),
  );
}

function announce(node: DhtLibrary, key: Buffer, port: number): Promise<void> {
  return new Promise((resolve) => node.announce(key, port, () => resolve()));
}

interface LookupSample {
  firstPeerMs: number | null;
  lookupMs: number;
  visited: number;
}

/** One lookup of `key` from `node`: when the first peer came, when it ended. */
function timedLookup(node: DhtLibrary, key: Buffer): Promise<LookupSample> {
  const started = performance.now();
  let firstPeerMs: number | null = null;
  const onPeer = (_peer: unknown, infoHash: unknown) => {
    if (firstPeerMs !== null || !(infoHash instanceof Uint8Array)) return;
    if (Buffer.from(infoHash).equals(key)) {
      firstPeerMs = performance.now() - started;
    }
  };
  node.on("peer", onPeer);
  return new Promise((resolve) =>
    node.lookup(key, (_error, visited) => {
      node.off("peer", onPeer);
      resolve({
        firstPeerMs,
        lookupMs: performance.now() - started,
        visited: visited ?? 0,
      });
    })
  );
}

interface LookupRow {
  nodes: number;
  lookups: number;
  found: number;
  firstPeerMs: { median: number; p90: number } | null;
  lookupMs: { median: number; p90: number };
  visited: { median: number; p90: number };
}

function medianP90(values: number[]): { median: number; p90: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: summarize(sorted)!.median, p90: quantile(sorted, 0.9) };
}

async function lookupRow(
  nodes: readonly DhtLibrary[],
  lookups: number,
): Promise<LookupRow> {
  const samples: LookupSample[] = [];
  for (let i = 0; i < lookups; i++) {
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(20)));
    const from = Math.floor(Math.random() * nodes.length);
    let to = Math.floor(Math.random() * nodes.length);
    if (to === from) to = (to + 1) % nodes.length;
    await announce(nodes[from]!, key, 10_000 + i);
    samples.push(await timedLookup(nodes[to]!, key));
  }
  const first = samples.flatMap((s) =>
    s.firstPeerMs === null ? [] : [s.firstPeerMs]
  );
  return {
    nodes: nodes.length,
    lookups,
    found: first.length,
    firstPeerMs: first.length ? medianP90(first) : null,
    lookupMs: medianP90(samples.map((s) => s.lookupMs)),
    visited: medianP90(samples.map((s) => s.visited)),
  };
}

/** A TCP listener standing for a seeder: notes when each connection came. */
function fakeSeeder() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let waiter: ((ms: number) => void) | null = null;
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        (waiter as ((ms: number) => void) | null)?.(performance.now());
        waiter = null;
        conn.close();
      }
    } catch {
      // Closed at the end.
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    nextConnection: () => new Promise<number>((resolve) => (waiter = resolve)),
    async close() {
      listener.close();
      await accepting;
    },
  };
}

type Path = "tracker" | "dht" | "both";

/** Starts a leecher of `id` by `path`; the time until its first connection. */
async function timeToFirstPeer(
  path: Path,
  id: string,
  trackerPort: number,
  dhtPort: number,
  seeder: ReturnType<typeof fakeSeeder>,
  dir: string,
): Promise<number | null> {
  const discovery = {
    tracker: ["--tracker", `127.0.0.1:${trackerPort}`, "--no-dht"],
    dht: ["--dht-bootstrap", `127.0.0.1:${dhtPort}`],
    both: [
      "--tracker",
      `127.0.0.1:${trackerPort}`,
      "--dht-bootstrap",
      `127.0.0.1:${dhtPort}`,
    ],
  }[path];
  const connected = seeder.nextConnection();
  const started = performance.now();
  const leecher = spawnProcess(`leecher (${path})`, DENO, {
    args: [
      "run",
      PEER_V8_FLAGS,
      "-A",
      "peer/main.ts",
      "--get",
      id,
      "--no-seed",
      "--out",
      join(dir, `out-${path}-${crypto.randomUUID()}`),
      "--give-up-after",
      "20",
      ...discovery,
    ],
    cwd: REPO,
  });
  const at = await Promise.race([connected, sleep(30_000).then(() => null)]);
  await leecher.stop(2_000);
  return at === null ? null : at - started;
}

/** Milliseconds for `deno run peer/main.ts --version`: Deno's start-up. */
async function startupMs(): Promise<number> {
  const started = performance.now();
  const proc = spawnProcess("peer --version", DENO, {
    args: ["run", PEER_V8_FLAGS, "-A", "peer/main.ts", "--version"],
    cwd: REPO,
  });
  await proc.waitExit(30_000);
  return performance.now() - started;
}

interface IdleRow {
  seeder: string;
  rssMiB: number | null;
  cpuSeconds: number | null;
  corePercent: number | null;
}

/** Two idle seeders side by side, one with the DHT: memory and CPU. */
async function idleSeeders(
  trackerPort: number,
  dhtPort: number,
  seconds: number,
  dir: string,
): Promise<IdleRow[]> {
  const file = join(dir, "idle.bin");
  await Deno.writeFile(file, crypto.getRandomValues(new Uint8Array(65_536)));
  const variants: [string, string[]][] = [
    ["--no-dht", ["--no-dht"]],
    ["DHT (loopback DHT)", ["--dht-bootstrap", `127.0.0.1:${dhtPort}`]],
  ];
  const seeders = variants.map(([name, flags]) =>
    spawnProcess(`idle seeder ${name}`, DENO, {
      args: seederArgs(
        trackerPort,
        file,
        join(dir, `idle-${name.replace(/\W+/g, "")}`),
        flags,
      ),
      cwd: REPO,
    })
  );
  await Promise.all(
    seeders.map((s) => s.waitForLine(/serving peers on port/, 60_000)),
  );
  // Past start-up (hashing, the first announces).
  await sleep(3_000);
  const before = seeders.map((s) => readCpuTicks(s.pid));
  const rss: number[][] = seeders.map(() => []);
  for (let t = 0; t < seconds; t++) {
    await sleep(1_000);
    seeders.forEach((s, i) => {
      const kib = readStatusKiB(s.pid, "VmRSS");
      if (kib !== null) rss[i]!.push(kib / 1024);
    });
  }
  const after = seeders.map((s) => readCpuTicks(s.pid));
  const rows = variants.map(([name], i): IdleRow => {
    const cpu = before[i] != null && after[i] != null
      ? (after[i]! - before[i]!) / 100
      : null;
    return {
      seeder: name,
      rssMiB: summarize(rss[i]!)?.median ?? null,
      cpuSeconds: cpu,
      corePercent: cpu === null ? null : (cpu / seconds) * 100,
    };
  });
  await Promise.all(seeders.map((s) => s.stop(2_000)));
  return rows;
}

/** Seconds from start to the "checked" line, and to the exit, by DHT off and on. */
interface TransferTimes {
  off: number[];
  on: number[];
  offExit: number[];
  onExit: number[];
}

/** Seconds per download of `size` bytes, DHT off and on, interleaved. */
async function transferAb(
  trackerPort: number,
  dhtPort: number,
  size: number,
  runs: number,
  dir: string,
): Promise<TransferTimes> {
  const file = join(dir, "transfer.bin");
  const chunk = new Uint8Array(1 << 20);
  using out = await Deno.open(file, { write: true, create: true });
  for (let left = size; left > 0; left -= chunk.length) {
    crypto.getRandomValues(chunk.subarray(0, 65_536));
    await out.write(chunk.subarray(0, Math.min(left, chunk.length)));
  }
  const seeder = spawnProcess("transfer seeder", DENO, {
    args: seederArgs(trackerPort, file, join(dir, "transfer-seed")),
    cwd: REPO,
  });
  await seeder.waitForLine(/serving peers on port/, 120_000);
  const result: TransferTimes = { off: [], on: [], offExit: [], onExit: [] };
  try {
    for (let run = 0; run < runs; run++) {
      for (const dht of ["off", "on"] as const) {
        console.error(`[dht] transfer ${run + 1}/${runs}, DHT ${dht}`);
        const args = leecherArgs(
          trackerPort,
          "transfer.bin",
          join(dir, `transfer-${dht}-${run}`),
        );
        // leecherArgs turns the DHT off; "on" swaps that for the loopback DHT.
        const flags = dht === "off" ? args : [
          ...args.filter((arg) => arg !== "--no-dht"),
          "--dht-bootstrap",
          `127.0.0.1:${dhtPort}`,
        ];
        const started = performance.now();
        const leecher = spawnProcess(`leecher DHT ${dht}`, DENO, {
          args: flags,
          cwd: REPO,
        });
        // The file is checked and in place: the transfer is over.
        await leecher.waitForLine(/^checked /, 300_000);
        result[dht].push((performance.now() - started) / 1000);
        const status = await leecher.waitExit(60_000);
        if (status?.code !== 0) {
          throw new Error(`leecher (DHT ${dht}) failed:\n${leecher.tail()}`);
        }
        result[`${dht}Exit`].push((performance.now() - started) / 1000);
      }
    }
  } finally {
    await seeder.stop(2_000);
  }
  return result;
}

/**
 * Runs the discovery benchmark.
 *
 * @param args options (see the usage text)
 * @returns the exit code
 */
export async function runDhtBench(args: string[]): Promise<number> {
  const values = benchArgs(args, {
    nodes: { type: "string" },
    lookups: { type: "string" },
    runs: { type: "string" },
    "idle-seconds": { type: "string" },
    transfer: { type: "string" },
    quick: { type: "boolean", default: false },
  }, USAGE);
  if (!values) return 0;
  const quick = values.quick;
  const sizes = (values.nodes ?? (quick ? "50,100" : "100,300")).split(",")
    .map(Number);
  const lookups = Number(values.lookups ?? (quick ? 5 : 20));
  const runs = Number(values.runs ?? (quick ? 2 : 5));
  const idleSeconds = Number(values["idle-seconds"] ?? (quick ? 10 : 60));
  const transferBytes = parseSize(values.transfer ?? (quick ? "32M" : "128M"));
  if (sizes.some((n) => !(Number.isInteger(n) && n >= 2 && n <= 2_000))) {
    console.error(
      `dht bench: --nodes takes sizes 2 to 2000, not ${values.nodes}`,
    );
    return 2;
  }
  for (
    const [name, value, max] of [
      ["--lookups", lookups, 1_000],
      ["--runs", runs, 100],
      ["--idle-seconds", idleSeconds, 3_600],
    ] as const
  ) {
    if (!(Number.isInteger(value) && value >= 1 && value <= max)) {
      console.error(`dht bench: ${name} takes 1 to ${max}, not ${value}`);
      return 2;
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "shoal-dht-bench-" });
  const lookupRows: LookupRow[] = [];
  const firstPeer: Record<Path | "startup", number[]> = {
    tracker: [],
    dht: [],
    both: [],
    startup: [],
  };
  let missed = 0;
  let idle: IdleRow[] = [];
  let transfer: TransferTimes | null = null;
  let dht: DhtLibrary[] = [];
  const trackerPort = freeUdpPort();
  const tracker = spawnProcess("tracker", DENO, {
    args: trackerArgs(trackerPort),
    cwd: REPO,
  });
  try {
    await tracker.waitForLine(/tracker listening/, 30_000);
    for (const n of [...sizes].sort((a, b) => a - b)) {
      console.error(`[dht] ${n} nodes: joining`);
      await stopDht(dht);
      dht = await startDht(n);
      console.error(`[dht] ${n} nodes: ${lookups} lookups`);
      lookupRows.push(await lookupRow(dht, lookups));
    }
    // Parts 2 and 3 run in the largest DHT.
    const dhtPort = dht[0]!.address().port;
    const seeder = fakeSeeder();
    const id = crypto.getRandomValues(new Uint8Array(32));
    await using client = await TrackerClient.open({
      host: "127.0.0.1",
      port: trackerPort,
    });
    await client.register(
      crypto.getRandomValues(new Uint8Array(16)),
      seeder.port,
      [{
        id,
        name: "bench.bin",
        size: 1,
        chunkCount: 1,
        complete: true,
      }],
    );
    await announce(
      dht[Math.floor(Math.random() * dht.length)]!,
      Buffer.from(id.subarray(0, 20)),
      seeder.port,
    );
    try {
      for (let run = 0; run < runs; run++) {
        console.error(`[dht] time to first peer, run ${run + 1}/${runs}`);
        firstPeer.startup.push(await startupMs());
        for (const path of ["tracker", "dht", "both"] as const) {
          const ms = await timeToFirstPeer(
            path,
            toHex(id),
            trackerPort,
            dhtPort,
            seeder,
            dir,
          );
          if (ms === null) missed++;
          else firstPeer[path].push(ms);
        }
      }
    } finally {
      await seeder.close();
    }
    console.error(`[dht] idle seeders for ${idleSeconds} s`);
    idle = await idleSeeders(trackerPort, dhtPort, idleSeconds, dir);
    if (transferBytes > 0) {
      transfer = await transferAb(
        trackerPort,
        dhtPort,
        transferBytes,
        runs,
        dir,
      );
    }
  } finally {
    await stopAll();
    await stopDht(dht);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const f = (ms: number | undefined) => ms === undefined ? "-" : ms.toFixed(0);
  console.log(
    `\nDHT lookups on loopback (npm:bittorrent-dht nodes in one process): ${lookups} random keys per size, each announced by one node and looked up from another\n`,
  );
  console.log(renderTable(
    [
      "nodes",
      "log2 n",
      "found",
      "first peer ms (med/p90)",
      "lookup ms (med/p90)",
      "nodes queried (med/p90)",
    ],
    lookupRows.map((row) => [
      String(row.nodes),
      Math.log2(row.nodes).toFixed(1),
      `${row.found}/${row.lookups}`,
      row.firstPeerMs
        ? `${f(row.firstPeerMs.median)} / ${f(row.firstPeerMs.p90)}`
        : "-",
      `${f(row.lookupMs.median)} / ${f(row.lookupMs.p90)}`,
      `${row.visited.median} / ${row.visited.p90}`,
    ]),
  ));
  console.log(
    `\nTime from a leecher's start to its first peer (a connection to the seeder), ${runs} runs each; the DHT has ${
      lookupRows.at(-1)?.nodes ?? 0
    } nodes\n`,
  );
  const pathRow = (label: string, values: number[]) => {
    const s = summarize(values);
    return [
      label,
      s ? f(s.median) : "-",
      s ? `${f(s.min)}-${f(s.max)}` : "-",
    ];
  };
  console.log(renderTable(["path", "median ms", "min-max"], [
    pathRow("Deno start-up (--version)", firstPeer.startup),
    pathRow("tracker alone (--no-dht)", firstPeer.tracker),
    pathRow("DHT alone (no tracker)", firstPeer.dht),
    pathRow("tracker and DHT", firstPeer.both),
  ]));
  if (missed > 0) console.log(`no first peer within 30 s: ${missed} runs`);
  console.log(
    `\nIdle seeder (one 64 KiB file, one tracker), ${idleSeconds} s side by side: resident memory (median of 1 s samples) and CPU time\n`,
  );
  console.log(renderTable(
    ["seeder", "RSS MiB", "CPU s", "% of a core"],
    idle.map((row) => [
      row.seeder,
      row.rssMiB === null ? "-" : row.rssMiB.toFixed(1),
      row.cpuSeconds === null ? "-" : row.cpuSeconds.toFixed(2),
      row.corePercent === null ? "-" : row.corePercent.toFixed(2),
    ]),
  ));
  if (transfer) {
    console.log(
      `\nOne download of ${
        sizeLabel(transferBytes)
      } from one seeder (tracker), the leecher's DHT off and on, ${runs} interleaved runs: seconds from its start to its "checked" line (the file in place), and to its exit\n`,
    );
    const cells = (values: number[]) => {
      const s = summarize(values);
      return s
        ? [s.median.toFixed(2), `${s.min.toFixed(2)}-${s.max.toFixed(2)}`]
        : ["-", "-"];
    };
    console.log(renderTable(
      ["leecher", "done s", "min-max", "exit s", "min-max"],
      [
        ["--no-dht", ...cells(transfer.off), ...cells(transfer.offExit)],
        ["DHT on (loopback)", ...cells(transfer.on), ...cells(transfer.onExit)],
      ],
    ));
  }
  console.log(JSON.stringify({
    bench: "dht",
    date: new Date().toISOString(),
    lookups: lookupRows,
    firstPeerMs: firstPeer,
    missed,
    idle: { seconds: idleSeconds, rows: idle },
    transfer: transfer ? { bytes: transferBytes, seconds: transfer } : null,
  }));
  return missed > 0 ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await runDhtBench(Deno.args));
}
