import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

Deno.test("bench/memory.ts downloads each size and reports the leecher's and the seeder's peak RSS", async () => {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/memory.ts", "--sizes", "4M,8M"],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(run.stdout);
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const json = JSON.parse(stdout.trim().split("\n").at(-1)!);
  const samples = json.memory as {
    size: number;
    peakBytes: number;
    seederPeakBytes: number;
  }[];
  assert.deepEqual(samples.map((s) => s.size), [4 * 2 ** 20, 8 * 2 ** 20]);
  for (const sample of samples) {
    // Real deno processes: tens of MiB, never nothing, never the file twice.
    for (const bytes of [sample.peakBytes, sample.seederPeakBytes]) {
      assert.ok(bytes > 20 * 2 ** 20 && bytes < 512 * 2 ** 20, String(bytes));
    }
  }
  assert.match(stdout, /leecher peak RSS MiB +seeder peak RSS MiB/);
});

Deno.test("bench/memory.ts --stop-after stops a download it has no room or time for and still reports both peaks", async () => {
  // 1 GiB cannot arrive in half a second; the leecher is stopped part-way.
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "bench/memory.ts",
      "--sizes",
      "1G",
      "--stop-after",
      "0.5",
    ],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(run.stdout);
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const json = JSON.parse(stdout.trim().split("\n").at(-1)!);
  const [sample] = json.memory as {
    size: number;
    stopped: boolean;
    peakBytes: number;
    seederPeakBytes: number;
  }[];
  assert.equal(sample!.size, 2 ** 30);
  assert.equal(sample!.stopped, true);
  for (const bytes of [sample!.peakBytes, sample!.seederPeakBytes]) {
    assert.ok(bytes > 20 * 2 ** 20 && bytes < 512 * 2 ** 20, String(bytes));
  }
  assert.match(stdout, /1G +0\.5 \(stopped\)/);
});
