// deno-lint-ignore-file no-console
/**
 * Hashing speed (issue 16, "One pass"): a chunk's hash is the BEP 52 Merkle
 * root over its 16 KiB blocks, so `node:crypto` is called once per leaf and
 * once per inner node instead of once per chunk. This measures, in MB/s of
 * chunk bytes, in this process, on one core:
 *
 * - plain SHA-256 of a whole chunk (`createHash`, the old chunk hash: the
 *   floor for the same bytes through the same library);
 * - `chunkDigest` (the leecher's fetch workers and the seeder's checks), on
 *   512 KiB and 4 MiB chunks;
 * - `ManifestBuilder` over a 256 MiB stream fed from memory in 1 MiB reads
 *   (the seeder's manifest worker, without the disk), beside plain SHA-256
 *   streamed over the same bytes;
 * - `openssl dgst -sha256` of a 1 GiB file (page cache, process start-up
 *   included) when openssl is on PATH: what the machine can do;
 * - the cost of one call, to show where the time goes: a 16 KiB leaf and a
 *   64-byte inner node through `createHash(...).digest()` (a Buffer) and
 *   `.digest("hex")` read back with `setFromHex`, an inner node through
 *   protocol/_sha256_pair.ts (JavaScript), and a chunk's leaves as
 *   `crypto.subtle.digest` promises awaited together;
 * - what each loop leaves for peer/gc_schedule.ts's full collections: 512
 *   MiB of chunks hashed, then one collection timed.
 *
 * Every loop is bounded by a call count and a time budget. Rounds take turns
 * through the cases; each shows its median round (min-max). Rates are per
 * CPU second of this process (`process.cpuUsage`), which other processes on
 * a shared machine do not stretch as they stretch the wall clock; the wall
 * clock's rate is shown too.
 *
 * ```sh
 * deno run -A bench/merkle_hash.ts            # about 40 s
 * deno run -A bench/merkle_hash.ts --quick    # about 5 s
 * git archive HEAD~1 | (mkdir -p /tmp/a && tar -x -C /tmp/a)
 * deno run -A bench/merkle_hash.ts --compare /tmp/a   # before and after
 * ```
 *
 * @module
 */
import { benchArgs } from "./_cli.ts";
import { createHash } from "node:crypto";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { basename, join, resolve } from "node:path";
import * as shoal from "@shoal/protocol";
import { parseSize, renderTable, sizeLabel, summarize } from "./_stats.ts";
import { GC_EVERY_BYTES, v8Collector } from "../peer/gc_schedule.ts";
import { sha256Pair } from "../protocol/_sha256_pair.ts";

const USAGE = `Usage: deno run -A bench/merkle_hash.ts [options]

Measures SHA-256 Merkle hashing (BEP 52 chunk hashes) against plain SHA-256
of the same bytes, and prints a table and one JSON line.

Options:
  --quick            short rounds, a 64 MiB stream and a 256 MiB openssl file
  --rounds N         rounds through the cases (default 5; quick 3)
  --budget-ms MS     time budget of one case in one round (default 300; quick 80)
  --stream SIZE      ManifestBuilder stream size (default 256M; quick 64M)
  --openssl SIZE     openssl file size, 0 to skip (default 1G; quick 256M)
  --gc SIZE          bytes of chunks hashed before the timed full collection,
                     0 to skip (default 512M, the peers' period; quick 128M)
  --compare LIST     also time chunkDigest and ManifestBuilder from other
                     checkouts of Shoal (folders, comma-separated; e.g. a
                     \`git archive\` of the commit before a change), in the
                     same rounds
  --dir DIR          folder for the openssl file (default a temporary one)
  --help             print this help and exit`;

const KIB = 1024;
const MIB = 1024 * KIB;
/** The manifest worker's read size (peer/workers/manifest_worker.ts). */
const READ_BYTES = MIB;
/** Bytes of random data behind every case; streams go round it. */
const DATA_BYTES = 8 * MIB;

/** Random bytes (the hash's speed does not depend on them). */
function randomBytes(count: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(count);
  // getRandomValues fills at most 64 KiB at a time.
  for (let at = 0; at < count; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  }
  return bytes;
}

/** One case: `run()` hashes `bytes` bytes once. */
interface Case {
  name: string;
  /** Bytes hashed by one call of `run`. */
  bytes: number;
  /** Calls per round at most (the time budget may stop a round sooner). */
  maxCalls: number;
  run: () => void | Promise<void>;
  /** MB per CPU second (this process's, all threads) of each round. */
  rates: number[];
  /** MB per wall-clock second of each round. */
  wallRates?: number[];
  /** The plain SHA-256 case over the same bytes, to compare with. */
  plain?: Case;
}

