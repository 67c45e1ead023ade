// deno-lint-ignore-file no-console
/**
 * The flash-crowd benchmark: one seeder limited to 20 MB/s upload and 20
 * leechers of a 256 MiB file starting at once, all real processes on
 * loopback. Reports the time until the last leecher has a checked file and
 * the seeder's total upload in file copies, with partial seeding on (Shoal)
 * and off (the user's original design: a leecher serves only once whole),
 * next to the time one leecher alone takes from that seeder.
 *
 * `deno run -A bench/flash_crowd.ts [--leechers 20] [--size 256M] [--rate 20M]`
 *
 * @module
 */
import { benchArgs } from "./_cli.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchProcess, spawnProcess, stopAll } from "./_proc.ts";
import { parseSize, renderTable, sizeLabel } from "./_stats.ts";
import { PEER_RUN_FLAGS } from "./_shoal_args.ts";

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
const PEER = join(REPO, "peer/main.ts");
const TRACKER = join(REPO, "tracker/main.ts");
const DENO = Deno.execPath();
/** Every peer of the crowd connects from 127.0.0.1: lift the per-address cap. */
const LOOPBACK_CAP = ["--max-conns-per-ip", "1000"];
const PEER_FLAGS = [...PEER_RUN_FLAGS, PEER];

/** What one crowd run measured. */
export interface CrowdResult {
  /** "partial seeding on" or "off". */
  mode: string;
  /** Leechers in the crowd. */
  leechers: number;
  /** Seconds until the last leecher had a checked file. */
  lastSeconds: number;
  /** Seconds until the first did. */
  firstSeconds: number;
  /** Bytes the seeder wrote to sockets, in file copies. */
  seederCopies: number;
  /** The seeder's peak RSS (VmHWM) over the crowd, bytes. */
  seederPeakBytes: number;
}

async function makeFile(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const piece = new Uint8Array(1024 * 1024);
  for (let left = bytes; left > 0;) {
    const part = piece.subarray(0, Math.min(left, piece.byteLength));
    for (let i = 0; i < part.length; i += 65_536) {
      crypto.getRandomValues(part.subarray(i, i + 65_536));
    }
    let written = 0;
    while (written < part.length) {
      written += await file.write(part.subarray(written));
    }
    left -= part.length;
  }
}

async function crowd(
  dir: string,
  tag: string,
  options: {
    leechers: number;
    rate: string;
    partial: boolean;
    timeoutMs: number;
    source: string;
  },
): Promise<CrowdResult> {
  const tracker = spawnProcess(`tracker-${tag}`, DENO, {
    args: [
      "run",
      "--allow-net",
      TRACKER,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--log-level",
      "warning",
    ],
  });
  const [, port] = await tracker.waitForLine(
    /udp:\/\/127\.0\.0\.1:(\d+)/,
    10_000,
  );
  const trackerAddress = `127.0.0.1:${port}`;
  const seeder = spawnProcess(`seeder-${tag}`, DENO, {
    args: [
      ...PEER_FLAGS,
      "--tracker",
      trackerAddress,
      "--seed",
      options.source,
      "--out",
      join(dir, "seeder"),
      "--host",
      "127.0.0.1",
      "--max-upload",
      options.rate,
      ...LOOPBACK_CAP,
    ],
  });
  await seeder.waitForLine(/serving peers on port/, 120_000);
  const started = performance.now();
  const leechers: BenchProcess[] = [];
  for (let i = 0; i < options.leechers; i++) {
    const args = [
      ...PEER_FLAGS,
      "--tracker",
      trackerAddress,
      "--get",
      "crowd.bin",
      "--out",
      join(dir, `${tag}-leech${i}`),
      "--host",
      "127.0.0.1",
      "--give-up-after",
      "300",
      ...LOOPBACK_CAP,
    ];
    if (!options.partial) args.push("--no-partial");
    leechers.push(spawnProcess(`leech-${tag}-${i}`, DENO, { args }));
  }
  const times = await Promise.all(leechers.map(async (leecher) => {
    await leecher.waitForLine(/^checked /, options.timeoutMs);
    return (performance.now() - started) / 1000;
  }));
  // Its peak over the crowd, not its exit. It prints what it uploaded
  // when it stops.
  seeder.samplePeak();
  const seederPeakBytes = seeder.peakBytes;
  await seeder.stop(5_000);
  const uploaded = Number(
    seeder.lines.join("\n").match(/uploaded (\d+) bytes/)?.[1] ?? NaN,
  );
  const copies = uploaded / (await Deno.stat(options.source)).size;
  await Promise.all([...leechers, tracker].map((p) => p.stop(2_000)));
  return {
    mode: options.partial ? "partial seeding on" : "partial seeding off",
    leechers: options.leechers,
    lastSeconds: Math.max(...times),
    firstSeconds: Math.min(...times),
    seederCopies: copies,
    seederPeakBytes,
  };
}

