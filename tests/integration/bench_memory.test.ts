import assert from "node:assert/strict";
import { runBench } from "../_helpers/bench_run.ts";

interface Sample {
  size: number;
  stopped: boolean;
  peakBytes: number;
  seederPeakBytes: number;
}

/** Runs bench/memory.ts with `args`; returns its table and its samples. */
async function runMemoryBench(
  args: string[],
): Promise<{ stdout: string; samples: Sample[] }> {
  const { stdout, json } = await runBench("bench/memory.ts", args);
  return { stdout, samples: json.memory as Sample[] };
}

/** Real deno processes: tens of MiB, never nothing, never the file twice. */
function assertPlausiblePeaks(sample: Sample): void {
  for (const bytes of [sample.peakBytes, sample.seederPeakBytes]) {
    assert.ok(bytes > 20 * 2 ** 20 && bytes < 512 * 2 ** 20, String(bytes));
  }
}

Deno.test("bench/memory.ts downloads each size and reports the leecher's and the seeder's peak RSS", async () => {
  const { stdout, samples } = await runMemoryBench(["--sizes", "4M,8M"]);
  assert.deepEqual(samples.map((s) => s.size), [4 * 2 ** 20, 8 * 2 ** 20]);
  for (const sample of samples) {
    assert.equal(sample.stopped, false);
    assertPlausiblePeaks(sample);
  }
  assert.match(stdout, /leecher peak RSS MiB +seeder peak RSS MiB/);
});

Deno.test("bench/memory.ts --stop-after stops a download it has no room or time for and still reports both peaks", async () => {
  // 1 GiB cannot arrive in half a second; the leecher is stopped part-way.
  const { stdout, samples } = await runMemoryBench([
    "--sizes",
    "1G",
    "--stop-after",
    "0.5",
  ]);
  assert.equal(samples.length, 1);
  assert.equal(samples[0]!.size, 2 ** 30);
  assert.equal(samples[0]!.stopped, true);
  assertPlausiblePeaks(samples[0]!);
  assert.match(stdout, /1G +0\.5 \(stopped\)/);
});