/** One result row, for the table and the JSON line. */
export interface MerkleRow {
  name: string;
  /** Bytes hashed by one call. */
  bytes: number;
  /** MB per CPU second: the median round. */
  mbPerS: number | null;
  min: number | null;
  max: number | null;
  /** MB per wall-clock second: the median round. */
  wallMbPerS: number | null;
  /** This row's rate / plain SHA-256's over the same unit, if any. */
  vsPlain: number | null;
}

/** The protocol functions timed: this checkout's, or another's (--compare). */
interface Protocol {
  /** "" for this checkout, " [DIR]" for another. */
  label: string;
  chunkDigest: typeof shoal.chunkDigest;
  ManifestBuilder: typeof shoal.ManifestBuilder;
}

/** A manifest whose chunks all have the full width: only size and chunk size matter. */
function manifestFor(chunkSize: number): shoal.Manifest {
  return {
    name: "bench",
    size: 1024 * chunkSize,
    chunkSize,
    chunkCount: 1024,
    piecesRoot: null,
    chunkHashes: new Uint8Array(1024 * 32),
  };
}

/**
 * Runs `c` until `maxCalls` calls or `budgetMs`, whichever first; records
 * MB per CPU second and per wall-clock second. CPU time is the figure to
 * compare: on a shared machine, other processes stretch the wall clock.
 */
async function round(c: Case, budgetMs: number): Promise<void> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let calls = 0;
  let elapsed = 0;
  while (calls < c.maxCalls && elapsed < budgetMs) {
    await c.run();
    calls++;
    elapsed = performance.now() - start;
  }
  const used = process.cpuUsage(cpu);
  const cpuSeconds = Math.max(used.user + used.system, 1) / 1e6;
  c.rates.push((calls * c.bytes) / cpuSeconds / 1e6);
  (c.wallRates ??= []).push((calls * c.bytes) / (elapsed / 1000) / 1e6);
}

function chunkCases(
  data: Uint8Array,
  chunkSize: number,
  protocols: readonly Protocol[],
): Case[] {
  const manifest = manifestFor(chunkSize);
  const chunks = DATA_BYTES / chunkSize;
  let next = 0;
  const chunk = () => {
    const at = (next++ % chunks) * chunkSize;
    return data.subarray(at, at + chunkSize);
  };
  const label = sizeLabel(chunkSize).replace("K", " KiB").replace("M", " MiB");
  const plain: Case = {
    name: `SHA-256 of a ${label} chunk (createHash)`,
    bytes: chunkSize,
    maxCalls: 100_000,
    run: () => void createHash("sha256").update(chunk()).digest(),
    rates: [],
  };
  return [
    plain,
    ...protocols.map((p): Case => ({
      name: `chunkDigest, ${label} chunk (Merkle)${p.label}`,
      bytes: chunkSize,
      maxCalls: 100_000,
      run: () => void p.chunkDigest(manifest, chunk()),
      rates: [],
      plain,
    })),
  ];
}

function streamCases(
  data: Uint8Array,
  streamBytes: number,
  protocols: readonly Protocol[],
): Case[] {
  const reads = streamBytes / READ_BYTES;
  const label = sizeLabel(streamBytes).replace("M", " MiB").replace(
    "G",
    " GiB",
  );
  const feed = (update: (bytes: Uint8Array) => void) => {
    for (let i = 0; i < reads; i++) {
      const at = (i * READ_BYTES) % DATA_BYTES;
      update(data.subarray(at, at + READ_BYTES));
    }
  };
  const plain: Case = {
    name: `SHA-256 of a ${label} stream (createHash)`,
    bytes: streamBytes,
    maxCalls: 1,
    run: () => {
      const hash = createHash("sha256");
      feed((bytes) => hash.update(bytes));
      hash.digest();
    },
    rates: [],
  };
  return [
    plain,
    ...protocols.map((p): Case => ({
      name: `ManifestBuilder, ${label} stream${p.label}`,
      bytes: streamBytes,
      maxCalls: 1,
      run: () => {
        const builder = new p.ManifestBuilder(512 * KIB, {
          expectedBytes: streamBytes,
        });
        feed((bytes) => builder.update(bytes));
        builder.finish("bench.bin");
      },
      rates: [],
      plain,
    })),
  ];
}