/** Runs the flash-crowd benchmark and prints its table and one JSON line. */
export async function runFlashCrowd(args: string[]): Promise<void> {
  const values = benchArgs(
    args,
    {
      leechers: { type: "string", default: "20" },
      size: { type: "string", default: "256M" },
      rate: { type: "string", default: "20M" },
      modes: { type: "string", default: "on,off" },
      "timeout-s": { type: "string", default: "900" },
      keep: { type: "boolean", default: false },
    },
    `Usage: deno run -A bench/flash_crowd.ts [options]

One seeder with a capped upload and a crowd of leechers starting at once,
all real processes on loopback. Prints the time until the last leecher has a
checked file and the seeder's upload in file copies, next to one leecher
alone, with partial seeding on and off.

Options:
  --leechers N     leechers in the crowd (default 20)
  --size SIZE      file size, e.g. 64M, 256M (default 256M)
  --rate RATE      the seeder's --max-upload (default 20M)
  --modes LIST     on, off or on,off: partial seeding (default on,off)
  --timeout-s N    give up on a crowd after this long (default 900)
  --keep           keep the work folder and its logs
  --help           print this help and exit`,
  );
  if (!values) return;
  const leechers = Number(values.leechers);
  const bytes = parseSize(values.size);
  const timeoutMs = Number(values["timeout-s"]) * 1000;
  const dir = await Deno.makeTempDir({ prefix: "shoal-crowd-" });
  try {
    const source = join(dir, "crowd.bin");
    console.error(`flash crowd: making ${sizeLabel(bytes)}`);
    await makeFile(source, bytes);
    console.error("flash crowd: one leecher alone");
    const alone = await crowd(dir, "alone", {
      leechers: 1,
      rate: values.rate,
      partial: true,
      timeoutMs,
      source,
    });
    await Deno.remove(join(dir, "seeder"), { recursive: true }).catch(() => {});
    const results: CrowdResult[] = [];
    for (const mode of values.modes.split(",")) {
      console.error(
        `flash crowd: ${leechers} leechers, partial seeding ${mode}`,
      );
      results.push(
        await crowd(dir, mode, {
          leechers,
          rate: values.rate,
          partial: mode === "on",
          timeoutMs,
          source,
        }),
      );
    }
    const rows = results.map((r) => [
      r.mode,
      String(r.leechers),
      r.firstSeconds.toFixed(1),
      r.lastSeconds.toFixed(1),
      (r.lastSeconds / alone.lastSeconds).toFixed(2),
      r.seederCopies.toFixed(2),
      (r.seederPeakBytes / 2 ** 20).toFixed(0),
    ]);
    console.log(
      `\nFlash crowd: ${
        sizeLabel(bytes)
      }, seeder limited to ${values.rate}B/s; one leecher alone: ${
        alone.lastSeconds.toFixed(1)
      } s`,
    );
    console.log(
      renderTable([
        "mode",
        "leechers",
        "first (s)",
        "last (s)",
        "last / alone",
        "seeder upload (copies)",
        "seeder peak RSS MiB",
      ], rows),
    );
    console.log(
      JSON.stringify({
        flashCrowd: {
          bytes,
          rate: values.rate,
          aloneSeconds: alone.lastSeconds,
          results,
        },
      }),
    );
  } finally {
    await stopAll();
    if (!values.keep) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}

if (import.meta.main) await runFlashCrowd(Deno.args);
