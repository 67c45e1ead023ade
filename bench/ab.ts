// deno-lint-ignore-file no-console
/**
 * A/B timing of the leecher: one tracker and N seeders of one file stay up,
 * and leechers from two (or more) snapshots of the code take turns, so a
 * change is measured against its parent in the same minutes. This is how
 * the second pass of docs/PERFORMANCE.md measured each change; the noise
 * between two runs of the same code here is about ±0.1 s for 1 GiB.
 *
 * ```sh
 * git archive HEAD~1 | (mkdir -p /tmp/a && tar -x -C /tmp/a)
 * deno run -A bench/ab.ts --runs 6 /tmp/a .
 * deno run -A bench/ab.ts --runs 10 --task /tmp/a .   # as a user starts it
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { randomFillSync } from "node:crypto";
import { join, resolve } from "node:path";
import { freeUdpPort, spawnProcess, stopAll } from "./_proc.ts";
import { summarize } from "./_stats.ts";
import { waitShoalPeers } from "./_shoal_probe.ts";
import {
  leecherArgs,
  leecherTaskArgs,
  seederArgs,
  trackerArgs,
} from "./_shoal_args.ts";
import { roundOrder } from "./_round_order.ts";
import { pairedRatio } from "./_swarm_report.ts";
import { warmFreeMemory } from "./_vm_memory.ts";

const USAGE = `Usage: deno run -A bench/ab.ts [options] CODE_DIR [CODE_DIR ...]

Keeps a tracker and seeders of one file up, then runs leechers from each
CODE_DIR (a checkout or snapshot of Shoal) in turn (the order changes from
run to run: each folder goes first, and follows each other folder, in turn)
and prints, per folder, the seconds from spawn to a checked file and the
leecher's CPU seconds, and for each folder after the first the
median of its run-by-run ratios to the first (runs of one round are seconds
apart; the machine's speed drifts over minutes). The tracker and seeders run
from the first CODE_DIR.

Options:
  --file PATH      the file to seed (default: 1 GiB of random bytes, made once
                   in the work folder)
  --seeders N      seeders (default 3)
  --runs N         leechers per folder (default 6)
  --task           start each leecher as a user does, deno task peer --get
                   NAME --no-seed (the task runner, the launcher, the peer;
                   CPU of the whole tree), not deno run peer/main.ts
  --dir PATH       work folder (default: a new temporary one, removed after)
  --no-warm        skip the memory warm-up before each leecher
                   (bench/_vm_memory.ts; for tests, whose timings do not
                   matter)
  --before CMD     a shell command to run before each leecher (to study what
                   the machine's state does to a run, e.g. a big write)
  --help           print this help and exit`;

async function randomFile(path: string, size: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true });
  const block = new Uint8Array(4 * 1024 * 1024);
  for (let done = 0; done < size; done += block.byteLength) {
    randomFillSync(block);
    const n = Math.min(block.byteLength, size - done);
    let written = 0;
    while (written < n) {
      written += await file.write(block.subarray(written, n));
    }
  }
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      file: { type: "string" },
      seeders: { type: "string", default: "3" },
      runs: { type: "string", default: "6" },
      dir: { type: "string" },
      before: { type: "string" },
      task: { type: "boolean", default: false },
      "no-warm": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const codeDirs = positionals.map((dir) => resolve(dir));
  const seederDir = codeDirs[0]!;
  const workDir = values.dir
    ? resolve(values.dir)
    : await Deno.makeTempDir({ prefix: "shoal-ab-" });
  await Deno.mkdir(workDir, { recursive: true });
  let file = values.file ? resolve(values.file) : join(workDir, "ab-1G.bin");
  if (!values.file) {
    const exists = await Deno.stat(file).then((s) => s.size === 2 ** 30)
      .catch(() => false);
    if (!exists) {
      console.error(`ab: writing 1 GiB of random bytes to ${file}`);
      await randomFile(file, 2 ** 30);
    }
  }
  file = resolve(file);
  const name = file.split("/").at(-1)!;
  const fileBytes = (await Deno.stat(file)).size;
  const deno = Deno.execPath();
  const trackerPort = freeUdpPort();
  try {
    const tracker = spawnProcess("tracker", deno, {
      args: trackerArgs(trackerPort),
      cwd: seederDir,
    });
    await tracker.waitForLine(/tracker listening/, 20_000);
    const seeders = Number(values.seeders);
    const seeds = [];
    for (let k = 0; k < seeders; k++) {
      const out = join(workDir, `seed-${k}`);
      await Deno.mkdir(out, { recursive: true });
      seeds.push(spawnProcess(`seeder ${k}`, deno, {
        args: seederArgs(trackerPort, file, out),
        cwd: seederDir,
      }));
    }
    await Promise.all(
      seeds.map((s) => s.waitForLine(/serving peers on port/, 300_000)),
    );
    await waitShoalPeers(trackerPort, name, seeders, 30_000);
    const seconds = new Map(
      codeDirs.map((d) => [d, [] as { round: number; seconds: number }[]]),
    );
    const cpu = new Map(codeDirs.map((d) => [d, [] as number[]]));
    const out = join(workDir, "dl");
    for (let run = 0; run < Number(values.runs); run++) {
      // Each folder goes first in turn, and follows each other folder in
      // turn (_round_order.ts).
      const order = roundOrder(codeDirs, run);
      for (const dir of order) {
        await Deno.remove(out, { recursive: true }).catch(() => {});
        await Deno.mkdir(out, { recursive: true });
        if (values.before) {
          const before = await new Deno.Command("sh", {
            args: ["-c", values.before],
            cwd: workDir,
          }).output();
          if (!before.success) {
            console.error(
              `ab: --before failed: ${new TextDecoder().decode(before.stderr)}`,
            );
            return 1;
          }
        }
        if (!values["no-warm"]) await warmFreeMemory(workDir, fileBytes);
        const leecher = spawnProcess("leecher", deno, {
          args: values.task
            ? leecherTaskArgs(trackerPort, name, out)
            : leecherArgs(trackerPort, name, out),
          cwd: dir,
          tree: values.task,
        });
        const status = await leecher.waitExit(300_000);
        if (status?.code !== 0) {
          console.error(`ab: leecher from ${dir} failed:\n${leecher.tail()}`);
          return 1;
        }
        seconds.get(dir)!.push({
          round: run,
          seconds: leecher.elapsedMs! / 1000,
        });
        cpu.get(dir)!.push(leecher.cpuSeconds);
        console.error(
          `ab: run ${run + 1} ${dir}: ${
            (leecher.elapsedMs! / 1000).toFixed(2)
          } s, ${leecher.cpuSeconds.toFixed(2)} CPU s`,
        );
      }
    }
    const first = seconds.get(codeDirs[0]!)!;
    for (const dir of codeDirs) {
      const runs = seconds.get(dir)!;
      const s = summarize(runs.map((r) => r.seconds))!;
      const c = summarize(cpu.get(dir)!)!;
      const paired = dir === codeDirs[0] ? null : pairedRatio(runs, first);
      console.log(
        `${dir}: ${s.median.toFixed(2)} s (${s.min.toFixed(2)}-${
          s.max.toFixed(2)
        }), CPU ${c.median.toFixed(2)} s, ${s.n} runs${
          paired === null ? "" : `, ${paired.toFixed(3)}x the first, paired`
        }`,
      );
    }
    return 0;
  } finally {
    await stopAll();
    if (!values.dir) await Deno.remove(workDir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