/** Per-call costs: where a Merkle chunk's time goes. */
function callCases(data: Uint8Array<ArrayBuffer>): Case[] {
  const out = new Uint8Array(32);
  // sha256Pair writes its result over the first 32 bytes of a copy.
  const nodes = data.slice();
  const view = new DataView(nodes.buffer);
  let next = 0;
  const slice = (bytes: number) => {
    const at = (next++ * bytes) % DATA_BYTES;
    return data.subarray(at, at + bytes);
  };
  const chunk = 512 * KIB;
  return [
    {
      name: "one 16 KiB leaf, digest() (a Buffer)",
      bytes: 16 * KIB,
      maxCalls: 1_000_000,
      run: () => void createHash("sha256").update(slice(16 * KIB)).digest(),
      rates: [],
    },
    {
      name: 'one 16 KiB leaf, digest("hex") + setFromHex',
      bytes: 16 * KIB,
      maxCalls: 1_000_000,
      run: () =>
        void out.setFromHex(
          createHash("sha256").update(slice(16 * KIB)).digest("hex"),
        ),
      rates: [],
    },
    {
      name: "one 64 B node, digest() (a Buffer)",
      bytes: 64,
      maxCalls: 1_000_000,
      run: () => void createHash("sha256").update(slice(64)).digest(),
      rates: [],
    },
    {
      name: 'one 64 B node, digest("hex") + setFromHex',
      bytes: 64,
      maxCalls: 1_000_000,
      run: () =>
        void out.setFromHex(
          createHash("sha256").update(slice(64)).digest("hex"),
        ),
      rates: [],
    },
    {
      name: "one 64 B node, sha256Pair (JavaScript)",
      bytes: 64,
      maxCalls: 1_000_000,
      run: () => {
        const at = (next++ * 64) % (DATA_BYTES - 64);
        sha256Pair(view, at, 0);
      },
      rates: [],
    },
    {
      name: "512 KiB of leaves, crypto.subtle + Promise.all",
      bytes: chunk,
      maxCalls: 100_000,
      run: async () => {
        const bytes = slice(chunk);
        const leaves: Promise<ArrayBuffer>[] = [];
        for (let at = 0; at < chunk; at += 16 * KIB) {
          leaves.push(
            crypto.subtle.digest("SHA-256", bytes.subarray(at, at + 16 * KIB)),
          );
        }
        await Promise.all(leaves);
      },
      rates: [],
    },
  ];
}

/** One row of the collection table. */
export interface GcRow {
  name: string;
  /** CPU ms to hash the bytes (median run). */
  hashMs: number;
  /** CPU ms of the full collection after them (median run). */
  gcMs: number;
  /** Growth of the resident set while hashing, before the collection (median run). */
  rssMiB: number;
}

/**
 * What a hashing loop leaves for the full collections of
 * peer/gc_schedule.ts: `node:crypto` hash objects live in the C++ heap,
 * which only a full collection frees. Per variant: hash `bytes` in 512 KiB
 * chunks from a clean heap, note the resident set's growth, then time one
 * full collection (CPU time). `runs` runs per variant, taking turns.
 */
function gcRows(
  data: Uint8Array,
  bytes: number,
  runs: number,
  protocols: readonly Protocol[],
): GcRow[] {
  const collect = v8Collector();
  if (!collect) return [];
  const chunk = 512 * KIB;
  const manifest = manifestFor(chunk);
  const variants: [string, (bytes: Uint8Array) => void][] = [
    [
      "SHA-256 of each chunk (createHash)",
      (b) => void createHash("sha256").update(b).digest(),
    ],
    ...protocols.map((p): [string, (bytes: Uint8Array) => void] => [
      `chunkDigest${p.label}`,
      (b) => void p.chunkDigest(manifest, b),
    ]),
  ];
  const samples = variants.map(() => ({
    hash: [] as number[],
    gc: [] as number[],
    rss: [] as number[],
  }));
  const cpuMs = (since: { user: number; system: number }) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  for (let run = 0; run < runs; run++) {
    variants.forEach(([, hash], v) => {
      collect();
      const rss0 = Deno.memoryUsage().rss;
      let peak = 0;
      const start = process.cpuUsage();
      for (let i = 0; i < bytes / chunk; i++) {
        const at = (i * chunk) % DATA_BYTES;
        hash(data.subarray(at, at + chunk));
        if (i % 64 === 63) peak = Math.max(peak, Deno.memoryUsage().rss - rss0);
      }
      const hashMs = cpuMs(start);
      const gcStart = process.cpuUsage();
      collect();
      samples[v]!.hash.push(hashMs);
      samples[v]!.gc.push(cpuMs(gcStart));
      samples[v]!.rss.push(peak / MIB);
    });
  }
  return variants.map(([name], v) => ({
    name,
    hashMs: summarize(samples[v]!.hash)!.median,
    gcMs: summarize(samples[v]!.gc)!.median,
    rssMiB: summarize(samples[v]!.rss)!.median,
  }));
}

/**
 * MB per CPU second and per wall-clock second of `openssl dgst -sha256
 * FILE` (its CPU time from bash's `time`: user + system, reads included).
 */
async function opensslRate(
  path: string,
  bytes: number,
): Promise<{ cpu: number; wall: number }> {
  const start = performance.now();
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      'TIMEFORMAT="%U %S"; time openssl dgst -sha256 "$1" >/dev/null',
      "bash",
      path,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  const wallSeconds = (performance.now() - start) / 1000;
  const text = new TextDecoder().decode(out.stderr).trim();
  const times = /(\d+\.\d+) (\d+\.\d+)$/.exec(text);
  if (!out.success || !times) {
    throw new Error(`openssl dgst failed: ${text}`);
  }
  const cpuSeconds = Math.max(Number(times[1]) + Number(times[2]), 0.001);
  return { cpu: bytes / cpuSeconds / 1e6, wall: bytes / wallSeconds / 1e6 };
}

async function hasOpenssl(): Promise<boolean> {
  try {
    const out = await new Deno.Command("bash", {
      args: ["-c", "openssl version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Writes `bytes` bytes of `data`, round and round, to `path`. */
async function writeFile(path: string, data: Uint8Array, bytes: number) {
  using file = await Deno.open(path, { write: true, create: true });
  for (let at = 0; at < bytes; at += data.byteLength) {
    const part = data.subarray(0, Math.min(data.byteLength, bytes - at));
    let written = 0;
    while (written < part.byteLength) {
      written += await file.write(part.subarray(written));
    }
  }
}

function toRow(c: Case): MerkleRow {
  const s = summarize(c.rates);
  const p = c.plain ? summarize(c.plain.rates) : null;
  return {
    name: c.name,
    bytes: c.bytes,
    mbPerS: s?.median ?? null,
    min: s?.min ?? null,
    max: s?.max ?? null,
    wallMbPerS: summarize(c.wallRates ?? [])?.median ?? null,
    vsPlain: s && p ? s.median / p.median : null,
  };
}

function rowCells(r: MerkleRow): string[] {
  const fmt = (x: number | null) =>
    x === null ? "-" : x >= 100 ? x.toFixed(0) : x.toPrecision(3);
  return [
    r.name,
    fmt(r.mbPerS),
    r.min === null ? "-" : `${fmt(r.min)}-${fmt(r.max)}`,
    r.vsPlain === null ? "" : `${r.vsPlain.toFixed(2)}x`,
    // One call's CPU time: what matters for a leaf or a node.
    r.mbPerS === null ? "-" : fmt(r.bytes / r.mbPerS),
    fmt(r.wallMbPerS),
  ];
}

/**
 * Runs the benchmark with command-line style arguments; prints a table and
 * one JSON line to stdout, progress to stderr.
 *
 * @param args e.g. `["--quick"]`
 * @returns the exit code
 */
export async function runMerkleHash(args: string[]): Promise<number> {
  const values = benchArgs(args, {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    "budget-ms": { type: "string" },
    stream: { type: "string" },
    openssl: { type: "string" },
    gc: { type: "string" },
    compare: { type: "string" },
    dir: { type: "string" },
  }, USAGE);
  if (!values) return 0;
  const quick = values.quick;
  const rounds = Number(values.rounds ?? (quick ? 3 : 5));
  const budgetMs = Number(values["budget-ms"] ?? (quick ? 80 : 300));
  const streamBytes = parseSize(values.stream ?? (quick ? "64M" : "256M"));
  const opensslBytes = parseSize(values.openssl ?? (quick ? "256M" : "1G"));
  const gcBytes = values.gc === undefined
    ? (quick ? 128 * MIB : GC_EVERY_BYTES)
    : parseSize(values.gc);
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50)) {
    console.error(`merkle_hash: --rounds takes 1 to 50, not ${values.rounds}`);
    return 2;
  }
  if (!(budgetMs > 0 && budgetMs <= 10_000)) {
    console.error(
      `merkle_hash: --budget-ms takes 1 to 10000, not ${values["budget-ms"]}`,
    );
    return 2;
  }
  if (
    streamBytes < READ_BYTES || streamBytes % READ_BYTES !== 0 ||
    streamBytes > 16 * 1024 * MIB
  ) {
    console.error(
      "merkle_hash: --stream takes whole MiB from 1M to 16G, e.g. 256M",
    );
    return 2;
  }
  if (gcBytes % (512 * KIB) !== 0 || gcBytes > 16 * 1024 * MIB) {
    console.error(
      "merkle_hash: --gc takes whole 512 KiB chunks up to 16G, e.g. 512M",
    );
    return 2;
  }

  const protocols: Protocol[] = [{ label: "", ...shoal }];
  for (const other of values.compare?.split(",") ?? []) {
    const dir = resolve(other);
    const code = await import(
      pathToFileURL(join(dir, "protocol", "mod.ts")).href
    ) as typeof shoal;
    protocols.push({ label: ` [${basename(dir)}]`, ...code });
  }
  const data = randomBytes(DATA_BYTES);
  const all = [
    ...chunkCases(data, 512 * KIB, protocols),
    ...chunkCases(data, 4 * MIB, protocols),
    ...streamCases(data, streamBytes, protocols),
    ...callCases(data),
  ];
  for (let r = 1; r <= rounds; r++) {
    console.error(`[merkle] round ${r}/${rounds}`);
    for (const c of all) await round(c, budgetMs);
  }

  let gcTable: GcRow[] = [];
  if (gcBytes > 0) {
    console.error(`[merkle] collections after ${sizeLabel(gcBytes)} of chunks`);
    gcTable = gcRows(data, gcBytes, quick ? 1 : 3, protocols);
  }

  let openssl: { cpu: number; wall: number } | null = null;
  let opensslNote = "";
  if (opensslBytes === 0) {
    opensslNote = "skipped (--openssl 0)";
  } else if (!await hasOpenssl()) {
    opensslNote = "skipped: no bash and openssl on PATH";
  } else {
    const dir = values.dir ??
      await Deno.makeTempDir({ prefix: "shoal-merkle-" });
    const path = join(dir, "openssl-input.bin");
    try {
      console.error(
        `[merkle] writing ${sizeLabel(opensslBytes)} for openssl to ${path}`,
      );
      await writeFile(path, data, opensslBytes);
      await opensslRate(path, opensslBytes); // page cache warm-up
      openssl = await opensslRate(path, opensslBytes);
    } finally {
      await Deno.remove(values.dir ? path : dir, { recursive: true }).catch(
        () => {},
      );
    }
  }

  const rows = all.map(toRow);
  const opensslRow: MerkleRow = {
    name: opensslNote
      ? `openssl dgst -sha256: ${opensslNote}`
      : `openssl dgst -sha256, ${sizeLabel(opensslBytes)} file`,
    bytes: opensslBytes,
    mbPerS: openssl?.cpu ?? null,
    min: null,
    max: null,
    wallMbPerS: openssl?.wall ?? null,
    vsPlain: null,
  };
  rows.push(opensslRow);
  const cores = navigator.hardwareConcurrency;
  console.log(
    `\nMerkle hashing (BEP 52, 16 KiB leaves), one core of ${cores}, deno ${Deno.version.deno}: ` +
      `median of ${rounds} rounds of <= ${budgetMs} ms (min-max); MB = 10^6 bytes per CPU second of this process; ` +
      `"vs plain" = this rate / plain SHA-256's of the same bytes\n`,
  );
  const header = [
    "case",
    "MB/s CPU",
    "min-max",
    "vs plain",
    "us/call",
    "MB/s wall",
  ];
  console.log(renderTable(header, rows.map(rowCells)));
  if (gcTable.length) {
    console.log(
      `\nWhat each loop leaves to free: ${
        sizeLabel(gcBytes)
      } of 512 KiB chunks hashed from a clean heap, then one full collection ` +
        `(peer/gc_schedule.ts runs one per ${
          sizeLabel(GC_EVERY_BYTES)
        } per isolate); CPU ms, median of ${quick ? 1 : 3}\n`,
    );
    console.log(renderTable(
      ["loop", "hash ms", "collection ms", "collection share", "RSS growth"],
      gcTable.map((r) => [
        r.name,
        r.hashMs.toFixed(0),
        r.gcMs.toFixed(1),
        `${(100 * r.gcMs / (r.hashMs + r.gcMs)).toFixed(1)}%`,
        `${r.rssMiB.toFixed(1)} MiB`,
      ]),
    ));
  }
  console.log(JSON.stringify({
    bench: "merkle_hash",
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    options: { quick, rounds, budgetMs, streamBytes, opensslBytes },
    rows,
    collections: { bytes: gcBytes, rows: gcTable },
  }));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await runMerkleHash(Deno.args));
}
